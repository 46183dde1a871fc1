/**
 * Stream tokens: how a browser's EventSource, which cannot send an Authorization header, opens a conversation's
 * event stream on a gateway that asks for a token. The page asks for one over the authenticated API
 * (`POST .../stream-token`) and puts it in the stream's URL (`?token=`). A stream token opens that one
 * conversation's events and nothing else, and expires: it is in URLs, which end up in logs and histories.
 *
 * It is `<payload>.<signature>`, both base64url: the payload names the agent, the conversation and the expiry; the
 * signature is an HMAC-SHA256 under a key derived from the gateway's token, so every gateway sharing the token
 * accepts the others' stream tokens, and changing the token revokes them all. Nothing is stored.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';

/**
 * One hour: EventSource reconnects with the same URL after a dropped connection, so the token must outlive the
 * drops of a long session; past it, the page asks for a new one.
 */
export const STREAM_TOKEN_TTL_MS = 60 * 60 * 1000;

const Payload = z.object({ a: z.string(), c: z.string(), exp: z.number().int() }).strict();

export interface StreamTokens {
  issue(agent: string, conversationId: string): { token: string; expiresAt: string };
  /** True when `token` is unexpired, signed here, and for this conversation. */
  verify(token: string, agent: string, conversationId: string): boolean;
}

/** `gatewayToken` absent (a gateway that asks for none): a random key, so the tokens still work on this process. */
export function streamTokens(gatewayToken: string | undefined, now: () => number = Date.now): StreamTokens {
  // Derived, never the gateway token itself: a stream token reveals nothing usable against the API.
  const key =
    gatewayToken === undefined
      ? randomBytes(32)
      : createHash('sha256').update(`vigil stream token\0${gatewayToken}`).digest();
  const sign = (payload: string) => createHmac('sha256', key).update(payload).digest();
  return {
    issue(agent, conversationId) {
      const exp = now() + STREAM_TOKEN_TTL_MS;
      const payload = Buffer.from(JSON.stringify({ a: agent, c: conversationId, exp })).toString('base64url');
      return { token: `${payload}.${sign(payload).toString('base64url')}`, expiresAt: new Date(exp).toISOString() };
    },
    verify(token, agent, conversationId) {
      const [payload, signature, extra] = token.split('.');
      if (!payload || !signature || extra !== undefined) return false;
      const expected = sign(payload);
      const presented = Buffer.from(signature, 'base64url');
      if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) return false;
      let claims: z.infer<typeof Payload>;
      try {
        claims = Payload.parse(JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')));
      } catch {
        return false;
      }
      return claims.a === agent && claims.c === conversationId && claims.exp > now();
    },
  };
}
