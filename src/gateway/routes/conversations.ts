/** A conversation as a whole: its state, cancelling its turn in flight, forking it at a past turn, ending it. */
import type { FastifyInstance } from 'fastify';
import { conflictWhenRefused } from '../errors';
import { CancelRequest, checkRequest, ConversationRequest, ForkRequest } from '../requests';
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

  /**
   * 201 `{ agent, conversationId, forkedFrom, turns }`: a new conversation with this one's first `atTurn` turns
   * (AgentClient.fork). 409 `conversation_exists` when `to` is taken, 409 `turn_in_progress` when turn `atTurn` is
   * still running, 400 when it is beyond the finished turns, 404 when there is no such conversation.
   */
  app.post(`${path}/fork`, async (request, reply) => {
    const { params, body } = checkRequest(ForkRequest, request);
    const fork = await agents.fork(params.agent, params.conversationId, body);
    return reply.code(201).send(fork);
  });

  /** 202: the conversation closes after its current and queued turns; its state stays readable. */
  app.delete(path, async (request, reply) => {
    const { params } = checkRequest(ConversationRequest, request);
    await agents.end(params.agent, params.conversationId);
    return reply.code(202).send({ ending: true });
  });
}
