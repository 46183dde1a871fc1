/**
 * Bearer-token auth for the /v1 routes. The presented and expected tokens are compared as SHA-256 digests
 * with `timingSafeEqual`: equal lengths whatever was sent, and no early exit that would time out the token's
 * prefix. Neither token is ever put in a message or a log line.
 */
import type { onRequestAsyncHookHandler } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { HttpError } from './errors';

export function bearerAuth(token: string): onRequestAsyncHookHandler {
  const expected = digest(token);
  return async (request) => {
    const header = request.headers.authorization;
    const presented = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
    if (presented === undefined || !timingSafeEqual(digest(presented), expected)) {
      throw new HttpError(401, 'unauthorized', 'send a valid token as "Authorization: Bearer <token>"', {
        'www-authenticate': 'Bearer realm="vigil"',
      });
    }
  };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}
