/**
 * A model provider for tests (exported by `vigil/testing`): a real HTTP server speaking OpenAI's chat completions
 * protocol, answering from a script. Tests point the real `openai` client at `baseURL` and script replies, tool calls and faults. A step's
 * `shape` sends the answer as another real provider would (Azure, Groq, DeepSeek, OpenRouter, ...), for testing a
 * client that must read them all.
 *
 * @example
 * const model = await startScriptedModel();
 * model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"x"}' }] }, { content: 'done' });
 * const openai = new OpenAI({ baseURL: model.baseURL, apiKey: 'test' });
 * // ...
 * const req = await model.nextRequest();
 * expect(req.body.messages).toEqual([...]);
 * await model.close();
 */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';

/** OpenAI's wire names, so a script reads like the response it produces. */
export interface ScriptedUsage {
  prompt_tokens: number;
  completion_tokens: number;
}

interface AnswerOptions {
  /** The model named in the response; the requested model when absent. */
  model?: string;
  /** `null` leaves `usage` out of the response, as some providers do. Computed from the text when absent. */
  usage?: ScriptedUsage | null;
  /** Overrides `stop` (text) or `tool_calls` (tool calls), e.g. `length`. */
  finishReason?: string;
  /** Wait this long before answering. */
  delayMs?: number;
  /** For a `stream: true` request: wait this long before each chunk after the first, so the text trickles in. */
  chunkDelayMs?: number;
  /**
   * For a `stream: true` request: send this many chunks (the first carries the role, the next ones the text), then
   * nothing more, leaving the connection open: a provider that hangs mid-stream.
   */
  stallAfterChunks?: number;
  /**
   * For a `stream: true` request: send this many chunks, then drop the connection without ending the stream: a
   * provider (or a proxy before it) that dies mid-answer.
   */
  disconnectAfterChunks?: number;
  /**
   * How the answer goes over the wire: as OpenAI sends it (the default), or as another real provider does; see
   * `DIALECTS`. Shapes without a stream (`ignores-stream`, `html`) ignore `chunkDelayMs`, `stallAfterChunks` and `disconnectAfterChunks`,
   * `no-finish-reason` ignores `finishReason`, and `usage-in-final-choice` and `groq` send usage unasked.
   */
  shape?: ProviderShape;
}

export interface TextStep extends AnswerOptions {
  content: string;
}

export interface ToolCallsStep extends AnswerOptions {
  /** `arguments` goes out exactly as given: it may be malformed JSON on purpose. */
  toolCalls: { name: string; arguments: string; id?: string }[];
  /** Text alongside the calls; `null` (OpenAI's usual answer) when absent. */
  content?: string;
}

export interface FaultStep {
  /** An HTTP error status: 400, 401, 429, 500, ... */
  status: number;
  message?: string;
  /** Sent as the `retry-after` header: seconds, or an HTTP date. */
  retryAfter?: number | string;
  /** Sent as the `retry-after-ms` header. */
  retryAfterMs?: number;
  /** Replaces the OpenAI error body `{ error: { message, type, code, param } }`. */
  body?: unknown;
  headers?: Record<string, string>;
  delayMs?: number;
}

/** Never answers; the request stays open until the client aborts it (or the server closes). */
export interface HangStep {
  hang: true;
}

/** Drops the connection without an answer, as a crashing proxy would. */
export interface DisconnectStep {
  disconnect: true;
  delayMs?: number;
}

/**
 * A 200 that goes wrong: to a `stream: true` request, the role and `textBefore` as chunks, then an error chunk
 * and the end of the stream, as OpenRouter reports an upstream failure mid-stream; otherwise a 200 whose JSON
 * body is the error.
 */
export interface StreamErrorStep {
  streamError: { message: string; code?: number | string };
  textBefore?: string;
  delayMs?: number;
}

export type ScriptStep = TextStep | ToolCallsStep | FaultStep | HangStep | DisconnectStep | StreamErrorStep;

export type RequestOutcome = 'answered' | 'aborted';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Headers as received, except `authorization`, which is redacted: use `authorizedWith` to check it. */
  headers: Record<string, string>;
  /** The parsed JSON body, as the client sent it (not validated). */
  body: ChatCompletionCreateParams;
  /** True once the client went away before the answer was complete. */
  aborted: boolean;
  /** Settles when the exchange ends: the answer was sent, or the client aborted. */
  ended: Promise<RequestOutcome>;
  /** Whether the request carried `Authorization: Bearer <apiKey>`; the key itself is never recorded. */
  authorizedWith(apiKey: string): boolean;
}

export interface ScriptedModel {
  /** e.g. `http://127.0.0.1:PORT/v1`, for `new OpenAI({ baseURL })`. */
  baseURL: string;
  /** Every request so far, in arrival order. */
  requests: RecordedRequest[];
  /** Queues steps; each request takes the next one. */
  script(...steps: ScriptStep[]): void;
  /** Answers requests once the script is used up (instead of the echo). */
  respondWith(fn: (request: RecordedRequest) => ScriptStep | Promise<ScriptStep>): void;
  /** The first request not yet handed out by `nextRequest`, waiting for it if needed. */
  nextRequest(): Promise<RecordedRequest>;
  /**
   * Forgets what earlier tests left: unused script steps, a custom responder, and requests not yet handed out
   * (`nextRequest` then waits for the next new one). Recorded requests stay in `requests`.
   */
  reset(): void;
  close(): Promise<void>;
}

const REDACTED = '<redacted>';

/** Starts a scripted model on a free port of 127.0.0.1. Unscripted, it answers `echo: <last user message>`. */
export async function startScriptedModel(): Promise<ScriptedModel> {
  const requests: RecordedRequest[] = [];
  const steps: ScriptStep[] = [];
  let responder: (request: RecordedRequest) => ScriptStep | Promise<ScriptStep> = echo;
  let handedOut = 0;
  const waiters: ((request: RecordedRequest) => void)[] = [];
  let counter = 0;

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      // A bug in the script or this server: answer it loudly rather than leave the client waiting.
      if (!res.headersSent) sendJson(res, 500, errorBody(500, `scripted model failed: ${String(err)}`));
      else res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method !== 'POST' || url.pathname !== '/v1/chat/completions') {
      sendJson(res, 404, errorBody(404, `no route ${req.method ?? ''} ${url.pathname}`));
      return;
    }
    let body: ChatCompletionCreateParams;
    try {
      body = JSON.parse(raw) as ChatCompletionCreateParams;
    } catch {
      sendJson(res, 400, errorBody(400, 'request body is not JSON'));
      return;
    }

    const recorded = record(req, res, url.pathname, body);
    requests.push(recorded);
    const waiter = waiters.shift();
    if (waiter) {
      handedOut++;
      waiter(recorded);
    }

    const step = steps.length > 0 ? steps.shift()! : await responder(recorded);
    if ('hang' in step) return;
    if (step.delayMs) {
      await new Promise((resolve) => setTimeout(resolve, step.delayMs));
      if (res.destroyed) return;
    }
    if ('disconnect' in step) {
      res.destroy();
      return;
    }
    if ('status' in step) {
      sendFault(res, step);
      return;
    }
    if ('streamError' in step) {
      await writeAnswer(res, body.stream ? streamError(step, body, ++counter) : json({ error: step.streamError }), {});
      return;
    }
    const completion = buildCompletion(step, body, ++counter);
    const dialect: Dialect = DIALECTS[step.shape ?? 'openai'];
    const answer = body.stream
      ? (dialect.stream ?? openaiStream)(completion, body.stream_options?.include_usage === true)
      : (dialect.json ?? json)(completion);
    await writeAnswer(res, answer, step);
  }

  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    script: (...more) => void steps.push(...more),
    respondWith: (fn) => {
      responder = fn;
    },
    reset: () => {
      steps.length = 0;
      responder = echo;
      handedOut = requests.length;
    },
    nextRequest: () => {
      if (handedOut < requests.length) return Promise.resolve(requests[handedOut++]);
      return new Promise((resolve) => waiters.push(resolve));
    },
    close: async () => {
      // Hanging requests and the client's keep-alive sockets would hold `close` open for ever.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
    },
  };
}

function record(
  req: http.IncomingMessage,
  res: http.ServerResponse,
  path: string,
  body: ChatCompletionCreateParams,
): RecordedRequest {
  const authorization = req.headers.authorization;
  const headers: Record<string, string> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    headers[key] = key === 'authorization' ? REDACTED : Array.isArray(value) ? value.join(', ') : value;
  }
  const recorded: RecordedRequest = {
    method: req.method ?? '',
    path,
    headers,
    body,
    aborted: false,
    ended: new Promise<RequestOutcome>((resolve) => {
      res.on('close', () => {
        // `close` without a finished response means the client (or a disconnect step) cut the exchange.
        recorded.aborted = !res.writableFinished;
        resolve(recorded.aborted ? 'aborted' : 'answered');
      });
    }),
    authorizedWith: (apiKey) => authorization === `Bearer ${apiKey}`,
  };
  return recorded;
}

function echo(request: RecordedRequest): TextStep {
  const lastUser = [...request.body.messages].reverse().find((m) => m.role === 'user');
  const content = lastUser === undefined ? '' : textOf(lastUser.content);
  return { content: `echo: ${content}` };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content
      .map((part: unknown) =>
        part && typeof part === 'object' && 'text' in part && typeof part.text === 'string' ? part.text : '',
      )
      .join('');
  }
  return '';
}

interface Completion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: {
    index: number;
    message: {
      role: 'assistant';
      content: string | null;
      refusal: null;
      tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[];
    };
    logprobs: null;
    finish_reason: string;
  }[];
  usage?: Usage;
}

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  completion_tokens_details?: { reasoning_tokens: number };
}

function buildCompletion(step: TextStep | ToolCallsStep, body: ChatCompletionCreateParams, n: number): Completion {
  const toolCalls =
    'toolCalls' in step
      ? step.toolCalls.map((call, i) => ({
          id: call.id ?? `call_${n}_${i + 1}`,
          type: 'function' as const,
          function: { name: call.name, arguments: call.arguments },
        }))
      : undefined;
  const content = step.content ?? null;
  const usage =
    step.usage === null
      ? undefined
      : (step.usage ?? {
          prompt_tokens: estimateTokens(JSON.stringify(body.messages)),
          completion_tokens: estimateTokens((content ?? '') + JSON.stringify(toolCalls ?? [])),
        });
  return {
    id: `chatcmpl-scripted-${n}`,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: step.model ?? body.model,
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content, refusal: null, ...(toolCalls ? { tool_calls: toolCalls } : {}) },
        logprobs: null,
        finish_reason: step.finishReason ?? (toolCalls ? 'tool_calls' : 'stop'),
      },
    ],
    ...(usage ? { usage: { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens } } : {}),
  };
}

/** Deterministic and roughly the size real tokenizers give (about 4 characters a token). */
function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/**
 * How each provider's answer differs from OpenAI's. `stream` answers a `stream: true` request, `json` any other;
 * OpenAI's way when absent. Real OpenAI-compatible providers stream in many dialects, and a tolerant client must
 * read all of them but the last three, which no client can understand at all.
 */
interface Dialect {
  stream?: (completion: Completion, includeUsage: boolean) => Answer;
  json?: (completion: Completion) => Answer;
}

const DIALECTS = {
  /** OpenAI itself: the role first, the text in word-sized pieces, the finish reason, usage when asked, `[DONE]`. */
  openai: {},
  /** No `role` anywhere (one-api and other proxies, some Anthropic and Gemini compat endpoints). */
  'no-role': {
    stream: (c, u) =>
      sse(mapChoices(openaiEvents(c, u), ({ delta: { role: _role, ...delta }, ...choice }) => ({ ...choice, delta }))),
    json: (c) =>
      json(mapMessages(c, ({ message: { role: _role, ...message }, ...choice }) => ({ ...choice, message }))),
  },
  /** `finish_reason` is always null (DeepSeek on some hosts; openai-node#1292). */
  'no-finish-reason': {
    stream: (c, u) => sse(mapChoices(openaiEvents(c, u), (choice) => ({ ...choice, finish_reason: null }))),
    json: (c) => json(mapMessages(c, (choice) => ({ ...choice, finish_reason: null }))),
  },
  /** Azure OpenAI: a prompt-filter chunk with no choices first, content filters on every choice, no `usage: null`. */
  azure: {
    stream: (c, u) =>
      sse([
        { chunk: AZURE_PROMPT_FILTER },
        ...mapChunks(openaiEvents(c, u), ({ usage, ...chunk }) => ({
          ...chunk,
          choices: chunk.choices.map((choice) => ({ ...choice, content_filter_results: {} })),
          ...(usage ? { usage } : {}),
        })),
      ]),
  },
  /** Usage on the chunk with the finish reason, asked for or not (vLLM, Mistral). */
  'usage-in-final-choice': {
    stream: (c) => sse(onFinish(openaiEvents(c, false), (chunk) => (c.usage ? { ...chunk, usage: c.usage } : chunk))),
  },
  /** Usage under `x_groq` on the chunk with the finish reason, never at the top level (Groq). */
  groq: {
    stream: (c) =>
      sse(onFinish(openaiEvents(c, false), (chunk) => (c.usage ? { ...chunk, x_groq: { usage: c.usage } } : chunk))),
  },
  /** An SSE comment before every event, to keep the connection alive while the model works (OpenRouter). */
  'keep-alive-comments': {
    stream: (c, u) => sse(openaiEvents(c, u).flatMap((event) => [{ comment: 'OPENROUTER PROCESSING' }, event])),
  },
  /** Every line ends with `\r\n` (some proxies). */
  crlf: { stream: (c, u) => sse(openaiEvents(c, u), '\r\n') },
  /** The stream just ends, without `data: [DONE]` (some proxies and self-hosted servers). */
  'no-done': { stream: (c, u) => sse(openaiEvents(c, u).filter((event) => event !== DONE)) },
  /** Each tool call whole in one chunk, without `index` (Gemini's and Mistral's compat endpoints). */
  'tool-calls-whole': { stream: (c, u) => sse(openaiEvents(c, u, { toolCall: (call) => [call] })) },
  /** Text, tool names and arguments cut every 3 characters, even inside escapes; fragments repeat id and index. */
  'tool-calls-split-anywhere': {
    stream: (c, u) => sse(openaiEvents(c, u, { split: everyThree, toolCall: splitAnywhere })),
  },
  /** Thinking aloud in `reasoning_content` before the answer, counted in usage (DeepSeek-R1). */
  'reasoning-content': { stream: (c, u) => sse(openaiEvents(c, u, { reasoning: 'reasoning_content' })) },
  /** The same thinking in `reasoning` (OpenRouter, Ollama). */
  reasoning: { stream: (c, u) => sse(openaiEvents(c, u, { reasoning: 'reasoning' })) },
  /** `message` where OpenAI puts `delta` (some old proxies). */
  'message-not-delta': {
    stream: (c, u) => sse(mapChoices(openaiEvents(c, u), ({ delta, ...choice }) => ({ ...choice, message: delta }))),
  },
  /** Cannot stream: answers a streamed request with the whole completion as JSON (some self-hosted servers). */
  'ignores-stream': { stream: (c) => json(c) },

  /** Unreadable: an event stream whose data is not JSON (a broken proxy). Non-streamed, a body that is not JSON. */
  'not-json': {
    stream: () => sse([{ data: '{oops' }, DONE]),
    json: () => ({ contentType: 'application/json', body: '{oops' }),
  },
  /** Unreadable: a 200 HTML page, streamed or not (a misconfigured proxy, a captive portal). */
  html: { stream: () => HTML_PAGE, json: () => HTML_PAGE },
  /** Unreadable: `choices` that is not a list: one choice as an object (streamed), or the list JSON-encoded again. */
  'choices-not-array': {
    stream: (c, u) =>
      sse(mapChunks(openaiEvents(c, u), ({ choices, ...chunk }) => ({ ...chunk, choices: choices[0] ?? {} }))),
    json: (c) => json({ ...c, choices: JSON.stringify(c.choices) }),
  },
} satisfies Record<string, Dialect>;

/** Every way a provider may answer: `'openai'`, the dialects a tolerant client must read, the unreadable ones. */
export type ProviderShape = keyof typeof DIALECTS;

/** What no client can understand at all: a call answered so should fail, since a retry gets the same again. */
export const UNREADABLE_SHAPES: readonly ProviderShape[] = ['not-json', 'html', 'choices-not-array'];

/** Every shape a tolerant client must understand, `'openai'` first. */
export const PROVIDER_SHAPES: readonly ProviderShape[] = (Object.keys(DIALECTS) as ProviderShape[]).filter(
  (shape) => !UNREADABLE_SHAPES.includes(shape),
);

/** A response body as is, or a stream of server-sent events. */
type Answer = { contentType: string; body: string } | { events: SseEvent[]; eol: string };

/**
 * One server-sent event: a chunk (sent as JSON; `paced` ones carry text, and wait `chunkDelayMs` first), data as is
 * (`[DONE]`, or something that is not JSON), or a comment line.
 */
type SseEvent<C = object> = { chunk: C; paced?: boolean } | { data: string } | { comment: string };

const DONE: { data: string } = { data: '[DONE]' };

const AZURE_PROMPT_FILTER = {
  choices: [],
  created: 0,
  id: '',
  model: '',
  object: '',
  prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
};

const HTML_PAGE: Answer = {
  contentType: 'text/html; charset=utf-8',
  body:
    '<!DOCTYPE html>\n<html><head><title>Sign in to continue</title></head>\n' +
    '<body><h1>Sign in to continue</h1><p>Please log in to use this network.</p></body></html>\n',
};

/** What a reasoning model thinks aloud before it answers. */
const REASONING = 'Let me think about this.';

function json(body: unknown): Answer {
  return { contentType: 'application/json', body: JSON.stringify(body) };
}

function sse(events: SseEvent[], eol = '\n'): Answer {
  return { events, eol };
}

function openaiStream(completion: Completion, includeUsage: boolean): Answer {
  return sse(openaiEvents(completion, includeUsage));
}

interface Chunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: ChunkChoice[];
  usage?: Usage | null;
}

interface ChunkChoice {
  index: number;
  delta: Record<string, unknown>;
  logprobs: null;
  finish_reason: string | null;
}

type ToolCall = NonNullable<Completion['choices'][number]['message']['tool_calls']>[number];

/** How the answer is cut into chunks; OpenAI's way unless a shape says otherwise. */
interface Cut {
  /** The pieces of text that successive chunks carry. */
  split: (text: string) => string[];
  /** The `tool_calls` entries that carry one call, a chunk each. */
  toolCall: (call: ToolCall, index: number) => object[];
  /** Where a reasoning model streams its thinking, before the answer. */
  reasoning?: 'reasoning_content' | 'reasoning';
}

/**
 * The completion as OpenAI streams it: the role first, the text in word-sized pieces, each tool call's name and
 * then its arguments in pieces, the finish reason, usage when asked for (a chunk with no choices), then `[DONE]`.
 */
function openaiEvents(completion: Completion, includeUsage: boolean, cut: Partial<Cut> = {}): SseEvent<Chunk>[] {
  const { split = pieces, toolCall = openaiToolCall, reasoning } = cut;
  const { message, finish_reason } = completion.choices[0];
  const usage = reasoning && completion.usage ? withReasoning(completion.usage) : completion.usage;
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null): Chunk => ({
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  const text = (delta: Record<string, unknown>) => ({ chunk: chunk(delta), paced: true });
  return [
    { chunk: chunk({ role: 'assistant', content: '', refusal: null }) },
    ...(reasoning ? pieces(REASONING).map((piece) => text({ [reasoning]: piece, content: null })) : []),
    ...split(message.content ?? '').map((piece) => text({ content: piece })),
    ...(message.tool_calls ?? []).flatMap((call, index) =>
      toolCall(call, index).map((entry) => ({ chunk: chunk({ tool_calls: [entry] }) })),
    ),
    { chunk: chunk({}, finish_reason) },
    ...(includeUsage && usage ? [{ chunk: { ...chunk({}), choices: [], usage } }] : []),
    DONE,
  ];
}

/** OpenAI's: the id, type and name with empty arguments, then the arguments in pieces. */
function openaiToolCall(call: ToolCall, index: number): object[] {
  const { id, type, function: fn } = call;
  return [
    { index, id, type, function: { name: fn.name, arguments: '' } },
    ...pieces(fn.arguments).map((piece) => ({ index, function: { arguments: piece } })),
  ];
}

/** The name's fragments, then the arguments', each repeating the call's id and index. */
function splitAnywhere(call: ToolCall, index: number): object[] {
  const { id, type, function: fn } = call;
  return [
    ...everyThree(fn.name).map((name) => ({ index, id, type, function: { name } })),
    ...everyThree(fn.arguments).map((piece) => ({ index, id, function: { arguments: piece } })),
  ];
}

/** A reasoning model's usage: the thinking's tokens are added to the scripted answer's, and named as reasoning. */
function withReasoning(usage: Usage): Usage {
  const reasoningTokens = estimateTokens(REASONING);
  return {
    ...usage,
    completion_tokens: usage.completion_tokens + reasoningTokens,
    total_tokens: usage.total_tokens + reasoningTokens,
    completion_tokens_details: { reasoning_tokens: reasoningTokens },
  };
}

/** Rewrites each chunk: once per stream, since the result is no longer OpenAI's shape. */
function mapChunks(events: SseEvent<Chunk>[], fn: (chunk: Chunk) => object): SseEvent[] {
  return events.map((event) => ('chunk' in event ? { ...event, chunk: fn(event.chunk) } : event));
}

function mapChoices(events: SseEvent<Chunk>[], fn: (choice: ChunkChoice) => object): SseEvent[] {
  return mapChunks(events, (chunk) => ({ ...chunk, choices: chunk.choices.map(fn) }));
}

/** Rewrites the chunk that carries the finish reason. */
function onFinish(events: SseEvent<Chunk>[], fn: (chunk: Chunk) => object): SseEvent[] {
  return mapChunks(events, (chunk) => (typeof chunk.choices[0]?.finish_reason === 'string' ? fn(chunk) : chunk));
}

function mapMessages(completion: Completion, fn: (choice: Completion['choices'][number]) => object): object {
  return { ...completion, choices: completion.choices.map(fn) };
}

/** Splits text after each run of whitespace, so pieces join back to the exact text. */
function pieces(text: string): string[] {
  return text.match(/\S*\s*/g)?.filter((p) => p !== '') ?? [];
}

/** Every 3 UTF-16 units: across words, JSON strings and escapes. */
function everyThree(text: string): string[] {
  return text.match(/[\s\S]{1,3}/g) ?? [];
}

/**
 * Writes the answer. A stream goes out event by event: text chunks wait `chunkDelayMs` first, so the text
 * trickles in; after `stallAfterChunks` chunks nothing more is sent and the connection stays open, and after
 * `disconnectAfterChunks` the connection is dropped.
 */
async function writeAnswer(
  res: http.ServerResponse,
  answer: Answer,
  { chunkDelayMs = 0, stallAfterChunks = Infinity, disconnectAfterChunks = Infinity }: AnswerOptions,
): Promise<void> {
  if ('body' in answer) {
    res.writeHead(200, { 'content-type': answer.contentType, 'content-length': Buffer.byteLength(answer.body) });
    res.end(answer.body);
    return;
  }
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const { eol } = answer;
  let chunks = 0;
  let flushed = Promise.resolve();
  for (const event of answer.events) {
    if ('chunk' in event) {
      if (chunks === disconnectAfterChunks) {
        // Once what was written has left, so that the client reads the chunks before the connection ends.
        await flushed;
        res.destroy();
        return;
      }
      // A stalled stream stays open until the client gives up on it.
      if (chunks++ === stallAfterChunks) return;
      if (event.paced && chunkDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, chunkDelayMs));
    }
    // The client has gone (say, the model call was cancelled).
    if (res.destroyed) return;
    flushed = new Promise((resolve) => res.write(sseLine(event) + eol + eol, () => resolve()));
  }
  res.end();
}

/** OpenRouter's mid-stream error: a chunk with `error` beside a choice that finishes with `error`, then nothing. */
function streamError(step: StreamErrorStep, body: ChatCompletionCreateParams, n: number): Answer {
  const chunk = (choice: object, extra: object = {}) => ({
    chunk: {
      id: `chatcmpl-scripted-${n}`,
      object: 'chat.completion.chunk',
      created: Math.floor(Date.now() / 1000),
      model: body.model,
      ...extra,
      choices: [{ index: 0, ...choice }],
    },
  });
  return sse([
    chunk({ delta: { role: 'assistant', content: step.textBefore ?? '' }, finish_reason: null }),
    chunk({ delta: { content: '' }, finish_reason: 'error' }, { error: step.streamError }),
  ]);
}

function sseLine(event: SseEvent): string {
  if ('chunk' in event) return `data: ${JSON.stringify(event.chunk)}`;
  if ('data' in event) return `data: ${event.data}`;
  return `: ${event.comment}`;
}

function sendFault(res: http.ServerResponse, step: FaultStep): void {
  const headers: Record<string, string> = { ...step.headers };
  if (step.retryAfter !== undefined) headers['retry-after'] = String(step.retryAfter);
  if (step.retryAfterMs !== undefined) headers['retry-after-ms'] = String(step.retryAfterMs);
  sendJson(res, step.status, step.body ?? errorBody(step.status, step.message), headers);
}

/** OpenAI's error shape, with the type and code it uses for the status. */
interface ErrorBody {
  error: { message: string; type: string; code: string | null; param: null };
}

function errorBody(status: number, message?: string): ErrorBody {
  const error = (type: string, code: string | null, fallback: string) => ({
    error: { message: message ?? fallback, type, code, param: null },
  });
  if (status === 401) return error('invalid_request_error', 'invalid_api_key', 'Incorrect API key provided.');
  if (status === 404) return error('invalid_request_error', 'not_found', 'Not found.');
  if (status === 429) return error('requests', 'rate_limit_exceeded', 'Rate limit reached for requests.');
  if (status >= 500) return error('server_error', null, 'The server had an error while processing your request.');
  return error('invalid_request_error', null, 'Invalid request.');
}

function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

async function readBody(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
