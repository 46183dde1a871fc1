/**
 * Signed inbound webhooks: `POST /v1/agents/:agent/webhook`, a message from another system, authenticated by
 * an HMAC signature instead of the gateway's bearer token.
 *
 * The scheme is the one Vigil signs its own webhook deliveries with (src/channels/webhook-signature.ts), so a
 * sender's one library signs and verifies both ways: `vigil-signature: t=<unix seconds>,v1=<hex>`, `<hex>` the
 * HMAC-SHA256 of `<t>.<raw body>`. The signature is checked over the body's bytes exactly as received, before
 * the body is parsed at all. Several `v1=` entries and several configured secrets are allowed, for rotation.
 *
 * Replays: the delivery id is the message id, and a conversation never runs a second turn for an id it has
 * seen (durably, in its history), so a replayed delivery is accepted and ignored; the timestamp tolerance
 * bounds how long a captured request can be replayed at all. Accepted deliveries are answered 202 at once:
 * webhook senders wait seconds, not a model turn, and retry what times out. The reply goes to `replyTo`.
 */
import type { FastifyInstance } from 'fastify';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../channels/webhook-signature';
import { DEFAULT_WEBHOOK_IN_TOLERANCE_SECONDS } from '../../config';
import { ValidationError } from '../../errors';
import type { InboundMessage } from '../../protocol';
import { HttpError } from '../errors';
import { MESSAGE_ID_HEADER } from '../headers';
import { checkRequest, WebhookDeliveryRequest } from '../requests';
import type { RouteDeps } from './deps';

export interface WebhookInOptions {
  /** Any one of them may sign a delivery (rotation: add the new secret, move senders, drop the old one). */
  secrets: readonly string[];
  /** How far a signature's timestamp may be from the gateway's clock. Default 300 s. */
  toleranceSeconds?: number;
}

const SIGNATURE_FORMAT = `${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`;

/**
 * Registers the route on `app`, which must be a plugin of its own: the route replaces JSON parsing with raw
 * bytes (kept to this plugin by fastify's encapsulation), and it must not sit behind the bearer-token hook.
 */
export function webhookRoutes(app: FastifyInstance, { agents }: RouteDeps, options: WebhookInOptions | undefined): void {
  const secrets = options?.secrets ?? [];
  const toleranceSeconds = options?.toleranceSeconds ?? DEFAULT_WEBHOOK_IN_TOLERANCE_SECONDS;

  // The raw bytes: the signature covers them exactly, and a body is parsed only once its signature holds.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  /** 202 `{ messageId, conversationId }`; the reply goes to `replyTo`, else the log channel. */
  app.post('/agents/:agent/webhook', async (request, reply) => {
    // 404, not 503: the route is off by configuration, which no retry fixes; a 5xx would have senders retry.
    if (secrets.length === 0) {
      throw new HttpError(404, 'not_found', 'inbound webhooks are not enabled on this gateway; set VIGIL_WEBHOOK_IN_SECRET to enable them');
    }
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    checkSignature(request.headers[SIGNATURE_HEADER], raw, secrets, toleranceSeconds);

    request.body = parseJson(raw);
    const { params, body } = checkRequest(WebhookDeliveryRequest, request);
    const message: InboundMessage = {
      id: body.id,
      content: body.content,
      ...(body.author === undefined ? {} : { author: body.author }),
      channel: body.replyTo === undefined ? { type: 'log' } : { type: 'webhook', url: body.replyTo },
    };
    await agents.post(params.agent, body.conversationId, message);
    reply.header(MESSAGE_ID_HEADER, message.id);
    return reply.code(202).send({ messageId: message.id, conversationId: body.conversationId });
  });
}

/**
 * Throws a 401 saying what is wrong with the signature, or returns when one of `secrets` signed `body` within
 * the tolerance. The messages describe the scheme, never a secret or the expected signature.
 */
export function checkSignature(
  header: string | string[] | undefined,
  body: Buffer,
  secrets: readonly string[],
  toleranceSeconds: number,
  nowMs: number = Date.now(),
): void {
  if (header === undefined || header === '') throw unauthorized(`sign the request: send ${SIGNATURE_FORMAT}`);
  if (typeof header !== 'string') throw unauthorized(`send one ${SIGNATURE_HEADER} header, not several`);
  const timestamps = header
    .split(',')
    .map((part) => part.trim().split('='))
    .filter(([key]) => key === 't');
  if (timestamps.length !== 1 || !/^\d{1,15}$/.test(timestamps[0][1] ?? '')) {
    throw unauthorized(`the ${SIGNATURE_HEADER} header is malformed; expected ${SIGNATURE_FORMAT}`);
  }
  const ageSeconds = nowMs / 1000 - Number(timestamps[0][1]);
  if (ageSeconds > toleranceSeconds) {
    throw unauthorized(`the signature's timestamp is too old (more than ${toleranceSeconds} s); sign each request when it is sent`);
  }
  if (-ageSeconds > toleranceSeconds) {
    throw unauthorized(`the signature's timestamp is more than ${toleranceSeconds} s ahead of the gateway's clock`);
  }
  // The receivers' own check, so the two directions cannot drift apart; it compares in constant time.
  if (!secrets.some((secret) => verifyWebhookSignature(secret, header, body, toleranceSeconds, nowMs))) {
    throw unauthorized('the signature does not match the request body under any configured secret; sign the raw body bytes exactly as sent');
  }
}

function unauthorized(message: string): HttpError {
  return new HttpError(401, 'unauthorized', message);
}

/** The verified body as JSON; a body that is not is a 400 like any other bad body. */
function parseJson(raw: Buffer): unknown {
  try {
    return JSON.parse(raw.toString('utf8'));
  } catch {
    throw new ValidationError('invalid request: the body is not JSON', [{ path: 'body', message: 'is not JSON' }]);
  }
}
