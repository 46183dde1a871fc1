/**
 * What the conversation workflow knows of an agent: plain JSON, loaded from the worker's agent registry on a
 * run's first turn and then refreshed by model answers whenever the worker's definition changed (so a changed
 * model or tool policy takes effect on the next step and is visible in history; see AgentCache in
 * ../workflows/conversation-run.ts). Sandbox-safe: types and constants only.
 */
import type { MemoryPolicy } from './memory-policy';
import type { McpServerSpec } from './mcp-tools';

export type ApprovalPolicy = 'auto' | 'ask' | 'deny';

/**
 * What a conversation does with a message that arrives while a turn runs or messages wait: `queue` it for its
 * turn (the default), `reject` it (a `send` is refused, a `post` dropped and its channel told), or `interrupt` the
 * turn in flight (cancelled as `cancelTurn` does) so that the new message runs next.
 */
export type BusyPolicy = 'queue' | 'reject' | 'interrupt';

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
  /**
   * An agent as a tool (agentAsTool): a call runs as a sub-agent conversation of this agent, not as an activity;
   * `timeoutMs` and `retry` do not apply to it. Absent for every other tool.
   */
  agent?: string;
}

export interface AgentLimits {
  /** Model calls per turn before the turn ends with a step-limit reply. */
  maxSteps: number;
  /** Tool calls of one model answer that run at once. */
  maxParallelTools: number;
  /**
   * One attempt of a model call (its start-to-close timeout, default 2 minutes): a stream whose chunks keep
   * coming runs this long before it is cut and retried.
   */
  modelTimeoutMs: number;
  /**
   * A provider that sends nothing for this long (no response headers, or no stream chunk since the last one) is
   * given up on: the attempt fails with "the model provider sent nothing for …" and Temporal retries it by
   * `modelRetry` (default 60 s, at least 1 s). A stream that keeps sending is never cut by it. SSE keep-alive comments do not
   * count as something sent: raise it for models that think silently before their first token. At or above
   * `modelTimeoutMs` it never fires first. Absent in specs recorded before it existed (the default applies).
   */
  modelIdleTimeoutMs?: number;
  /**
   * One model call with all its attempts and the waits between them (Temporal's schedule-to-close timeout; default
   * 5 minutes, at least `modelTimeoutMs`): past it the turn ends with an error reply that names this limit, and the
   * conversation takes its next message. Absent in specs recorded before it existed (the default applies).
   */
  modelTotalTimeoutMs?: number;
  /** Attempts of one model call and the waits between them; `modelTotalTimeoutMs` bounds them all. */
  modelRetry: RetrySpec;
  /** Unanswered approvals are rejected after this long; undefined waits for ever. */
  approvalTimeoutMs?: number;
  deliveryRetry: RetrySpec;
  /**
   * The conversation continues as new between two turns once its run's history has this many events
   * (default 10,000, at most 40,000) or this many bytes (default 8 MiB, at most 32 MiB), or the run has received
   * this many signals (`post`s and model text previews; default 5,000, at most 6,000), or when Temporal suggests
   * it (its own thresholds, and before the 2,000 updates a run may take). Lower them to test; a continue-as-new
   * changes nothing a user can see. Temporal ends a run at 51,200 events or 50 MB and refuses its 10,001st
   * signal, so all stay well below (src/conversation/run-limits.ts).
   */
  continueAsNewAfterEvents?: number;
  continueAsNewAfterBytes?: number;
  continueAsNewAfterSignals?: number;
  /**
   * Whether Temporal's suggestion counts (default true). False leaves only the two limits above: for a run
   * kept whole on purpose (a reference in a test). A run then meets the 2,000-update limit unwarned.
   */
  continueAsNewWhenSuggested?: boolean;
}

/** Spending limits, in tokens (input + output) and in micro-USD (1 USD = 1,000,000). */
export interface UsageLimits {
  maxTokens?: number;
  maxCostMicros?: number;
}

/**
 * Checked before each turn (src/conversation/budget.ts): once a limit is reached, new turns are refused with a reply
 * and no model call. The turn that crosses a limit finishes.
 */
export interface AgentBudget {
  /** The whole conversation, all authors together. */
  conversation?: UsageLimits;
  /** Each message author on their own, within one conversation. */
  perAuthor?: UsageLimits;
}

/** A price per message, paid with a payment reference on the message and checked by a named verifier. */
export interface AgentPricing {
  /** Micro-USD (or microcredits, for the credits ledger) per message. */
  pricePerMessageMicros: number;
  /** The `name` of one of the worker's payment verifiers, e.g. `credits` or `webhook`. */
  verifier: string;
}

export interface AgentSpec {
  name: string;
  instructions: string;
  model: string;
  tools: ToolSpec[];
  limits: AgentLimits;
  /** Short-term memory; absent in specs recorded before it existed: read it through `memoryPolicy(spec)`. */
  memory?: MemoryPolicy;
  budget?: AgentBudget;
  pricing?: AgentPricing;
  /**
   * Absent for `queue`, the default, so the spec (and the version of it that histories hold) of an agent that
   * keeps the default is what it was before the policy existed; specs recorded before it have none either.
   */
  onBusy?: Exclude<BusyPolicy, 'queue'>;
  /**
   * The agent's MCP servers (src/conversation/mcp-tools.ts), without how to reach them (the worker's). Absent for an
   * agent without any, so its spec and version are what they were before MCP servers existed.
   */
  mcp?: McpServerSpec[];
  /**
   * The agents this one may hand the conversation to, each offered to the model as a tool without arguments.
   * Absent when there are none, so the spec (and its version) of an agent without handoffs is what it was before
   * handoffs existed.
   */
  handoffs?: HandoffSpec[];
}

/** A handoff as the model is offered it: calling `toolName` hands the conversation to `agent`. */
export interface HandoffSpec {
  agent: string;
  toolName: string;
  description: string;
}

/** The tool that hands over to `agent`: `transfer_to_<agent>`, as the OpenAI Agents SDK names it (in tool-name letters). */
export function handoffToolName(agent: string): string {
  return `transfer_to_${agent.replace(/[^a-zA-Z0-9_-]/g, '_')}`.slice(0, 64);
}

/** The arguments of a handoff tool: none. */
export const HANDOFF_PARAMETERS: Record<string, unknown> = {
  type: 'object',
  properties: {},
  additionalProperties: false,
};

/** What the model is told of a tool. */
export type ModelToolSpec = Pick<ToolSpec, 'name' | 'description' | 'parameters'>;

/** The tools the model is offered: all but those the agent denies, then one per handoff. */
export function modelTools(agent: AgentSpec): ModelToolSpec[] {
  const tools = agent.tools
    .filter((t) => t.approval !== 'deny')
    .map(({ name, description, parameters }) => ({ name, description, parameters }));
  if (!agent.handoffs) return tools;
  return [
    ...tools,
    ...agent.handoffs.map((h) => ({ name: h.toolName, description: h.description, parameters: HANDOFF_PARAMETERS })),
  ];
}

/** A hung provider is given up on this soon: about a minute to the next attempt. */
export const DEFAULT_MODEL_IDLE_TIMEOUT_MS = 60_000;
/** No model call (all attempts together) keeps a conversation waiting longer than this. */
export const DEFAULT_MODEL_TOTAL_TIMEOUT_MS = 300_000;

export const DEFAULT_LIMITS: AgentLimits = {
  maxSteps: 8,
  maxParallelTools: 4,
  modelTimeoutMs: 120_000,
  modelIdleTimeoutMs: DEFAULT_MODEL_IDLE_TIMEOUT_MS,
  modelTotalTimeoutMs: DEFAULT_MODEL_TOTAL_TIMEOUT_MS,
  modelRetry: { maximumAttempts: 6, initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 30_000 },
  deliveryRetry: { maximumAttempts: 10, initialIntervalMs: 1_000, backoffCoefficient: 2, maximumIntervalMs: 60_000 },
};

export const DEFAULT_TOOL_RETRY: RetrySpec = {
  maximumAttempts: 3,
  initialIntervalMs: 500,
  backoffCoefficient: 2,
  maximumIntervalMs: 10_000,
};
