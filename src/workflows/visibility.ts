/**
 * What a conversation shows to the Temporal UI and CLI: search attributes to find it by (agent, status,
 * tokens used, last activity) and a memo with a readable summary. Workflow-side: upserts are commands, so
 * they are written at turn boundaries only.
 */
import { defineSearchAttributeKey, SearchAttributeType, type SearchAttributeUpdatePair } from '@temporalio/common';
import { patched, upsertMemo, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import type { ConversationStatus } from '../conversation/protocol';
import type { VigilSearchAttributeName } from '../search-attributes';
import { type ConversationState, isStored } from '../conversation/state';
import { PATCHES } from './patches';

const key = {
  VigilAgent: defineSearchAttributeKey('VigilAgent', SearchAttributeType.KEYWORD),
  VigilStatus: defineSearchAttributeKey('VigilStatus', SearchAttributeType.KEYWORD),
  VigilTokensUsed: defineSearchAttributeKey('VigilTokensUsed', SearchAttributeType.INT),
  VigilLastActivity: defineSearchAttributeKey('VigilLastActivity', SearchAttributeType.DATETIME),
  VigilCostMicros: defineSearchAttributeKey('VigilCostMicros', SearchAttributeType.INT),
} satisfies Record<VigilSearchAttributeName, unknown>;

/**
 * Conversations started before visibility existed replay without these commands, those before the cost
 * attribute without it, and those before changes-only upserts with every attribute each time (./patches.ts).
 */
export function publishVisibility(state: ConversationState, status: ConversationStatus): void {
  if (!patched(PATCHES.visibility.id)) return;
  const attributes: SearchAttributeUpdatePair[] = [
    { key: key.VigilAgent, value: state.agent },
    { key: key.VigilStatus, value: status },
    { key: key.VigilTokensUsed, value: state.usage.inputTokens + state.usage.outputTokens },
    { key: key.VigilLastActivity, value: new Date() },
    // Conversations started before costs were tracked upsert the attributes they always did.
    ...(patched(PATCHES.cost.id) ? [{ key: key.VigilCostMicros, value: state.usage.costMicros }] : []),
  ];
  // Every upsert is an event in history: the agent never changes, and tokens and cost only when a turn ends.
  const changes = patched(PATCHES.visibilityChangesOnly.id) ? attributes.filter(changed) : attributes;
  // Nothing changed when two upserts come in one activation (the same workflow time), e.g. a turn interrupted
  // while it waits for an approval: an empty upsert is a command the real server refuses (BadSearchAttributes),
  // failing the workflow task every time it is retried. No history holds one: the in-process server, which took
  // them, now refuses them as the real one does.
  if (changes.length > 0) upsertSearchAttributes(changes);
  // The memo changes only when a turn ends; 'running' and 'awaiting_approval' leave it as it was.
  if (status === 'running' || status === 'awaiting_approval') return;
  upsertMemo({
    summary: `${state.agent} · ${state.turns} turn${state.turns === 1 ? '' : 's'} · ${status}`,
    lastMessage: lastUserMessage(state)?.slice(0, 200) ?? null,
  });
}

/** Whether the run's attributes (those it started with, and its upserts since) hold another value. */
function changed({ key, value }: SearchAttributeUpdatePair): boolean {
  const current: unknown = workflowInfo().typedSearchAttributes.get(key);
  if (current instanceof Date && value instanceof Date) return current.getTime() !== value.getTime();
  return current !== value;
}

/** The newest user message's text: from the end, without copying the transcript. */
function lastUserMessage(state: ConversationState): string | undefined {
  for (let i = state.transcript.length - 1; i >= 0; i--) {
    const entry = state.transcript[i];
    if (entry.role !== 'user') continue;
    return isStored(entry) ? undefined : entry.content;
  }
  return undefined;
}
