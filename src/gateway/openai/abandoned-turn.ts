/**
 * A chat client that closes its request before the answer (a stop button, a closed tab) no longer wants it:
 * the turn is cancelled, so the model and the tools stop working, and costing, for nobody. The message may not
 * have begun its turn yet (it waits behind another in the queue, or its send is on its way): the conversation's
 * events say when it does. Only that message's turn is cancelled, never another one in flight.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { AgentClient } from '../../client';

export interface AbandonedTurn {
  agent: string;
  conversationId: string;
  messageId: string;
  /** Settles when the send settles: then there is nothing left to cancel. */
  answered: Promise<unknown>;
}

export async function cancelAbandonedTurn(
  agents: AgentClient,
  turn: AbandonedTurn,
  log: FastifyBaseLogger,
): Promise<void> {
  const watching = new AbortController();
  const stop = () => watching.abort();
  turn.answered.then(stop, stop);
  try {
    // From the oldest event the conversation keeps: the turn may have begun before the client left.
    for await (const { event } of agents.events(turn.agent, turn.conversationId, { signal: watching.signal })) {
      if (event.type === 'reply' && event.reply.messageId === turn.messageId) return;
      if (event.type === 'turn.started' && event.messageId === turn.messageId) {
        const reason = 'the client closed its request';
        await agents.cancelTurn(turn.agent, turn.conversationId, { messageId: turn.messageId, reason });
        return;
      }
    }
  } catch (error) {
    if (!watching.signal.aborted)
      log.warn({ err: error, messageId: turn.messageId }, 'could not cancel the turn of a closed request');
  } finally {
    stop();
  }
}
