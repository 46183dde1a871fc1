/**
 * Claims a raw Temporal client forges: a `message` signal or `send` update whose payload is a reference payload
 * of its own making (another driver's claim, a claim without a content reference, a reference the store does not
 * have, a reference to content that is no payload). The SDK resolves claims before any workflow code runs; before,
 * each of these failed the conversation's workflow task, and every retry of it, until an operator reset it. Now
 * the signal is dropped and the update refused, and the conversation goes on. A claim a Vigil worker wrote whose
 * content is missing still fails the workflow task, which retries until the content is back.
 */
import { StorageDriverClaim, type Payload } from '@temporalio/common';
import { encodeReferencePayload, ExternalStorageRunner } from '@temporalio/common/lib/internal-non-workflow';
import { temporal } from '@temporalio/proto';
import { z } from 'zod';
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { ContentMissingError, StoreUnavailableError } from '../../src/errors';
import { CONTENT_STORE_DRIVER_NAME, ContentStoreDriver, externalStorageFor, type ContentStore } from '../../src/store';
import { defineTool } from '../../src/tools';
import { payloadConverter, UNRESOLVED_CLAIM_ENCODINGS } from '../../src/workflows/payload-converter';
import { newId, useConversations } from '../helpers/conversation';

const THRESHOLD_BYTES = 16 * 1024;
const report = defineTool({
  name: 'report',
  description: 'Prints a long report.',
  parameters: z.object({ seed: z.string() }),
  execute: ({ seed }) => `${seed}: a long report. `.repeat(2_000),
});
const agent = defineAgent({ name: 'forged', instructions: 'Be brief.', model: 'test-model', tools: [report] });
const fx = useConversations([agent], { payloadThresholdBytes: THRESHOLD_BYTES });

const EventType = temporal.api.enums.v1.EventType;
const ACCEPTED =
  temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;

/** A reference payload as any client can build it with the SDK's own encoding. */
function reference(driverName: string, claimData: Record<string, string>): Payload {
  return encodeReferencePayload({ driverName, claim: new StorageDriverClaim(claimData), sizeBytes: 100_000 });
}

const NOT_STORED = `sha256:${'0123456789abcdef'.repeat(4)}`;

/** Each forged claim, built once the store exists (one names content that is not a payload). */
async function forgedClaims(): Promise<[string, Payload][]> {
  const record = await fx.store.put(`a transcript record, not a payload ${newId()}`);
  return [
    ['a claim of an unknown storage driver', reference('acme-s3', { bucket: 'b', key: 'k' })],
    ['a claim without a ref', reference(CONTENT_STORE_DRIVER_NAME, { path: '/etc/passwd' })],
    ['a claim with a bad ref', reference(CONTENT_STORE_DRIVER_NAME, { ref: '../../../etc/passwd' })],
    ['a well-formed ref the store does not have', reference(CONTENT_STORE_DRIVER_NAME, { ref: NOT_STORED })],
    ['a ref of content that is no payload', reference(CONTENT_STORE_DRIVER_NAME, { ref: record })],
  ];
}

/** A conversation with one turn answered. */
async function conversation(): Promise<{ id: string; workflowId: string }> {
  const id = newId();
  fx.model.script({ content: 'hello to you' });
  await fx.client.send('forged', id, { id: 'm1', content: 'hello' });
  return { id, workflowId: conversationWorkflowId('forged', id) };
}

async function history(workflowId: string) {
  return (await fx.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
}

async function failedTasks(workflowId: string) {
  return (await history(workflowId)).filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
}

/** Waits until a workflow task completed after the last signal, so the workflow has handled every signal. */
async function signalsHandled(workflowId: string, timeoutMs = 20_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline;) {
    const types = (await history(workflowId)).map((e) => e.eventType);
    const lastSignal = types.lastIndexOf(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED);
    const lastCompleted = types.lastIndexOf(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
    if (lastCompleted > lastSignal) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

test('a message signal holding a forged claim is dropped; the conversation is unchanged and answers the next message', async () => {
  const { id, workflowId } = await conversation();
  const before = await fx.client.state('forged', id);
  for (const [name, payload] of await forgedClaims()) {
    await fx.env.client.workflowService.signalWorkflowExecution({
      namespace: fx.env.namespace,
      workflowExecution: { workflowId },
      signalName: 'message',
      input: { payloads: [payload] },
      identity: `raw-client-test: ${name}`,
    });
  }
  // Before: every attempt of the workflow task holding the signals failed resolving the claim, for good.
  expect(await signalsHandled(workflowId)).toBe(true);
  expect(await fx.client.state('forged', id)).toEqual(before);

  fx.model.script({ content: 'still here' });
  const reply = await fx.client.send('forged', id, { id: 'm2', content: 'still there?' }, { timeoutMs: 20_000 });
  expect(reply).toMatchObject({ turn: 2, status: 'completed', content: 'still here' });
  const transcript = await fx.client.transcript('forged', id);
  expect(transcript.entries.filter((e) => e.role === 'user').map((e) => e.role === 'user' && e.messageId)).toEqual([
    'm1',
    'm2',
  ]);
  expect((await failedTasks(workflowId)).length).toBe(0);
});

test('a send update holding a forged claim is refused with an error that says so, and leaves no trace', async () => {
  const { id, workflowId } = await conversation();
  const refusals: Record<string, string | undefined> = {};
  for (const [name, payload] of await forgedClaims()) {
    const response = await fx.env.client.workflowService.updateWorkflowExecution({
      namespace: fx.env.namespace,
      workflowExecution: { workflowId },
      request: {
        meta: { updateId: `forged-${name}`, identity: 'raw-client-test' },
        input: { name: 'send', args: { payloads: [payload] } },
      },
      waitPolicy: { lifecycleStage: ACCEPTED },
    });
    refusals[name] = response.outcome?.failure?.message ?? undefined;
  }
  const said = (encoding: string) => `invalid message: a payload in encoding "${encoding}" that could not be decoded`;
  expect(refusals).toEqual({
    'a claim of an unknown storage driver': said(UNRESOLVED_CLAIM_ENCODINGS.unknownDriver),
    'a claim without a ref': said(UNRESOLVED_CLAIM_ENCODINGS.noContentRef),
    'a claim with a bad ref': said(UNRESOLVED_CLAIM_ENCODINGS.noContentRef),
    'a well-formed ref the store does not have': said(UNRESOLVED_CLAIM_ENCODINGS.missingContent),
    'a ref of content that is no payload': said(UNRESOLVED_CLAIM_ENCODINGS.notAPayload),
  });
  const events = await history(workflowId);
  expect(events.filter((e) => e.workflowExecutionUpdateAcceptedEventAttributes)).toHaveLength(1); // m1's send
  expect((await failedTasks(workflowId)).length).toBe(0);

  fx.model.script({ content: 'answered' });
  const reply = await fx.client.send('forged', id, { id: 'm2', content: 'next' }, { timeoutMs: 20_000 });
  expect(reply).toMatchObject({ turn: 2, status: 'completed', content: 'answered' });
});

test('a tool result whose content the store lost fails the workflow task until it is back; the turn then goes on with it', async () => {
  const id = newId();
  const seed = `seed-${id}`;
  // From the moment the tool's result is stored until the storage driver has been told "missing" for it (by
  // getMany, then by get, which the driver asks one reference at a time after getMany fails), the store has lost
  // everything it is asked for: the conversation's next workflow task cannot resolve the result's claim, and the
  // task after it can (no clock decides when the content is back).
  let lost = false;
  const { get, getMany } = fx.store;
  const missing = (ref: string) => Promise.reject(new ContentMissingError(ref, fx.store.name));
  fx.store.getMany = (refs) => (lost ? missing(refs[0]) : getMany.call(fx.store, refs));
  fx.store.get = (ref) => {
    if (!lost) return get.call(fx.store, ref);
    lost = false;
    return missing(ref);
  };
  try {
    fx.model.script({ toolCalls: [{ name: 'report', arguments: JSON.stringify({ seed }) }] }, { content: 'done' });
    const realPut = fx.store.put;
    fx.store.put = async (content) => {
      const ref = await realPut.call(fx.store, content);
      // The tool's result as the storage driver writes it (base64, not a transcript record): from now on, for a
      // while, its claim cannot be resolved.
      if (content.length > THRESHOLD_BYTES && /^[A-Za-z0-9+/=]+$/.test(content)) lost = true;
      return ref;
    };
    const reply = await fx.client.send('forged', id, { id: 'm1', content: 'print it' }, { timeoutMs: 30_000 });
    fx.store.put = realPut;
    expect(reply).toMatchObject({ status: 'completed', content: 'done' });
  } finally {
    Object.assign(fx.store, { get, getMany });
  }
  const failures = (await failedTasks(conversationWorkflowId('forged', id))).map(
    (e) => e.workflowTaskFailedEventAttributes?.failure?.message,
  );
  expect(failures.length).toBeGreaterThan(0);
  expect(failures[0]).toContain(UNRESOLVED_CLAIM_ENCODINGS.missingContent);
  const { entries } = await fx.client.transcript('forged', id);
  expect(entries.find((e) => e.role === 'tool')?.content).toBe(`${seed}: a long report. `.repeat(2_000));
}, 60_000);

describe('the storage driver', () => {
  const stored = new Map<string, string>();
  /** A store over a map, which can be made unreachable. */
  const store: ContentStore & { down: boolean } = {
    name: 'memory:test',
    down: false,
    async put(content) {
      const ref = `sha256:${String(stored.size).padStart(64, '0')}` as const;
      stored.set(ref, content);
      return ref;
    },
    async get(ref) {
      if (store.down) throw new StoreUnavailableError('the store is down', store.name);
      const content = stored.get(ref);
      if (content === undefined) throw new ContentMissingError(ref, store.name);
      return content;
    },
    async getMany(refs) {
      return Promise.all(refs.map((ref) => store.get(ref)));
    },
    has: async (ref) => stored.has(ref),
    close: async () => {},
  };
  const encodingOf = (payload: Payload) => new TextDecoder().decode(payload.metadata?.encoding);

  test('resolves claims it cannot read to payloads that say why, beside the ones it can', async () => {
    const driver = new ContentStoreDriver(store);
    const [good] = await driver.store({}, [payloadConverter.toPayload('a value')]);
    const back = await driver.retrieve({}, [
      new StorageDriverClaim({}),
      good,
      new StorageDriverClaim({ ref: 'sha256:nothex' }),
      new StorageDriverClaim({ ref: NOT_STORED }),
    ]);
    expect(back.map((payload) => encodingOf(payload))).toEqual([
      UNRESOLVED_CLAIM_ENCODINGS.noContentRef,
      'json/plain',
      UNRESOLVED_CLAIM_ENCODINGS.noContentRef,
      UNRESOLVED_CLAIM_ENCODINGS.missingContent,
    ]);
    expect(payloadConverter.fromPayload(back[1])).toBe('a value');
  });

  test('still fails while the store is unreachable, so the task retries', async () => {
    const driver = new ContentStoreDriver(store);
    const [good] = await driver.store({}, [payloadConverter.toPayload('kept')]);
    store.down = true;
    try {
      await expect(driver.retrieve({}, [good])).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(driver.retrieve({}, [new StorageDriverClaim({ ref: NOT_STORED })])).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
    } finally {
      store.down = false;
    }
  });

  test("External Storage still stores through Vigil's driver, and resolves another driver's claim to a refusable payload", async () => {
    const runner = new ExternalStorageRunner(externalStorageFor(store, { thresholdBytes: 1024 }));
    const big = payloadConverter.toPayload('x'.repeat(4096));
    const [claim] = await runner.store([big]);
    expect(claim.data!.length).toBeLessThan(1024);
    const [back, foreign] = await runner.retrieve([claim, reference('acme-s3', { key: 'k' })]);
    expect(payloadConverter.fromPayload(back)).toBe('x'.repeat(4096));
    expect(encodingOf(foreign)).toBe(UNRESOLVED_CLAIM_ENCODINGS.unknownDriver);
    // In a signal or update (a workflow's payload) it is a value every schema refuses ...
    expect(payloadConverter.fromPayload(foreign, { type: 'workflow', namespace: 'default', workflowId: 'w' })).toEqual({
      undecodablePayload: `a payload in encoding "${UNRESOLVED_CLAIM_ENCODINGS.unknownDriver}" that could not be decoded`,
    });
    // ... while an activity's result, which only a Vigil worker writes, is never read as one.
    expect(() =>
      payloadConverter.fromPayload(foreign, { type: 'activity', namespace: 'default', isLocal: false }),
    ).toThrow(UNRESOLVED_CLAIM_ENCODINGS.unknownDriver);
  });
});
