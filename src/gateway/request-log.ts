/**
 * What the gateway's request log says of a request: its method and URL, with every query value censored except
 * those of the gateway's own parameters. A client that puts a secret in the query string (`?access_token=…`,
 * `?api_key=…`, a signed URL) must not find it in the logs; headers are never logged.
 */
import type { FastifyRequest } from 'fastify';

/** Query parameters the gateway reads; their values are safe to log. */
const LOGGED_QUERY_PARAMS = new Set([
  'wait',
  'timeoutMs',
  'offset',
  'limit',
  'fromOffset',
  'from',
  'agent',
  'conversationId',
]);

export function loggedUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const params = new URLSearchParams(url.slice(q + 1));
  const shown = [...params].map(
    ([key, value]) =>
      `${encodeURIComponent(key)}=${LOGGED_QUERY_PARAMS.has(key) ? encodeURIComponent(value) : '[redacted]'}`,
  );
  return `${url.slice(0, q)}?${shown.join('&')}`;
}

/** pino's `req` serializer for fastify's "incoming request" lines. */
export function requestLogSerializer(request: FastifyRequest): Record<string, unknown> {
  return { method: request.method, url: loggedUrl(request.url), remoteAddress: request.ip };
}
