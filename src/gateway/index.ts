/**
 * Vigil's HTTP gateway: conversations over JSON, and an OpenAI-compatible chat completions endpoint. See
 * ./README.md for the routes, statuses and error format; `vigil gateway` runs it (./serve.ts).
 */
export { createGateway, DEFAULT_REPLY_TIMEOUT_MS } from './app';
export type { GatewayOptions } from './app';
export { HttpError } from './errors';
export type { WebhookInOptions } from './routes/webhooks';
export type { ErrorCode } from './errors';
export { CONVERSATION_ID_HEADER, IDEMPOTENCY_KEY_HEADER, MESSAGE_ID_HEADER, REQUEST_ID_HEADER } from './headers';
