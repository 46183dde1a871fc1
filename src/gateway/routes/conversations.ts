/** A conversation as a whole: its state, cancelling its turn in flight, ending it. */
import type { FastifyInstance } from 'fastify';
import { conflictWhenRefused } from '../errors';
import { CancelRequest, checkRequest, ConversationRequest } from '../requests';
import type { RouteDeps } from './deps';

export function conversationRoutes(app: FastifyInstance, { agents }: RouteDeps): void {
  const path = '/agents/:agent/conversations/:conversationId';

  /** 200 a ConversationView; 404 when there is no such conversation. */
  app.get(path, async (request) => {
    const { params } = checkRequest(ConversationRequest, request);
    return agents.state(params.agent, params.conversationId);
  });

  /** 200 `{ cancelled, turn }`; `cancelled: false` when no turn was running. */
  app.post(`${path}/cancel`, async (request) => {
    const { params, body } = checkRequest(CancelRequest, request);
    return agents.cancelTurn(params.agent, params.conversationId, body).catch(conflictWhenRefused);
  });

  /** 202: the conversation closes after its current and queued turns; its state stays readable. */
  app.delete(path, async (request, reply) => {
    const { params } = checkRequest(ConversationRequest, request);
    await agents.end(params.agent, params.conversationId);
    return reply.code(202).send({ ending: true });
  });
}
