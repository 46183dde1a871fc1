/**
 * The model activity's half of short-term memory: the chat messages for the window the workflow chose
 * (context-window.ts), and a guard that counts them with the real tokenizer and, if the workflow's estimate
 * was short, leaves out the oldest turns until they fit.
 *
 * The rolling summary goes into the one system message, after the instructions: several OpenAI-compatible
 * providers reject or mishandle a second system message.
 */
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { toChatMessages } from './model-messages';
import type { TranscriptEntry } from '../conversation/protocol';
import { MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS, SUMMARY_PREFIX } from '../conversation/token-estimate';
import { countContentTokens, countMessageTokens, countToolTokens, truncateToTokens } from './tokenizer';

export interface ContextInput {
  instructions: string;
  /** The rolling summary's text, when there is one. */
  summary?: string;
  /** The window's entries with their transcript indices, in transcript order (the plan's `entries`). */
  entries: readonly { index: number; entry: TranscriptEntry }[];
  /** Indices that must stay whatever the count (the plan's `pinned`). */
  pinned?: readonly number[];
}

/** Entries that go or stay together, with their messages. */
export interface ContextUnit {
  indices: number[];
  /** The unit's messages: one per entry, plus a stand-in result for any tool call left unanswered. */
  messages: ChatCompletionMessageParam[];
  /** Pinned, or the user message of the turn in progress: never dropped. */
  keep: boolean;
}

export interface Context {
  system: ChatCompletionMessageParam | null;
  units: ContextUnit[];
  /** The entries, by index, for the guard's counts. */
  entries: ReadonlyMap<number, TranscriptEntry>;
}

/**
 * The context as messages, in units the guard can drop: each earlier turn whole; the turn in progress (the last
 * one) as its user message and then each model answer with its tool results; each pinned entry alone.
 */
export function buildContext(input: ContextInput): Context {
  const summary = input.summary ? `${input.instructions === '' ? '' : SUMMARY_PREFIX}${input.summary}` : '';
  const systemText = input.instructions + summary;
  const pinned = new Set(input.pinned ?? []);
  const shown = input.entries.filter(({ entry }) => entry.role !== 'notice');
  const currentTurn = [...shown].reverse().find(({ index }) => !pinned.has(index))?.entry.turn;

  const groups: { indices: number[]; entries: TranscriptEntry[]; keep: boolean; turn: number; pinned: boolean }[] = [];
  for (const { index, entry } of shown) {
    const last = groups.at(-1);
    const isPinned = pinned.has(index);
    const joinsLast =
      !isPinned &&
      last !== undefined &&
      !last.pinned &&
      last.turn === entry.turn &&
      // In the turn in progress each answer starts a unit; its tool results join it.
      (entry.turn !== currentTurn || entry.role === 'tool');
    if (joinsLast) {
      last.indices.push(index);
      last.entries.push(entry);
    } else {
      const keep = isPinned || (entry.turn === currentTurn && entry.role === 'user');
      groups.push({ indices: [index], entries: [entry], keep, turn: entry.turn, pinned: isPinned });
    }
  }
  return {
    system: systemText === '' ? null : { role: 'system', content: systemText },
    units: groups.map(({ indices, entries, keep }) => ({
      indices,
      keep,
      messages: toChatMessages({ instructions: '', transcript: entries }),
    })),
    entries: new Map(shown.map(({ index, entry }) => [index, entry])),
  };
}

/** All the messages of a context, in order. */
export function contextMessages(context: Context): ChatCompletionMessageParam[] {
  return [...(context.system ? [context.system] : []), ...context.units.flatMap((unit) => unit.messages)];
}

export interface FittedContext {
  messages: ChatCompletionMessageParam[];
  /** Exact prompt tokens of `messages` plus the tool definitions. */
  tokens: number;
  /** Transcript indices left out because the exact count was over the budget. */
  dropped: number[];
  /** Indices whose content was cut because even the smallest context was over the budget. */
  truncated: number[];
  /** For each index in `truncated`: the characters of its content, and how many of them the model is sent. */
  cutTo: Record<number, { chars: number; sentChars: number }>;
  /**
   * The exact content tokens of each sent entry, by transcript index (framing excluded, as the workflow records
   * `tokens`): for the workflow to record on entries that have only an estimate.
   */
  entryTokens: Record<number, number>;
}

/**
 * The context's messages, made to fit `budget` prompt tokens by the model's real count: first the oldest units
 * that are not kept are dropped (whole earlier turns, then the oldest steps of the turn in progress, never its
 * newest answer); if that is not enough, the longest contents are cut.
 *
 * @example
 * const fitted = fitToBudget(input.model, buildContext({ instructions, summary, entries, pinned }), {
 *   budget: policy.maxContextTokens - policy.reserveForReplyTokens,
 *   tools: chatTools,
 * });
 */
export function fitToBudget(
  model: string,
  context: Context,
  options: { budget: number; tools?: readonly unknown[] },
): FittedContext {
  const toolTokens = countToolTokens(model, options.tools ?? []);
  const systemTokens = context.system ? MESSAGE_OVERHEAD_TOKENS + countContentTokens(model, context.system) : 0;
  const unitTokens = context.units.map((unit) => countMessageTokens(model, unit.messages) - REPLY_PRIMING_TOKENS);
  let total = REPLY_PRIMING_TOKENS + toolTokens + systemTokens + unitTokens.reduce((a, b) => a + b, 0);

  const kept = context.units.map(() => true);
  const lastUnit = context.units.length - 1;
  for (let i = 0; i < lastUnit && total > options.budget; i++) {
    if (context.units[i].keep) continue;
    kept[i] = false;
    total -= unitTokens[i];
  }
  const units = context.units.filter((_, i) => kept[i]).map((unit) => ({ ...unit, messages: [...unit.messages] }));
  const cutTo: FittedContext['cutTo'] = {};
  const truncated = total > options.budget ? truncateLongest(model, context, units, total - options.budget, cutTo) : [];

  const messages = contextMessages({ ...context, units });
  const entryTokens: Record<number, number> = {};
  for (const index of units.flatMap((unit) => unit.indices)) {
    const entry = context.entries.get(index);
    // An entry's own message is the one toChatMessages makes for it alone (its first).
    const own = entry ? toChatMessages({ instructions: '', transcript: [entry] }).at(0) : undefined;
    if (own) entryTokens[index] = countContentTokens(model, own);
  }
  return {
    messages,
    tokens: REPLY_PRIMING_TOKENS + toolTokens + countMessageTokens(model, messages) - REPLY_PRIMING_TOKENS,
    dropped: context.units.filter((_, i) => !kept[i]).flatMap((unit) => unit.indices),
    truncated,
    cutTo,
    entryTokens,
  };
}

/**
 * Cuts the longest text contents (user messages and tool results) by `excess` tokens and a little more, longest
 * first. The last resort, when a single message is larger than the whole budget.
 */
function truncateLongest(
  model: string,
  context: Context,
  units: ContextUnit[],
  excess: number,
  cutTo: FittedContext['cutTo'],
): number[] {
  const candidates = units
    .flatMap((unit) => unit.messages.map((message, position) => ({ unit, position, message })))
    .filter(
      ({ message }) => (message.role === 'user' || message.role === 'tool') && typeof message.content === 'string',
    )
    .map((c) => ({ ...c, tokens: countContentTokens(model, c.message) }))
    .sort((a, b) => b.tokens - a.tokens);
  const truncated: number[] = [];
  let remaining = excess;
  for (const { unit, position, message, tokens } of candidates) {
    if (remaining <= 0) break;
    const marker = '\n[… cut to fit the context window]';
    const keep = Math.max(0, tokens - remaining - countContentTokens(model, { role: 'user', content: marker }) - 1);
    const whole = message.content as string;
    const kept = truncateToTokens(model, whole, keep);
    unit.messages[position] = { ...message, content: kept + marker } as ChatCompletionMessageParam;
    remaining -= tokens - countContentTokens(model, unit.messages[position]);
    const index = entryOf(context, unit, message);
    if (index !== undefined && !truncated.includes(index)) {
      truncated.push(index);
      cutTo[index] = { chars: whole.length, sentChars: kept.length };
    }
  }
  return truncated;
}

/** The entry a user or tool message was made from: the unit's user entry, or the result with its call id. */
function entryOf(context: Context, unit: ContextUnit, message: ChatCompletionMessageParam): number | undefined {
  return unit.indices.find((index) => {
    const entry = context.entries.get(index);
    if (message.role === 'tool') return entry?.role === 'tool' && entry.toolCallId === message.tool_call_id;
    return entry?.role === 'user';
  });
}
