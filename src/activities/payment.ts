/**
 * The `verifyPayment` activity: checks and consumes a message's payment in ONE call, keyed by the payment
 * reference, through the verifier the agent names. Because the verifier answers a repeated reference for the
 * same message with the same `paid` outcome, Temporal may retry this activity (a worker crash, a lost
 * completion) without charging twice; a reference already used for another message is refused.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type { PaymentCheckInput, PaymentOutcome, PaymentVerifier } from '../conversation/payment';
import { PaymentServiceUnavailableError } from '../payments/webhook-verifier';
import { FailureTypes } from '../conversation/failure-types';

export function createPaymentActivity(deps: { verifiers: readonly PaymentVerifier[] }) {
  const verifiers = new Map<string, PaymentVerifier>();
  for (const verifier of deps.verifiers) {
    if (verifiers.has(verifier.name)) throw new Error(`two payment verifiers are named "${verifier.name}"`);
    verifiers.set(verifier.name, verifier);
  }

  return async function verifyPayment(input: PaymentCheckInput): Promise<PaymentOutcome> {
    const { verifier: name, ...request } = input;
    const verifier = verifiers.get(name);
    if (!verifier) {
      // Non-retryable: another attempt on this worker has the same verifiers.
      throw ApplicationFailure.nonRetryable(
        `payment verifier "${name}" is not configured on this worker (configured: ${[...verifiers.keys()].join(', ') || 'none'})`,
        FailureTypes.PaymentVerifierMissing,
      );
    }
    try {
      return await verifier.consume(request, { signal: Context.current().cancellationSignal });
    } catch (error) {
      if (error instanceof PaymentServiceUnavailableError) {
        throw ApplicationFailure.retryable(error.message, FailureTypes.PaymentServiceUnavailable);
      }
      // A bad amount or account name: the request itself is wrong, retrying cannot help.
      if (error instanceof RangeError)
        throw ApplicationFailure.nonRetryable(error.message, FailureTypes.PaymentRequestInvalid);
      throw error;
    }
  };
}
