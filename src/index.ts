/**
 * Vigil's public surface, what an app imports from `vigil`: define agents and tools, run a worker, talk to
 * conversations, and the protocol's messages and errors. Everything else in the package is internal.
 * `vigil/workflows` is what a worker bundles; `vigil/testing` runs an app's agents in a test (a Temporal, a
 * scripted model and a worker, in the test process).
 *
 * @example
 * import { defineAgent, defineTool } from 'vigil';
 * import { z } from 'zod';
 *
 * const weather = defineTool({
 *   name: 'weather',
 *   description: 'Current weather in a city',
 *   parameters: z.object({ city: z.string() }),
 *   execute: async ({ city }) => `18°C in ${city}`,
 * });
 * export const helper = defineAgent({ name: 'helper', instructions: 'Be brief.', model: 'gpt-4o-mini', tools: [weather] });
 */
export { defineAgent, type Agent, type AgentDefinition, type AgentTool, type Handoff } from './agents/define-agent';
export { agentAsTool, type AgentAsTool, type AgentAsToolOptions } from './agents/agent-as-tool';
export { AgentRegistry } from './agents/registry';
export type { McpHttpServer, McpServerDefinition, McpStdioServer, McpValue } from './agents/mcp-servers';
export { McpConnections, McpServerError, type McpConnectionsOptions } from './tools/mcp-connections';
export {
  calculator,
  createHttpFetchTool,
  currentTime,
  DEFAULT_TOOL_TIMEOUT_MS,
  defineTool,
  ToolFatalError,
  type Tool,
  type ToolContext,
  type ToolDefinition,
  type ToolOverrides,
  type ToolParameters,
} from './tools';
export {
  AgentClient,
  createContentStore,
  createVigilClient,
  vigilConnectionOptions,
  vigilGrpcRetryOptions,
  type VigilClientOptions,
} from './client';
export { signWebhookBody } from './channels';
export { createVigilWorker, type VigilWorker, type VigilWorkerOptions } from './workers/worker';
export { loadConfig, type Config } from './config';
export {
  CONFIG_FILE_NAMES,
  defineConfig,
  loadAppConfig,
  type LoadedAppConfig,
  type VigilAppConfig,
} from './app-config';
export type { ContentStore } from './store';
export * from './errors';
export { FailureTypes } from './conversation/failure-types';
export * from './conversation/protocol';
