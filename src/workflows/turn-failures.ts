/**
 * How a turn that failed is told to its sender: the reply's text for each kind of failure, and the failures the
 * workflow itself raises (a model call past its total bound, a turn stopped near Temporal's limits on one run).
 * Workflow code, pure: no commands, only the reading of failures.
 */
import { RetryState } from '@temporalio/common';
import { ActivityFailure, ApplicationFailure, isCancellation, TimeoutFailure } from '@temporalio/workflow';
import { describeDuration } from '../conversation/duration-text';
import { type AgentSpec, DEFAULT_MODEL_TOTAL_TIMEOUT_MS } from '../conversation/agent-spec';
import { FailureTypes } from '../conversation/failure-types';

/** The failure type of a turn whose model call ran out of its total bound. */
const MODEL_CALL_OVERDUE = 'ModelCallOverdue';
/** The failure type of a turn stopped near Temporal's limits on one run (see run-limits.ts). */
const RUN_LIMIT_NEAR = 'RunLimitNear';

/** An agent's bound on one model call, all attempts included (Temporal's schedule-to-close timeout). */
export function modelTotalTimeoutMs(agent: AgentSpec): number {
  return agent.limits.modelTotalTimeoutMs ?? DEFAULT_MODEL_TOTAL_TIMEOUT_MS;
}

/** The failure that ends a turn which may not start another step in its run; `reason` from turnStopReason. */
export function runLimitNear(reason: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(reason, RUN_LIMIT_NEAR);
}

/**
 * A model call that ran out of its total bound, as the failure that ends the turn with a reply naming the bound
 * and, when Temporal says, the last thing that went wrong; undefined for any other failure (a cancel, a refusal,
 * the last of `modelRetry.maximumAttempts`). SDK 1.23 drops the cause of a TimeoutFailure: when the bound ends a
 * call during an attempt or its wait, the reply names only the bound.
 */
export function modelCallOverdue(err: unknown, agent: AgentSpec): ApplicationFailure | undefined {
  if (!(err instanceof ActivityFailure) || isCancellation(err)) return undefined;
  const causes: Error[] = [];
  for (let e = err.cause; e; e = e.cause instanceof Error ? e.cause : undefined) causes.push(e);
  // The in-process server says so in the retry state; the real one (1.29.1), when the bound cuts an attempt under
  // way, in a SCHEDULE_TO_CLOSE timeout with another retry state.
  const cutByBound = causes.some((e) => e instanceof TimeoutFailure && e.timeoutType === 'SCHEDULE_TO_CLOSE');
  if (err.retryState !== RetryState.TIMEOUT && !cutByBound) return undefined;
  const last = causes.at(-1);
  let why = last?.message;
  if (last instanceof TimeoutFailure) {
    why =
      last.timeoutType === 'START_TO_CLOSE'
        ? `an attempt ran past ${describeDuration(agent.limits.modelTimeoutMs)} (limits.modelTimeoutMs)`
        : last.timeoutType === 'HEARTBEAT'
          ? 'the worker running an attempt stopped responding'
          : undefined;
  }
  // Temporal gives up at the bound, or sooner when the next attempt could not start before it: "in time".
  return ApplicationFailure.nonRetryable(
    `The model provider did not answer in time: ${describeDuration(modelTotalTimeoutMs(agent))} is this agent's limit for a ` +
      `model call, retries included (limits.modelTotalTimeoutMs)${why ? `; the last problem: ${why}` : ''}.`,
    MODEL_CALL_OVERDUE,
  );
}

/** The reply's text for a turn that ended with `err`. */
export function errorReply(err: unknown): string {
  const message = failureMessage(err);
  if (hasFailureType(err, MODEL_CALL_OVERDUE)) return message;
  if (hasFailureType(err, FailureTypes.ModelRequestRejected))
    return `The model provider rejected the request: ${message}`;
  if (hasFailureType(err, FailureTypes.ModelResponseUnreadable))
    return `The model provider's answer could not be read: ${message}`;
  if (hasFailureType(err, FailureTypes.ToolFatal)) return `A tool failed and the turn was stopped: ${message}`;
  if (hasFailureType(err, FailureTypes.UnknownAgent)) return `This agent is not available: ${message}`;
  if (hasFailureType(err, RUN_LIMIT_NEAR)) return `This message could not be fully answered: ${message}`;
  if (
    hasFailureType(err, FailureTypes.PaymentVerifierMissing) ||
    hasFailureType(err, FailureTypes.PaymentRequestInvalid)
  ) {
    return `This message's payment could not be checked, and it was not answered: ${message}`;
  }
  return `Something went wrong and this message could not be answered: ${message}`;
}

/** The innermost failure's message: the activity's own words, not the wrapper's. */
export function failureMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown } | undefined;
  while (e && typeof e === 'object' && e.cause) e = e.cause as typeof e;
  return e?.message ?? String(err);
}

function hasFailureType(err: unknown, type: string): boolean {
  for (let e = err as { type?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e instanceof ApplicationFailure && e.type === type) return true;
  }
  return false;
}
