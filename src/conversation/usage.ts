/**
 * Token and cost accounting of a conversation: pure functions over plain JSON, safe in the workflow sandbox.
 * Costs are whole micro-USD computed where the worker runs its model and summary calls (src/activities/index.ts,
 * with the worker's price table: src/pricing/price-table.ts), so the workflow only
 * adds integers that are already in history, and totals are exact and the same on every replay.
 */
import type { TokenUsage } from './protocol';

export interface UsageTotals {
  inputTokens: number;
  outputTokens: number;
  /** Micro-USD (1 USD = 1,000,000) of the priced calls. */
  costMicros: number;
  modelCalls: number;
  /** Calls whose model had no price: their cost is unknown and counted as 0. */
  unpricedCalls: number;
}

/**
 * A conversation's usage: totals, per model and per message author. Bounded for conversations that live for
 * months: at most MAX_TRACKED_MODELS models and MAX_TRACKED_AUTHORS authors are kept by name; later ones are
 * added together in `otherModels` / `otherAuthors`, so the state stays small and nobody escapes a per-author
 * budget by being new (an untracked author is held to the shared bucket; see src/conversation/budget.ts).
 */
export interface ConversationUsage extends UsageTotals {
  byModel: Record<string, UsageTotals>;
  byAuthor: Record<string, UsageTotals>;
  otherModels: UsageTotals | null;
  otherAuthors: UsageTotals | null;
}

/** One model call's usage as the model activity reports it. */
export interface ModelCallUsage extends TokenUsage {
  /** The model that answered. */
  model: string;
  /** Absent from results of workers older than pricing: counted as unpriced. */
  costMicros?: number;
  priced?: boolean;
}

export const MAX_TRACKED_AUTHORS = 256;
export const MAX_TRACKED_MODELS = 32;

export function emptyTotals(): UsageTotals {
  return { inputTokens: 0, outputTokens: 0, costMicros: 0, modelCalls: 0, unpricedCalls: 0 };
}

export function emptyUsage(): ConversationUsage {
  return { ...emptyTotals(), byModel: {}, byAuthor: {}, otherModels: null, otherAuthors: null };
}

export function totalTokens(totals: TokenUsage): number {
  return totals.inputTokens + totals.outputTokens;
}

/** Adds one model call to totals; returns a new object. */
export function addCall(totals: UsageTotals, call: ModelCallUsage): UsageTotals {
  const priced = call.priced === true && call.costMicros !== undefined;
  return {
    inputTokens: totals.inputTokens + call.inputTokens,
    outputTokens: totals.outputTokens + call.outputTokens,
    costMicros: totals.costMicros + (priced ? (call.costMicros ?? 0) : 0),
    modelCalls: totals.modelCalls + 1,
    unpricedCalls: totals.unpricedCalls + (priced ? 0 : 1),
  };
}

/**
 * Adds one model call, made for a message by `author` (if the message named one), to the conversation's
 * usage; returns a new object and leaves `usage` as it was.
 */
export function addModelCall(usage: ConversationUsage, call: ModelCallUsage, author?: string): ConversationUsage {
  const next: ConversationUsage = {
    ...usage,
    ...addCall(usage, call),
    byModel: { ...usage.byModel },
    byAuthor: { ...usage.byAuthor },
  };
  if (Object.hasOwn(next.byModel, call.model) || Object.keys(next.byModel).length < MAX_TRACKED_MODELS) {
    next.byModel[call.model] = addCall(next.byModel[call.model] ?? emptyTotals(), call);
  } else {
    next.otherModels = addCall(usage.otherModels ?? emptyTotals(), call);
  }
  if (author !== undefined) {
    if (Object.hasOwn(next.byAuthor, author) || Object.keys(next.byAuthor).length < MAX_TRACKED_AUTHORS) {
      next.byAuthor[author] = addCall(next.byAuthor[author] ?? emptyTotals(), call);
    } else {
      next.otherAuthors = addCall(usage.otherAuthors ?? emptyTotals(), call);
    }
  }
  return next;
}

/** What `author` has used in the conversation: their own totals, or the shared bucket of untracked authors. */
export function authorUsage(usage: ConversationUsage, author: string): { totals: UsageTotals; shared: boolean } {
  if (Object.hasOwn(usage.byAuthor, author)) return { totals: usage.byAuthor[author], shared: false };
  if (Object.keys(usage.byAuthor).length >= MAX_TRACKED_AUTHORS) {
    return { totals: usage.otherAuthors ?? emptyTotals(), shared: true };
  }
  return { totals: emptyTotals(), shared: false };
}

/**
 * Reads a usage carried over from an earlier run or an older state (`{ inputTokens, outputTokens, modelCalls }`
 * before costs existed), filling in what is missing.
 */
export function restoreUsage(value: unknown): ConversationUsage {
  const v = (value ?? {}) as Partial<ConversationUsage>;
  const totals = (t: Partial<UsageTotals> | null | undefined): UsageTotals => ({
    inputTokens: t?.inputTokens ?? 0,
    outputTokens: t?.outputTokens ?? 0,
    costMicros: t?.costMicros ?? 0,
    modelCalls: t?.modelCalls ?? 0,
    unpricedCalls: t?.unpricedCalls ?? 0,
  });
  const map = (m: Record<string, Partial<UsageTotals>> | undefined) =>
    Object.fromEntries(Object.entries(m ?? {}).map(([key, t]) => [key, totals(t)]));
  return {
    ...totals(v),
    byModel: map(v.byModel),
    byAuthor: map(v.byAuthor),
    otherModels: v.otherModels ? totals(v.otherModels) : null,
    otherAuthors: v.otherAuthors ? totals(v.otherAuthors) : null,
  };
}

/** `1234567` -> `1,234,567`, without Intl (the workflow sandbox and every locale print the same). */
export function formatCount(value: number): string {
  return String(Math.trunc(value)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** Micro-USD as dollars: `512300` -> `$0.5123`, `500000` -> `$0.50`, `7` -> `$0.000007`. */
export function formatMicros(micros: number): string {
  const sign = micros < 0 ? '-' : '';
  const abs = Math.abs(Math.trunc(micros));
  const dollars = Math.floor(abs / 1_000_000);
  const fraction = String(abs % 1_000_000)
    .padStart(6, '0')
    .replace(/0{1,4}$/, '');
  return `${sign}$${formatCount(dollars)}.${fraction.padEnd(2, '0')}`;
}
