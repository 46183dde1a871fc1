/**
 * The demo model's answers in OpenAI's chat completions wire format: a `chat.completion` object, or the same
 * as `chat.completion.chunk` server-sent events when the request streams. Ids are derived from the request, so
 * the same request gets the same answer (only `created` follows the clock).
 */
import { createHash } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { ChatCompletion, ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import { DEMO_MODEL_NAME, type DemoReply } from './demo-reply';

/** Shown in every response, beside the model name, so no one mistakes the demo for a real model. */
export const DEMO_SYSTEM_FINGERPRINT = 'vigil-demo-offline';

export function toCompletion(reply: DemoReply, request: ChatCompletionCreateParams): ChatCompletion {
  const digest = createHash('sha256').update(JSON.stringify(request.messages)).digest('hex').slice(0, 16);
  const toolCalls =
    'toolCalls' in reply
      ? reply.toolCalls.map((call, i) => ({
          id: `call_demo_${digest}_${i + 1}`,
          type: 'function' as const,
          function: { name: call.name, arguments: call.arguments },
        }))
      : undefined;
  const content = 'content' in reply ? reply.content : null;
  const promptTokens = estimateTokens(JSON.stringify(request.messages));
  const completionTokens = estimateTokens((content ?? '') + JSON.stringify(toolCalls ?? []));
  return {
    id: `chatcmpl-vigil-demo-${digest}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: DEMO_MODEL_NAME,
    system_fingerprint: DEMO_SYSTEM_FINGERPRINT,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
        logprobs: null,
        finish_reason: toolCalls ? 'tool_calls' : 'stop',
      },
    ],
    usage: {
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
    },
  };
}

/** Roughly what real tokenizers give (about 4 characters a token), and deterministic. */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * The completion as OpenAI streams it: the role, the text in word-sized pieces, each tool call's name and then
 * its arguments, the finish reason, a usage chunk when `stream_options.include_usage` asks for one, `[DONE]`.
 */
export function sendStream(res: ServerResponse, completion: ChatCompletion, includeUsage: boolean): void {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const [choice] = completion.choices;
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
    system_fingerprint: completion.system_fingerprint,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const send = (data: unknown) => res.write(`data: ${JSON.stringify(data)}\n\n`);

  send(chunk({ role: 'assistant', content: '', refusal: null }));
  for (const piece of pieces(choice.message.content ?? '')) send(chunk({ content: piece }));
  (choice.message.tool_calls ?? []).forEach((call, index) => {
    if (call.type !== 'function') return;
    const { name } = call.function;
    send(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name, arguments: '' } }] }));
    send(chunk({ tool_calls: [{ index, function: { arguments: call.function.arguments } }] }));
  });
  send(chunk({}, choice.finish_reason));
  if (includeUsage) send({ ...chunk({}), choices: [], usage: completion.usage });
  res.end('data: [DONE]\n\n');
}

/** Splits text after each run of whitespace, so the pieces join back to the exact text. */
function pieces(text: string): string[] {
  return text.match(/\S*\s*/g)?.filter((p) => p !== '') ?? [];
}

/** OpenAI's error body. */
export function errorBody(message: string, type = 'invalid_request_error') {
  return { error: { message, type, code: null, param: null } };
}
