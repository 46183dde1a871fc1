/** `vigil inspect`'s text for usage and memory, from state answers of this worker and of older ones. */
import { describeConversation, describeUsage } from '../../src/cli/commands/inspect';
import { emptyTotals } from '../../src/conversation/usage';

const totals = (
  inputTokens: number,
  outputTokens: number,
  costMicros: number,
  modelCalls: number,
  unpricedCalls = 0,
) => ({
  inputTokens,
  outputTokens,
  costMicros,
  modelCalls,
  unpricedCalls,
});

test('shows tokens, cost and unpriced calls in total, per model and per author', () => {
  const lines = describeUsage({
    ...totals(12_500, 800, 2_345, 3, 1),
    byModel: { 'gpt-4o-mini': totals(10_000, 600, 2_345, 2), 'local-llama': totals(2_500, 200, 0, 1, 1) },
    byAuthor: { alice: totals(12_000, 700, 2_000, 2) },
    otherModels: null,
    otherAuthors: totals(500, 100, 345, 1),
  });
  expect(lines).toEqual([
    '  usage:    12,500 in / 800 out tokens in 3 model calls, $0.002345 (1 unpriced call, not counted)',
    '  by model:',
    '    gpt-4o-mini  10,000 in / 600 out tokens in 2 model calls, $0.002345',
    '    local-llama  2,500 in / 200 out tokens in 1 model call, $0.00 (1 unpriced call, not counted)',
    '  by author:',
    '    alice            12,000 in / 700 out tokens in 2 model calls, $0.002',
    '    (other authors)  500 in / 100 out tokens in 1 model call, $0.000345',
  ]);
});

test('a usage from before costs shows tokens and says the cost was not recorded, not $0.00', () => {
  expect(describeUsage({ inputTokens: 30, outputTokens: 5, modelCalls: 2 })).toEqual([
    "  usage:    30 in / 5 out tokens in 2 model calls (cost not recorded by this conversation's worker)",
  ]);
});

const state = {
  agent: 'assistant',
  conversationId: 'user-42',
  status: 'idle' as const,
  currentTurn: null,
  queued: [],
  pendingApprovals: [],
  rememberedTools: [],
  usage: { ...emptyTotals(), byModel: {}, byAuthor: {}, otherModels: null, otherAuthors: null },
  turns: 0,
  ending: false,
};

test('shows the rolling summary when there is one, and nothing about it otherwise', () => {
  const withSummary = describeConversation({ ...state, memory: { summarizedThrough: 41, summaryTokens: 312 } }, [], []);
  expect(withSummary).toContain('  summary:  the first 42 transcript entries in a rolling summary of 312 tokens\n');
  expect(describeConversation({ ...state, memory: null }, [], [])).not.toContain('summary:');
  // An older worker's answer has no `memory` at all.
  expect(describeConversation(state, [], [])).toContain('  usage:    0 in / 0 out tokens in 0 model calls, $0.00\n');
});
