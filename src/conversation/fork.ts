/**
 * Forking a conversation at a past turn (LangGraph's "time travel"): a new conversation whose transcript is the
 * original's first turns, to retry from there with another instruction, the original left as it was.
 *
 * Why the fork is built this way: the original's stored transcript is a chain of content-addressed records, each
 * naming the one before (src/store/transcript-chain.ts), so the record of entry i is the head of a chain of
 * exactly entries 0..i. A fork at turn N therefore starts from the original's own records (shared, never
 * copied), held as references with their token counts, as a continue-as-new carries older entries; only the
 * newest entries not yet stored travel whole, and the fork's first model call stores them on its own chain.
 * The original answers with that point to a query (read-only, nothing recorded in its history), so neither the
 * client nor the fork's history ever holds the original's whole transcript, and the fork's first run starts
 * with references, not text.
 *
 * Pure and deterministic: bundled into workflow code.
 */
import type { ForkPoint, ForkPointAnswer } from './protocol';
import { type ConversationState, initialState, isStored, storedReference } from './state';

/**
 * Where a fork at `atTurn` starts, or why it cannot: the turn is still running, or beyond the finished turns.
 * The transcript kept is its prefix up to the end of turn `atTurn` (a notice of that turn recorded after a later
 * turn began stays with the original: a fork shares a prefix of the chain).
 */
export function forkPoint(state: ConversationState, atTurn: number): ForkPointAnswer {
  const running = state.turn;
  if (running && running.turn === atTurn) {
    return {
      kind: 'refused',
      reason: 'running',
      message:
        `turn ${atTurn} of conversation ${state.conversationId} is still running (message ${running.message.id}); ` +
        'fork at an earlier turn, or at this one once it has finished',
    };
  }
  if (atTurn > state.turns) {
    return {
      kind: 'refused',
      reason: 'beyond',
      message:
        `conversation ${state.conversationId} has ${state.turns} finished turn(s); atTurn ${atTurn} is beyond them ` +
        `(fork at a turn from 1 to ${state.turns})`,
    };
  }
  const after = state.transcript.findIndex((entry) => entry.turn > atTurn);
  const kept = after === -1 ? state.transcript.length : after;
  const stored = Math.min(kept, state.chain.length);
  const transcript = state.transcript
    .slice(0, kept)
    .map((entry, index) =>
      index < stored && !isStored(entry) ? storedReference(entry, state.entryRefs[index]) : entry,
    );
  const entryRefs = state.entryRefs.slice(0, stored);
  const summary = state.summary && state.summary.coversThrough < kept ? state.summary : undefined;
  return {
    kind: 'point',
    point: {
      from: { conversationId: state.conversationId, turn: atTurn },
      turns: atTurn,
      transcript,
      chain: { head: entryRefs.at(-1) ?? null, length: stored },
      entryRefs,
      ...(state.instructions !== undefined ? { instructions: state.instructions } : {}),
      ...(summary ? { summary } : {}),
      ...(state.onBusy ? { onBusy: state.onBusy } : {}),
    },
  };
}

/**
 * The fork's first state: the point's transcript, chain, summary and instructions, its turn count going on from
 * the point's, and everything else new (usage from zero, no message ids taken, nothing queued or awaited, no tool
 * remembered as approved: those were the original's user's answers).
 */
export function forkedState(agent: string, conversationId: string, point: ForkPoint): ConversationState {
  const state = initialState(agent, conversationId);
  state.transcript = point.transcript;
  state.turns = point.turns;
  state.chain = point.chain;
  state.entryRefs = point.entryRefs;
  if (point.summary) state.summary = point.summary;
  if (point.instructions !== undefined) state.instructions = point.instructions;
  if (point.onBusy) state.onBusy = point.onBusy;
  state.forkedFrom = point.from;
  return state;
}
