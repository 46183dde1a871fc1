/**
 * A model provider for tests: a real HTTP server speaking OpenAI's chat completions protocol, answering from a
 * script. Tests point the real `openai` client at `baseURL` and script replies, tool calls and faults.
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

export type ScriptStep = TextStep | ToolCallsStep | FaultStep | HangStep | DisconnectStep;

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
    const completion = buildCompletion(step, body, ++counter);
    if (body.stream) await sendStream(res, completion, body.stream_options?.include_usage === true, step.chunkDelayMs, step.stallAfterChunks);
    else sendJson(res, 200, completion);
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
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
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
 * The same completion as `chat.completion.chunk` events: the role first, the text in word-sized pieces, each
 * tool call's name and then its arguments in pieces, the finish reason, usage when asked for, then `[DONE]`.
 */
async function sendStream(
  res: http.ServerResponse,
  completion: Completion,
  includeUsage: boolean,
  chunkDelayMs = 0,
  stallAfterChunks = Infinity,
): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  const choice = completion.choices[0];
  const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) => ({
    id: completion.id,
    object: 'chat.completion.chunk',
    created: completion.created,
    model: completion.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(includeUsage ? { usage: null } : {}),
  });
  let sent = 0;
  const send = (data: unknown) => {
    if (sent++ < stallAfterChunks) res.write(`data: ${JSON.stringify(data)}\n\n`);
  };
  /** Between chunks; false once the client has gone (say, the model call was cancelled). */
  const paced = async () => {
    if (chunkDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, chunkDelayMs));
    return !res.destroyed;
  };

  send(chunk({ role: 'assistant', content: '', refusal: null }));
  for (const piece of pieces(choice.message.content ?? '')) {
    if (!(await paced())) return;
    send(chunk({ content: piece }));
  }
  (choice.message.tool_calls ?? []).forEach((call, index) => {
    const { name } = call.function;
    send(chunk({ tool_calls: [{ index, id: call.id, type: 'function', function: { name, arguments: '' } }] }));
    for (const piece of pieces(call.function.arguments)) {
      send(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  send(chunk({}, choice.finish_reason));
  if (includeUsage && completion.usage) {
    // OpenAI's usage chunk: no choices, after the finish reason.
    send({ ...chunk({}), choices: [], usage: completion.usage });
  }
  // A stalled stream stays open until the client gives up on it.
  if (sent <= stallAfterChunks) res.end('data: [DONE]\n\n');
}

/** Splits text after each run of whitespace, so pieces join back to the exact text. */
function pieces(text: string): string[] {
  return text.match(/\S*\s*/g)?.filter((p) => p !== '') ?? [];
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
