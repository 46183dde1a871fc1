/**
 * What was cut short reaches the user: an answer the model stopped at its output limit (finish_reason `length`),
 * and a message longer than the agent's context window, of which the model was sent only the beginning. End to
 * end: the real worker, the in-process Temporal and the scripted model.
 */
import { defineAgent } from '../../src/agents/define-agent';
import { DEFAULT_MEMORY } from '../../src/conversation/memory-policy';
import type { ConversationEvent } from '../../src/conversation/protocol';
import { newId, useConversations } from '../helpers/conversation';

const agent = defineAgent({ name: 'cut', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([agent]);

beforeEach(() => fx.model.reset());

/** The conversation's events until its reply to `turn`. */
async function eventsOfTurn(conversationId: string, turn: number): Promise<ConversationEvent[]> {
  const events: ConversationEvent[] = [];
  for await (const { event } of fx.client.events('cut', conversationId)) {
    if (event.type === 'reply' ? event.reply.turn === turn : 'turn' in event && event.turn === turn) events.push(event);
    if (event.type === 'reply' && event.reply.turn === turn) break;
  }
  return events;
}

test('an answer the model cut at its output limit says so: in the reply, a notice and its events; the next one does not', async () => {
  const id = newId();
  fx.model.script({ content: 'The three reasons are: first, the', finishReason: 'length' }, { content: 'Done.' });
  const reply = await fx.client.send('cut', id, { id: newId('m'), content: 'Give me three reasons.' });
  expect(reply).toMatchObject({
    status: 'completed',
    content: 'The three reasons are: first, the',
    cut: { answer: 'output_limit' },
  });
  expect(reply.cut?.message).toBeUndefined();

  const { entries } = await fx.client.transcript('cut', id);
  expect(entries.map((e) => [e.role, e.turn])).toEqual([
    ['user', 1],
    ['assistant', 1],
    ['notice', 1],
  ]);
  expect(entries[2]).toMatchObject({ content: expect.stringContaining('cut short') });
  const events = await eventsOfTurn(id, 1);
  expect(events.map((e) => e.type)).toEqual(['turn.started', 'notice', 'reply']);
  expect(events.at(-1)).toEqual({ type: 'reply', reply });

  const next = await fx.client.send('cut', id, { id: newId('m'), content: 'Go on.' });
  expect(next).toMatchObject({ status: 'completed', content: 'Done.' });
  expect(next).not.toHaveProperty('cut');
});

test('a tool call cut at the output limit is no cut answer: the turn goes on to its answer', async () => {
  const id = newId();
  fx.model.script(
    { toolCalls: [{ name: 'nothing', arguments: '{"a":' }], finishReason: 'length' },
    { content: 'Answered anyway.' },
  );
  const reply = await fx.client.send('cut', id, { id: newId('m'), content: 'hi' });
  expect(reply).toMatchObject({ status: 'completed', content: 'Answered anyway.' });
  expect(reply).not.toHaveProperty('cut');
});

test('a message longer than the context window: the user is told how much the model was sent, and the conversation goes on', async () => {
  const id = newId();
  // The most a message may carry, over twice what the default window takes (16,000 tokens, 4,000 kept for the reply).
  const content = `${'word '.repeat(19_999)}end!?`;
  expect(content.length).toBe(100_000);
  fx.model.respondWith((request) => {
    const last = request.body.messages.at(-1);
    return { content: `I was sent ${typeof last?.content === 'string' ? last.content.length : 0} characters.` };
  });
  const reply = await fx.client.send('cut', id, { id: newId('m'), content });
  expect(reply.status).toBe('completed');
  const sentChars = reply.cut?.message?.sentChars ?? 0;
  expect(reply.cut).toEqual({ message: { chars: 100_000, sentChars } });
  expect(sentChars).toBeGreaterThan(0);
  expect(sentChars).toBeLessThan((DEFAULT_MEMORY.maxContextTokens - DEFAULT_MEMORY.reserveForReplyTokens) * 4);
  // What the model was sent: the message's beginning, marked as cut.
  const sent = fx.model.requests.at(-1)!.body.messages.at(-1)!;
  expect(sent.content).toBe(`${content.slice(0, sentChars)}\n[… cut to fit the context window]`);

  // The transcript keeps the whole message, and says what the model saw of it.
  const { entries } = await fx.client.transcript('cut', id);
  expect(entries.map((e) => e.role)).toEqual(['user', 'assistant', 'notice']);
  expect(entries[0]).toMatchObject({ content });
  expect(entries[2]).toMatchObject({
    turn: 1,
    content: expect.stringContaining(`the model was sent only its first ${sentChars} of 100000 characters`),
  });

  const next = await fx.client.send('cut', id, { id: newId('m'), content: 'and a short one' });
  expect(next).toMatchObject({ status: 'completed', content: 'I was sent 15 characters.' });
  expect(next).not.toHaveProperty('cut');
});
