/**
 * Signed inbound webhooks: `POST /v1/agents/:agent/webhook`, a message from another system, authenticated by
 * an HMAC signature instead of the gateway's bearer token.
 *
 * The scheme is the one Vigil signs its own webhook deliveries with (src/channels/webhook-signature.ts), so a
 * sender's one library signs and verifies both ways: `vigil-signature: t=<unix seconds>,v1=<hex>`, `<hex>` the
 * HMAC-SHA256 of `<t>.<raw body>`. The signature is checked over the body's bytes exactly as received, before
 * the body is parsed at all. Several `v1=` entries and several configured secrets are allowed, for rotation.
 *
 * What a signature covers: the body, and only the body (the URL is not signed, as with Stripe, Svix and
 * Standard Webhooks). So the body names everything the delivery is for: the agent (`agent`, as Vigil's own
 * outgoing deliveries name theirs), the conversation (`conversationId`) and the delivery (`id`). The route
 * takes a delivery only when its signed `agent` is the agent in the URL: a captured delivery re-posted to
 * another agent's route (`/v1/agents/other/webhook`, or `assistant:x`, whose workflow id would overlap the
 * assistant's conversation `x:<id>`) is a 401, as is a body that names no agent (the format before the agent was
 * required), whose signature covers no agent at all. The signing code does not change; the body gains a field.
 *
 * Only the gateway's configured agents (`WebhookInOptions.agents`) take deliveries: another is a 404 before
 * anything reaches Temporal, so a delivery never starts a workflow no worker serves.
 *
 * Replays: the delivery id is the message id, and a conversation never runs a second turn for an id it has
 * seen (durably, in its history, which a gateway or worker restart does not touch), so the same delivery, to the
 * one (agent, conversation) its signature names, is answered 202 with the same answer again and ignored. A 2xx
 * rather than a 409: senders retry what timed out or failed, and a retry of a delivery that was taken must read
 * as delivered, or they retry it forever and count the endpoint as failing. The timestamp tolerance bounds how
 * long a captured request can be replayed at all. Accepted deliveries are answered 202 at once: webhook
 * senders wait seconds, not a model turn, and retry what times out. The reply goes to `replyTo`.
 */
import type { FastifyInstance } from 'fastify';
import { ASSISTANT_NAME } from '../../agents/assistant';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../channels/webhook-signature';
import { DEFAULT_WEBHOOK_IN_TOLERANCE_SECONDS } from '../../config';
import { ConfigError, ValidationError } from '../../errors';
import { AgentName, type InboundMessage } from '../../conversation/protocol';
import { HttpError } from '../errors';
import { MESSAGE_ID_HEADER } from '../headers';
import { checkRequest, WebhookDeliveryRequest } from '../requests';
import type { RouteDeps } from './deps';

export interface WebhookInOptions {
  /** Any one of them may sign a delivery (rotation: add the new secret, move senders, drop the old one). */
  secrets: readonly string[];
  /** How far a signature's timestamp may be from the gateway's clock. Default 300 s. */
  toleranceSeconds?: number;
  /**
   * The agents that take inbound webhooks; a delivery for any other is answered 404 and never reaches Temporal
   * (so it cannot start a conversation no worker serves). Default: the agents `npm run worker` serves, that is
   * `assistant` alone. A gateway in front of workers with other agents must list them.
   */
  agents?: readonly string[];
}

/** The agents a gateway takes webhooks for when it is not told: those of the shipped worker (`defaultAgents`). */
export const DEFAULT_WEBHOOK_IN_AGENTS: readonly string[] = [ASSISTANT_NAME];

const SIGNATURE_FORMAT = `${SIGNATURE_HEADER}: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`;

/**
 * Registers the route on `app`, which must be a plugin of its own: the route replaces JSON parsing with raw
 * bytes (kept to this plugin by fastify's encapsulation), and it must not sit behind the bearer-token hook.
 *
 * @throws ConfigError (when the gateway starts) for an entry of `options.agents` that is not an agent's name.
 */
export function webhookRoutes(
  app: FastifyInstance,
  { agents }: RouteDeps,
  options: WebhookInOptions | undefined,
): void {
  const secrets = options?.secrets ?? [];
  const toleranceSeconds = options?.toleranceSeconds ?? DEFAULT_WEBHOOK_IN_TOLERANCE_SECONDS;
  const known = knownAgents(options?.agents ?? DEFAULT_WEBHOOK_IN_AGENTS);

  // The raw bytes: the signature covers them exactly, and a body is parsed only once its signature holds.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));

  /** 202 `{ messageId, conversationId }`; the reply goes to `replyTo`, else the log channel. */
  app.post<{ Params: { agent: string } }>('/agents/:agent/webhook', async (request, reply) => {
    // 404, not 503: the route is off by configuration, which no retry fixes; a 5xx would have senders retry.
    if (secrets.length === 0) {
      throw new HttpError(
        404,
        'not_found',
        'inbound webhooks are not enabled on this gateway; set VIGIL_WEBHOOK_IN_SECRET to enable them',
      );
    }
    const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
    checkSignature(request.headers[SIGNATURE_HEADER], raw, secrets, toleranceSeconds);
    const parsed = parseJson(raw);
    // Authentication is not done until the signed body names this route's agent; the body's form comes after.
    checkDeliveryAgent(parsed, request.params.agent);

    request.body = parsed;
    const { params, body } = checkRequest(WebhookDeliveryRequest, request);
    // Before anything reaches Temporal: a delivery for an agent no worker serves must not start a workflow.
    if (!known.has(params.agent)) {
      throw new HttpError(
        404,
        'not_found',
        `agent ${JSON.stringify(params.agent)} does not take inbound webhooks on this gateway (it takes them for ${[...known].join(', ')})`,
      );
    }
    const message: InboundMessage = {
      id: body.id,
      content: body.content,
      ...(body.author === undefined ? {} : { author: body.author }),
      channel: body.replyTo === undefined ? { type: 'log' } : { type: 'webhook', url: body.replyTo },
    };
    // A signal: the conversation drops an id it has seen, so the same delivery again gets this same answer.
    await agents.post(params.agent, body.conversationId, message);
    reply.header(MESSAGE_ID_HEADER, message.id);
    return reply.code(202).send({ messageId: message.id, conversationId: body.conversationId });
  });
}

function knownAgents(names: readonly string[]): Set<string> {
  const problems = names.flatMap((name, index) =>
    AgentName.safeParse(name).success
      ? []
      : [`webhookIn.agents entry ${index + 1} of ${names.length} is not an agent's name`],
  );
  if (problems.length > 0) throw new ConfigError(problems);
  return new Set(names);
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
    throw unauthorized(
      `the signature's timestamp is too old (more than ${toleranceSeconds} s); sign each request when it is sent`,
    );
  }
  if (-ageSeconds > toleranceSeconds) {
    throw unauthorized(`the signature's timestamp is more than ${toleranceSeconds} s ahead of the gateway's clock`);
  }
  // The receivers' own check, so the two directions cannot drift apart; it compares in constant time.
  if (!secrets.some((secret) => verifyWebhookSignature(secret, header, body, toleranceSeconds, nowMs))) {
    throw unauthorized(
      'the signature does not match the request body under any configured secret; sign the raw body bytes exactly as sent',
    );
  }
}

/**
 * Throws a 401 unless the signed, parsed `body` names `routeAgent` (the agent in the URL) as its `agent`: only
 * then does the signature cover the agent the delivery goes to. A body that is not an object, or whose `agent`
 * is not text, is left to the body's schema (a 400).
 */
export function checkDeliveryAgent(body: unknown, routeAgent: string): void {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
  if (!('agent' in body)) {
    throw unauthorized(
      `the signed body names no agent; a signature must cover the agent it is for: add "agent": ${JSON.stringify(routeAgent)} ` +
        'to the JSON body (beside id and conversationId), then sign the body as before',
    );
  }
  const { agent } = body;
  if (typeof agent === 'string' && agent !== routeAgent) {
    throw unauthorized(
      `the delivery is signed for agent ${JSON.stringify(agent)}, not for the agent in the URL (${JSON.stringify(routeAgent)}); ` +
        "post it to its own agent's webhook route",
    );
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
