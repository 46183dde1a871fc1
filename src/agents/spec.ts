/**
 * What the conversation workflow knows of an agent: plain JSON, loaded from the worker's agent registry at the
 * start of every turn (so a changed model or tool policy takes effect on the next turn and is visible in
 * history). Sandbox-safe: types and constants only.
 */
export type ApprovalPolicy = 'auto' | 'ask' | 'deny';

export interface RetrySpec {
  maximumAttempts: number;
  initialIntervalMs: number;
  backoffCoefficient: number;
  maximumIntervalMs: number;
}

export interface ToolSpec {
  name: string;
  description: string;
  /** JSON Schema of the arguments, as the model sees it. */
  parameters: Record<string, unknown>;
  approval: ApprovalPolicy;
  timeoutMs: number;
  retry: RetrySpec;
}

export interface AgentLimits {
  /** Model calls per turn before the turn ends with a step-limit reply. */
  maxSteps: number;
  /** Tool calls of one model answer that run at once. */
  maxParallelTools: number;
  /** One model call's start-to-close timeout. */
  modelTimeoutMs: number;
  modelRetry: RetrySpec;
  /** Unanswered approvals are rejected after this long; undefined waits for ever. */
  approvalTimeoutMs?: number;
  deliveryRetry: RetrySpec;
}

export interface AgentSpec {
  name: string;
  instructions: string;
  model: string;
  tools: ToolSpec[];
  limits: AgentLimits;
}

export const DEFAULT_LIMITS: AgentLimits = {
  maxSteps: 8,
  maxParallelTools: 4,
  modelTimeoutMs: 120_000,
  modelRetry: { maximumAttempts: 6, initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 30_000 },
  deliveryRetry: { maximumAttempts: 10, initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 60_000 },
};

export const DEFAULT_TOOL_RETRY: RetrySpec = {
  maximumAttempts: 3,
  initialIntervalMs: 500,
  backoffCoefficient: 2,
  maximumIntervalMs: 10_000,
};
