/**
 * Agents as tools, in the workflow: a tool call of an agent tool runs as a child workflow, a conversation of the
 * sub-agent of its own (its own transcript, in the store; its own approvals), started with its one message and
 * ended after answering it.
 *
 * Why a child that ends, awaited for its result, rather than a long-lived conversation sent a message: a workflow
 * cannot send an update to another and wait for its reply, and a reply signalled back would need a handler, a
 * mailbox and a timeout of its own in the parent. The child's completion is Temporal's own answer: durable,
 * delivered once, and cancelled with the parent's turn (the cancellation reaches the child, which cancels its turn
 * as `cancelTurn` does and returns what it has, usage included).
 */
import {
  ChildWorkflowCancellationType,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  log,
  ParentClosePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import type { ToolRunResult } from '../conversation/activity-contract';
import type { ToolSpec } from '../conversation/agent-spec';
import {
  conversationWorkflowId,
  subConversationSignal,
  type SubConversationUpdate,
  type ToolCall,
  WORKFLOW_TYPE,
} from '../conversation/protocol';
import { beginSubConversation, endSubConversation, updateSubConversation } from '../conversation/state';
import { childConversationId, subAgentMessage, subAgentResult } from '../conversation/sub-agent';
import type { ConversationRun } from './conversation-run';
import type { conversation } from './conversation';

/** One call of an agent tool: the sub-agent's conversation, and its reply as the tool's result. */
export async function runSubAgent(
  run: ConversationRun,
  tool: ToolSpec & { agent: string },
  call: ToolCall,
): Promise<ToolRunResult> {
  const { state } = run;
  const turn = state.turn!;
  const message = subAgentMessage(call, turn.message.author);
  if ('problem' in message) return { content: message.problem, isError: true };
  const parent = { agent: state.agent, conversationId: state.conversationId, turn: turn.turn };
  const conversationId = childConversationId(parent, call.id);
  beginSubConversation(state, call.id, tool.agent, conversationId);
  emitSubConversation(run, call.id);
  try {
    const result = await executeChild<typeof conversation>(WORKFLOW_TYPE, {
      // From the parent's conversation, turn and tool call: the same call always names the same child.
      workflowId: conversationWorkflowId(tool.agent, conversationId),
      args: [{ agent: tool.agent, conversationId, message, childOf: { ...parent, toolCallId: call.id } }],
      // A cancelled turn waits for its child to cancel its own, so the child's usage still comes back.
      cancellationType: ChildWorkflowCancellationType.WAIT_CANCELLATION_COMPLETED,
      parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
    });
    endSubConversation(state, call.id, result.usage);
    return subAgentResult(tool.agent, result.reply);
  } catch (error) {
    endSubConversation(state, call.id);
    if (isCancellation(error)) throw error;
    log.warn('a sub-agent conversation failed', { agent: tool.agent, conversationId, error: String(error) });
    return { content: `the agent "${tool.agent}" failed: ${String((error as Error).message ?? error)}`, isError: true };
  }
}

/** The parent's handler of its children's news: the view and the event stream name the child that waits. */
export function takeSubConversationUpdate(run: ConversationRun, update: SubConversationUpdate): void {
  if (updateSubConversation(run.state, update)) emitSubConversation(run, update.toolCallId);
}

function emitSubConversation(run: ConversationRun, toolCallId: string): void {
  const turn = run.state.turn;
  const sub = turn?.subConversations?.find((s) => s.toolCallId === toolCallId);
  if (turn && sub) run.events.emit({ type: 'sub_conversation', turn: turn.turn, subConversation: { ...sub } });
}

/** A sub-agent conversation tells its parent that it waits for approvals, or no longer does. */
export async function tellParent(
  run: ConversationRun,
  update: Omit<SubConversationUpdate, 'toolCallId'>,
): Promise<void> {
  const childOf = run.state.childOf;
  const parent = workflowInfo().parent;
  if (!childOf || !parent) return;
  try {
    await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(subConversationSignal, {
      toolCallId: childOf.toolCallId,
      ...update,
    });
  } catch (error) {
    if (isCancellation(error)) throw error;
    // The parent's view only: the approval itself is answered here, whatever the parent shows.
    log.warn('could not tell the parent conversation', { error: String(error) });
  }
}
