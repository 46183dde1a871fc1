/**
 * MCP servers as tool sources, as the conversation sees them: the plain-JSON part of an agent's `mcp` entries
 * (no command, URL or secret: those stay on the worker), the tool lists recorded in the conversation's state, and
 * the pure rules that decide when a list is fetched again and which tools a turn offers. Sandbox-safe.
 *
 * The tools of server `github` reach the model as `github__search_issues`: the OpenAI function-name rule allows
 * only [a-zA-Z0-9_-]{1,64}, so the `<server>.<tool>` of the MCP world cannot be spelt with a dot; a double
 * underscore (the spelling other MCP clients use too) is allowed, and a server name may not contain an underscore,
 * so the first `__` always separates the server from the tool.
 */
import type { ModelToolSpec, RetrySpec, ToolSpec, AgentSpec, ApprovalPolicy } from './agent-spec';
import type { ConversationState } from './state';

export const MCP_TOOL_SEPARATOR = '__';
/** A server name: letters, digits and `-`, so that `__` never occurs in it. */
export const MCP_SERVER_NAME = /^[a-zA-Z0-9][a-zA-Z0-9-]{0,31}$/;
/** The whole name the model calls: the OpenAI function-name rule. */
export const MODEL_TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export const DEFAULT_MCP_LIST_TTL_MS = 5 * 60_000;
export const DEFAULT_MCP_LIST_TIMEOUT_MS = 30_000;

/** An agent's policy for some of a server's tools (or all of them): as a Vigil tool's. */
export interface McpToolPolicy {
  approval?: ApprovalPolicy;
  timeoutMs?: number;
  retry?: Partial<RetrySpec>;
}

/** One MCP server of an agent, as the workflow knows it (AgentSpec.mcp). */
export interface McpServerSpec {
  name: string;
  /** A recorded list is fetched again at the first turn that starts this long after it was fetched. */
  ttlMs: number;
  /** One attempt of the listing activity. */
  listTimeoutMs: number;
  /** The policy of every tool of the server, complete (defaults applied). */
  approval: ApprovalPolicy;
  timeoutMs: number;
  retry: RetrySpec;
  /** Overrides for some tools, by the server's own tool name. */
  tools?: Record<string, McpToolPolicy>;
}

/** A tool as the server listed it (its own name, not the model's). */
export interface McpToolListed {
  name: string;
  description: string;
  /** The server's input schema (JSON Schema, always an object schema). */
  parameters: Record<string, unknown>;
}

/** A server's tools as a listing activity recorded them, with the workflow time of the listing. */
export interface McpListing {
  listedAt: string;
  tools: McpToolListed[];
}

export interface McpListInput {
  agent: string;
  conversationId: string;
  server: string;
}

export interface McpListResult {
  tools: McpToolListed[];
  /** Tools left out, with why (a name the model could not call). */
  skipped: string[];
}

/**
 * What the state holds of MCP servers: an optional field (absent for agents without any), so no schema version.
 * The lists are keyed by mcpListKey; `agent` is the conversation's own agent.
 */
export interface McpState {
  agent: string;
  mcpTools?: Record<string, McpListing>;
}

/**
 * Where the state keeps the list of an agent's server: under the server's name for the conversation's own agent
 * (as every run recorded before handoffs has it), under `<agent>/<server>` for an agent handed to, whose server may
 * share a name with another agent's and not its tools. No agent or server name holds `/`, so the two never meet.
 */
export function mcpListKey(state: McpState, agent: string, server: string): string {
  return agent === state.agent ? server : `${agent}/${server}`;
}

export function mcpToolName(server: string, tool: string): string {
  return `${server}${MCP_TOOL_SEPARATOR}${tool}`;
}

/** The server and its tool of a model's tool name, or undefined when it is not one. */
export function splitMcpToolName(name: string): { server: string; tool: string } | undefined {
  const at = name.indexOf(MCP_TOOL_SEPARATOR);
  if (at <= 0) return undefined;
  const server = name.slice(0, at);
  const tool = name.slice(at + MCP_TOOL_SEPARATOR.length);
  return MCP_SERVER_NAME.test(server) && tool !== '' ? { server, tool } : undefined;
}

/** The servers whose list this turn must fetch: never listed, or listed `ttlMs` or longer before `now`. */
export function mcpListsDue(state: McpState, agent: AgentSpec, now: string): McpServerSpec[] {
  return (agent.mcp ?? []).filter((server) => {
    const listing = state.mcpTools?.[mcpListKey(state, agent.name, server.name)];
    return !listing || Date.parse(now) - Date.parse(listing.listedAt) >= server.ttlMs;
  });
}

export function recordMcpListing(
  state: McpState,
  agent: string,
  server: string,
  tools: McpToolListed[],
  now: string,
): void {
  state.mcpTools = { ...state.mcpTools, [mcpListKey(state, agent, server)]: { listedAt: now, tools } };
}

/**
 * A server whose list could not be fetched at this turn's start: the turn goes on with the list recorded before,
 * or without the server's tools, and its transcript says so in a notice (returned, for the workflow's log too). The
 * recorded list keeps its time, so the next turn tries again.
 */
export function recordMcpListingFailure(
  state: McpState & Pick<ConversationState, 'turn' | 'transcript'>,
  agent: string,
  server: string,
  reason: string,
  now: string,
): string {
  const last = state.mcpTools?.[mcpListKey(state, agent, server)];
  const goesOn = last
    ? `this turn uses its list from ${last.listedAt} (${last.tools.length} tool${last.tools.length === 1 ? '' : 's'})`
    : 'this turn goes on without its tools';
  const content = `The tools of MCP server "${server}" could not be listed (${reason}); ${goesOn}.`;
  if (state.turn) state.transcript.push({ role: 'notice', turn: state.turn.turn, content, at: now });
  return content;
}

/**
 * The agent as a turn uses it: its own tools, then the tools of each of its MCP servers from the list recorded in
 * the state, named `<server>__<tool>`, with the server's policy and its per-tool overrides. The same object for
 * an agent without MCP servers.
 */
export function withMcpTools(agent: AgentSpec, state: McpState): AgentSpec {
  if (!agent.mcp?.length) return agent;
  const own = new Set(agent.tools.map((t) => t.name));
  const listed: ToolSpec[] = [];
  for (const server of agent.mcp) {
    for (const tool of state.mcpTools?.[mcpListKey(state, agent.name, server.name)]?.tools ?? []) {
      const name = mcpToolName(server.name, tool.name);
      if (own.has(name)) continue;
      const policy = server.tools?.[tool.name] ?? {};
      listed.push({
        name,
        description: tool.description,
        parameters: tool.parameters,
        approval: policy.approval ?? server.approval,
        timeoutMs: policy.timeoutMs ?? server.timeoutMs,
        retry: { ...server.retry, ...policy.retry },
      });
    }
  }
  return { ...agent, tools: [...agent.tools, ...listed] };
}

/**
 * The MCP tools a model call offers beside the agent's own: a call that names the agent's version leaves the
 * agent's tools to the worker, which knows them, but only history knows the lists it recorded.
 */
export function mcpModelTools(agent: AgentSpec): ModelToolSpec[] {
  if (!agent.mcp?.length) return [];
  return agent.tools
    .filter((t) => t.approval !== 'deny' && agent.mcp!.some((s) => t.name.startsWith(s.name + MCP_TOOL_SEPARATOR)))
    .map(({ name, description, parameters }) => ({ name, description, parameters }));
}
