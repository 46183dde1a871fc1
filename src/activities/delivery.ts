/** The `deliverReply` activity: hands a reply to the channel its message named (webhook, log). */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { OutputChannel } from '../channels/output-channel';
import { ConfigError } from '../errors';
import { FailureTypes, type DeliveryInput, type DeliveryResult } from './types';

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
    return channel.deliver(input, { signal: context.cancellationSignal, attempt: context.info.attempt });
  };
}
