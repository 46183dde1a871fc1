/**
 * A streamed chat completion that streams for real: the model's text is sent as the conversation's events
 * bring it (see ConversationEvent), not after the turn. The turn's reply stays authoritative: what the events
 * did not carry (a lost preview, a runtime notice such as a cancellation) is sent from it at the end.
 *
 * When the model speaks in more than one step of a turn (text beside a tool call, then the answer), or a
 * model call is retried after it began to stream, an OpenAI client cannot take back what it got: the later
 * text follows after a blank line, and the transcript holds the reply as the conversation recorded it.
 */
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { VigilError } from '../../errors';
import type { ConversationEventEnvelope, Reply } from '../../conversation/protocol';
import {
  chatCompletionEvents,
  completionIdFor,
  errorEvent,
  finishChunk,
  pieces,
  turnFailure,
  usageChunk,
} from './chat-completion';

export interface LiveCompletion {
  agent: string;
  conversationId: string;
  messageId: string;
  includeUsage: boolean;
  /** The conversation's events from before the message was sent. */
  events: AsyncIterable<ConversationEventEnvelope>;
  /** The message's reply, as `AgentClient.send` gives it. */
  reply: Promise<Reply>;
}

/**
 * Resolves once the message's turn has begun, with the stream to send; or, when the reply comes first (a
 * message id the conversation answered before), with that reply as a stream. Rejects as `reply` does before
 * either, so the route can still answer with an error status.
 */
export async function startLiveCompletion(live: LiveCompletion): Promise<AsyncIterable<string>> {
  const events = live.events[Symbol.asyncIterator]();
  const turnStarted = (async () => {
    for (let next = await events.next(); !next.done; next = await events.next()) {
      const { event } = next.value;
      if (event.type === 'turn.started' && event.messageId === live.messageId) return event.turn;
    }
    return undefined;
  })();
  const first = await Promise.race([turnStarted, live.reply.then(() => undefined)]);
  if (first === undefined) {
    const reply = await live.reply;
    const failure = turnFailure(reply);
    if (failure) throw failure;
    return toAsync(
      chatCompletionEvents({ agent: live.agent, conversationId: live.conversationId, reply }, live.includeUsage),
    );
  }
  return streamTurn(live, events, first);
}

async function* streamTurn(
  live: LiveCompletion,
  events: AsyncIterator<ConversationEventEnvelope>,
  turn: number,
): AsyncGenerator<string> {
  const id = completionIdFor(live.messageId);
  const created = Math.floor(Date.now() / 1000);
  const chunk = (delta: ChatCompletionChunk.Choice.Delta): string =>
    `data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model: live.agent, choices: [{ index: 0, delta, finish_reason: null }] } satisfies ChatCompletionChunk)}\n\n`;

  yield chunk({ role: 'assistant', content: '' });
  let streamed = '';
  let speaking: string | undefined; // the step and attempt whose text is streaming
  for (let next = await events.next(); !next.done; next = await events.next()) {
    const { event } = next.value;
    if (event.type === 'reply' && event.reply.turn === turn) break;
    if (event.type !== 'model.delta' || event.turn !== turn) continue;
    const speaker = `${event.step}:${event.attempt}`;
    const text = speaking !== undefined && speaker !== speaking && streamed !== '' ? `\n\n${event.text}` : event.text;
    speaking = speaker;
    streamed += text;
    yield chunk({ content: text });
  }

  let reply: Reply;
  try {
    reply = await live.reply;
  } catch (error) {
    // Headers are sent: the failure goes in OpenAI's in-stream error form, which its clients raise.
    const message = error instanceof VigilError ? error.message : 'the turn failed';
    yield `data: ${JSON.stringify({ error: { message, type: 'server_error', code: null, param: null } })}\n\n`;
    return;
  }
  const failure = turnFailure(reply);
  if (failure) {
    // As OpenAI's API ends a stream that fails: an error event, no finish chunk and no [DONE].
    yield errorEvent(failure);
    return;
  }
  const rest = reply.content.startsWith(streamed) ? reply.content.slice(streamed.length) : '';
  for (const piece of pieces(rest)) yield chunk({ content: piece });
  yield finishChunk(live.agent, live.conversationId, reply);
  if (live.includeUsage) yield usageChunk(live.agent, reply);
  yield 'data: [DONE]\n\n';
}

async function* toAsync(lines: Iterable<string>): AsyncGenerator<string> {
  yield* lines;
}
