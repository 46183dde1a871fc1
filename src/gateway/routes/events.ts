/**
 * `GET /v1/agents/{agent}/conversations/{id}/events`: the conversation's events as Server-Sent Events (see
 * ConversationEvent in src/conversation/protocol.ts): turn started, tool calls, approvals, model text as it streams,
 * replies, the end. Each event's SSE `id` is its offset in the conversation's stream, so a client that
 * reconnects with `Last-Event-ID` (EventSource does by itself) gets what it missed and nothing twice. The
 * stream ends after `conversation.ended`.
 */
import sse from '@fastify/sse';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { toVigilError } from '../../client/agent-client';
import type { ConversationEventEnvelope } from '../../conversation/protocol';
import { vigilErrorBody } from '../errors';
import { checkRequest, EventsRequest, StreamTokenRequest } from '../requests';
import type { RouteDeps } from './deps';

const NOT_ACCEPTABLE = {
  status: 406,
  code: 'invalid_request',
  message: 'this route answers only text/event-stream; send Accept: text/event-stream (or */*)',
} as const;

/** A comment line this often keeps proxies from closing a quiet stream. */
const HEARTBEAT_MS = 15_000;

export async function eventRoutes(app: FastifyInstance, { agents, streamTokens }: RouteDeps): Promise<void> {
  /**
   * `POST .../stream-token`: a token that opens this conversation's event stream as `?token=` for an hour, for
   * EventSource in a browser, which cannot send the Authorization header this request carries.
   */
  app.post('/agents/:agent/conversations/:conversationId/stream-token', async (request, reply) => {
    const { params } = checkRequest(StreamTokenRequest, request);
    return reply.code(201).send(streamTokens.issue(params.agent, params.conversationId));
  });

  await app.register(sse, { heartbeatInterval: HEARTBEAT_MS });
  // Open streams never end by themselves, and the server's close waits for every open request: when the gateway
  // stops, it ends them first (their clients reconnect, with Last-Event-ID, to whichever gateway serves next).
  const open = new Set<AbortController>();
  app.addHook('preClose', async () => {
    for (const stream of open) stream.abort();
  });

  const route = {
    sse: 'only' as const,
    // @fastify/sse answers a client that refuses text/event-stream itself, in fastify's error shape; the body is
    // put in Vigil's, as every other refusal is.
    onSend: async (_request: FastifyRequest, reply: FastifyReply, payload: unknown) =>
      reply.statusCode === 406 ? JSON.stringify(vigilErrorBody(NOT_ACCEPTABLE)) : payload,
  };
  app.get('/agents/:agent/conversations/:conversationId/events', route, async (request, reply) => {
    const { params, query, headers } = checkRequest(EventsRequest, request);
    const lastEventId = headers['last-event-id'];
    let fromOffset = lastEventId !== undefined ? Number(lastEventId) + 1 : query.fromOffset;
    // Checked before the stream starts, so a missing conversation is a plain 404, not an empty stream.
    const described = await agents
      .handle(params.agent, params.conversationId)
      .describe()
      .catch((error: unknown) => {
        throw toVigilError(error, 'events', params);
      });
    // An ended conversation has no more events. 204 is what tells an EventSource to stop reconnecting.
    if (described.status.name !== 'RUNNING') return reply.code(204).send();
    // "From now": the offset the next event will have. A reconnect (Last-Event-ID) resumes where it was instead.
    if (query.from === 'now' && lastEventId === undefined)
      fromOffset = await agents.eventOffset(params.agent, params.conversationId);

    const left = new AbortController();
    reply.sse.onClose(() => left.abort());
    open.add(left);
    try {
      // Now, not with the first event: a client (EventSource's `open`) learns that it is subscribed before
      // anything happens, which a "from now" stream may take a while to have.
      reply.sse.sendHeaders();
      reply.raw.flushHeaders(); // Node holds a head without a body until the first write, here the first event.
      const events = agents.events(params.agent, params.conversationId, { fromOffset, signal: left.signal });
      await reply.sse.send(toMessages(events));
    } catch (error) {
      // The stream is already open: the failure goes to the client as an event, and to the log.
      request.log.error({ err: error }, 'event stream failed');
      if (reply.sse.isConnected) {
        await reply.sse.send({ event: 'error', data: { message: 'the event stream failed; reconnect to resume' } });
      }
    } finally {
      left.abort();
      open.delete(left);
    }
  });
}

/** After a dropped connection, EventSource clients come back this soon (their default is a few seconds). */
const RECONNECT_MS = 1_000;

async function* toMessages(events: AsyncIterable<ConversationEventEnvelope>) {
  let first = true;
  for await (const { offset, event } of events) {
    // A gap is not a position in the stream: it has no id, so the client's Last-Event-ID stays where it was.
    const message =
      offset === null ? { event: event.type, data: event } : { id: String(offset), event: event.type, data: event };
    yield first ? { ...message, retry: RECONNECT_MS } : message;
    first = false;
  }
}
