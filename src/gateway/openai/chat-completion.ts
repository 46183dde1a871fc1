/**
 * A turn's reply in OpenAI's chat completion shapes: one `chat.completion`, or a stream of
 * `chat.completion.chunk` server-sent events ending with `data: [DONE]`. A reply known in full (a repeated
 * message id) is streamed from here; a turn in progress streams as the model writes (live-completion.ts).
 */
import { createHash } from 'node:crypto';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Reply, ReplyCut, ReplyStatus } from '../../conversation/protocol';
import { type ErrorCode, HttpError, openAIErrorBody } from '../errors';

/** Vigil's own facts about the turn, beside OpenAI's fields. */
export interface VigilTurn {
  conversationId: string;
  messageId: string;
  turn: number;
  status: ReplyStatus;
  /** What of the turn was cut short (Reply.cut), when something was. */
  cut?: ReplyCut;
}

/**
 * A turn that ended without an answer is an error, as OpenAI's API answers: an error status, or an error event
 * in a stream that has begun, so clients raise it instead of showing a notice as the model's words. The turn
 * is over either way, so a retry would only repeat it (a stateless request) or get the same outcome: the
 * response tells OpenAI's clients not to retry (`x-should-retry`).
 */
const TURN_FAILURES: Partial<Record<ReplyStatus, { status: number; code: ErrorCode }>> = {
  error: { status: 502, code: 'turn_failed' },
  cancelled: { status: 409, code: 'turn_cancelled' },
  budget_exceeded: { status: 429, code: 'insufficient_quota' },
  payment_required: { status: 402, code: 'payment_required' },
};

/** The error a reply is, when its turn ended without an answer; undefined for an answer. */
export function turnFailure(reply: Reply): HttpError | undefined {
  const failure = TURN_FAILURES[reply.status];
  if (!failure) return undefined;
  return new HttpError(failure.status, failure.code, reply.content, { 'x-should-retry': 'false' });
}

/** The error event that ends a stream whose turn failed after it began. */
export function errorEvent(error: HttpError): string {
  return `data: ${JSON.stringify(openAIErrorBody({ status: error.status, code: error.code, message: error.message }))}\n\n`;
}

/** `length` when the turn ran out of steps before a final answer, or the model stopped at its output limit. */
function finishReason(reply: Reply): 'stop' | 'length' {
  return reply.status === 'step_limit' || reply.cut?.answer !== undefined ? 'length' : 'stop';
}

interface Answer {
  agent: string;
  conversationId: string;
  reply: Reply;
}

export function chatCompletion({ agent, conversationId, reply }: Answer): ChatCompletion & { vigil: VigilTurn } {
  return {
    id: completionIdFor(reply.messageId),
    object: 'chat.completion',
    created: unixSeconds(),
    model: agent,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: reply.content, refusal: null },
        finish_reason: finishReason(reply),
        logprobs: null,
      },
    ],
    usage: usage(reply),
    vigil: vigilTurn(conversationId, reply),
  };
}

/** The reply as server-sent events: role, content pieces, finish reason, usage when asked for, `[DONE]`. */
export function* chatCompletionEvents(
  { agent, conversationId, reply }: Answer,
  includeUsage: boolean,
): Generator<string> {
  const chunk = (choices: ChatCompletionChunk['choices']): string =>
    `data: ${JSON.stringify({ ...chunkBase(agent, reply.messageId), choices } satisfies ChatCompletionChunk)}\n\n`;

  yield chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  for (const piece of pieces(reply.content))
    yield chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]);
  yield finishChunk(agent, conversationId, reply);
  if (includeUsage) yield usageChunk(agent, reply);
  yield 'data: [DONE]\n\n';
}

/** The last content-less chunk: the finish reason, and Vigil's facts about the turn. */
export function finishChunk(agent: string, conversationId: string, reply: Reply): string {
  return `data: ${JSON.stringify({
    ...chunkBase(agent, reply.messageId),
    choices: [{ index: 0, delta: {}, finish_reason: finishReason(reply) }],
    vigil: vigilTurn(conversationId, reply),
  })}\n\n`;
}

/** The chunk with no choices that carries usage, when the request's `stream_options.include_usage` asks. */
export function usageChunk(agent: string, reply: Reply): string {
  return `data: ${JSON.stringify({ ...chunkBase(agent, reply.messageId), choices: [], usage: usage(reply) } satisfies ChatCompletionChunk)}\n\n`;
}

function chunkBase(agent: string, messageId: string) {
  return {
    id: completionIdFor(messageId),
    object: 'chat.completion.chunk' as const,
    created: unixSeconds(),
    model: agent,
  };
}

/** Word-sized pieces, each with its trailing whitespace, so the pieces join back to the exact text. */
export function pieces(content: string): string[] {
  return content.match(/\s*\S+\s*/g) ?? (content ? [content] : []);
}

function usage(reply: Reply): NonNullable<ChatCompletion['usage']> {
  const { inputTokens, outputTokens } = reply.usage;
  return { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens };
}

function vigilTurn(conversationId: string, reply: Reply): VigilTurn {
  return {
    conversationId,
    messageId: reply.messageId,
    turn: reply.turn,
    status: reply.status,
    ...(reply.cut ? { cut: reply.cut } : {}),
  };
}

/** The same for every answer to the same message, so a retried request gets the same completion id. */
export function completionIdFor(messageId: string): string {
  return `chatcmpl-${createHash('sha256').update(messageId).digest('hex').slice(0, 24)}`;
}

function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
