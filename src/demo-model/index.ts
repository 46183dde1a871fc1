/**
 * The demo model: an offline, deterministic stand-in for an OpenAI-compatible chat completions server, so
 * `vigil dev` shows a whole turn (a tool call included) on a machine with no model and no network. It is not a
 * language model: it does arithmetic through the `calculator` tool, tells the time through `current_time`, and
 * otherwise says that it is the demo. Every answer names the model `vigil-demo`.
 *
 * @example
 * const demo = await startDemoModel();
 * const openai = new OpenAI({ baseURL: demo.baseURL, apiKey: 'unused' });
 * // ...
 * await demo.close();
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChatCompletionCreateParams } from 'openai/resources/chat/completions';
import { DEMO_MODEL_NAME, demoReply } from './demo-reply';
import { errorBody, sendStream, toCompletion } from './wire-format';

export { DEMO_MODEL_NAME, demoReply, findArithmetic, type DemoReply } from './demo-reply';

export interface DemoModelOptions {
  /** Port on 127.0.0.1; 0 or absent picks a free one. */
  port?: number;
}

export interface DemoModel {
  /** e.g. `http://127.0.0.1:PORT/v1`, for `OPENAI_BASE_URL` or `new OpenAI({ baseURL })`. */
  baseURL: string;
  close(): Promise<void>;
}

/** No model is configured: neither a key for OpenAI nor another provider's address. */
export function modelUnconfigured(env: Record<string, string | undefined>): boolean {
  return !env.OPENAI_API_KEY && !env.OPENAI_BASE_URL;
}

/** The environment with the demo model as the provider, and as the model unless the user named one. */
export function withDemoModel<T extends Record<string, string | undefined>>(env: T, baseURL: string): T {
  return { ...env, OPENAI_BASE_URL: baseURL, VIGIL_MODEL: env.VIGIL_MODEL || DEMO_MODEL_NAME };
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;

export async function startDemoModel(options: DemoModelOptions = {}): Promise<DemoModel> {
  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) sendJson(res, 500, errorBody(`demo model failed: ${String(error)}`, 'server_error'));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  let closed: Promise<void> | undefined;
  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    close: () =>
      (closed ??= new Promise<void>((resolve, reject) => {
        // The openai client keeps connections alive; they would hold close() open.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      })),
  };
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const path = new URL(req.url ?? '/', 'http://localhost').pathname.replace(/\/+$/, '');
  if (req.method === 'GET' && path === '/v1/models') {
    sendJson(res, 200, {
      object: 'list',
      data: [{ id: DEMO_MODEL_NAME, object: 'model', created: 0, owned_by: 'vigil' }],
    });
    return;
  }
  if (req.method !== 'POST' || path !== '/v1/chat/completions') {
    sendJson(
      res,
      404,
      errorBody(`the Vigil demo model serves POST /v1/chat/completions, not ${req.method ?? ''} ${path}`),
    );
    return;
  }
  const raw = await readBody(req);
  if (raw === undefined) {
    sendJson(res, 413, errorBody(`request body is larger than ${MAX_BODY_BYTES} bytes`));
    return;
  }
  let body: ChatCompletionCreateParams;
  try {
    body = JSON.parse(raw) as ChatCompletionCreateParams;
  } catch {
    sendJson(res, 400, errorBody('request body is not JSON'));
    return;
  }
  if (typeof body !== 'object' || body === null || !Array.isArray(body.messages) || body.messages.length === 0) {
    sendJson(res, 400, errorBody("'messages' must be a non-empty array"));
    return;
  }
  const completion = toCompletion(demoReply(body), body);
  if (body.stream) sendStream(res, completion, body.stream_options?.include_usage === true);
  else sendJson(res, 200, completion);
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** The body as text; undefined when it is too large to be a chat request. */
async function readBody(req: http.IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
