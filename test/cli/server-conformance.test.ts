/**
 * Differential conformance: the same conversations on the in-process server and on the real one (a Temporal CLI
 * dev server this file starts), compared as a user sees them: the replies, the errors (class and message), the
 * state, and the sequence of history event types. Each scenario waits for every reply before the next step, so
 * its history has one possible shape, and any difference is a difference of the servers.
 *
 * Runs under `npm run test:temporal`, with its CLI (test/helpers/in-process-only.ts, NEEDS_TEMPORAL_CLI).
 */
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { startTemporalCliServer, type TemporalCliServer } from '../../src/testing/temporal-cli';
import { startTestServer, type TestServer } from '@vigil/temporal-test-server';
import { eventually } from '../helpers/conformance';
import { startConversationHarness } from '../helpers/conversation';
import { replayAgent } from '../helpers/test-agents';
import { describeWithCli, TEMPORAL_CLI } from '../helpers/in-process-only';

const temporalCli = TEMPORAL_CLI;

type Harness = Awaited<ReturnType<typeof startConversationHarness>>;
const AGENT = replayAgent.name;

/** What a user can observe of one scenario. */
type Observed = unknown[];

/** The outcome of a call: its value, or its error's class and message. */
async function outcome<T>(call: Promise<T>, pick: (value: T) => unknown = (value) => value): Promise<unknown> {
  try {
    return { ok: pick(await call) };
  } catch (error) {
    return { error: error instanceof Error ? `${error.constructor.name}: ${error.message}` : String(error) };
  }
}

async function eventTypesOf(h: Harness, id: string): Promise<string[]> {
  const history = await h.env.client.workflow.getHandle(conversationWorkflowId(AGENT, id)).fetchHistory();
  return (history.events ?? []).map((e) =>
    temporal.api.enums.v1.EventType[e.eventType as number].replace(/^EVENT_TYPE_/, ''),
  );
}

const reply = (r: { status: string; content: string; turn: number }) => ({
  status: r.status,
  content: r.content,
  turn: r.turn,
});

const scenarios: Record<string, (h: Harness, id: string) => Promise<Observed>> = {
  'two turns and a duplicate': async (h, id) => [
    (h.model.script({ content: 'Hello!' }, { content: 'Still here.' }),
    await outcome(h.client.send(AGENT, id, { id: 'm1', content: 'hi' }), reply)),
    await outcome(h.client.send(AGENT, id, { id: 'm2', content: 'there?' }), reply),
    await outcome(h.client.send(AGENT, id, { id: 'm1', content: 'hi' }), reply),
    await outcome(h.client.state(AGENT, id), (s) => ({ status: s.status, turns: s.turns, queued: s.queued })),
  ],
  'a tool call, and an approval rejected with a reason': async (h, id) => {
    h.model.script(
      { toolCalls: [{ name: 'calculator', arguments: '{"expression":"6*7"}' }] },
      { content: 'It is 42.' },
      { toolCalls: [{ name: 'lookup', arguments: '{"q":"secret"}' }] },
      { content: 'Understood.' },
    );
    const first = await outcome(h.client.send(AGENT, id, { id: 'm1', content: 'what is 6*7?' }), reply);
    const second = h.client.send(AGENT, id, { id: 'm2', content: 'look up the secret' });
    const pending = await eventually(async () => (await h.client.state(AGENT, id)).pendingApprovals[0]);
    // Refused by the workflow's validator: no trace in history.
    const refused = await outcome(h.client.decide(AGENT, id, { toolCallId: 'nope', decision: 'approve' }));
    await h.client.decide(AGENT, id, { toolCallId: pending.toolCallId, decision: 'reject', reason: 'not here' });
    return [first, refused, await outcome(second, reply)];
  },
  'end, then a message to the ended conversation': async (h, id) => {
    h.model.script({ content: 'Bye.' });
    const last = await outcome(h.client.send(AGENT, id, { id: 'm1', content: 'last words' }), reply);
    await h.client.end(AGENT, id);
    const result = await h.env.client.workflow.getHandle(conversationWorkflowId(AGENT, id)).result();
    return [last, result, await outcome(h.client.send(AGENT, id, { id: 'm2', content: 'hello?' }))];
  },
};

describeWithCli('the same conversations on the in-process server and on the real one', () => {
  let real: TemporalCliServer;
  let inProcess: TestServer;
  const harnesses: Harness[] = [];

  beforeAll(async () => {
    [real, inProcess] = await Promise.all([
      startTemporalCliServer({ executable: temporalCli!, ui: false }),
      startTestServer(),
    ]);
    for (const address of [inProcess.address, real.address]) {
      // No text previews: a completion slower than their interval would add a signal and a task to one history and
      // not the other, which says something about the machine's load, not about the servers.
      harnesses.push(await startConversationHarness([replayAgent], { temporalAddress: address, streamDeltas: false }));
    }
  }, 120_000);
  afterAll(async () => {
    for (const h of harnesses) await h.close();
    await Promise.all([real?.close(), inProcess?.close()]);
  });

  test.each(Object.keys(scenarios))('%s: the same replies, errors, state and history event types', async (name) => {
    const observed = [];
    for (const h of harnesses) {
      h.model.reset();
      const id = `conformance-${randomUUID()}`;
      const seen = await scenarios[name](h, id);
      observed.push({
        seen: JSON.parse(JSON.stringify(seen).replaceAll(id, '<id>')),
        events: await eventTypesOf(h, id),
      });
    }
    const [inProcessSeen, realSeen] = observed;
    expect(inProcessSeen).toEqual(realSeen);
  });
});
