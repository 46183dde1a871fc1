/**
 * A turn's reply in OpenAI's chat completion shapes: one `chat.completion`, or a stream of
 * `chat.completion.chunk` server-sent events ending with `data: [DONE]`.
 *
 * Streaming here splits the finished reply into chunks: the turn runs to its end before the first chunk is
 * sent. Token-by-token streaming from the model through the workflow comes in a later part; clients already
 * written for streams work unchanged.
 */
import { createHash } from 'node:crypto';
import type { ChatCompletion, ChatCompletionChunk } from 'openai/resources/chat/completions';
import type { Reply, ReplyStatus } from '../../protocol';

/** Vigil's own facts about the turn, beside OpenAI's fields. */
export interface VigilTurn {
  conversationId: string;
  messageId: string;
  turn: number;
  status: ReplyStatus;
}

const FINISH_REASONS: Record<ReplyStatus, 'stop' | 'length'> = {
  completed: 'stop',
  step_limit: 'length',
  cancelled: 'stop',
  // The reply's content says what went wrong; the turn is over and the conversation goes on.
  error: 'stop',
};

interface Answer {
  agent: string;
  conversationId: string;
  reply: Reply;
}

export function chatCompletion({ agent, conversationId, reply }: Answer): ChatCompletion & { vigil: VigilTurn } {
  return {
    id: completionId(reply),
    object: 'chat.completion',
    created: unixSeconds(),
    model: agent,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: reply.content, refusal: null },
        finish_reason: FINISH_REASONS[reply.status],
        logprobs: null,
      },
    ],
    usage: usage(reply),
    vigil: vigilTurn(conversationId, reply),
  };
}

/** The reply as server-sent events: role, content pieces, finish reason, usage when asked for, `[DONE]`. */
export function* chatCompletionEvents({ agent, conversationId, reply }: Answer, includeUsage: boolean): Generator<string> {
  const base = { id: completionId(reply), object: 'chat.completion.chunk' as const, created: unixSeconds(), model: agent };
  const chunk = (choices: ChatCompletionChunk['choices'], extra: Partial<ChatCompletionChunk> = {}): string =>
    `data: ${JSON.stringify({ ...base, choices, ...extra } satisfies ChatCompletionChunk)}\n\n`;

  yield chunk([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]);
  for (const piece of pieces(reply.content)) yield chunk([{ index: 0, delta: { content: piece }, finish_reason: null }]);
  yield `data: ${JSON.stringify({
    ...base,
    choices: [{ index: 0, delta: {}, finish_reason: FINISH_REASONS[reply.status] }],
    vigil: vigilTurn(conversationId, reply),
  })}\n\n`;
  if (includeUsage) yield chunk([], { usage: usage(reply) });
  yield 'data: [DONE]\n\n';
}

/** Word-sized pieces, each with its trailing whitespace, so the pieces join back to the exact text. */
function pieces(content: string): string[] {
  return content.match(/\s*\S+\s*/g) ?? (content ? [content] : []);
}

function usage(reply: Reply): NonNullable<ChatCompletion['usage']> {
  const { inputTokens, outputTokens } = reply.usage;
  return { prompt_tokens: inputTokens, completion_tokens: outputTokens, total_tokens: inputTokens + outputTokens };
}

function vigilTurn(conversationId: string, reply: Reply): VigilTurn {
  return { conversationId, messageId: reply.messageId, turn: reply.turn, status: reply.status };
}

/** The same for every answer to the same message, so a retried request gets the same completion id. */
function completionId(reply: Reply): string {
  return `chatcmpl-${createHash('sha256').update(reply.messageId).digest('hex').slice(0, 24)}`;
}

function unixSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
