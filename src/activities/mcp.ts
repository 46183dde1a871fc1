/**
 * MCP servers' side of the activities: `listMcpTools`, which a turn runs to record a server's tool list in history,
 * and the tools the `runTool` activity runs for a model's `<server>__<tool>` call, over the worker's connections.
 * What the model can fix or wait out (a server that is down, one that died during the call, a tool that failed)
 * comes back to it as a tool error; the list the call is checked against is the one history recorded.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import type { Agent } from '../agents/define-agent';
import { mcpServerSpec, type McpServerDefinition } from '../agents/mcp-servers';
import { FailureTypes } from '../conversation/failure-types';
import { splitMcpToolName, type McpListInput, type McpListResult } from '../conversation/mcp-tools';
import type { Tool, ToolParameters } from '../tools/define-tool';
import type { McpConnections } from '../tools/mcp-connections';

export interface McpActivityDeps {
  agent(name: string): Agent | undefined;
  connections: McpConnections;
}

/** Any JSON object: the server checks the arguments against the schema it listed. */
const ANY_ARGUMENTS: ToolParameters = z.looseObject({});

export function createMcpListActivity(deps: McpActivityDeps): (input: McpListInput) => Promise<McpListResult> {
  return async function listMcpTools(input) {
    const server = serverOf(deps.agent(input.agent), input.server);
    if (!server) {
      // Another attempt on this worker finds the same agents.
      throw ApplicationFailure.nonRetryable(
        `agent "${input.agent}" has no MCP server "${input.server}" on this worker`,
        FailureTypes.UnknownAgent,
      );
    }
    const context = Context.current();
    return deps.connections.listTools(input.agent, server, {
      signal: context.cancellationSignal,
      timeoutMs: context.info.startToCloseTimeoutMs,
    });
  };
}

/**
 * The tool that runs a model's call of `<server>__<tool>` on the agent's server, or undefined when the name is
 * not one of the agent's servers. Whether the tool is in the recorded list the workflow already checked.
 */
export function mcpTool(deps: McpActivityDeps, agentName: string, name: string): Tool | undefined {
  const parts = splitMcpToolName(name);
  const server = parts && serverOf(deps.agent(agentName), parts.server);
  if (!parts || !server) return undefined;
  // The policy fields are the server's as defined; the workflow applies the spec's (with per-tool overrides).
  const policy = mcpServerSpec(server);
  return {
    name,
    description: `${parts.tool} of MCP server ${server.name}`,
    parameters: ANY_ARGUMENTS,
    jsonSchema: {},
    approval: policy.approval,
    timeoutMs: policy.timeoutMs,
    retry: policy.retry,
    async execute(args, ctx) {
      const result = await deps.connections.callTool(agentName, server, parts.tool, args as Record<string, unknown>, {
        signal: ctx.signal,
        // The activity's own bound: the SDK's default (60 s) would cut a tool allowed to run longer.
        timeoutMs: Context.current().info.startToCloseTimeoutMs,
      });
      // A failure the server reports is the model's to read, like any failing tool's.
      if (result.isError) throw new Error(result.content || `${name} failed`);
      return result.content;
    },
  };
}

function serverOf(agent: Agent | undefined, name: string): McpServerDefinition | undefined {
  return agent?.mcpServers?.find((server) => server.name === name);
}
