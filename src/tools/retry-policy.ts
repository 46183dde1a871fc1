/**
 * The retry policies an agent's definition gives (of its model calls and deliveries, of its tools, of its MCP
 * servers' tools), checked where they are defined. Temporal itself refuses a policy that waits longer before the
 * first retry than it ever may (`maximumInterval < initialInterval`), and it does so in the workflow, when the call
 * is scheduled: the conversation's workflow task would fail at every attempt, a turn stuck for good. So the policy
 * a call will use, with the defaults and overrides merged, is checked up front.
 */
import { z } from 'zod';
import type { RetrySpec } from '../conversation/agent-spec';

const positiveInt = z.number().int().positive();

const RetryFields = z
  .object({
    maximumAttempts: z.number().int().nonnegative(),
    initialIntervalMs: positiveInt,
    backoffCoefficient: z.number().min(1),
    maximumIntervalMs: positiveInt,
  })
  .strict();

/** A whole policy (an agent's `limits.modelRetry`, `limits.deliveryRetry`). */
export const RetryPolicySchema = RetryFields.refine(
  (retry) => retry.maximumIntervalMs >= retry.initialIntervalMs,
  'maximumIntervalMs must be at least initialIntervalMs',
);

/** Some fields of a policy, merged over another (an MCP server's `retry`, or one of its tools'). */
export const RetryOverrideSchema = RetryFields.partial();

/** The problem with a merged policy, if it has one: `label` names where it was set. */
export function mergedRetryProblem(label: string, retry: RetrySpec): string | undefined {
  if (retry.maximumIntervalMs >= retry.initialIntervalMs) return undefined;
  return (
    `${label}: retry.maximumIntervalMs (${retry.maximumIntervalMs}) must be at least retry.initialIntervalMs ` +
    `(${retry.initialIntervalMs}), counting the defaults it is merged with: set both`
  );
}
