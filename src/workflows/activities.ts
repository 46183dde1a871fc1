/**
 * The conversation's activities as the workflow calls them: each with the timeouts and retries its agent, tool
 * or channel sets, and a summary that names what it did in the Temporal UI and CLI.
 */
import { ActivityCancellationType, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { ConversationActivities } from '../conversation/activity-contract';
import type { AgentSpec, RetrySpec, ToolSpec } from '../conversation/agent-spec';
import { FailureTypes } from '../conversation/failure-types';
import type { McpServerSpec } from '../conversation/mcp-tools';
import { modelTotalTimeoutMs } from './turn-failures';

/**
 * How long an activity that runs for a while (a model call, a tool) may go without a heartbeat before the server
 * counts its worker as gone and retries it elsewhere: what a crashed worker costs a turn. The activities send
 * heartbeats every second while they run (throttled by the SDK), so only a dead or frozen worker misses this.
 */
export const HEARTBEAT_TIMEOUT_MS = 30_000;

export const { loadAgent } = proxyLocalActivities<ConversationActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [FailureTypes.UnknownAgent] },
});

export function delivery(messageId: string, channelType: string, retry: RetrySpec) {
  return proxyActivities<ConversationActivities>({
    summary: `reply to message ${messageId} via ${channelType}`,
    startToCloseTimeout: '30s',
    retry: { ...retryOptions(retry), nonRetryableErrorTypes: [FailureTypes.DeliveryRejected] },
  });
}

/**
 * A model call's (or summary's) activity: each attempt within `modelTimeoutMs`, all attempts together within
 * `modelTotalTimeoutMs`. Timeouts are not compared on replay (Core 1.23 checks an activity's type and id only), so
 * runs recorded without the total bound replay unchanged and get it from their next call on.
 */
export function modelActivity(agent: AgentSpec, summary: string) {
  return proxyActivities<ConversationActivities>({
    summary,
    startToCloseTimeout: agent.limits.modelTimeoutMs,
    scheduleToCloseTimeout: modelTotalTimeoutMs(agent),
    heartbeatTimeout: Math.min(HEARTBEAT_TIMEOUT_MS, agent.limits.modelTimeoutMs),
    retry: { ...retryOptions(agent.limits.modelRetry), nonRetryableErrorTypes: [FailureTypes.ModelRequestRejected] },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}

export function paymentActivity(reference: string) {
  return proxyActivities<ConversationActivities>({
    summary: `payment ${reference}`,
    startToCloseTimeout: '30s',
    retry: {
      maximumAttempts: 10,
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      nonRetryableErrorTypes: [FailureTypes.PaymentVerifierMissing, FailureTypes.PaymentRequestInvalid],
    },
  });
}

export function toolActivity(tool: ToolSpec, summary: string) {
  return proxyActivities<ConversationActivities>({
    summary,
    startToCloseTimeout: tool.timeoutMs,
    heartbeatTimeout: Math.min(HEARTBEAT_TIMEOUT_MS, tool.timeoutMs),
    retry: { ...retryOptions(tool.retry), nonRetryableErrorTypes: [FailureTypes.ToolFatal] },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}

/**
 * Listing an MCP server's tools at a turn's start: a slow or absent server holds the turn up for at most two
 * attempts of `listTimeoutMs` (then the turn goes on with the list it has), not for the tool retry policy's.
 */
export function mcpListActivity(server: McpServerSpec) {
  return proxyActivities<ConversationActivities>({
    summary: `list the tools of MCP server ${server.name}`,
    startToCloseTimeout: server.listTimeoutMs,
    retry: {
      maximumAttempts: 2,
      initialInterval: '1s',
      nonRetryableErrorTypes: [FailureTypes.UnknownAgent],
    },
  });
}

function retryOptions(r: RetrySpec) {
  return {
    maximumAttempts: r.maximumAttempts,
    initialInterval: r.initialIntervalMs,
    backoffCoefficient: r.backoffCoefficient,
    maximumInterval: r.maximumIntervalMs,
  };
}
