/**
 * The model activity with a stored transcript: the turn's new entries are written while the model answers, the
 * answer is stored as the next entry, and no reference reaches the workflow before its record is durable. The real activity, the real openai client, a
 * scripted model over HTTP and a file content store whose writes the test holds back.
 */
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelActivity, createOpenAIClient } from '../../src/activities/model';
import type { ModelCallInput, ModelCallResult } from '../../src/conversation/activity-contract';
import { StoreUnavailableError } from '../../src/errors';
import type { TranscriptEntry } from '../../src/conversation/protocol';
import { FileContentStore, type ContentStore } from '../../src/store';
import { startScriptedModel, type ScriptedModel } from '../../src/testing/scripted-model';

const at = '2025-01-01T00:00:00.000Z';
let model: ScriptedModel;
let dir: string;
let files: FileContentStore;

beforeEach(async () => {
  model = await startScriptedModel();
  dir = mkdtempSync(join(tmpdir(), 'vigil-window-'));
  files = new FileContentStore({ dataDir: dir });
});
afterEach(async () => {
  await model.close();
  rmSync(dir, { recursive: true, force: true });
});

/** The file store, with every write held until `release` (or failed by `fail`). */
function heldStore() {
  let open!: () => void;
  let broken: Error | undefined;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const started: string[] = [];
  const store: ContentStore = {
    name: files.name,
    async put(content) {
      started.push(content);
      await gate;
      if (broken) throw broken;
      return files.put(content);
    },
    get: (ref) => files.get(ref),
    getMany: (refs) => files.getMany(refs),
    has: (ref) => files.has(ref),
    close: () => files.close(),
  };
  return {
    store,
    started,
    release: () => open(),
    fail(error: Error) {
      broken = error;
      open();
    },
  };
}

const message: TranscriptEntry = { role: 'user', turn: 1, messageId: 'm1', content: 'what is new?', at };

function windowInput(): ModelCallInput {
  return {
    agent: 'helper',
    conversationId: 'c1',
    turn: 1,
    step: 1,
    model: 'gpt-test',
    instructions: 'You are helpful.',
    transcript: [],
    tools: [],
    window: {
      ranges: [[0, 0]],
      pinned: [],
      budget: 10_000,
      chain: { head: null, length: 0, append: [message], from: 0, pinnedRefs: [] },
    },
  };
}

function run(store: ContentStore): Promise<ModelCallResult> {
  const activity = createModelActivity({
    openai: createOpenAIClient({ baseURL: model.baseURL, apiKey: 'sk-test' }),
    store,
  });
  return new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(activity, windowInput());
}

it('asks the model while the new entries are being written, and answers only once they are durable', async () => {
  model.script({ content: 'nothing much' });
  const held = heldStore();
  let answered = false;
  const call = run(held.store).then((result) => {
    answered = true;
    return result;
  });

  // The model sees the new message although its record is not written yet.
  const request = await model.nextRequest();
  expect(request.body.messages.at(-1)).toEqual({ role: 'user', content: 'what is new?' });
  expect(held.started).toHaveLength(1);
  // The answer is in, the write is not: nothing goes back to the workflow yet.
  await new Promise((resolve) => setImmediate(resolve));
  expect(answered).toBe(false);

  held.release();
  const result = await call;
  expect(result.content).toBe('nothing much');
  // The message's record, then the answer's: the answer goes to the store now, not with the next call.
  const [messageRef, answerRef] = result.chain!.refs;
  expect(result.chain).toEqual({ head: answerRef, length: 2, refs: [messageRef, answerRef] });
  expect(held.started).toHaveLength(2);
  // What the returned references name is in the store for any later reader.
  const read = async (ref: string) =>
    JSON.parse(await files.get(ref)) as { index: number; entry: TranscriptEntry; prev: string | null };
  expect(await read(messageRef)).toEqual({ index: 0, entry: message, prev: null });
  expect(await read(answerRef)).toEqual({
    index: 1,
    entry: {
      role: 'assistant',
      turn: 1,
      content: 'nothing much',
      toolCalls: [],
      model: result.model,
      usage: result.usage,
      at: result.answerAt,
    },
    prev: messageRef,
  });
});

it('fails the attempt with the store failure when a write fails, though the model answered', async () => {
  model.script({ content: 'nothing much' });
  const held = heldStore();
  const call = run(held.store);
  await model.nextRequest();
  held.fail(new StoreUnavailableError('the disk is full', held.store.name, 'ENOSPC'));
  // The store's own error, which Temporal retries: the next attempt writes the same records again.
  await expect(call).rejects.toThrow(StoreUnavailableError);
  await expect(call).rejects.toThrow('the disk is full');
});
