/**
 * How a webhook receiver knows a delivery came from this Vigil deployment and was not replayed later.
 *
 * Every delivery carries `vigil-signature: t=<unix seconds>,v1=<hex>`, where `<hex>` is the HMAC-SHA256, keyed
 * with the shared secret, of the bytes `<t>.<raw request body>`. A receiver recomputes it over the body exactly
 * as received (before any JSON parsing), compares in constant time, and refuses a `t` too far from its own
 * clock. Several `v1=` entries may appear; any one matching is enough (room for rotating secrets).
 *
 * @example
 * // In the receiver, with the raw body:
 * if (!verifyWebhookSignature(process.env.VIGIL_WEBHOOK_SECRET, req.headers['vigil-signature'], rawBody, 300)) {
 *   return res.status(401).end();
 * }
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'vigil-signature';

/** The `vigil-signature` header value for `body`, signed at `nowMs`. */
export function signWebhookBody(secret: string, body: string, nowMs: number = Date.now()): string {
  const timestamp = Math.floor(nowMs / 1000);
  return `t=${timestamp},v1=${hmacHex(secret, timestamp, body)}`;
}

/**
 * True when `header` is a valid signature of `body` under `secret`, made within `toleranceSec` of `nowMs`.
 * False for anything else, including a missing or malformed header.
 */
export function verifyWebhookSignature(
  secret: string,
  header: string | undefined | null,
  body: string | Buffer,
  toleranceSec: number,
  nowMs: number = Date.now(),
): boolean {
  if (typeof header !== 'string' || secret === '') return false;
  const entries = header.split(',').map((part) => part.trim().split('='));
  const timestamps = entries.filter(([key]) => key === 't').map(([, value]) => value);
  if (timestamps.length !== 1 || !/^\d+$/.test(timestamps[0])) return false;
  const timestamp = Number(timestamps[0]);
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceSec) return false;

  const expected = Buffer.from(hmacHex(secret, timestamp, body), 'hex');
  return entries
    .filter(([key, value]) => key === 'v1' && value !== undefined && /^[0-9a-f]{64}$/i.test(value))
    .some(([, value]) => timingSafeEqual(Buffer.from(value, 'hex'), expected));
}

function hmacHex(secret: string, timestamp: number, body: string | Buffer): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}
