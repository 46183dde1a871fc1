/**
 * Paying for a message: the contract between the conversation, the `verifyPayment` activity and the payment
 * verifiers. Sandbox-safe (types and pure functions), so the workflow can use the reply texts directly.
 */
import type { AgentPricing } from './agent-spec';
import { formatMicros } from './usage';

/** One message's payment, as the `verifyPayment` activity hands it to a verifier. */
export interface PaymentRequest {
  /** The message's `payment.reference`: consumed at most once, ever. */
  reference: string;
  /** The agent's price per message. */
  amountMicros: number;
  agent: string;
  conversationId: string;
  messageId: string;
  author?: string;
}

export type PaymentOutcome =
  { status: 'paid'; reference: string; amountMicros: number } | { status: 'refused'; reason: string };

/**
 * Checks and consumes a payment in one step, keyed by its reference:
 * - a reference consumed for the same message (agent, conversation and message id) answers the same `paid`
 *   outcome again, so a retried activity, after a worker crash or across continue-as-new, is not charged twice;
 * - a reference consumed for any other message is refused as already used;
 * - a payment that cannot be accepted is `refused` with a reason the user may read (no secrets in it);
 * - a failure that may pass (a service down, a timeout) is thrown, and Temporal retries the activity.
 */
export interface PaymentVerifier {
  /** What agents name in `pricing.verifier`. */
  readonly name: string;
  consume(request: PaymentRequest, options?: { signal?: AbortSignal }): Promise<PaymentOutcome>;
}

/** The `verifyPayment` activity's input: a payment request and the verifier the agent names. */
export interface PaymentCheckInput extends PaymentRequest {
  verifier: string;
}

/** The reply to a message that carries no payment for an agent that charges per message. */
export function paymentRequiredReply(pricing: AgentPricing): string {
  return (
    `This agent charges ${formatMicros(pricing.pricePerMessageMicros)} per message and this message carries no payment. ` +
    'Send it again with a new message id and a payment reference (`payment: { reference }`).'
  );
}

/** The reply to a message whose payment the verifier refused. */
export function paymentRefusedReply(pricing: AgentPricing, reason: string): string {
  return (
    `The payment for this message (${formatMicros(pricing.pricePerMessageMicros)}) was refused: ${reason}. ` +
    'The message was not answered; send it again with a new message id and a valid payment reference.'
  );
}
