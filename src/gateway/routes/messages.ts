/**
 * Messages of a conversation: post one (and by default wait for its reply), and read the transcript.
 *
 * Retries are safe when the message has an id: in the body, or in the `Idempotency-Key` header. The
 * conversation answers a seen id with its original reply instead of a second turn, or, once that reply is no
 * longer kept, refuses it (409): a seen id never starts a second turn. Without either, the gateway generates an
 * id, and a client's retry is a new message.
 */
import type { FastifyInstance } from 'fastify';
import { randomUUID } from 'node:crypto';
import { TimeoutError } from '../../errors';
import type { InboundMessage } from '../../conversation/protocol';
import { conflictWhenRefused, HttpError } from '../errors';
import { IDEMPOTENCY_KEY_HEADER, MESSAGE_ID_HEADER } from '../headers';
import { checkRequest, SendMessageRequest, TranscriptRequest } from '../requests';
import type { RouteDeps } from './deps';

export function messageRoutes(app: FastifyInstance, { agents, replyTimeoutMs }: RouteDeps): void {
  const path = '/agents/:agent/conversations/:conversationId/messages';

  /** 200 `{ reply }`; `?wait=false`: 202 `{ messageId }`; 504 when no reply came within the timeout. */
  app.post(path, async (request, reply) => {
    const { params, query, headers, body } = checkRequest(SendMessageRequest, request);
    const { agent, conversationId } = params;
    const message: InboundMessage = { ...body, id: body.id ?? headers[IDEMPOTENCY_KEY_HEADER] ?? randomUUID() };
    // Named in every answer, so a caller that sent no id learns the one its message got.
    reply.header(MESSAGE_ID_HEADER, message.id);

    if (query.wait === 'false') {
      await agents.post(agent, conversationId, message);
      return reply.code(202).send({ messageId: message.id });
    }
    const timeoutMs = query.timeoutMs ?? replyTimeoutMs;
    const answer = await agents.send(agent, conversationId, message, { timeoutMs }).catch((error: unknown) => {
      if (error instanceof TimeoutError) {
        throw new HttpError(
          504,
          'timeout',
          `no reply within ${timeoutMs} ms; the turn goes on. Post message ${message.id} again to get its reply, ` +
            `or read it from GET /v1/agents/${agent}/conversations/${conversationId}/messages`,
        );
      }
      return conflictWhenRefused(error);
    });
    return { reply: answer };
  });

  /** 200 a TranscriptPage; `?offset=&limit=` (limit 1 to 500); follow `nextOffset`. */
  app.get(path, async (request) => {
    const { params, query } = checkRequest(TranscriptRequest, request);
    return agents.transcript(params.agent, params.conversationId, query);
  });
}
