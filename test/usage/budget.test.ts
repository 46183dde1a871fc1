import type { AgentBudget } from '../../src/conversation/agent-spec';
import { budgetRefusal } from '../../src/conversation/budget';
import {
  addModelCall,
  authorUsage,
  emptyUsage,
  formatCount,
  formatMicros,
  MAX_TRACKED_AUTHORS,
  MAX_TRACKED_MODELS,
  restoreUsage,
  type ConversationUsage,
  type ModelCallUsage,
} from '../../src/conversation/usage';

const call = (overrides: Partial<ModelCallUsage> = {}): ModelCallUsage => ({
  model: 'gpt-4o-mini',
  inputTokens: 100,
  outputTokens: 50,
  costMicros: 45,
  priced: true,
  ...overrides,
});

describe('addModelCall', () => {
  test('adds tokens, cost and calls to the totals, per model and per author, without changing its input', () => {
    const start = emptyUsage();
    let usage = addModelCall(start, call(), 'alice');
    usage = addModelCall(usage, call({ model: 'gpt-4o', costMicros: 1000 }), 'bob');
    usage = addModelCall(usage, call());
    expect(start).toEqual(emptyUsage());
    expect(usage).toMatchObject({
      inputTokens: 300,
      outputTokens: 150,
      costMicros: 1090,
      modelCalls: 3,
      unpricedCalls: 0,
    });
    expect(usage.byModel['gpt-4o-mini']).toMatchObject({ modelCalls: 2, costMicros: 90 });
    expect(usage.byModel['gpt-4o']).toMatchObject({ modelCalls: 1, costMicros: 1000 });
    expect(Object.keys(usage.byAuthor).sort()).toEqual(['alice', 'bob']);
    expect(usage.byAuthor.alice).toMatchObject({ inputTokens: 100, costMicros: 45 });
  });

  test('an unpriced call (or one from a worker without prices) adds tokens but no cost, and is counted', () => {
    let usage = addModelCall(emptyUsage(), call({ costMicros: 0, priced: false }));
    usage = addModelCall(usage, { model: 'old', inputTokens: 1, outputTokens: 1 });
    expect(usage).toMatchObject({ costMicros: 0, modelCalls: 2, unpricedCalls: 2, inputTokens: 101 });
  });

  test('keeps at most MAX_TRACKED_AUTHORS authors by name; later ones share one bucket', () => {
    let usage = emptyUsage();
    for (let i = 0; i < MAX_TRACKED_AUTHORS + 10; i++) usage = addModelCall(usage, call(), `author-${i}`);
    expect(Object.keys(usage.byAuthor)).toHaveLength(MAX_TRACKED_AUTHORS);
    expect(usage.otherAuthors).toMatchObject({ modelCalls: 10, costMicros: 450 });
    // A tracked author keeps being counted on their own.
    usage = addModelCall(usage, call(), 'author-0');
    expect(usage.byAuthor['author-0'].modelCalls).toBe(2);
    expect(authorUsage(usage, 'author-0')).toMatchObject({ shared: false });
    expect(authorUsage(usage, 'someone-new')).toEqual({ totals: usage.otherAuthors, shared: true });
  });

  test('keeps at most MAX_TRACKED_MODELS models by name', () => {
    let usage = emptyUsage();
    for (let i = 0; i < MAX_TRACKED_MODELS + 3; i++) usage = addModelCall(usage, call({ model: `m-${i}` }));
    expect(Object.keys(usage.byModel)).toHaveLength(MAX_TRACKED_MODELS);
    expect(usage.otherModels?.modelCalls).toBe(3);
  });

  test('sums are exact integers, the same however often they are replayed', () => {
    let usage = emptyUsage();
    for (let i = 0; i < 10_000; i++) usage = addModelCall(usage, call({ costMicros: 3 }));
    expect(usage.costMicros).toBe(30_000);
  });

  test('an older state without costs is read back with zeros', () => {
    expect(restoreUsage({ inputTokens: 5, outputTokens: 6, modelCalls: 2 })).toEqual({
      inputTokens: 5,
      outputTokens: 6,
      costMicros: 0,
      modelCalls: 2,
      unpricedCalls: 0,
      byModel: {},
      byAuthor: {},
      otherModels: null,
      otherAuthors: null,
    });
    const usage = addModelCall(emptyUsage(), call(), 'alice');
    expect(restoreUsage(JSON.parse(JSON.stringify(usage)))).toEqual(usage);
  });
});

describe('budgetRefusal', () => {
  const spent = (calls: number, author?: string): ConversationUsage => {
    let usage = emptyUsage();
    for (let i = 0; i < calls; i++) usage = addModelCall(usage, call(), author);
    return usage; // each call: 150 tokens, 45 micro-USD
  };

  test('no budget, or a budget not yet reached, lets the turn start', () => {
    expect(budgetRefusal(spent(10), undefined)).toBeUndefined();
    expect(budgetRefusal(spent(1), { conversation: { maxTokens: 151, maxCostMicros: 46 } })).toBeUndefined();
  });

  test('a conversation at its token limit is refused, saying what was used and the limit', () => {
    const budget: AgentBudget = { conversation: { maxTokens: 300 } };
    expect(budgetRefusal(spent(2), budget)).toBe(
      'This conversation has reached its budget: it has used 300 tokens of 300 allowed. ' +
        'No more messages are answered here; start a new conversation, or ask the operator to raise the limit.',
    );
  });

  test('a conversation over its cost limit is refused, in dollars', () => {
    const refusal = budgetRefusal(spent(3), { conversation: { maxCostMicros: 100 } });
    expect(refusal).toContain('it has used $0.000135 of $0.0001 allowed');
  });

  test('an author over their own limit is refused; other authors and messages without an author go on', () => {
    const usage = addModelCall(spent(4, 'alice'), call(), 'bob');
    const budget: AgentBudget = { perAuthor: { maxTokens: 500 } };
    expect(budgetRefusal(usage, budget, 'alice')).toBe(
      'You ("alice") have reached your budget in this conversation: you have used 600 tokens of 500 allowed. ' +
        'No more of your messages are answered here; ask the operator to raise the limit.',
    );
    expect(budgetRefusal(usage, budget, 'bob')).toBeUndefined();
    expect(budgetRefusal(usage, budget, 'carol')).toBeUndefined();
    expect(budgetRefusal(usage, budget)).toBeUndefined();
  });

  test('the conversation limit is checked before the author limit', () => {
    const budget: AgentBudget = { conversation: { maxTokens: 150 }, perAuthor: { maxTokens: 150 } };
    expect(budgetRefusal(spent(1, 'alice'), budget, 'alice')).toMatch(/^This conversation/);
  });

  test('a new author beyond those tracked is held to the shared bucket, so being new does not escape the limit', () => {
    let usage = emptyUsage();
    for (let i = 0; i < MAX_TRACKED_AUTHORS; i++) usage = addModelCall(usage, call(), `author-${i}`);
    usage = addModelCall(usage, call(), 'overflow-1');
    usage = addModelCall(usage, call(), 'overflow-2');
    const refusal = budgetRefusal(usage, { perAuthor: { maxTokens: 300 } }, 'overflow-3');
    expect(refusal).toContain('share a budget and have used 300 tokens of 300 allowed');
  });
});

test('formats counts and dollars without Intl', () => {
  expect(formatCount(0)).toBe('0');
  expect(formatCount(1234567)).toBe('1,234,567');
  expect(formatMicros(0)).toBe('$0.00');
  expect(formatMicros(500_000)).toBe('$0.50');
  expect(formatMicros(512_300)).toBe('$0.5123');
  expect(formatMicros(7)).toBe('$0.000007');
  expect(formatMicros(1_234_000_000)).toBe('$1,234.00');
});
