import { MISSING_TOOL_RESULT } from '../../src/memory/model-messages';
import { buildContext, contextMessages, fitToBudget } from '../../src/memory/context-messages';
import { SUMMARY_PREFIX } from '../../src/conversation/token-estimate';
import { countMessageTokens, countTokens } from '../../src/memory/tokenizer';
import { answer, call, notice, result, user, type Entry } from './transcripts';

const numbered = (entries: Entry[], from = 0) => entries.map((entry, i) => ({ index: from + i, entry }));

describe('context messages', () => {
  it('puts the summary in the one system message, after the instructions', () => {
    const context = buildContext({
      instructions: 'Be brief.',
      summary: 'The user is planning a trip to Lisbon.',
      entries: numbered([user(3, 5, 'And hotels?'), answer(3, 5, 'Try Alfama.')], 7),
    });
    expect(contextMessages(context)).toEqual([
      { role: 'system', content: `Be brief.${SUMMARY_PREFIX}The user is planning a trip to Lisbon.` },
      { role: 'user', content: 'And hotels?' },
      { role: 'assistant', content: 'Try Alfama.' },
    ]);
  });

  it('maps entries as the model activity does: tool calls, results, notices left out', () => {
    const context = buildContext({
      instructions: 'Be brief.',
      entries: numbered([user(1, 5, 'weather?'), call(1, 5, ['a', 'b']), result(1, 5, 'a', '18C'), notice(1)]),
    });
    const messages = contextMessages(context);
    expect(messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool', 'tool']);
    expect(messages[4]).toEqual({ role: 'tool', tool_call_id: 'b', content: MISSING_TOOL_RESULT });
  });
});

describe('the exact-count guard', () => {
  const model = 'gpt-4o';
  const words = (n: number) => 'word '.repeat(n).trim();
  const entries = [
    user(1, undefined, 'pinned task: ' + words(20)),
    answer(1, undefined, words(200)),
    user(2, undefined, words(200)),
    call(2, undefined, ['c1']),
    result(2, undefined, 'c1', words(300)),
    answer(2, undefined, words(100)),
    user(3, undefined, 'current question'),
    call(3, undefined, ['c2']),
    result(3, undefined, 'c2', words(200)),
  ];

  it('changes nothing when the exact count is under the budget', () => {
    const context = buildContext({ instructions: 'Be brief.', entries: numbered(entries), pinned: [0] });
    const fitted = fitToBudget(model, context, { budget: 100_000 });
    expect(fitted.dropped).toEqual([]);
    expect(fitted.messages).toEqual(contextMessages(context));
    expect(fitted.tokens).toBe(countMessageTokens(model, fitted.messages));
    // The exact counts, for the workflow to record on the entries.
    expect(fitted.entryTokens[2]).toBe(countTokens(model, words(200)));
    expect(fitted.entryTokens[3]).toBe(countTokens(model, 'lookup') + countTokens(model, '{"q":"c1"}'));
  });

  it('drops the oldest whole turns that are not pinned until the exact count fits', () => {
    const context = buildContext({ instructions: 'Be brief.', entries: numbered(entries), pinned: [0] });
    const full = fitToBudget(model, context, { budget: 100_000 }).tokens;
    const fitted = fitToBudget(model, context, { budget: full - 150 });
    // Turn 1's answer goes (about 200 tokens); the pinned task, turn 2 and the turn in progress stay.
    expect(fitted.dropped).toEqual([1]);
    expect(fitted.tokens).toBeLessThanOrEqual(full - 150);

    const tighter = fitToBudget(model, context, { budget: full - 500 });
    expect(tighter.dropped).toEqual([1, 2, 3, 4, 5]);
    const roles = tighter.messages.map((m) => m.role);
    expect(roles).toEqual(['system', 'user', 'user', 'assistant', 'tool']);
    expect(tighter.tokens).toBe(countMessageTokens(model, tighter.messages));
  });

  it('counts the tool definitions against the budget', () => {
    const context = buildContext({ instructions: 'Be brief.', entries: numbered(entries) });
    const without = fitToBudget(model, context, { budget: 100_000 });
    const tools = [{ type: 'function', function: { name: 'lookup', description: words(50), parameters: {} } }];
    const withTools = fitToBudget(model, context, { budget: 100_000, tools });
    expect(withTools.tokens - without.tokens).toBe(countTokens(model, JSON.stringify(tools)));
  });

  it('cuts the longest content when even the smallest context is over the budget', () => {
    const context = buildContext({
      instructions: 'Be brief.',
      entries: numbered([
        user(1, undefined, 'summarize this page'),
        call(1, undefined, ['p']),
        result(1, undefined, 'p', words(5_000)),
      ]),
    });
    const fitted = fitToBudget(model, context, { budget: 1_000 });
    expect(fitted.tokens).toBeLessThanOrEqual(1_000);
    expect(fitted.truncated).toEqual([2]);
    expect(fitted.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'tool']);
    expect(fitted.messages[3].content as string).toMatch(/cut to fit the context window\]$/);
  });
});
