import {
  entryCost,
  estimateFixedTokens,
  planContext,
  type ContextPlan,
  type SummaryMark,
} from '../../src/conversation/context-window';
import { DEFAULT_MEMORY, type MemoryPolicy } from '../../src/conversation/memory-policy';
import {
  MESSAGE_OVERHEAD_TOKENS,
  REPLY_PRIMING_TOKENS,
  SUMMARY_PREFIX_TOKENS,
} from '../../src/conversation/token-estimate';
import { answer, call, notice, random, randomTranscript, result, turn, user, type Entry } from './transcripts';

/** A budget of 2,000 input tokens: 2,200 in all, 200 kept for the reply. */
const policy: MemoryPolicy = {
  maxContextTokens: 2_200,
  reserveForReplyTokens: 200,
  summary: true,
  summaryTargetTokens: 100,
  pinFirstUserMessage: false,
};
const BUDGET = 2_000;
const FIXED = 50;
const cost = (tokens: number) => tokens + MESSAGE_OVERHEAD_TOKENS;
/** What every call costs before the transcript. */
const BASE = REPLY_PRIMING_TOKENS + FIXED;

function plan(
  entries: Entry[],
  options: { summary?: SummaryMark; policy?: Partial<MemoryPolicy> } = {},
): ContextPlan<SummaryMark> {
  return planContext({
    entries,
    summary: options.summary,
    policy: { ...policy, ...options.policy },
    fixedTokens: FIXED,
  });
}

function window(p: ContextPlan<SummaryMark>): Extract<ContextPlan<SummaryMark>, { kind: 'window' }> {
  if (p.kind !== 'window') throw new Error(`expected a window, got ${JSON.stringify(p)}`);
  return p;
}

function indices(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}

/** Turns of two entries each: turn n is entries 2n-2 and 2n-1. */
function turns(count: number, tokens: number): Entry[] {
  return Array.from({ length: count }, (_, i) => turn(i + 1, tokens)).flat();
}

describe('the context window', () => {
  it('sends the whole transcript while it fits, with nothing to summarize', () => {
    const entries = turns(5, 20);
    const p = window(plan(entries));
    expect(p.entries).toEqual(indices(0, 10));
    expect(p.tokens).toBe(BASE + 10 * cost(20));
    expect(p.omitted).toBe(0);
    expect(p.budget).toBe(BUDGET);
  });

  it('asks for a summary of the oldest turns the moment the transcript passes the budget', () => {
    // Each turn costs 2 * 46 = 92; 21 fill 1,932 + 53 = 1,985 of 2,000, a 22nd does not fit.
    const fits = window(plan(turns(21, 42)));
    expect(fits.tokens).toBeLessThanOrEqual(BUDGET);
    expect(fits.entries).toHaveLength(42);

    const over = plan(turns(22, 42));
    expect(over.kind).toBe('summarize');
    if (over.kind !== 'summarize') return;
    // The turns kept fill at most half of what a new summary leaves: (2,000 - 53 - 100 - 16) / 2 = 915, nine
    // turns of 92 with the turn in progress. The thirteen before are folded.
    expect(over.fold).toEqual(indices(0, 26));
    expect(over.coversThrough).toBe(25);
    expect(over.tokens).toBe(13 * 2 * cost(42));
  });

  it('sends the summary and the turns after it, under the budget, once the summary is made', () => {
    const entries = turns(22, 42);
    const ask = plan(entries);
    if (ask.kind !== 'summarize') throw new Error('expected a summarize plan');
    const summary = { tokens: 100, coversThrough: ask.coversThrough, text: 'The user asked about …' };
    const p = planContext({ entries, summary, policy, fixedTokens: FIXED });
    if (p.kind !== 'window') throw new Error('expected a window');
    expect(p.entries).toEqual(indices(26, 44));
    expect(p.summary).toBe(summary);
    expect(p.tokens).toBe(BASE + 100 + SUMMARY_PREFIX_TOKENS + 18 * cost(42));
    expect(p.tokens).toBeLessThanOrEqual(BUDGET);
  });

  it('never folds the turn in progress', () => {
    // One big earlier turn and a current turn that grew past the budget with its tool results.
    const entries = [
      ...turn(1, 300),
      user(2, 10),
      call(2, 10, ['a']),
      result(2, 900, 'a'),
      call(2, 10, ['b']),
      result(2, 900, 'b'),
    ];
    const ask = plan(entries);
    expect(ask).toMatchObject({ kind: 'summarize', fold: [0, 1], coversThrough: 1 });
    // With the earlier turn folded, the turn in progress is cut to its user message and newest steps.
    const p = window(plan(entries, { summary: { tokens: 100, coversThrough: 1 } }));
    expect(p.entries).toEqual([2, 5, 6]);
    expect(p.omitted).toBe(2);
    expect(p.tokens).toBeLessThanOrEqual(BUDGET);
  });

  it('keeps a tool call and its results together when it leaves a step out', () => {
    const entries = [
      user(1, 10),
      call(1, 10, ['a', 'b']),
      result(1, 600, 'a'),
      result(1, 600, 'b'),
      call(1, 10, ['c']),
      result(1, 700, 'c'),
      answer(1, 100),
    ];
    const p = window(plan(entries, { policy: { summary: false } }));
    // The first step (call a, b and both results) does not fit beside the newer ones: it goes as a whole.
    expect(p.entries).toEqual([0, 4, 5, 6]);
    expect(p.omitted).toBe(3);
  });

  it('leaves the oldest whole turns out when summaries are off', () => {
    const p = window(plan(turns(30, 42), { policy: { summary: false } }));
    // 21 turns fit beside the 53 fixed tokens; the 9 before are left out.
    expect(p.entries).toEqual(indices(18, 60));
    expect(p.omitted).toBe(18);
    expect(p.summary).toBeUndefined();
    expect(p.tokens).toBeLessThanOrEqual(BUDGET);
  });

  it('keeps the first user message when the policy pins it, and never folds it', () => {
    const entries = turns(30, 42);
    const dropped = window(plan(entries, { policy: { summary: false, pinFirstUserMessage: true } }));
    expect(dropped.entries[0]).toBe(0);
    expect(dropped.pinned).toEqual([0]);
    expect(dropped.entries).not.toContain(1);
    expect(dropped.tokens).toBeLessThanOrEqual(BUDGET);

    const ask = plan(entries, { policy: { pinFirstUserMessage: true } });
    if (ask.kind !== 'summarize') throw new Error('expected a summarize plan');
    expect(ask.fold).not.toContain(0);
    expect(ask.fold[0]).toBe(1);
    const after = window(
      plan(entries, {
        policy: { pinFirstUserMessage: true },
        summary: { tokens: 100, coversThrough: ask.coversThrough },
      }),
    );
    expect(after.entries[0]).toBe(0);
    expect(after.pinned).toEqual([0]);
  });

  it('leaves notices out: they are the runtime speaking to the user', () => {
    const p = window(plan([...turn(1, 10), notice(1), ...turn(2, 10)]));
    expect(p.entries).toEqual([0, 1, 3, 4]);
  });

  it('estimates entries recorded without a count from their text', () => {
    const entries = [user(1, undefined, 'x'.repeat(400)), answer(1, undefined, 'y'.repeat(40))];
    expect(window(plan(entries)).tokens).toBe(BASE + cost(100) + cost(10));
    expect(entryCost(call(1, undefined, ['abc']))).toBe(MESSAGE_OVERHEAD_TOKENS + 2 + 3);
  });

  it('estimates the instructions and tool definitions', () => {
    expect(estimateFixedTokens('', [])).toBe(0);
    expect(estimateFixedTokens('Be brief.', [])).toBe(MESSAGE_OVERHEAD_TOKENS + 3);
    expect(estimateFixedTokens('', [{ name: 'x' }])).toBe(Math.ceil('[{"name":"x"}]'.length / 4));
  });

  it('summarizes every few turns, not on every turn, in a long conversation', () => {
    const entries: Entry[] = [];
    let summary: SummaryMark | undefined;
    let summaries = 0;
    for (let n = 1; n <= 200; n++) {
      entries.push(user(n, 30 + (n % 7) * 5));
      for (;;) {
        const p = planContext({ entries, summary, policy, fixedTokens: FIXED });
        if (p.kind === 'window') {
          expect(p.tokens).toBeLessThanOrEqual(BUDGET);
          break;
        }
        summaries++;
        summary = { tokens: policy.summaryTargetTokens, coversThrough: p.coversThrough };
      }
      entries.push(answer(n, 40 + (n % 5) * 10));
    }
    expect(summaries).toBeGreaterThan(10);
    // The budget holds about 17 of these turns; after a summary about 8 are kept, so one comes every ~9 turns.
    expect(summaries).toBeLessThan(200 / 6);
  });

  it('uses the default policy of an agent that sets none', () => {
    expect(window(planContext({ entries: turns(3, 10), policy: DEFAULT_MEMORY, fixedTokens: 0 })).budget).toBe(12_000);
  });
});

describe('the context window over random transcripts', () => {
  /** Every tool result in the window has its call there, and every call in the window has its results. */
  function orphans(entries: Entry[], chosen: number[]): string[] {
    const inWindow = new Set(chosen);
    const problems: string[] = [];
    const callerOf = new Map<string, number>();
    entries.forEach((entry, index) => {
      if (entry.role === 'assistant') for (const c of entry.toolCalls) callerOf.set(c.id, index);
    });
    entries.forEach((entry, index) => {
      if (entry.role !== 'tool') return;
      const caller = callerOf.get(entry.toolCallId)!;
      if (inWindow.has(index) !== inWindow.has(caller))
        problems.push(`tool result ${index} and its call ${caller} split`);
    });
    return problems;
  }

  it('never passes the budget by the estimate and never orphans a tool message (500 seeded transcripts)', () => {
    for (let seed = 1; seed <= 500; seed++) {
      const next = random(seed);
      const entries = randomTranscript(next, 1 + Math.floor(next() * 30), 60);
      const p: MemoryPolicy = {
        // Large enough for a turn's user message and its biggest step (5 entries of up to 64 tokens) beside
        // the instructions, a pinned message and the summary: below that, the budget cannot be kept.
        maxContextTokens: 1_000 + Math.floor(next() * 2_000),
        reserveForReplyTokens: 100,
        summary: next() < 0.6,
        summaryTargetTokens: 50 + Math.floor(next() * 50),
        pinFirstUserMessage: next() < 0.4,
      };
      let summary: SummaryMark | undefined;
      let plan = planContext({ entries, policy: p, fixedTokens: FIXED });
      let rounds = 0;
      while (plan.kind === 'summarize') {
        const { fold, coversThrough } = plan;
        expect(orphans(entries, fold)).toEqual([]);
        expect(fold.every((i) => i > (summary?.coversThrough ?? -1) && i <= coversThrough)).toBe(true);
        // A summarizer may answer anywhere up to its target.
        summary = { tokens: 1 + Math.floor(next() * p.summaryTargetTokens), coversThrough };
        plan = planContext({ entries, summary, policy: p, fixedTokens: FIXED });
        // Each summary covers at least one more turn: the questions end.
        expect(++rounds).toBeLessThanOrEqual(entries.length);
      }
      const context = `seed ${seed}`;
      expect({ context, over: plan.tokens > plan.budget }).toEqual({ context, over: false });
      expect({ context, orphans: orphans(entries, plan.entries) }).toEqual({ context, orphans: [] });
      // What the plan says it costs is what its entries cost.
      const recount =
        BASE +
        (summary ? summary.tokens + SUMMARY_PREFIX_TOKENS : 0) +
        plan.entries.reduce((total, i) => total + entryCost(entries[i]), 0);
      expect(plan.tokens).toBe(recount);
      expect(plan.entries).toEqual([...plan.entries].sort((a, b) => a - b));
      expect(plan.entries.every((i) => entries[i].role !== 'notice')).toBe(true);
      // The turn in progress always keeps its user message.
      expect(plan.entries).toContain(entries.map((e) => e.role).lastIndexOf('user'));
      if (p.pinFirstUserMessage) expect(plan.entries[0]).toBe(0);
      if (!p.summary) expect(summary).toBeUndefined();
    }
  });
});
