/**
 * How a Temporal connection of Vigil's clients retries. Temporal's client retries every RESOURCE_EXHAUSTED answer for
 * about 40 seconds before giving up, which is right for a server shedding load, and wrong for a conversation that
 * already has as many updates in flight as Temporal lets a run have (10 sends waiting for their replies and event
 * polls): that refusal is not the server's load but the conversation's, and it stays until a turn finishes. Retried,
 * the caller only learns it (`ConversationBusyError`, the gateway's 429) 40 seconds late, after a gateway's reply
 * timeout may have already answered 504 "the turn goes on" for a message that was never recorded. So these
 * refusals are answered at once; every other error is retried as Temporal's client does.
 */
import {
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
  type ConnectionOptions,
  type GrpcRetryOptions,
} from '@temporalio/client';
import { isInFlightRefusal } from './run-limits';

type RetryableDecider = GrpcRetryOptions['retryableDecider'];

/**
 * Temporal's retry decision (`defaultGrpcRetryOptions`), except for a run's in-flight update refusal.
 *
 * @example
 *   const connection = await Connection.connect(vigilConnectionOptions({ address }));
 */
export function vigilGrpcRetryOptions(): GrpcRetryOptions {
  const defaults = defaultGrpcRetryOptions();
  const retryable: RetryableDecider = (attempt, status) =>
    !isInFlightRefusal(status) && defaults.retryableDecider(attempt, status);
  return { ...defaults, retryableDecider: retryable };
}

/**
 * Connection options with Vigil's retry policy, for `Connection.connect` or `Connection.lazy`; interceptors the
 * caller passes run after it.
 */
export function vigilConnectionOptions(options: ConnectionOptions = {}): ConnectionOptions {
  return {
    ...options,
    interceptors: [makeGrpcRetryInterceptor(vigilGrpcRetryOptions()), ...(options.interceptors ?? [])],
  };
}
