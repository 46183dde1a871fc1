/** Output channels: where replies go. The worker builds them from its config for the delivery activity. */
export type { DeliveryContext, OutputChannel } from './output-channel';
export { createLogChannel, type ReplyLogger } from './log';
export {
  createWebhookChannel,
  deliveryIdempotencyKey,
  MAX_RETRY_AFTER_MS,
  retryAfterMs,
  type WebhookChannelOptions,
} from './webhook';
export { SIGNATURE_HEADER, signWebhookBody, verifyWebhookSignature } from './webhook-signature';
