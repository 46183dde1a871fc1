/**
 * One run of a conversation: its state (carried to the next run by continue-as-new) and what only this run knows
 * (the agent as last seen, the signals counted, the sends waiting here, the turn's cancellation scope), in one
 * object that the workflow's parts share.
 */
import { type CancellationScope, patched, workflowInfo } from '@temporalio/workflow';
import type { AgentSpec } from '../conversation/agent-spec';
import type { StartConversation } from '../conversation/protocol';
import { forkedState } from '../conversation/fork';
import { DEFAULT_SWITCH_THRESHOLDS, pastSignalThreshold, type RunSize } from '../conversation/run-limits';
import {
  admit,
  answeringAgent,
  type ConversationState,
  initialState,
  rememberBusyPolicy,
  restoreState,
  seededState,
} from '../conversation/state';
import { loadAgent } from './activities';
import { ConversationEvents, type ConversationEventsState } from './conversation-events';
import { PATCHES } from './patches';

export interface ConversationRun {
  state: ConversationState;
  events: ConversationEvents;
  agent: AgentCache;
  /** Signals this run has received: Temporal refuses a run's 10,001st, and nothing else counts them for us. */
  signals: number;
  /** The message whose reply is being delivered to its channel (retried while the channel is down), between turns. */
  delivering: string | null;
  /** Messages whose `send` waits in this run for its reply. */
  awaitingReply: Set<string>;
  /**
   * Set when a long run must switch while messages are queued: new sends are refused (their client sends them
   * again to the next run) until the sends already waiting here are answered; then the run continues as new
   * with the rest of the queue.
   */
  draining: boolean;
  /** The turn in flight's scope: cancelling it cancels the running model or tool activity. */
  turnScope?: CancellationScope;
}

/**
 * The agent's definition as last seen: loaded by a local activity on a run's first turn, then refreshed by
 * model answers (the model activity returns it when its version is not `version`), so a changed model or tool
 * policy applies from the next step. Runs recorded before this patch load it every turn.
 */
export interface AgentCache {
  spec?: AgentSpec;
  /** The version of `spec` when a model answer brought it; unknown for a spec loaded by loadAgent. */
  version?: string;
}

/**
 * The run as it starts: a new conversation (seeded, forked or neither), or one carried over from its previous run.
 * Runs recorded before forks never had `fork`, so they start as they did.
 */
export function startRun(start: StartConversation, now: string): ConversationRun {
  const state =
    start.state !== undefined
      ? restoreState(start.state, start.agent, start.conversationId)
      : start.fork !== undefined
        ? forkedState(start.agent, start.conversationId, start.fork)
        : start.seed !== undefined
          ? seededState(start.agent, start.conversationId, start.seed, now)
          : initialState(start.agent, start.conversationId);
  if (start.state === undefined && (start.childOf === undefined) !== (start.message === undefined))
    throw new Error('childOf and message go together: a sub-agent conversation starts with its one message');
  if (start.state === undefined && start.childOf && start.message) {
    // A sub-agent conversation (agentAsTool): its one message, and nothing after it.
    state.childOf = start.childOf;
    admit(state, start.message);
    state.ending = true;
  }
  const run = { state, agent: {}, signals: 0, delivering: null, awaitingReply: new Set<string>(), draining: false };
  // Made once the run exists: the events' publish signals count towards its signals, and registering their handler
  // hands it at once any that arrived with this activation.
  const events = new ConversationEvents(
    state,
    start.events as ConversationEventsState | undefined,
    () => run.signals++,
  );
  return Object.assign(run, { events });
}

export async function currentAgent(run: ConversationRun): Promise<AgentSpec> {
  if (run.agent.spec && patched(PATCHES.agentFromModel.id)) return run.agent.spec;
  run.agent.version = undefined;
  // The agent a handoff gave the conversation to, if any (see ConversationState.currentAgent).
  const spec = (run.agent.spec = await loadAgent(answeringAgent(run.state)));
  rememberBusyPolicy(run.state, spec);
  return spec;
}

/** Whether the run should continue as new at this turn boundary (see run-limits.ts for the limits behind it). */
export function runIsLong(run: ConversationRun): boolean {
  const info = workflowInfo();
  const limits = run.agent.spec?.limits;
  if (info.continueAsNewSuggested && limits?.continueAsNewWhenSuggested !== false) return true;
  if (info.historyLength >= (limits?.continueAsNewAfterEvents ?? DEFAULT_SWITCH_THRESHOLDS.events)) return true;
  // The size and the signals are asked last, and each patch only when it decides, so runs recorded before them
  // replay unchanged.
  if (
    info.historySize >= (limits?.continueAsNewAfterBytes ?? DEFAULT_SWITCH_THRESHOLDS.bytes) &&
    patched(PATCHES.continueAsNewBytes.id)
  )
    return true;
  return (
    pastSignalThreshold(run.signals, limits?.continueAsNewAfterSignals) && patched(PATCHES.continueAsNewSignals.id)
  );
}

export function runSize(run: ConversationRun): RunSize {
  const info = workflowInfo();
  return { events: info.historyLength, bytes: info.historySize, signals: run.signals };
}

/** Workflow time: deterministic on replay. */
export function now(): string {
  return new Date().toISOString();
}
