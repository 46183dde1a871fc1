/**
 * Agents: a name, instructions, a model, tools and limits. An agent lives on the worker; the conversation
 * workflow sees only its plain-JSON `spec()`, loaded at the start of every turn, and tool calls come back to
 * the worker by name through `findTool`.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { ConfigError } from '../errors';
import { memoryPolicy, MemoryPolicySchema, type MemoryPolicy } from '../conversation/memory-policy';
import { AgentName } from '../conversation/protocol';
import { MCP_TOOL_SEPARATOR } from '../conversation/mcp-tools';
import { mcpServerSpec, parseMcpServers, type McpServerDefinition } from './mcp-servers';
import { DEFAULT_TOOL_TIMEOUT_MS, toolSpec, type Tool, type ToolOverrides } from '../tools/define-tool';
import { RetryPolicySchema } from '../tools/retry-policy';
import { AGENT_TOOL_PARAMETERS } from '../conversation/sub-agent';
import { type AgentAsTool, isAgentAsTool } from './agent-as-tool';
import { MAX_SWITCH_THRESHOLDS } from '../conversation/run-limits';
import {
  DEFAULT_LIMITS,
  DEFAULT_TOOL_RETRY,
  type ApprovalPolicy,
  type AgentBudget,
  type AgentLimits,
  type AgentPricing,
  type AgentSpec,
  type BusyPolicy,
  handoffToolName,
  type HandoffSpec,
  type ToolSpec,
} from '../conversation/agent-spec';

/**
 * A tool as an agent uses it: as defined, or with this agent's own approval, timeout or retry policy; or another
 * agent as a tool (agentAsTool), alone or with this agent's approval policy for it.
 */
export type AgentTool =
  Tool | ({ tool: Tool } & ToolOverrides) | AgentAsTool | { tool: AgentAsTool; approval?: ApprovalPolicy };

/**
 * An agent this one may hand the conversation to: the agent itself, or its name (for agents that hand back and
 * forth: one of them is defined first, so it names the other), or either with the description the model is given
 * of the handoff (by default, that it hands the conversation over to that agent).
 */
export type Handoff = Agent | string | { agent: Agent | string; description?: string };

export interface AgentDefinition {
  /** Part of every conversation's workflow id: letters, digits and . _ : @ - only. */
  name: string;
  /** The system prompt. */
  instructions: string;
  /** The model name as the provider spells it, e.g. `gpt-4o-mini`. */
  model: string;
  /**
   * False for a provider that cannot stream: each model call asks for the whole answer at once, and watchers
   * see no text preview. Default true. (A provider that ignores the request and answers whole is read either way.)
   */
  stream?: boolean;
  tools?: AgentTool[];
  /** Overrides of DEFAULT_LIMITS. */
  limits?: Partial<AgentLimits>;
  /** Short-term memory: overrides of DEFAULT_MEMORY (a 16,000-token window with a rolling summary). */
  memory?: Partial<MemoryPolicy>;
  /** Token and cost limits per conversation and per author; none by default. */
  budget?: AgentBudget;
  /** A price per message, paid through a payment verifier; free by default. */
  pricing?: AgentPricing;
  /**
   * A message that arrives while a turn runs or messages wait: `queue` (default) waits for its turn; `reject`
   * refuses it (`send` throws TurnInProgressError, the gateway answers 409 `turn_in_progress`; a `post` is dropped
   * and its channel gets an `error` reply); `interrupt` cancels the turn in flight (its reply has status
   * `cancelled`) and the new message runs next.
   */
  onBusy?: BusyPolicy;
  /**
   * MCP servers whose tools the agent offers, named `<server>__<tool>` for the model: each a command the worker
   * spawns (stdio) or a streamable-HTTP URL, with `{ secret: 'NAME' }` for values the worker resolves when it
   * connects. Their tool lists are fetched at a turn's start and recorded in history; see docs/02.
   *
   * @example
   * mcp: [
   *   { name: 'github', command: 'npx', args: ['-y', '@modelcontextprotocol/server-github'],
   *     env: { GITHUB_PERSONAL_ACCESS_TOKEN: { secret: 'GITHUB_TOKEN' } }, approval: 'ask' },
   *   { name: 'docs', url: 'https://docs.example.com/mcp', headers: { Authorization: { secret: 'DOCS_AUTH' } } },
   * ]
   */
  mcp?: McpServerDefinition[];
  /**
   * Agents the model may hand the conversation to, each offered as a tool `transfer_to_<agent>`. The agent handed
   * to answers from the next step on, with its own instructions, model and tools, until it hands over in turn; the
   * conversation keeps its address (the first agent's name). Every one must be served by the same worker.
   */
  handoffs?: Handoff[];
}

export interface Agent {
  readonly name: string;
  /** Whether model calls stream (AgentDefinition.stream): the worker's concern, so not part of the spec. */
  readonly stream: boolean;
  /** A fresh copy of the agent as the workflow sees it; callers may change it freely. */
  spec(): AgentSpec;
  /**
   * A digest of `spec()`: equal on every worker that defines the agent alike. A model call sends the version the
   * conversation holds, and the answer carries the spec only when this differs (it is not in history every call).
   */
  readonly version: string;
  findTool(name: string): Tool | undefined;
  /**
   * The agent's MCP servers as defined, with how to reach them: the worker's concern, not the spec's. Optional, so
   * an Agent made without defineAgent still type-checks (it then has none).
   */
  readonly mcpServers?: readonly McpServerDefinition[];
  /**
   * The names of the agents it may hand the conversation to (AgentDefinition.handoffs). Optional, as `mcpServers`
   * is, so an Agent made without defineAgent still type-checks.
   */
  readonly handoffs?: readonly string[];
  /** The names of the agents it calls as tools (agentAsTool); optional for the same reason. */
  readonly agentTools?: readonly string[];
}

const OVERRIDE_KEYS: string[] = ['approval', 'timeoutMs', 'retry'] satisfies (keyof ToolOverrides)[];

const positiveInt = z.number().int().positive();

// Strict, so a misspelt limit is an error rather than a silently ignored one.
const Limits = z
  .object({
    maxSteps: positiveInt,
    maxParallelTools: positiveInt,
    modelTimeoutMs: positiveInt,
    // At least a second: a limit written in seconds by mistake would fail every model call.
    modelIdleTimeoutMs: z.number().int().min(1_000, 'must be at least 1000 (milliseconds)'),
    modelTotalTimeoutMs: z.number().int().min(1_000, 'must be at least 1000 (milliseconds)'),
    modelRetry: RetryPolicySchema,
    approvalTimeoutMs: positiveInt.optional(),
    // Temporal terminates a run at 51,200 events or 50 MB and refuses its 10,001st signal: the caps leave a whole
    // turn's room below the point where a turn stops (src/conversation/run-limits.ts).
    continueAsNewAfterEvents: z.number().int().min(100).max(MAX_SWITCH_THRESHOLDS.events).optional(),
    continueAsNewAfterBytes: z
      .number()
      .int()
      .min(64 * 1024)
      .max(MAX_SWITCH_THRESHOLDS.bytes)
      .optional(),
    continueAsNewAfterSignals: z.number().int().min(10).max(MAX_SWITCH_THRESHOLDS.signals).optional(),
    continueAsNewWhenSuggested: z.boolean().optional(),
    deliveryRetry: RetryPolicySchema,
  })
  .partial()
  .strict();

// Micro-USD amounts stay below 2^53 so sums in the workflow are exact.
const micros = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const UsageLimits = z
  .object({
    maxTokens: positiveInt.max(Number.MAX_SAFE_INTEGER).optional(),
    maxCostMicros: positiveInt.max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .strict();
const Budget = z.object({ conversation: UsageLimits.optional(), perAuthor: UsageLimits.optional() }).strict();
const Pricing = z
  .object({
    pricePerMessageMicros: micros.refine(
      (value) => value > 0,
      'must be more than 0 (leave pricing out for a free agent)',
    ),
    verifier: z.string().trim().min(1, 'must name a payment verifier of the worker').max(100),
  })
  .strict();

const Definition = z.object({
  name: AgentName,
  instructions: z.string().trim().min(1, 'must not be empty'),
  model: z.string().trim().min(1, 'must not be empty').max(200),
  stream: z.boolean().optional(),
  tools: z.array(z.unknown()).optional(),
  limits: Limits.optional(),
  memory: MemoryPolicySchema.optional(),
  budget: Budget.optional(),
  pricing: Pricing.optional(),
  onBusy: z.enum(['queue', 'reject', 'interrupt']).optional(),
  mcp: z.array(z.unknown()).optional(),
  handoffs: z.array(z.unknown()).optional(),
});

const HandoffDescription = z.string().trim().min(1, 'must not be empty').max(1_000);

/**
 * Defines an agent; every problem (a bad name, a clash of tool names, a bad limit) is reported at once.
 *
 * @example
 * const support = defineAgent({
 *   name: 'support',
 *   instructions: 'You answer questions about our product.',
 *   model: 'gpt-4o-mini',
 *   tools: [currentTime, { tool: httpFetch, approval: 'ask' }],
 *   limits: { maxSteps: 4 },
 *   memory: { maxContextTokens: 32_000, pinFirstUserMessage: true },
 * });
 *
 * @throws ConfigError listing every problem.
 */
export function defineAgent(definition: AgentDefinition): Agent {
  const label = typeof definition?.name === 'string' ? `agent "${definition.name}"` : 'agent';
  const parsed = Definition.safeParse(definition);
  const problems = parsed.success
    ? []
    : parsed.error.issues.map((issue) => `${label}: ${issue.path.join('.') || 'definition'}: ${issue.message}`);

  const tools = new Map<string, Tool>();
  const toolSpecs: ToolSpec[] = [];
  const agentTools: string[] = [];
  for (const [index, entry] of (definition?.tools ?? []).entries()) {
    const { tool, ...overrides } = isTool(entry) || isAgentAsTool(entry) ? { tool: entry } : (entry ?? {});
    if (isAgentAsTool(tool)) {
      const spec = agentToolSpec(`${label}: tools.${index}`, tool, overrides, definition?.name, toolSpecs, problems);
      if (spec) {
        toolSpecs.push(spec);
        agentTools.push(tool.agent);
      }
      continue;
    }
    if (!isTool(tool)) {
      problems.push(
        `${label}: tools.${index} must be a tool from defineTool() or agentAsTool(), or { tool, approval?, timeoutMs?, retry? }`,
      );
      continue;
    }
    const unknown = Object.keys(overrides).filter((key) => !OVERRIDE_KEYS.includes(key));
    if (unknown.length > 0) {
      const keys = `${unknown.join(', ')} (use ${OVERRIDE_KEYS.join(', ')})`;
      problems.push(`${label}: tools.${index} has unknown keys ${keys}`);
      continue;
    }
    if (tools.has(tool.name) || toolSpecs.some((t) => t.name === tool.name)) {
      problems.push(`${label}: tool name "${tool.name}" is used twice; the model calls tools by name`);
      continue;
    }
    try {
      toolSpecs.push(toolSpec(tool, overrides));
      tools.set(tool.name, tool);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems.map((problem) => `${label}: ${problem}`));
    }
  }
  const mcp = parseMcpServers(definition?.mcp);
  problems.push(...mcp.problems.map((problem) => `${label}: ${problem}`));
  for (const server of mcp.servers) {
    const prefix = `${server.name}${MCP_TOOL_SEPARATOR}`;
    for (const name of tools.keys()) {
      if (name.startsWith(prefix)) {
        problems.push(`${label}: tool name "${name}" begins as the tools of MCP server "${server.name}" do`);
      }
    }
  }
  const handoffs = handoffSpecs(
    label,
    definition?.name,
    definition?.handoffs ?? [],
    toolSpecs.map((t) => t.name),
    problems,
  );
  if (parsed.success) problems.push(...modelTimeoutProblems(label, parsed.data.limits ?? {}));
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);

  const { name, instructions, model, stream, limits, budget, pricing, memory, onBusy } = parsed.data;
  const spec: AgentSpec = {
    name,
    instructions,
    model,
    tools: toolSpecs,
    limits: withModelTotal({ ...DEFAULT_LIMITS, ...limits }, limits?.modelTotalTimeoutMs),
    memory: memory ?? memoryPolicy({}),
    ...(budget ? { budget } : {}),
    ...(pricing ? { pricing } : {}),
    // Left out for the default, so an agent that keeps it has the version it had before the policy existed.
    ...(onBusy && onBusy !== 'queue' ? { onBusy } : {}),
    // Left out without servers, for the same reason.
    ...(mcp.servers.length > 0 ? { mcp: mcp.servers.map(mcpServerSpec) } : {}),
    // Left out when there are none, for the same reason.
    ...(handoffs.length > 0 ? { handoffs } : {}),
  };
  return {
    name,
    stream: stream ?? true,
    spec: () => structuredClone(spec),
    version: createHash('sha256').update(JSON.stringify(spec)).digest('base64url').slice(0, 16),
    findTool: (toolName) => tools.get(toolName),
    mcpServers: Object.freeze(mcp.servers),
    handoffs: handoffs.map((h) => h.agent),
    agentTools,
  };
}

/** An agent tool (agentAsTool) as the spec holds it, or undefined with its problem noted. */
function agentToolSpec(
  where: string,
  tool: AgentAsTool,
  overrides: Record<string, unknown>,
  self: unknown,
  taken: ToolSpec[],
  problems: string[],
): ToolSpec | undefined {
  const unknown = Object.keys(overrides).filter((key) => key !== 'approval');
  const { approval } = overrides;
  if (unknown.length > 0) {
    problems.push(`${where} has unknown keys ${unknown.join(', ')} (an agent tool takes approval)`);
  } else if (approval !== undefined && !['auto', 'ask', 'deny'].includes(approval as string)) {
    problems.push(`${where}.approval must be auto, ask or deny`);
  } else if (taken.some((t) => t.name === tool.name)) {
    problems.push(`${where}: tool name "${tool.name}" is used twice; the model calls tools by name`);
  } else if (tool.agent === self) {
    problems.push(`${where}: an agent cannot call itself as a tool`);
  } else {
    return {
      name: tool.name,
      description: tool.description,
      parameters: AGENT_TOOL_PARAMETERS,
      approval: (approval as ApprovalPolicy | undefined) ?? 'auto',
      // Not used: the call is a child conversation, not an activity. Present because every tool spec has them.
      timeoutMs: DEFAULT_TOOL_TIMEOUT_MS,
      retry: DEFAULT_TOOL_RETRY,
      agent: tool.agent,
    };
  }
  return undefined;
}

/**
 * The handoffs as the spec holds them, with every problem noted: a target that is not an agent or an agent name,
 * the agent itself, a target named twice, or a transfer tool whose name one of the agent's tools already has.
 * Whether the worker serves each target is checked when the worker starts (AgentRegistry.checkHandoffs).
 */
function handoffSpecs(
  label: string,
  self: unknown,
  entries: unknown[],
  toolNames: string[],
  problems: string[],
): HandoffSpec[] {
  const specs: HandoffSpec[] = [];
  if (!Array.isArray(entries)) return specs;
  for (const [index, entry] of entries.entries()) {
    const { agent, description } = isHandoffTarget(entry)
      ? { agent: entry, description: undefined }
      : ((entry ?? {}) as { agent?: unknown; description?: unknown });
    const name = isAgent(agent) ? agent.name : agent;
    const where = `${label}: handoffs.${index}`;
    const parsedName = AgentName.safeParse(name);
    if (!isHandoffTarget(agent) || !parsedName.success) {
      problems.push(`${where} must be an agent from defineAgent(), an agent's name, or { agent, description? }`);
      continue;
    }
    const parsedDescription = HandoffDescription.optional().safeParse(description);
    if (!parsedDescription.success) {
      problems.push(`${where}.description: ${parsedDescription.error.issues[0]?.message ?? 'invalid'}`);
      continue;
    }
    const target = parsedName.data;
    const toolName = handoffToolName(target);
    if (target === self) {
      problems.push(`${where}: an agent cannot hand the conversation to itself`);
    } else if (specs.some((s) => s.agent === target)) {
      problems.push(`${where}: agent "${target}" is named twice`);
    } else if (toolNames.includes(toolName) || specs.some((s) => s.toolName === toolName)) {
      problems.push(
        `${where}: the handoff tool "${toolName}" has the name of another tool; the model calls tools by name`,
      );
    } else {
      specs.push({
        agent: target,
        toolName,
        description:
          parsedDescription.data ??
          `Hand the conversation over to the agent "${target}": it answers from the next step on, with its own instructions and tools.`,
      });
    }
  }
  return specs;
}

function isAgent(value: unknown): value is Agent {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Agent).name === 'string' &&
    typeof (value as Agent).spec === 'function'
  );
}

function isHandoffTarget(value: unknown): value is Agent | string {
  return typeof value === 'string' || isAgent(value);
}

/**
 * An agent that raised `modelTimeoutMs` past the default total, and set no total, gets a total of one attempt: it
 * keeps working as it did before the total existed, instead of failing at startup.
 */
function withModelTotal(limits: AgentLimits, chosen: number | undefined): AgentLimits {
  return chosen === undefined
    ? { ...limits, modelTotalTimeoutMs: Math.max(limits.modelTotalTimeoutMs ?? 0, limits.modelTimeoutMs) }
    : limits;
}

/**
 * A total bound chosen for a model call must leave room for one whole attempt, or no attempt could run its course.
 */
function modelTimeoutProblems(label: string, limits: Partial<AgentLimits>): string[] {
  const { modelTimeoutMs } = { ...DEFAULT_LIMITS, ...limits };
  const total = limits.modelTotalTimeoutMs;
  if (total === undefined || total >= modelTimeoutMs) return [];
  return [
    `${label}: limits.modelTotalTimeoutMs (${total}) must be at least limits.modelTimeoutMs (${modelTimeoutMs}): ` +
      'it bounds all attempts of a model call together, so one attempt could never run its course',
  ];
}

function isTool(value: unknown): value is Tool {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Tool).name === 'string' &&
    typeof (value as Tool).execute === 'function'
  );
}
