/**
 * What a conversation carries across continue-as-new: its newest entries whole, older ones as references to
 * the content store. Nothing a user sees changes: the transcript reads the same (AgentClient reads the stored
 * entries), and the model sees the same context as in one uninterrupted run.
 */
import { Client } from '@temporalio/client';
import { defineAgent } from '../../src/agents/define-agent';
import { AgentClient } from '../../src/client';
import { ConfigError } from '../../src/errors';
import { conversationWorkflowId, type TranscriptEntry, transcriptQuery } from '../../src/conversation/protocol';
import { CARRIED_ENTRIES } from '../../src/conversation/state';
import { newId, useConversations } from '../helpers/conversation';
import type { RecordedRequest } from '../../src/testing/scripted-model';

/** Continues as new every dozen turns or so; `memory` as given. */
type Memory = Parameters<typeof defineAgent>[0]['memory'];
const switching = (name: string, memory?: Memory) =>
  defineAgent({
    name,
    instructions: 'Be brief.',
    model: 'test-model',
    ...(memory ? { memory } : {}),
    limits: { continueAsNewAfterEvents: 100 },
  });
/** The same agent in one run. */
const single = (name: string, memory?: Memory) =>
  defineAgent({
    name,
    instructions: 'Be brief.',
    model: 'test-model',
    ...(memory ? { memory } : {}),
    limits: { continueAsNewAfterEvents: 40_000, continueAsNewWhenSuggested: false },
  });
/** A window that holds the whole transcript: every model call reads the oldest entries too. */
const WIDE = { maxContextTokens: 200_000 };
/**
 * No summary, the first message pinned, and a window of some 250 of the 320 entries: the window's edge falls
 * among the entries carried as references, so their token counts decide it.
 */
const CUT = { maxContextTokens: 20_000, summary: false, pinFirstUserMessage: true };
const fx = useConversations([
  switching('switching', WIDE),
  single('single', WIDE),
  switching('switching-summarized'),
  single('single-summarized'),
  switching('switching-cut', CUT),
  single('single-cut', CUT),
]);

/** Enough turns (two entries each) that many entries are older than the CARRIED_ENTRIES carried whole. */
const TURNS = CARRIED_ENTRIES / 2 + 60;
/** Each test is two conversations of TURNS turns: 25-30 s alone on a 2-core machine, more beside other test files. */
const LONG_TEST_MS = 180_000;

async function allEntries(agents: AgentClient, agent: string, id: string): Promise<TranscriptEntry[]> {
  const entries: TranscriptEntry[] = [];
  for (let offset: number | null = 0; offset !== null;) {
    const page = await agents.transcript(agent, id, { offset, limit: 500 });
    entries.push(...page.entries);
    offset = page.nextOffset;
  }
  return entries;
}

const withoutTimes = (entries: TranscriptEntry[]) => entries.map(({ at: _at, ...rest }) => rest);

/** Sends the same TURNS messages to both conversations, alternating; returns the model calls each one made. */
async function converseInBoth(carried: string, whole: string, id: string) {
  const calls = { carried: [] as RecordedRequest[], whole: [] as RecordedRequest[] };
  const send = async (agent: string, into: RecordedRequest[], message: { id: string; content: string }) => {
    const from = fx.model.requests.length;
    await fx.client.send(agent, id, message);
    into.push(...fx.model.requests.slice(from));
  };
  for (let i = 1; i <= TURNS; i++) {
    const message = { id: `m${i}`, content: `message number ${i}: ${'some words to carry '.repeat(10)}` };
    await send(carried, calls.carried, message);
    await send(whole, calls.whole, message);
  }
  return {
    carriedCalls: calls.carried.map((r) => r.body.messages),
    wholeCalls: calls.whole.map((r) => r.body.messages),
  };
}

async function runs(agent: string, id: string): Promise<number> {
  let count = 0;
  for await (const _ of fx.env.client.workflow.list({ query: `WorkflowId = '${conversationWorkflowId(agent, id)}'` }))
    count++;
  return count;
}

it(
  'older entries travel as stored references; the transcript and the model context are those of one uninterrupted run',
  async () => {
    const id = newId('carried');
    const { carriedCalls, wholeCalls } = await converseInBoth('switching', 'single', id);
    // Every model call saw what the uninterrupted run's saw; the last, the whole transcript, read from the store.
    expect(carriedCalls).toEqual(wholeCalls);
    expect(carriedCalls.at(-1)!.length).toBe(2 * TURNS); // the instructions, and every entry but the last reply
    expect(await runs('switching', id)).toBeGreaterThan(10);
    expect(await runs('single', id)).toBe(1);

    // What the conversation holds: its oldest entries as references only, the newest whole.
    const handle = fx.env.client.workflow.getHandle(conversationWorkflowId('switching', id));
    const held = await handle.query(transcriptQuery, { offset: 0, limit: 500 });
    expect(held.total).toBe(2 * TURNS);
    expect('stored' in held.entries[0]).toBe(true);
    expect(held.entries.filter((e) => 'stored' in e).length).toBeGreaterThan(2 * TURNS - CARRIED_ENTRIES - 30);
    expect('stored' in held.entries.at(-1)!).toBe(false);

    // Read through AgentClient, nothing shows: the same entries as the run that never switched.
    const [carried, whole] = await Promise.all([
      allEntries(fx.client, 'switching', id),
      allEntries(fx.client, 'single', id),
    ]);
    expect(withoutTimes(carried)).toEqual(withoutTimes(whole));
    expect(carried[0]).toMatchObject({
      role: 'user',
      messageId: 'm1',
      content: expect.stringContaining('message number 1:'),
    });

    // A client without the store still reads the recent entries, and is told what it lacks for the older ones.
    const storeless = new AgentClient({
      client: new Client({ connection: fx.env.connection, namespace: fx.env.namespace }),
      taskQueue: fx.taskQueue,
    });
    const recent = await storeless.transcript('switching', id, { offset: 2 * TURNS - 10, limit: 10 });
    expect(withoutTimes(recent.entries)).toEqual(withoutTimes(whole.slice(-10)));
    await expect(storeless.transcript('switching', id, { offset: 0, limit: 10 })).rejects.toThrow(ConfigError);
    await expect(storeless.transcript('switching', id, { offset: 0, limit: 10 })).rejects.toThrow(/content store/);
  },
  LONG_TEST_MS,
);

it(
  'with a rolling summary, the windows and summaries over stored entries are those of one uninterrupted run',
  async () => {
    const id = newId('summarized');
    const { carriedCalls, wholeCalls } = await converseInBoth('switching-summarized', 'single-summarized', id);
    // Every call alike, the summaries' included.
    expect(carriedCalls.length).toBeGreaterThan(TURNS);
    expect(carriedCalls).toEqual(wholeCalls);
    const [carriedView, wholeView] = await Promise.all([
      fx.client.state('switching-summarized', id),
      fx.client.state('single-summarized', id),
    ]);
    expect(carriedView.memory).not.toBeNull();
    expect(carriedView.memory).toEqual(wholeView.memory);
  },
  LONG_TEST_MS,
);

it(
  'with a window whose edge falls among the stored entries, and the first message pinned, the windows are the same',
  async () => {
    const id = newId('cut');
    const { carriedCalls, wholeCalls } = await converseInBoth('switching-cut', 'single-cut', id);
    expect(carriedCalls).toEqual(wholeCalls);
    // The last window: the instructions, the pinned first message, then more entries than are carried whole.
    const last = carriedCalls.at(-1)!;
    expect(last[1]).toMatchObject({ role: 'user', content: expect.stringContaining('message number 1:') });
    expect(last.length).toBeGreaterThan(CARRIED_ENTRIES + 2);
    expect(last.length).toBeLessThan(2 * TURNS - 20);
  },
  LONG_TEST_MS,
);
