/**
 * When a conversation continues as new: once its run's history passes the agent's byte limit, when Temporal
 * suggests it (unless the agent says not to), and before the run's total-updates limit would refuse messages.
 * Each message is an update, so a conversation that ignored that limit would stop taking messages.
 */
import { temporal } from '@temporalio/proto';
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId } from '../../src/protocol';
import type { ConversationFixture } from '../helpers/conversation';
import { newId, useConversations } from '../helpers/conversation';

const KIB = 1024;
/** A message of about 3 KB: with its echoed reply, a turn adds some 8 KB to history. */
const message = (i: number) => `message ${i}: ${'words that take room in the history '.repeat(80)}`.slice(0, 3_000);

/**
 * Each run of the conversation, oldest first: its status, and its history's encoded size and length without the
 * closing continue-as-new event (which carries the next run's input: the state, inline when it is small).
 */
async function runsOf(fx: ConversationFixture, agent: string, id: string) {
  const runs: { status: string; bytes: number; events: number; started: number }[] = [];
  for await (const run of fx.env.client.workflow.list({ query: `WorkflowId = '${conversationWorkflowId(agent, id)}'` })) {
    const history = await fx.env.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const events = (history.events ?? []).filter((e) => !e.workflowExecutionContinuedAsNewEventAttributes);
    runs.push({
      status: run.status.name,
      bytes: temporal.api.history.v1.History.encode({ events }).finish().length,
      events: events.length,
      started: run.startTime.getTime(),
    });
  }
  return runs.sort((a, b) => a.started - b.started);
}

/** Sends `count` messages one after another; each gets its own reply. */
async function converse(fx: ConversationFixture, agent: string, id: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const reply = await fx.client.send(agent, id, { id: `m${i}`, content: message(i) });
    expect(reply.content).toBe(`echo: ${message(i)}`);
  }
}

async function userMessages(fx: ConversationFixture, agent: string, id: string): Promise<string[]> {
  const { entries } = await fx.client.transcript(agent, id, { limit: 500 });
  return entries.flatMap((e) => (e.role === 'user' ? [e.messageId] : []));
}

const ids = (count: number) => Array.from({ length: count }, (_, i) => `m${i + 1}`);

/** The same agent twice: one follows Temporal's suggestion (the default), one ignores it. */
const advised = defineAgent({ name: 'advised', instructions: 'Be brief.', model: 'test-model' });
const unadvised = defineAgent({
  name: 'unadvised',
  instructions: 'Be brief.',
  model: 'test-model',
  limits: { continueAsNewWhenSuggested: false },
});

describe('on any Temporal', () => {
  const sized = defineAgent({
    name: 'sized',
    instructions: 'Be brief.',
    model: 'test-model',
    // A window that holds every turn: no summary call (with its own, larger, answer) makes one turn weigh more.
    memory: { maxContextTokens: 200_000 },
    limits: { continueAsNewAfterBytes: 64 * KIB, continueAsNewWhenSuggested: false },
  });
  const fx = useConversations([sized]);

  it('a run continues as new once its history passes continueAsNewAfterBytes, and nothing is lost', async () => {
    const id = newId('sized');
    await converse(fx, 'sized', id, 24);

    const runs = await runsOf(fx, 'sized', id);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    // Every run but the last was ended by its size, at the first idle moment after the limit: a turn (some
    // 19 KB here) after it at most.
    for (const run of runs.slice(0, -1)) {
      expect(run.status).toBe('CONTINUED_AS_NEW');
      expect(run.bytes).toBeGreaterThanOrEqual(64 * KIB);
      expect(run.bytes).toBeLessThan(90 * KIB);
    }
    expect(runs.at(-1)!.status).toBe('RUNNING');
    expect(await userMessages(fx, 'sized', id)).toEqual(ids(24));
    expect((await fx.client.state('sized', id)).turns).toBe(24);
  });
});

describe('when Temporal suggests continue-as-new (here after 60 events)', () => {
  const fx = useConversations([advised, unadvised], { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 60 } });

  it('the conversation follows the suggestion, unless its agent sets continueAsNewWhenSuggested: false', async () => {
    const id = newId('advice');
    await converse(fx, 'advised', id, 15);
    await converse(fx, 'unadvised', id, 15);

    const followed = await runsOf(fx, 'advised', id);
    expect(followed.length).toBeGreaterThanOrEqual(2);
    // Soon after the 60th event: at the first idle moment once the suggestion came.
    for (const run of followed.slice(0, -1)) expect(run.events).toBeLessThan(90);
    expect((await runsOf(fx, 'unadvised', id)).map((r) => r.status)).toEqual(['RUNNING']);
    expect(await userMessages(fx, 'advised', id)).toEqual(ids(15));
    expect(await userMessages(fx, 'unadvised', id)).toEqual(ids(15));
  });
});

describe('when a run may take only 30 updates (a real server allows 2,000 and suggests continue-as-new at 90%)', () => {
  const fx = useConversations([advised, unadvised], { dynamicConfig: { 'history.maxTotalUpdates': 30 } });

  it('the conversation continues as new before the limit and takes every message; ignoring the advice, the 31st is refused', async () => {
    const id = newId('updates');
    await converse(fx, 'advised', id, 45);
    expect(await userMessages(fx, 'advised', id)).toEqual(ids(45));
    const runs = await runsOf(fx, 'advised', id);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    // Not the history's length: far below Temporal's 4,096 events and Vigil's 10,000.
    expect(runs[0].events).toBeLessThan(1_000);

    // What the advice saves a conversation from: the run refuses message 31, and the client is told why.
    await converse(fx, 'unadvised', id, 30);
    await expect(fx.client.send('unadvised', id, { id: 'm31', content: message(31) })).rejects.toThrow(
      /limit on number of total updates has been reached \(30\)/,
    );
    expect(await userMessages(fx, 'unadvised', id)).toEqual(ids(30));
  });
});
