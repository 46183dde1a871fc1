/**
 * Which part of the transcript a model call sees, under the agent's token budget: the pure rules the workflow
 * runs before each model call. It decides from the token count recorded with each entry (or the estimate), so it
 * is cheap and deterministic and needs no tokenizer; the model activity then checks the exact count
 * (context-messages.ts) and the two meet in the middle.
 *
 * The rules, in order:
 * - The agent's instructions (and tool definitions) are always sent; so is the first user message when the
 *   policy pins it, and the rolling summary when there is one.
 * - Everything after the summary fits: send it all.
 * - Otherwise, with summaries on, the oldest whole turns are folded into the summary first (a `summarize` plan),
 *   so many that the turns left fill at most half of what remains: the next summary is then several turns away,
 *   not due on every turn. The turn in progress is never folded.
 * - Otherwise (summaries off, or only the turn in progress is left) the newest whole turns that fit are sent and
 *   the older ones left out. If the turn in progress alone is too big, it keeps its user message and its newest
 *   steps.
 * - An assistant message and the tool results answering it are never separated: providers reject a tool
 *   result without its call, and a call without its results.
 *
 * Sandbox-safe: imports only types and token-estimate.ts.
 */
import type { MemoryPolicy } from './memory-policy';
import { estimateTokens, MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS, SUMMARY_PREFIX_TOKENS } from './token-estimate';

/** What the rules read of a transcript entry; a `TranscriptEntry` with `tokens` added is one. */
export interface WindowEntry {
  role: 'user' | 'assistant' | 'tool' | 'notice';
  turn: number;
  /**
   * The entry's content tokens, without the message framing: the model's output tokens for an assistant
   * answer, the activity's count for the others. Absent: estimated from `content` and `toolCalls`.
   */
  tokens?: number;
  content?: string;
  toolCalls?: readonly { name: string; arguments: string }[];
}

/** Where the rolling summary stands: the rules need only its size and what it covers. */
export interface SummaryMark {
  tokens: number;
  /** Index of the last transcript entry folded into it. */
  coversThrough: number;
}

export interface ContextRequest<S extends SummaryMark> {
  /** The whole transcript, oldest first. */
  entries: readonly WindowEntry[];
  summary?: S;
  policy: MemoryPolicy;
  /** What every call sends besides the transcript: the instructions and the tool definitions. */
  fixedTokens: number;
}

export type ContextPlan<S extends SummaryMark> =
  | {
      kind: 'window';
      /** Transcript indices to send, ascending: pinned entries and the window, notices left out. */
      entries: number[];
      /** The subset of `entries` the activity must not drop when its exact count is over. */
      pinned: number[];
      /** The summary to send, as given. */
      summary?: S;
      /** The estimated prompt tokens of the call, everything included. */
      tokens: number;
      /** The budget `tokens` should stay under: maxContextTokens - reserveForReplyTokens. */
      budget: number;
      /** Entries after the summary that are left out of this call (summaries off, or a turn too big). */
      omitted: number;
    }
  | {
      kind: 'summarize';
      /** Transcript indices to fold into the summary, ascending, notices left out. */
      fold: number[];
      /** The new summary's `coversThrough`. */
      coversThrough: number;
      /** Their estimated tokens, framing included. */
      tokens: number;
    };

/** What the summarization request itself costs besides the entries it folds: its prompt and framing. */
export const SUMMARIZE_PROMPT_TOKENS = 300;

/** A run of entries that is kept or let go together. */
interface Unit {
  indices: number[];
  tokens: number;
}

/**
 * The plan for the next model call. After a `summarize` plan, make the summary and ask again: each summary
 * covers more of the transcript, so the questions end (at most a few times, when one summary cannot take
 * everything at once).
 *
 * @example
 * const plan = planContext({ entries: state.transcript, summary: state.summary, policy: memoryPolicy(agent), fixedTokens });
 * if (plan.kind === 'summarize') { ...run summarize, set state.summary, plan again... }
 */
export function planContext<S extends SummaryMark>(request: ContextRequest<S>): ContextPlan<S> {
  const { entries, summary, policy } = request;
  const budget = policy.maxContextTokens - policy.reserveForReplyTokens;
  const start = summary ? summary.coversThrough + 1 : 0;
  const pinnedIndex = policy.pinFirstUserMessage ? entries.findIndex((e) => e.role === 'user') : -1;
  const pinned = pinnedIndex >= 0 ? [pinnedIndex] : [];

  const base = REPLY_PRIMING_TOKENS + request.fixedTokens + pinned.reduce((sum, i) => sum + entryCost(entries[i]), 0);
  const summaryCost = summary ? summary.tokens + SUMMARY_PREFIX_TOKENS : 0;
  const turns = turnsOf(entries, start, pinnedIndex);
  const live = sum(turns);
  const window = (kept: Unit[], omitted: number): ContextPlan<S> => {
    const indices = [...pinned, ...kept.flatMap((u) => u.indices)].sort((a, b) => a - b);
    return {
      kind: 'window',
      entries: indices,
      pinned,
      ...(summary ? { summary } : {}),
      tokens: base + summaryCost + sum(kept),
      budget,
      omitted,
    };
  };

  if (base + summaryCost + live <= budget) return window(turns, 0);

  const older = turns.slice(0, -1);
  if (policy.summary && older.length > 0) {
    // Keep the newest turns within half of what a fresh summary leaves; fold the rest, oldest first, as much as
    // one summarization request can take (at least one turn, so each request makes progress).
    const keepBudget = (budget - base - policy.summaryTargetTokens - SUMMARY_PREFIX_TOKENS) / 2;
    let kept = turns.at(-1)!.tokens;
    let firstKept = older.length;
    while (firstKept > 0 && kept + older[firstKept - 1].tokens <= keepBudget) kept += older[--firstKept].tokens;
    const foldBudget = budget - SUMMARIZE_PROMPT_TOKENS - (summary?.tokens ?? 0);
    const fold: Unit[] = [];
    for (const unit of older.slice(0, Math.max(firstKept, 1))) {
      if (fold.length > 0 && sum(fold) + unit.tokens > foldBudget) break;
      fold.push(unit);
    }
    const next = turns[fold.length];
    return {
      kind: 'summarize',
      fold: fold.flatMap((u) => u.indices),
      coversThrough: next.indices[0] - 1,
      tokens: sum(fold),
    };
  }

  // Leave out the oldest: the newest whole turns that fit, else the turn in progress cut down to its steps.
  const room = budget - base - summaryCost;
  const kept: Unit[] = [];
  for (let i = turns.length - 1; i >= 0 && sum(kept) + turns[i].tokens <= room; i--) kept.unshift(turns[i]);
  if (kept.length > 0) return window(kept, countIndices(turns) - countIndices(kept));
  const steps = stepsOf(entries, turns.at(-1)?.indices ?? []);
  const head = steps[0]?.indices.some((i) => entries[i].role === 'user') ? [steps.shift()!] : [];
  const tail: Unit[] = [];
  // The newest step always goes: without it the model cannot go on from where the turn is.
  for (
    let i = steps.length - 1;
    i >= 0 && (tail.length === 0 || sum(head) + sum(tail) + steps[i].tokens <= room);
    i--
  ) {
    tail.unshift(steps[i]);
  }
  const chosen = [...head, ...tail];
  return window(chosen, countIndices(turns) - countIndices(chosen));
}

/** An entry's estimated cost in a request, framing included; notices are never sent. */
export function entryCost(entry: WindowEntry): number {
  if (entry.role === 'notice') return 0;
  return MESSAGE_OVERHEAD_TOKENS + (entry.tokens ?? estimateEntryTokens(entry));
}

/** The documented estimate of an entry's content tokens, for entries recorded without a count. */
export function estimateEntryTokens(entry: Pick<WindowEntry, 'content' | 'toolCalls'>): number {
  let tokens = estimateTokens(entry.content ?? '');
  for (const call of entry.toolCalls ?? []) tokens += estimateTokens(call.name) + estimateTokens(call.arguments);
  return tokens;
}

/**
 * The estimated cost of what every call sends besides the transcript. The model activity counts both exactly;
 * this is for the workflow, which cannot.
 */
export function estimateFixedTokens(instructions: string, tools: readonly unknown[]): number {
  return (
    (instructions === '' ? 0 : MESSAGE_OVERHEAD_TOKENS + estimateTokens(instructions)) +
    (tools.length === 0 ? 0 : estimateTokens(JSON.stringify(tools)))
  );
}

/** The entries from `start` on, grouped by turn; notices and the pinned entry are left out. */
function turnsOf(entries: readonly WindowEntry[], start: number, pinnedIndex: number): Unit[] {
  const turns: (Unit & { turn: number })[] = [];
  for (let i = start; i < entries.length; i++) {
    const entry = entries[i];
    if (entry.role === 'notice' || i === pinnedIndex) continue;
    const last = turns.at(-1);
    if (last && last.turn === entry.turn) {
      last.indices.push(i);
      last.tokens += entryCost(entry);
    } else {
      turns.push({ turn: entry.turn, indices: [i], tokens: entryCost(entry) });
    }
  }
  return turns;
}

/** One turn's entries as steps: its user message alone, then each assistant answer with its tool results. */
function stepsOf(entries: readonly WindowEntry[], indices: readonly number[]): Unit[] {
  const steps: Unit[] = [];
  for (const i of indices) {
    const entry = entries[i];
    const last = steps.at(-1);
    if (entry.role === 'tool' && last) {
      last.indices.push(i);
      last.tokens += entryCost(entry);
    } else {
      steps.push({ indices: [i], tokens: entryCost(entry) });
    }
  }
  return steps;
}

function sum(units: readonly Unit[]): number {
  return units.reduce((total, unit) => total + unit.tokens, 0);
}

function countIndices(units: readonly Unit[]): number {
  return units.reduce((total, unit) => total + unit.indices.length, 0);
}
