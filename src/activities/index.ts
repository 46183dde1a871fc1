/**
 * The conversation's activities, built from their dependencies in one place: the worker passes the real model
 * client, agents and channels; tests pass a scripted model, test agents and a recording channel.
 */
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import type { Agent } from '../agents/define-agent';
import type { AgentRegistry } from '../agents/registry';
import { modelTools, type ModelToolSpec } from '../conversation/agent-spec';
import type { OutputChannel } from '../channels/output-channel';
import type { ContentStore } from '../store';
import { cachedContentStore } from '../store/cached-content-store';
import type { Logger } from '../logger';
import type { PaymentVerifier } from '../conversation/payment';
import { costOf, priceTable, type PriceTable } from '../pricing/price-table';
import { createDeliveryActivity } from './delivery';
import { createModelActivity } from './model';
import { publishToConversation } from './model-deltas';
import { createPaymentActivity } from './payment';
import { createScheduledMessageActivity } from './scheduled-message';
import { createSummarizeActivity } from './summarize';
import { createToolActivity } from './tools';
import { createMcpListActivity, mcpTool } from './mcp';
import { McpConnections } from '../tools/mcp-connections';
import { type ModelCallInput, type WorkerActivities } from '../conversation/activity-contract';
import { FailureTypes } from '../conversation/failure-types';
import { joinInstructions } from '../conversation/state';

export interface ActivityDeps {
  agents: AgentRegistry;
  openai: OpenAI;
  /** At most one per channel type. */
  channels: OutputChannel[];
  /** Where the worker notes trouble the workflow cannot see (an agent it lacks); default: nowhere. */
  logger?: Pick<Logger, 'warn'>;
  /** Publish model text to the conversation's event stream as it streams. Default true. */
  streamDeltas?: boolean;
  /** Prices of model calls; default the built-in table (src/pricing/price-table.ts). */
  prices?: PriceTable;
  /** What agents' `pricing.verifier` may name (src/payments); default none. */
  paymentVerifiers?: PaymentVerifier[];
  /**
   * Where conversations keep their transcripts and summaries (src/store). A worker without one can serve only
   * runs recorded before the transcript moved to the store.
   */
  store?: ContentStore;
  /**
   * The worker's connections to agents' MCP servers, whose secrets it resolves; the caller closes it when the worker
   * has stopped. Default: one that resolves secrets from the environment and is never closed (its servers stop
   * with the process).
   */
  mcpConnections?: McpConnections;
}

export function createActivities(deps: ActivityDeps): WorkerActivities {
  const { agents, logger } = deps;
  const mcp = { agent: (name: string) => agents.get(name), connections: deps.mcpConnections ?? new McpConnections() };
  // A worker that would hand conversations to an agent it lacks does not start.
  agents.checkHandoffs();
  const prices = deps.prices ?? priceTable();
  // Transcript records are read again by every later model call: this worker keeps the recent ones in memory.
  const transcripts = deps.store && cachedContentStore(deps.store);
  const summarize = createSummarizeActivity({ openai: deps.openai, store: transcripts });
  const callModel = createModelActivity({
    openai: deps.openai,
    store: transcripts,
    deltas: deps.streamDeltas === false ? undefined : publishToConversation,
  });
  /** The worker's agent of that name; a non-retryable failure when it has none. */
  const definedAgent = (name: string): Agent => {
    const agent = agents.get(name);
    if (agent) return agent;
    const known = agents.list().map((a) => a.name);
    logger?.warn({ agent: name, known }, 'a conversation asked for an agent this worker does not define');
    // Non-retryable: another attempt on this worker finds the same registry.
    throw ApplicationFailure.nonRetryable(
      `agent "${name}" is not defined on this worker (defined: ${known.join(', ') || 'none'})`,
      FailureTypes.UnknownAgent,
    );
  };
  return {
    async loadAgent(name) {
      return definedAgent(name).spec();
    },
    // The answer carries the agent's current definition when it is not the one the conversation holds, so the
    // conversation picks up a changed model or tool policy for its next step without a lookup per turn, and an
    // unchanged spec is not written to history on every call. Its cost is priced here, with the worker's table, so
    // the workflow only adds integers that history records.
    callModel: async ({ mcpTools, ...request }) => {
      const agent = agents.get(request.agent);
      // A call that names the agent's version leaves out its instructions and tools: they are this worker's. When
      // the worker's definition changed since, the model gets the new one a step before the workflow does.
      const input: ModelCallInput =
        request.instructions !== undefined && request.tools !== undefined
          ? { ...request, instructions: request.instructions, tools: request.tools }
          : { ...request, ...agentParts(agent ?? definedAgent(request.agent), mcpTools) };
      const answer = await callModel(
        { ...input, instructions: joinInstructions(input.instructions, input.conversationInstructions) },
        { stream: agent?.stream ?? true },
      );
      const byAnswer = costOf(prices, answer.model, answer.usage);
      const cost = byAnswer.priced ? byAnswer : costOf(prices, input.model, answer.usage);
      const priced = { ...answer, costMicros: cost.costMicros, priced: cost.priced };
      if (!agent || input.agentVersion === agent.version) return priced;
      return { ...priced, agent: agent.spec(), agentVersion: agent.version };
    },
    runTool: createToolActivity({
      findTool: (agent, tool) => agents.get(agent)?.findTool(tool) ?? mcpTool(mcp, agent, tool),
    }),
    listMcpTools: createMcpListActivity(mcp),
    deliverReply: createDeliveryActivity({ channels: deps.channels }),
    // Priced like a model call: a summary is part of what the conversation costs.
    summarize: async (input) => {
      const summary = await summarize(input);
      const cost = costOf(prices, summary.model, summary.usage);
      return { ...summary, ...(cost.priced ? cost : costOf(prices, input.model, summary.usage)) };
    },
    verifyPayment: createPaymentActivity({ verifiers: deps.paymentVerifiers ?? [] }),
    postScheduledMessage: createScheduledMessageActivity(),
  };
}

export type {
  ConversationActivities,
  ScheduledMessageActivities,
  WorkerActivities,
} from '../conversation/activity-contract';

/** The agent's instructions and tools as this worker defines them, and the MCP tools the conversation recorded. */
function agentParts(agent: Agent, mcpTools: ModelToolSpec[] = []): Pick<ModelCallInput, 'instructions' | 'tools'> {
  const spec = agent.spec();
  return { instructions: spec.instructions, tools: [...modelTools(spec), ...mcpTools] };
}
