/** Replies to posted messages, delivered to the channel each message named (a webhook, the log). */
import { log } from '@temporalio/workflow';
import { DEFAULT_LIMITS, type RetrySpec } from '../conversation/agent-spec';
import type { InboundMessage, Reply } from '../conversation/protocol';
import { recordDeliveryFailure } from '../conversation/state';
import { delivery } from './activities';
import { type ConversationRun, now } from './conversation-run';
import { failureMessage } from './turn-failures';

/** Delivers a turn's reply to its message's channel; a `send` (no channel) has its reply returned instead. */
export async function deliver(
  run: ConversationRun,
  message: InboundMessage,
  reply: Reply,
  retry: RetrySpec,
): Promise<void> {
  if (!message.channel) return;
  run.delivering = message.id;
  try {
    await delivery(message.id, message.channel.type, retry).deliverReply({
      agent: run.state.agent,
      conversationId: run.state.conversationId,
      channel: message.channel,
      reply,
    });
  } catch (err) {
    log.warn('reply could not be delivered', { messageId: message.id, error: String(err) });
    recordDeliveryFailure(run.state, reply, message.channel.type, failureMessage(err), now());
  } finally {
    run.delivering = null;
  }
}

/**
 * Tells a posted message's channel why it is not answered: its id was used before, or it came while the
 * conversation was busy and its agent rejects messages then (`onBusy: 'reject'`). Such a message gets no turn:
 * the reply names the conversation's latest one. A resent id's refusal carries the same idempotency key as its
 * first reply, so a receiver that dedupes keeps the first; a new id taken for a used one (rare) is heard. A busy
 * refusal's key is its own (`refusal: 'busy'`): the sender is told to post the id again, and that real reply
 * must reach a receiver that dedupes.
 */
export async function deliverRefusal(
  run: ConversationRun,
  message: InboundMessage,
  content: string,
  refusal?: 'busy',
): Promise<void> {
  const channel = message.channel ?? { type: 'log' as const };
  const reply: Reply = {
    messageId: message.id,
    turn: Math.max(1, run.state.turns),
    status: 'error',
    content,
    models: [],
    usage: { inputTokens: 0, outputTokens: 0 },
  };
  try {
    const retry = (run.agent.spec?.limits ?? DEFAULT_LIMITS).deliveryRetry;
    await delivery(message.id, channel.type, retry).deliverReply({
      agent: run.state.agent,
      conversationId: run.state.conversationId,
      channel,
      reply,
      ...(refusal && { refusal }),
    });
  } catch (err) {
    log.warn('the refusal of a posted message could not be delivered', {
      messageId: message.id,
      error: String(err),
    });
  }
}
