/**
 * Every ApplicationFailure type Vigil throws and reacts to, in one module shared by the workflow, the activities,
 * the client and the gateway. The values are written to histories and read by clients of other versions:
 * never change one. Sandbox-safe: constants only.
 *
 * Activities' failures are all non-retryable but PaymentServiceUnavailable and NoContentStore: Temporal retries
 * those by the activity's retry policy.
 */
export const FailureTypes = {
  /** The provider refused the request (a 4xx other than 408/409/429): retrying cannot help. */
  ModelRequestRejected: 'ModelRequestRejected',
  /** The provider's answer could not be understood at all: the same provider would send the same again. */
  ModelResponseUnreadable: 'ModelResponseUnreadable',
  /** A tool failed in a way that must end the turn, not go back to the model. */
  ToolFatal: 'ToolFatal',
  /** The agent is not defined on this worker. */
  UnknownAgent: 'UnknownAgent',
  /** A channel refused the delivery for good (e.g. a 4xx from a webhook). */
  DeliveryRejected: 'DeliveryRejected',
  /** A scheduled message that the conversation's protocol refuses: retrying cannot help. */
  ScheduledMessageInvalid: 'ScheduledMessageInvalid',
  /** The agent's `pricing.verifier` names no payment verifier of this worker. */
  PaymentVerifierMissing: 'PaymentVerifierMissing',
  /** A payment request a verifier cannot take (a bad amount): retrying cannot help. */
  PaymentRequestInvalid: 'PaymentRequestInvalid',
  /** Retryable: the payment service is down or slow; the activity's retry policy applies. */
  PaymentServiceUnavailable: 'PaymentServiceUnavailable',
  /** A stored transcript entry or summary is missing or corrupt: retrying cannot bring it back. */
  ContentUnavailable: 'ContentUnavailable',
  /** The worker has no content store, where conversations keep their transcripts: a deploy can mend it, so retried. */
  NoContentStore: 'NoContentStore',
  /** The conversation refused a request (an update's validator or a signal's check): the client's ValidationError. */
  Refused: 'ValidationError',
  /**
   * A busy conversation moving to its next run refuses new sends: nothing of them was recorded, and the same send
   * made again a moment later reaches the new run. AgentClient does that by itself.
   */
  SwitchingRuns: 'ConversationSwitchingRuns',
  /**
   * A new message came while a turn ran or messages waited, and the agent takes none then (`onBusy: 'reject'`):
   * the send validator refused it, so nothing of it was recorded. The client's TurnInProgressError.
   */
  TurnInProgress: 'TurnInProgress',
} as const;
