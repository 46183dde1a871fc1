/**
 * Answers a tool call waiting for approval. A decision for a call that is not waiting (never asked, already
 * decided, expired) is 409 Conflict: the request is well formed, the conversation's state does not allow it.
 */
import type { FastifyInstance } from 'fastify';
import { conflictWhenRefused } from '../errors';
import { checkRequest, DecideRequest } from '../requests';
import type { RouteDeps } from './deps';

export function approvalRoutes(app: FastifyInstance, { agents }: RouteDeps): void {
  /** Body `{ decision: 'approve' | 'reject', reason?, remember? }` -> 200 `{ accepted: true }`. */
  app.post('/agents/:agent/conversations/:conversationId/approvals/:toolCallId', async (request) => {
    const { params, body } = checkRequest(DecideRequest, request);
    await agents
      .decide(params.agent, params.conversationId, { toolCallId: params.toolCallId, ...body })
      .catch(conflictWhenRefused);
    return { accepted: true as const };
  });
}
