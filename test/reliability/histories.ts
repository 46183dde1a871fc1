/**
 * Reading back what Temporal kept: every workflow execution's history (each run of each conversation, closed
 * or not), and what a conversation shows now (its transcript and state).
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import type { AgentClient, ConversationView, TranscriptEntry } from '../../src/client';

const EventType = temporal.api.enums.v1.EventType;
type HistoryEvent = temporal.api.history.v1.IHistoryEvent;

export interface StoredHistory {
  workflowId: string;
  runId: string;
  events: HistoryEvent[];
}

/** Every execution the namespace has, newest first, with its whole history. */
export async function allHistories(client: Client): Promise<StoredHistory[]> {
  const histories: StoredHistory[] = [];
  for await (const execution of client.workflow.list()) {
    const history = await client.workflow.getHandle(execution.workflowId, execution.runId).fetchHistory();
    histories.push({ workflowId: execution.workflowId, runId: execution.runId, events: history.events ?? [] });
  }
  return histories;
}

export function countEvents(histories: StoredHistory[], type: temporal.api.enums.v1.EventType): number {
  return histories.reduce((sum, h) => sum + h.events.filter((e) => e.eventType === type).length, 0);
}

/** Workflow tasks that failed (not timed out): a task failing again and again is a conversation stuck for good. */
export function failedWorkflowTasks(histories: StoredHistory[]): number {
  return countEvents(histories, EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
}

/** Activity attempts beyond the first, summed over the completed activities: the retries the faults caused. */
export function activityRetries(histories: StoredHistory[]): number {
  let retries = 0;
  for (const history of histories) {
    for (const event of history.events) {
      const attempt = event.activityTaskStartedEventAttributes?.attempt;
      if (attempt && attempt > 1) retries++;
    }
  }
  return retries;
}

/** The conversation's whole transcript, page by page. */
export async function wholeTranscript(
  agents: AgentClient,
  agent: string,
  conversationId: string,
): Promise<TranscriptEntry[]> {
  const entries: TranscriptEntry[] = [];
  for (let offset: number | null = 0; offset !== null;) {
    const page = await agents.transcript(agent, conversationId, { offset, limit: 500 });
    entries.push(...page.entries);
    offset = page.nextOffset;
  }
  return entries;
}

/** Why a conversation is not at rest: a turn, a queued message, an approval or a delivery still open. */
export function unsettled(view: ConversationView): string | undefined {
  if (view.currentTurn) return `turn ${view.currentTurn.turn} (message ${view.currentTurn.messageId}) still running`;
  if (view.queued.length > 0) return `${view.queued.length} messages still queued`;
  if (view.pendingApprovals.length > 0) return `${view.pendingApprovals.length} approvals still pending`;
  if (view.delivering) return `the reply to ${view.delivering} is still being delivered`;
  return undefined;
}

/**
 * Checks that each message was answered exactly once: one user entry per id, and its turn has one final answer
 * (an assistant entry without tool calls) that says what `expected(id)` says. Returns each problem found.
 */
export function answeredOnce(
  entries: TranscriptEntry[],
  ids: string[],
  expected: (id: string, answer: string) => boolean,
): { answered: number; problems: string[] } {
  const problems: string[] = [];
  let answered = 0;
  for (const id of ids) {
    const asked = entries.filter((e) => e.role === 'user' && e.messageId === id);
    if (asked.length !== 1) {
      problems.push(`message ${id} is in the transcript ${asked.length} times`);
      continue;
    }
    const finals = entries.filter(
      (e) => e.role === 'assistant' && e.turn === asked[0].turn && e.toolCalls.length === 0,
    );
    if (finals.length !== 1) {
      problems.push(`message ${id} (turn ${asked[0].turn}) has ${finals.length} final answers`);
      continue;
    }
    if (!expected(id, finals[0].content)) {
      problems.push(`message ${id} was answered ${JSON.stringify(finals[0].content.slice(0, 80))}`);
      continue;
    }
    answered++;
  }
  const known = new Set(ids);
  for (const e of entries) {
    if (e.role === 'user' && !known.has(e.messageId)) problems.push(`message ${e.messageId} was never sent`);
  }
  return { answered, problems };
}
