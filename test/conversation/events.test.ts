/**
 * A conversation's event stream, as watchers see it through AgentClient.events(): the real worker, the
 * offline Temporal and a scripted model that streams its answers.
 */
import { defineAgent } from '../../src/agents/define-agent';
import { ConversationNotFoundError } from '../../src/errors';
import type { ConversationEvent, ConversationEventEnvelope } from '../../src/conversation/protocol';
import { RETAINED_TURNS } from '../../src/workflows/conversation-events';
import { calculator } from '../../src/tools';
import { eventTypes, eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { lookup } from '../helpers/test-agents';

const watcher = defineAgent({
  name: 'watched',
  instructions: 'Be brief.',
  model: 'test-model',
  tools: [calculator, lookup],
});
const fx = useConversations([watcher]);

beforeEach(() => fx.model.reset());

/** Reads events until `until` says stop (inclusive), then leaves the stream. */
async function collect(
  conversationId: string,
  until: (event: ConversationEvent) => boolean,
  fromOffset?: number,
): Promise<ConversationEventEnvelope[]> {
  const seen: ConversationEventEnvelope[] = [];
  const abort = new AbortController();
  for await (const envelope of fx.client.events('watched', conversationId, { fromOffset, signal: abort.signal })) {
    seen.push(envelope);
    if (until(envelope.event)) abort.abort();
  }
  return seen;
}

const types = (envelopes: ConversationEventEnvelope[]) => envelopes.map((e) => e.event.type);
const isReply = (event: ConversationEvent) => event.type === 'reply';

it('tells a watcher the turn as it happens: start, tool call and result, streamed text, reply', async () => {
  const id = newId();
  fx.model.script(
    { toolCalls: [{ id: 'call_1', name: 'calculator', arguments: '{"expression":"17*23"}' }] },
    // Written a word every 60 ms: long enough to be previewed (a reply faster than one interval is not).
    { content: 'The calculator says 391, which is the product.', chunkDelayMs: 60 },
  );
  await fx.client.open('watched', id);
  const watching = collect(id, isReply);
  const reply = await fx.client.send('watched', id, { id: 'm1', content: 'what is 17*23' });
  const events = await watching;

  const lifecycle = types(events).filter((t) => t !== 'model.delta');
  expect(lifecycle).toEqual(['turn.started', 'tool.requested', 'tool.finished', 'reply']);
  expect(events[0].event).toMatchObject({ type: 'turn.started', turn: 1, messageId: 'm1' });
  expect(events.find((e) => e.event.type === 'tool.finished')?.event).toMatchObject({
    name: 'calculator',
    content: expect.stringContaining('391'),
    isError: false,
  });

  // The streamed text of the last model call is the reply, and it arrived before the reply event.
  const deltas = events
    .filter((e) => e.event.type === 'model.delta')
    .map((e) => e.event as Extract<ConversationEvent, { type: 'model.delta' }>);
  expect(
    deltas
      .filter((d) => d.step === 2)
      .map((d) => d.text)
      .join(''),
  ).toBe(reply.content);
  expect(deltas.every((d) => d.turn === 1 && d.attempt === 1)).toBe(true);
  expect(types(events).lastIndexOf('model.delta')).toBeLessThan(types(events).indexOf('reply'));
  expect(events.at(-1)!.event).toEqual({ type: 'reply', reply });

  // Offsets are positions: strictly increasing by one.
  expect(events.map((e) => e.offset)).toEqual(events.map((_, i) => i));
});

it('a reply written faster than one preview interval comes whole in the reply event, and costs the history no signal', async () => {
  const id = newId();
  fx.model.script({ content: 'Quick answer.' });
  await fx.client.open('watched', id);
  const watching = collect(id, isReply);
  const reply = await fx.client.send('watched', id, { id: 'm1', content: 'quick' });
  const events = await watching;

  expect(types(events)).toEqual(['turn.started', 'reply']);
  expect(events.at(-1)!.event).toEqual({ type: 'reply', reply });
  expect(reply.content).toBe('Quick answer.');
  expect(await eventTypes(fx.client.handle('watched', id))).not.toContain('WORKFLOW_EXECUTION_SIGNALED');
});

it('resumes after the last offset seen with nothing missed and nothing twice', async () => {
  const id = newId();
  fx.model.script({ content: 'first answer' }, { content: 'second answer' });
  await fx.client.send('watched', id, { id: 'm1', content: 'one' });
  await fx.client.send('watched', id, { id: 'm2', content: 'two' });

  const all = await collect(id, (e) => isReply(e) && e.reply.turn === 2);
  // A watcher that left after the first reply comes back from the next offset.
  const firstPart = all.slice(0, all.findIndex((e) => e.event.type === 'reply') + 1);
  const rest = await collect(id, (e) => isReply(e) && e.reply.turn === 2, firstPart.at(-1)!.offset! + 1);

  expect([...firstPart, ...rest]).toEqual(all);
  expect(rest[0].event).toMatchObject({ type: 'turn.started', turn: 2 });
});

it('announces approvals and decisions', async () => {
  const id = newId();
  fx.model.script(
    { toolCalls: [{ id: 'call_l', name: 'lookup', arguments: '{"q":"x"}' }] },
    { content: 'looked it up' },
  );
  await fx.client.open('watched', id);
  const watching = collect(id, isReply);
  const reply = fx.client.send('watched', id, { id: 'm1', content: 'look x up' });
  await eventually(async () =>
    (await fx.client.state('watched', id)).pendingApprovals.length === 1 ? true : undefined,
  );
  await fx.client.decide('watched', id, { toolCallId: 'call_l', decision: 'approve' });
  await reply;

  const events = (await watching).map((e) => e.event);
  expect(events).toContainEqual(
    expect.objectContaining({
      type: 'tool.awaiting_approval',
      approval: expect.objectContaining({ toolCallId: 'call_l', tool: 'lookup' }),
    }),
  );
  expect(events).toContainEqual({ type: 'tool.decided', turn: 1, toolCallId: 'call_l', decision: 'approve' });
  expect(types(await watching).filter((t) => t.startsWith('tool.'))).toEqual([
    'tool.requested',
    'tool.awaiting_approval',
    'tool.decided',
    'tool.finished',
  ]);
});

it('ends the stream when the conversation ends', async () => {
  const id = newId();
  fx.model.script({ content: 'bye' });
  await fx.client.send('watched', id, { id: 'm1', content: 'hi' });
  const events: ConversationEvent[] = [];
  // Ended once the watcher is surely attached: it has seen the first turn's reply.
  for await (const { event } of fx.client.events('watched', id)) {
    events.push(event);
    if (isReply(event)) await fx.client.end('watched', id);
  }
  expect(events.at(-1)).toEqual({ type: 'conversation.ended', turns: 1 });
});

it('leaves at once when the watcher aborts on an idle conversation', async () => {
  const id = newId();
  await fx.client.open('watched', id);
  const abort = new AbortController();
  const iteration = (async () => {
    const seen: unknown[] = [];
    for await (const e of fx.client.events('watched', id, { signal: abort.signal })) seen.push(e);
    return seen;
  })();
  // The watcher's poll is parked in the conversation (accepted, waiting for an event) before it leaves.
  await eventually(async () =>
    (await eventTypes(fx.client.handle('watched', id))).includes('WORKFLOW_EXECUTION_UPDATE_ACCEPTED')
      ? true
      : undefined,
  );
  abort.abort();
  await expect(iteration).resolves.toEqual([]);
});

/** The event stream's polls the conversation has accepted: each poll of a watcher is an update of the run. */
async function pollsAccepted(conversationId: string): Promise<number> {
  const { events } = await fx.client.handle('watched', conversationId).fetchHistory();
  return (events ?? []).filter(
    (e) =>
      e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input?.name ===
      '__temporal_workflow_stream_poll',
  ).length;
}

// A poll started after its watcher left would wait in the conversation for its next event, and be retried through
// rejections and run switches meanwhile: work for nobody, in the gateway for every SSE client that went away.
describe('a watcher that leaves starts no poll after it', () => {
  /** Watches one turn, leaving by `leave` at its reply; then ends the conversation: how many polls came after? */
  async function pollsAfterLeaving(leave: (abort: AbortController) => void): Promise<number> {
    const id = newId();
    fx.model.script({ content: 'hello' });
    await fx.client.open('watched', id);
    const abort = new AbortController();
    const watching = (async () => {
      for await (const { event } of fx.client.events('watched', id, { signal: abort.signal }))
        if (isReply(event)) leave(abort);
    })();
    await fx.client.send('watched', id, { id: 'm1', content: 'hi' });
    await watching;
    const before = await pollsAccepted(id);
    // The run stays open a second after the end (EVENTS_GRACE_MS): a late poll would be accepted by the close.
    await fx.client.end('watched', id);
    await fx.client.handle('watched', id).result();
    return (await pollsAccepted(id)) - before;
  }

  it('when it leaves from its loop, between two events', async () => {
    expect(await pollsAfterLeaving((abort) => abort.abort())).toBe(0);
  });

  it('when it leaves while the stream waits to poll again', async () => {
    // Aborted just after the loop asked for the next event: the stream is in its cool-down between two polls then.
    expect(await pollsAfterLeaving((abort) => setImmediate(() => abort.abort()))).toBe(0);
  });
});

it('refuses a conversation that does not exist', async () => {
  await expect(collect(newId(), () => true)).rejects.toBeInstanceOf(ConversationNotFoundError);
});

it(`keeps the events of the last ${RETAINED_TURNS} turns, and says so to a watcher who asks for older ones`, async () => {
  const id = newId();
  const turns = RETAINED_TURNS + 2;
  fx.model.respondWith(() => ({ content: 'ok' }));
  for (let i = 1; i <= turns; i++) await fx.client.send('watched', id, { id: `m${i}`, content: `message ${i}` });

  const events = await collect(id, (e) => isReply(e) && e.reply.turn === turns);
  expect(events[0]).toMatchObject({ offset: null, event: { type: 'stream.gap', missedFrom: 0 } });
  const started = events.filter((e) => e.event.type === 'turn.started').map((e) => (e.event as { turn: number }).turn);
  // The oldest turns were dropped; the rest are all there, in order.
  expect(started[0]).toBeGreaterThan(1);
  expect(started).toEqual(Array.from({ length: started.length }, (_, i) => turns - started.length + 1 + i));
  expect(started.length).toBeGreaterThanOrEqual(RETAINED_TURNS);
});
