/** The `deliverReply` activity: hands a reply to the channel its message named (webhook, log). */
import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { OutputChannel } from '../channels/output-channel';
import { redactWebhookUrl } from '../channels/url-redaction';
import { ConfigError } from '../errors';
import { type DeliveryInput, type DeliveryResult } from '../conversation/activity-contract';
import { FailureTypes } from '../conversation/failure-types';

export interface DeliveryActivityDeps {
  /** At most one channel per type. */
  channels: OutputChannel[];
}

export function createDeliveryActivity(deps: DeliveryActivityDeps): (input: DeliveryInput) => Promise<DeliveryResult> {
  const byType = new Map<string, OutputChannel>();
  for (const channel of deps.channels) {
    if (byType.has(channel.type)) throw new ConfigError([`two output channels of type "${channel.type}"`]);
    byType.set(channel.type, channel);
  }
  return async function deliverReply(input: DeliveryInput): Promise<DeliveryResult> {
    const channel = byType.get(input.channel.type);
    if (!channel) {
      const known = [...byType.keys()].join(', ') || 'none';
      throw ApplicationFailure.nonRetryable(
        `no output channel of type "${input.channel.type}" on this worker (configured: ${known})`,
        FailureTypes.DeliveryRejected,
      );
    }
    const context = Context.current();
    try {
      return await channel.deliver(input, { signal: context.cancellationSignal, attempt: context.info.attempt });
    } catch (error) {
      throw withoutUrlSecrets(error, input);
    }
  };
}

/** How deep a failure's cause chain is searched for the URL. */
const MAX_CAUSES = 8;

/**
 * The activity's failure goes into workflow history (message, stack trace, causes), the transcript's notice
 * and the worker's log: it may name a webhook's origin but never its credentials, path or query (see
 * src/channels/url-redaction.ts). The webhook channel's own messages already keep to that; this is the net
 * for any channel, or error, that does not. A failure that quotes the URL anywhere in its chain is replaced
 * by one with the same type and retry semantics, its message redacted, its causes and details dropped.
 */
function withoutUrlSecrets(error: unknown, input: DeliveryInput): unknown {
  if (input.channel.type !== 'webhook' || error instanceof CancelledFailure) return error;
  const url = input.channel.url;
  const chain: { message?: unknown; stack?: unknown; cause?: unknown }[] = [];
  for (
    let e = error;
    e !== null && typeof e === 'object' && chain.length < MAX_CAUSES;
    e = (e as { cause?: unknown }).cause
  ) {
    chain.push(e as (typeof chain)[number]);
  }
  const quotes = (text: unknown) => typeof text === 'string' && redactWebhookUrl(text, url) !== text;
  if (!chain.some((e) => quotes(e.message) || quotes(e.stack))) return error;

  const first = chain[0] ?? {};
  const message = redactWebhookUrl(typeof first.message === 'string' ? first.message : String(error), url);
  if (error instanceof ApplicationFailure) {
    return ApplicationFailure.create({
      message,
      type: error.type ?? undefined,
      nonRetryable: error.nonRetryable ?? undefined,
      nextRetryDelay: error.nextRetryDelay ?? undefined,
      category: error.category ?? undefined,
    });
  }
  const name = error instanceof Error ? error.name : 'Error';
  return ApplicationFailure.create({ message, type: name });
}
