/** Output channels: where a turn's reply goes besides the caller waiting for it (see `ChannelRef`). */
import type { ChannelRef } from '../conversation/protocol';
import type { DeliveryInput, DeliveryResult } from '../conversation/activity-contract';

export interface DeliveryContext {
  /** Aborted when the delivery activity is cancelled or times out. */
  signal: AbortSignal;
  /** 1 on the first try; Temporal counts retries. */
  attempt: number;
}

/**
 * Delivers replies to one kind of channel. `deliver` resolves when the channel has the reply, throws a retryable
 * error when a later attempt may succeed, and throws `ApplicationFailure.nonRetryable(..., DeliveryRejected)`
 * when none can. A delivery may be attempted more than once: channels make repeats harmless (idempotency keys).
 */
export interface OutputChannel {
  type: ChannelRef['type'];
  deliver(input: DeliveryInput, ctx: DeliveryContext): Promise<DeliveryResult>;
}
