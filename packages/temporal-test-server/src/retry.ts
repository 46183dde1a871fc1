/** Temporal's server-side retry rules, shared by activities. */
import { enums, Failure, RetryPolicy, duration, toMillis } from './proto';

const RetryState = enums.RetryState;

export interface EffectiveRetryPolicy {
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
  /** 0 means unlimited. */
  maximumAttempts: number;
  nonRetryableErrorTypes: string[];
}

/** Fills the server defaults: 1 s initial interval, coefficient 2, maximum 100 x initial, unlimited attempts. */
export function effectiveRetryPolicy(policy: RetryPolicy | null | undefined): EffectiveRetryPolicy {
  const initialIntervalMs = toMillis(policy?.initialInterval) || 1000;
  return {
    initialIntervalMs,
    backoffCoefficient: policy?.backoffCoefficient || 2,
    maximumIntervalMs: toMillis(policy?.maximumInterval) || 100 * initialIntervalMs,
    maximumAttempts: policy?.maximumAttempts ?? 0,
    nonRetryableErrorTypes: policy?.nonRetryableErrorTypes ?? [],
  };
}

export function retryPolicyProto(p: EffectiveRetryPolicy): RetryPolicy {
  return {
    initialInterval: duration(p.initialIntervalMs),
    backoffCoefficient: p.backoffCoefficient,
    maximumInterval: duration(p.maximumIntervalMs),
    maximumAttempts: p.maximumAttempts,
    nonRetryableErrorTypes: p.nonRetryableErrorTypes,
  };
}

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; state: number };

/**
 * Decides whether a failed attempt is retried and after how long. `deadline` is the absolute
 * schedule-to-close deadline, or undefined.
 */
export function decideRetry(
  policy: EffectiveRetryPolicy,
  attempt: number,
  failure: Failure | undefined,
  now: number,
  deadline: number | undefined,
): RetryDecision {
  const app = failure?.applicationFailureInfo;
  if (app?.nonRetryable) return { retry: false, state: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE };
  if (app?.type && policy.nonRetryableErrorTypes.includes(app.type)) {
    return { retry: false, state: RetryState.RETRY_STATE_NON_RETRYABLE_FAILURE };
  }
  if (policy.maximumAttempts > 0 && attempt >= policy.maximumAttempts) {
    return { retry: false, state: RetryState.RETRY_STATE_MAXIMUM_ATTEMPTS_REACHED };
  }
  const explicit = app?.nextRetryDelay ? toMillis(app.nextRetryDelay as never) : 0;
  const delayMs =
    explicit > 0
      ? explicit
      : Math.min(policy.initialIntervalMs * policy.backoffCoefficient ** (attempt - 1), policy.maximumIntervalMs);
  if (deadline !== undefined && now + delayMs >= deadline)
    return { retry: false, state: RetryState.RETRY_STATE_TIMEOUT };
  return { retry: true, delayMs };
}
