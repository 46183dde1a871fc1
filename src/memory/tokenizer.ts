/**
 * Token counts for the activities: exact for OpenAI models (the `gpt-tokenizer` package, pure JS: `o200k_base`
 * for gpt-4o, gpt-4.1, gpt-4.5, gpt-5 and the o-series; `cl100k_base` for gpt-4 and gpt-3.5), and the
 * documented estimate of token-estimate.ts for every other model.
 *
 * Never import this from workflow code: an encoding is megabytes of tables. Each is loaded on first use, so a
 * worker that only talks to other models never loads one.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type * as Encoding from 'gpt-tokenizer/encoding/o200k_base';
import { estimateTokens, MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS } from '../conversation/token-estimate';

export type Tokenizer = 'o200k_base' | 'cl100k_base' | 'estimate';

type EncodingModule = Pick<typeof Encoding, 'countTokens' | 'encode' | 'decode'>;

// The newer families first: `gpt-4o` and `gpt-4.1` also start with `gpt-4`.
const FAMILIES: [RegExp, Tokenizer][] = [
  [/^(gpt-4o|chatgpt-4o|gpt-4\.1|gpt-4\.5|gpt-5|gpt-oss|o\d)/, 'o200k_base'],
  [/^(gpt-4|gpt-3\.5|text-embedding-3|text-embedding-ada-002)/, 'cl100k_base'],
];

/**
 * Which tokenizer counts a model's tokens. A provider prefix (`openai/gpt-4o`, as OpenRouter names it) is
 * ignored; an unknown model gets the estimate.
 */
export function tokenizerFor(model: string): Tokenizer {
  const name = model.toLowerCase().slice(model.lastIndexOf('/') + 1);
  return FAMILIES.find(([pattern]) => pattern.test(name))?.[1] ?? 'estimate';
}

const loaded = new Map<Tokenizer, EncodingModule>();

function encodingOf(tokenizer: Exclude<Tokenizer, 'estimate'>): EncodingModule {
  let encoding = loaded.get(tokenizer);
  if (!encoding) {
    // `require`, not a top-level import: the tables load when a model first needs them, not with the worker.
    /* eslint-disable @typescript-eslint/no-require-imports */
    encoding =
      tokenizer === 'o200k_base'
        ? (require('gpt-tokenizer/encoding/o200k_base') as EncodingModule)
        : (require('gpt-tokenizer/encoding/cl100k_base') as EncodingModule);
    /* eslint-enable @typescript-eslint/no-require-imports */
    loaded.set(tokenizer, encoding);
  }
  return encoding;
}

// Text that spells a special token (`<|endoftext|>`) is counted as the plain text it is: that is how the API
// treats message contents, and the package's default would throw on it.
const AS_PLAIN_TEXT = { disallowedSpecial: new Set<string>() };

/**
 * The tokens of `text` for `model`.
 *
 * @example countTokens('gpt-4o', 'tiktoken is great!') // 6
 */
export function countTokens(model: string, text: string): number {
  if (text === '') return 0;
  const tokenizer = tokenizerFor(model);
  return tokenizer === 'estimate' ? estimateTokens(text) : encodingOf(tokenizer).countTokens(text, AS_PLAIN_TEXT);
}

/**
 * What a chat message's content costs, without the framing: its text (text parts only: images and audio are
 * not counted) and, for an assistant's tool calls, each call's name and arguments. OpenAI documents no exact
 * format for tool calls; this undercounts them by a few tokens each, which the reply reserve absorbs.
 */
export function countContentTokens(model: string, message: ChatCompletionMessageParam): number {
  let tokens = countTokens(model, textOf(message.content));
  if ('name' in message && typeof message.name === 'string') tokens += 1 + countTokens(model, message.name);
  if (message.role === 'assistant') {
    for (const call of message.tool_calls ?? []) {
      tokens +=
        call.type === 'function'
          ? countTokens(model, call.function.name) + countTokens(model, call.function.arguments)
          : countTokens(model, call.custom.name) + countTokens(model, call.custom.input);
    }
  }
  return tokens;
}

/**
 * The prompt tokens of a chat completion request's messages, by OpenAI's documented rule: each message's
 * content plus `MESSAGE_OVERHEAD_TOKENS` (3 of framing and 1 for the role), plus `REPLY_PRIMING_TOKENS` for
 * the request. Tool definitions are counted apart, by `countToolTokens`.
 */
export function countMessageTokens(model: string, messages: readonly ChatCompletionMessageParam[]): number {
  let tokens = REPLY_PRIMING_TOKENS;
  for (const message of messages) tokens += MESSAGE_OVERHEAD_TOKENS + countContentTokens(model, message);
  return tokens;
}

/**
 * An estimate of what the tool definitions cost: the tokens of their JSON. The provider renders them in its
 * own undocumented format, typically a little shorter.
 */
export function countToolTokens(model: string, tools: readonly unknown[]): number {
  return tools.length === 0 ? 0 : countTokens(model, JSON.stringify(tools));
}

/** `text` cut to at most `maxTokens` tokens (the estimate's 4 bytes a token for other models). */
export function truncateToTokens(model: string, text: string, maxTokens: number): string {
  const tokenizer = tokenizerFor(model);
  if (tokenizer === 'estimate') {
    if (estimateTokens(text) <= maxTokens) return text;
    // Characters, not bytes: at most 4 per token keeps the estimate of the cut text under the limit.
    let cut = text.slice(0, Math.max(0, maxTokens) * 4);
    while (estimateTokens(cut) > maxTokens) cut = cut.slice(0, Math.floor(cut.length * 0.9));
    return cut;
  }
  const encoding = encodingOf(tokenizer);
  const tokens = encoding.encode(text, AS_PLAIN_TEXT);
  return tokens.length <= maxTokens ? text : encoding.decode(tokens.slice(0, Math.max(0, maxTokens)));
}

function textOf(content: ChatCompletionMessageParam['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part) => (part.type === 'text' ? part.text : part.type === 'refusal' ? part.refusal : ''))
    .join('');
}
