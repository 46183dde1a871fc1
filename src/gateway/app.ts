/**
 * The HTTP gateway: Vigil's conversations over JSON, and OpenAI's chat completions API over the same
 * conversations. It holds no state: every request becomes an AgentClient call, so any number of gateways can
 * serve the same Temporal namespace.
 */
import cors from '@fastify/cors';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { DEFAULT_GATEWAY_BODY_LIMIT_BYTES } from '../config';
import type { AgentClient } from '../client';
import type { Logger } from '../logger';
import { requestLogSerializer } from './request-log';
import type { ScheduleClient } from '../schedules';
import { bearerAuth } from './auth';
import { HttpError, openAIErrorBody, toErrorResponse, vigilErrorBody } from './errors';
import { CONVERSATION_ID_HEADER, IDEMPOTENCY_KEY_HEADER, MESSAGE_ID_HEADER, REQUEST_ID_HEADER } from './headers';
import { streamTokens } from './stream-token';
import { approvalRoutes } from './routes/approvals';
import { chatCompletionRoutes } from './routes/chat-completions';
import { conversationRoutes } from './routes/conversations';
import { eventRoutes } from './routes/events';
import type { RouteDeps } from './routes/deps';
import { healthRoutes } from './routes/health';
import { messageRoutes } from './routes/messages';
import { scheduleRoutes } from './routes/schedules';
import { webhookRoutes, type WebhookInOptions } from './routes/webhooks';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The error body's shape on this route; Vigil's unless said. */
    errorFormat?: 'vigil' | 'openai';
  }
}

export const DEFAULT_REPLY_TIMEOUT_MS = 60_000;

export interface GatewayOptions {
  agents: AgentClient;
  /** Scheduled messages (`/v1/…/schedules`); those routes answer 404 without it. */
  schedules?: ScheduleClient;
  /** When set, every /v1 route requires `Authorization: Bearer <token>`. */
  token?: string;
  /** Origins whose pages may call the gateway from a browser (CORS); `*` for any. Default: none (no CORS headers). */
  corsOrigins?: readonly string[];
  /** Larger request bodies are answered 413. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** How long a request waits for a reply when it does not say (`?timeoutMs=`). Default 60 s. */
  replyTimeoutMs?: number;
  /** Request and error logs; none when absent. */
  logger?: Logger;
  /**
   * Signed inbound webhooks (`POST /v1/agents/:agent/webhook`), authenticated by their HMAC signature, not
   * by `token`. Absent (or no secrets): the route answers 404 saying how to enable it.
   */
  webhookIn?: WebhookInOptions;
}

/**
 * Builds the gateway; `listen` is the caller's.
 *
 * @example
 * const app = createGateway({ agents, token: process.env.VIGIL_GATEWAY_TOKEN });
 * await app.listen({ host: '127.0.0.1', port: 8787 });
 */
export function createGateway(options: GatewayOptions): FastifyInstance {
  const bodyLimitBytes = options.bodyLimitBytes ?? DEFAULT_GATEWAY_BODY_LIMIT_BYTES;
  const deps: RouteDeps = {
    agents: options.agents,
    replyTimeoutMs: options.replyTimeoutMs ?? DEFAULT_REPLY_TIMEOUT_MS,
    schedules: options.schedules,
    streamTokens: streamTokens(options.token),
  };
  // Widened to fastify's logger interface, so the instance has fastify's default type.
  const loggerInstance: FastifyBaseLogger | undefined = options.logger?.child(
    {},
    { serializers: { req: requestLogSerializer } },
  );
  const app = Fastify({
    ...(loggerInstance ? { loggerInstance } : { logger: false }),
    bodyLimit: bodyLimitBytes,
    genReqId: () => randomUUID(),
    // fastify's default (100 characters a path parameter) answered 414 to valid ids of 101-200 characters. Room for
    // the longest id percent-encoded (3 characters each), so an id too long is told so (400), not a bare 414.
    routerOptions: { maxParamLength: 2048 },
    // Requests Node's HTTP parser refuses (headers past its 16 KiB, malformed) never reach a route: answered here,
    // in Vigil's error format like every other refusal, instead of fastify's own.
    clientErrorHandler: answerClientError,
  });

  // Every body the gateway takes is JSON; fastify's built-in text/plain parser would hand a route a string, which
  // then failed validation as a 400 instead of the documented 415.
  app.removeContentTypeParser('text/plain');

  app.addHook('onRequest', async (request, reply) => {
    reply.header(REQUEST_ID_HEADER, request.id);
  });

  // Before the token check: a browser's preflight (OPTIONS) carries no credentials, and is answered here.
  if (options.corsOrigins?.length) {
    void app.register(cors, {
      origin: options.corsOrigins.includes('*') ? '*' : [...options.corsOrigins],
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: [
        'authorization',
        'content-type',
        'last-event-id',
        IDEMPOTENCY_KEY_HEADER,
        CONVERSATION_ID_HEADER,
      ],
      exposedHeaders: [REQUEST_ID_HEADER, MESSAGE_ID_HEADER, CONVERSATION_ID_HEADER],
      maxAge: 600,
    });
  }

  // The one place errors become responses (see ./errors.ts).
  app.setErrorHandler(async (error, request, reply) => {
    const response = toErrorResponse(error, { requestId: request.id, bodyLimitBytes });
    // A timeout is the caller's wait running out, not a failure: the request log line says it.
    if (response.status >= 500 && response.status !== 504) request.log.error({ err: error }, 'request failed');
    const body =
      request.routeOptions.config?.errorFormat === 'openai' ? openAIErrorBody(response) : vigilErrorBody(response);
    return reply
      .code(response.status)
      .headers(response.headers ?? {})
      .send(body);
  });
  app.setNotFoundHandler(async (request) => {
    throw new HttpError(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`);
  });

  healthRoutes(app);
  void app.register(
    async (v1) => {
      if (options.token !== undefined) v1.addHook('onRequest', bearerAuth(options.token, deps.streamTokens));
      messageRoutes(v1, deps);
      await eventRoutes(v1, deps);
      conversationRoutes(v1, deps);
      approvalRoutes(v1, deps);
      chatCompletionRoutes(v1, deps);
      scheduleRoutes(v1, deps);
    },
    { prefix: '/v1' },
  );
  // Beside the token-protected routes, not among them: a webhook sender signs its request instead of holding
  // the gateway's token. Its own plugin also keeps its raw-body parser away from the other routes.
  void app.register(async (v1) => webhookRoutes(v1, deps, options.webhookIn), { prefix: '/v1' });
  return app;
}

/** A request the HTTP parser refused: 431 for headers too large, else 400; the connection then closes. */
function answerClientError(error: NodeJS.ErrnoException, socket: Duplex): void {
  if (!socket.writable) return;
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const message = tooLarge
    ? 'the request headers are too large (at most 16 KiB in all, URL included)'
    : 'the request is not valid HTTP';
  const body = JSON.stringify(vigilErrorBody({ status, code: 'invalid_request', message }));
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: application/json; charset=utf-8\r\n` +
      `content-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}
