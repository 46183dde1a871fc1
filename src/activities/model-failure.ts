/**
 * What a failed model call means to Temporal: retry it (by the activity's retry policy, or after the delay the
 * provider asked for), give up on it (the provider refused the request), or record the activity cancelled.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import OpenAI from 'openai';
import { ProviderResponseUnreadable } from './completion-assembly';
import { ProviderConnectionLost, ProviderReportedError } from './provider-response';
import { FailureTypes } from '../conversation/failure-types';

/** The type of the retryable failures: the provider is down, overloaded, rate limiting or unreachable. */
export const MODEL_UNAVAILABLE = 'ModelUnavailable';

/** Status codes a retry can cure: timeout, conflict, rate limit, and the server's own errors. */
function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 409 || status === 429 || status >= 500;
}

/**
 * Turns what the `openai` client threw into the error the activity throws. Errors it does not know (bugs)
 * pass through unchanged: Temporal retries them as plain failures.
 *
 * `apiKey` is scrubbed from every message: a provider may echo the key it refused.
 */
export function toModelFailure(
  error: unknown,
  context: { signal: AbortSignal; apiKey: string; baseURL: string },
): unknown {
  if (context.signal.aborted) {
    // The worker aborts with the CancelledFailure Temporal expects; rethrowing it records the activity cancelled.
    const reason: unknown = context.signal.reason;
    return reason instanceof CancelledFailure ? reason : new CancelledFailure('model call cancelled');
  }
  const scrub = (text: string) => redact(text, context.apiKey);
  if (error instanceof ProviderResponseUnreadable) {
    return ApplicationFailure.create({
      message: scrub(`the provider at ${providerName(context.baseURL)} ${error.message}`),
      type: FailureTypes.ModelResponseUnreadable,
      nonRetryable: true,
    });
  }
  if (error instanceof ProviderConnectionLost) {
    // Without this, the fetch's own words ("terminated") would be all a user read once the retries ran out.
    return ApplicationFailure.create({
      message: scrub(`the connection to the model provider closed mid-answer: ${describeCause(error.cause as Error)}`),
      type: MODEL_UNAVAILABLE,
    });
  }
  if (error instanceof ProviderReportedError) {
    const message = scrub(`the model provider reported an error in its answer: ${error.message}`);
    const rejected = error.status !== undefined && !isRetryableStatus(error.status);
    return rejected
      ? ApplicationFailure.create({
          message,
          type: FailureTypes.ModelRequestRejected,
          nonRetryable: true,
          details: [{ status: error.status }],
        })
      : ApplicationFailure.create({ message, type: MODEL_UNAVAILABLE });
  }
  if (!(error instanceof OpenAI.APIError)) return error;

  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return ApplicationFailure.create({ message: 'model provider did not answer in time', type: MODEL_UNAVAILABLE });
  }
  if (error instanceof OpenAI.APIConnectionError || error.status === undefined) {
    // The SDK says only "Connection error."; the cause says which (ECONNREFUSED, ECONNRESET, a DNS failure).
    return ApplicationFailure.create({
      message: scrub(`model provider unreachable: ${describeCause(error)}`),
      type: MODEL_UNAVAILABLE,
    });
  }

  const message = scrub(`model provider answered ${error.message}`);
  const details = [{ status: error.status, requestId: error.requestID ?? null }];
  if (isRetryableStatus(error.status)) {
    return ApplicationFailure.create({
      message,
      type: MODEL_UNAVAILABLE,
      details,
      nextRetryDelay: retryAfterMs(error.headers),
    });
  }
  return ApplicationFailure.create({ message, type: FailureTypes.ModelRequestRejected, nonRetryable: true, details });
}

/**
 * The wait the provider asked for, in ms: `retry-after-ms` (OpenAI's own), else `retry-after` in seconds or as an
 * HTTP date. `undefined` leaves the delay to the retry policy.
 */
export function retryAfterMs(headers: Headers | undefined): number | undefined {
  const ms = headers?.get('retry-after-ms');
  if (ms) {
    const value = Number(ms);
    if (Number.isFinite(value) && value > 0) return Math.ceil(value);
  }
  const after = headers?.get('retry-after');
  if (!after) return undefined;
  const seconds = Number(after);
  const delay = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(after) - Date.now();
  return Number.isFinite(delay) && delay > 0 ? Math.ceil(delay) : undefined;
}

function describeCause(error: Error): string {
  const parts: string[] = [];
  let current: unknown = error;
  // fetch nests the socket error two levels down: APIConnectionError -> TypeError('fetch failed') -> the cause.
  // Duck-typed: Node's own errors come from another realm under test runners, and fail `instanceof Error`.
  for (let depth = 0; depth < 4 && typeof current === 'object' && current !== null; depth++) {
    const { message, code, cause } = current as { message?: unknown; code?: unknown; cause?: unknown };
    // An AggregateError (every address of a host refused) has no message of its own, only a code.
    const text = typeof message === 'string' && message !== '' ? message : typeof code === 'string' ? code : '';
    if (text !== '') parts.push(text);
    current = cause;
  }
  return parts.join(': ');
}

/** The provider as a user knows it: the base URL's host and path, never credentials or a query in it. */
function providerName(baseURL: string): string {
  try {
    const url = new URL(baseURL);
    return `${url.host}${url.pathname.replace(/\/$/, '')}`;
  } catch {
    return 'the configured base URL';
  }
}

function redact(text: string, secret: string): string {
  return secret === '' ? text : text.split(secret).join('[redacted]');
}
