/**
 * Bearer-token auth for the /v1 routes. The presented and expected tokens are compared as SHA-256 digests
 * with `timingSafeEqual`: equal lengths whatever was sent, and no early exit that would time out the token's
 * prefix. Neither token is ever put in a message or a log line.
 */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors';
import type { StreamTokens } from './stream-token';

/** The one route a stream token opens (see ./stream-token.ts), as fastify names it under the /v1 prefix. */
export const EVENTS_ROUTE = '/v1/agents/:agent/conversations/:conversationId/events';

/**
 * `streams`: a conversation's event stream also opens with `?token=` a stream token for that conversation, for
 * EventSource, which cannot send headers.
 */
export function bearerAuth(token: string, streams?: StreamTokens): onRequestAsyncHookHandler {
  const expected = digest(token);
  return async (request) => {
    if (streams && hasStreamToken(request, streams)) return;
    const header = request.headers.authorization;
    const presented = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      throw new HttpError(401, 'unauthorized', 'send a valid token as "Authorization: Bearer <token>"', {
        'www-authenticate': 'Bearer realm="vigil"',
      });
    }
  };
}

function hasStreamToken(request: FastifyRequest, streams: StreamTokens): boolean {
  if (request.method !== 'GET' || request.routeOptions.url !== EVENTS_ROUTE) return false;
  const { token } = request.query as { token?: unknown };
  const { agent, conversationId } = request.params as { agent?: unknown; conversationId?: unknown };
  return (
    typeof token === 'string' &&
    typeof agent === 'string' &&
    typeof conversationId === 'string' &&
    streams.verify(token, agent, conversationId)
  );
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
