/**
 * What each route accepts, built from the protocol's own schemas (src/conversation/protocol.ts), so the gateway cannot
 * accept a message or decision that a conversation would refuse as malformed. A request is checked as a whole
 * (path, query, headers and body together) and every problem is reported at once, each with where it is:
 * `params.agent`, `query.limit`, `body.content`, `headers.idempotency-key`.
 */
import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ValidationError } from '../errors';
import { IDEMPOTENCY_KEY_HEADER } from './headers';
import {
  CancelTurnRequest,
  Decision,
  describeZodError,
  ForkOptions,
  ConversationAddress,
  InboundMessage,
  TranscriptPageRequest,
  WebhookUrl,
} from '../conversation/protocol';

/** How long a request may wait for a reply at most; the turn itself goes on regardless. */
export const MAX_REPLY_TIMEOUT_MS = 10 * 60_000;

/** Parses a request's parts with its schema, or throws a ValidationError listing every problem. */
export function checkRequest<T extends z.ZodType>(schema: T, request: FastifyRequest): z.output<T> {
  const { params, query, headers, body } = request;
  const parsed = schema.safeParse({ params, query, headers, body });
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  throw new ValidationError(`invalid request: ${describeZodError(parsed.error)}`, issues);
}

/** `/v1/agents/:agent/conversations/:conversationId`: the names a conversation is started with. */
export const ConversationParams = ConversationAddress;

/**
 * Query strings carry only text: whole numbers are turned into numbers, so the protocol's schema judges the
 * value itself (`limit=0` is "too small", not "not a number").
 */
function withNumbers<T extends z.ZodType>(schema: T) {
  const number = (value: unknown) => (typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value);
  return z.preprocess(
    (query) =>
      query !== null && typeof query === 'object'
        ? Object.fromEntries(Object.entries(query).map(([key, value]) => [key, number(value)]))
        : query,
    schema,
  );
}

/** A message as posted: the protocol's message, whose id may instead come from `Idempotency-Key` or be generated. */
export const MessageBody = InboundMessage.partial({ id: true });

export const SendMessageRequest = z
  .object({
    params: ConversationParams,
    query: withNumbers(
      z
        .object({
          /** `false`: answer 202 at once; the reply goes to the message's channel and the transcript. */
          wait: z.enum(['true', 'false']).optional(),
          timeoutMs: z.number().int().min(1).max(MAX_REPLY_TIMEOUT_MS).optional(),
        })
        .strict(),
    ),
    headers: z.object({ [IDEMPOTENCY_KEY_HEADER]: InboundMessage.shape.id.optional() }),
    body: MessageBody,
  })
  .superRefine((request, ctx) => {
    const key = request.headers[IDEMPOTENCY_KEY_HEADER];
    if (key !== undefined && request.body.id !== undefined && key !== request.body.id) {
      ctx.addIssue({
        code: 'custom',
        path: ['headers', IDEMPOTENCY_KEY_HEADER],
        message: 'differs from body.id; send one, or the same',
      });
    }
  });

export const TranscriptRequest = z.object({
  params: ConversationParams,
  query: withNumbers(TranscriptPageRequest),
});

export const ConversationRequest = z.object({ params: ConversationParams });

/** `POST .../fork`: the turn to fork at, and the new conversation's id (generated when absent) and instructions. */
export const ForkRequest = z.object({ params: ConversationParams, body: ForkOptions });

/** An event offset as text: a whole number (`Last-Event-ID` and `?fromOffset=`). */
const Offset = z.coerce.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/**
 * `GET .../events`: from `Last-Event-ID` (the last event a reconnecting client saw; EventSource sends it by
 * itself) or `?fromOffset=` (the first event wanted); from the oldest kept event when neither is given.
 */
export const EventsRequest = z.object({
  params: ConversationParams,
  query: z
    .object({
      fromOffset: Offset.optional(),
      /** `now`: only events from this moment on, none of the earlier turns'. */
      from: z.literal('now', { message: 'must be "now" (or give fromOffset)' }).optional(),
      /** A stream token (../stream-token.ts), checked by the auth hook; EventSource cannot send a header. */
      token: z.string().max(2048).optional(),
    })
    .strict()
    .refine((query) => !(query.from && query.fromOffset !== undefined), {
      message: 'give from=now or fromOffset, not both',
    }),
  headers: z.object({
    'last-event-id': z
      .string()
      .regex(/^\d{1,15}$/, 'must be the id of an event: a whole number')
      .optional(),
  }),
});

export const StreamTokenRequest = z.object({ params: ConversationParams });

export const DecideRequest = z.object({
  params: ConversationParams.extend({ toolCallId: Decision.shape.toolCallId }),
  body: Decision.omit({ toolCallId: true }),
});

export const CancelRequest = z.object({
  params: ConversationParams,
  // A cancel needs no body; none at all means no reason.
  body: CancelTurnRequest.optional(),
});

/**
 * A signed inbound webhook delivery (`POST /v1/agents/:agent/webhook`). The signature covers the body only, so
 * the body names the agent it is for, which must be the route's (see routes/webhooks.ts). The sender's delivery
 * id is the message id, so a replayed delivery is a seen id to the conversation and never starts a second turn.
 * `replyTo` is where the reply is posted, signed, as a webhook; without it the reply goes to the log channel.
 */
export const WebhookDelivery = z
  .object({
    id: InboundMessage.shape.id,
    agent: ConversationParams.shape.agent,
    conversationId: ConversationParams.shape.conversationId,
    content: InboundMessage.shape.content,
    author: InboundMessage.shape.author,
    replyTo: WebhookUrl.optional(),
  })
  .strict();
export type WebhookDelivery = z.infer<typeof WebhookDelivery>;

export const WebhookDeliveryRequest = z.object({
  params: ConversationParams.pick({ agent: true }),
  // No options yet; an unknown one (e.g. `wait`) is refused rather than silently ignored.
  query: z.object({}).strict(),
  body: WebhookDelivery,
});

// ---- schedules (routes/schedules.ts); the schedule client checks `every` and `cron` themselves ----

export const CreateScheduleHttpRequest = z.object({
  params: ConversationParams,
  body: z
    .object({
      content: InboundMessage.shape.content,
      author: InboundMessage.shape.author,
      every: z.string().min(1).max(100).optional(),
      cron: z.string().min(1).max(200).optional(),
      channel: InboundMessage.shape.channel,
      name: ConversationParams.shape.agent.optional(),
    })
    .strict(),
});

export const ListSchedulesHttpRequest = z.object({
  query: z
    .object({
      agent: ConversationParams.shape.agent.optional(),
      conversationId: ConversationParams.shape.conversationId.optional(),
    })
    .strict(),
});

export const ScheduleIdRequest = z.object({ params: z.object({ scheduleId: z.string().min(1).max(500) }) });
