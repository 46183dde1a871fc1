import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createOpenAIClient } from '../../src/activities/model';
import { createSummarizeActivity, summaryInstructions, summaryRequest } from '../../src/activities/summarize';
import { type SummarizeInput, type SummarizeResult } from '../../src/conversation/activity-contract';
import { FailureTypes } from '../../src/conversation/failure-types';
import { SUMMARIZE_PROMPT_TOKENS } from '../../src/conversation/context-window';
import { countMessageTokens, countTokens } from '../../src/memory/tokenizer';
import { startScriptedModel, type ScriptedModel } from '../../src/testing/scripted-model';
import { answer, call, notice, result, user } from './transcripts';

let model: ScriptedModel;
beforeEach(async () => {
  model = await startScriptedModel();
});
afterEach(async () => {
  await model.close();
});

const input = (overrides: Partial<SummarizeInput> = {}): SummarizeInput => ({
  agent: 'helper',
  conversationId: 'c1',
  turn: 9,
  model: 'gpt-4o-mini',
  previous: 'The user, Ana, is planning a trip to Lisbon in May.',
  entries: [
    { ...user(4, undefined, 'Find me a hotel under 120 EUR a night.'), author: 'ana' },
    call(4, undefined, ['h1']),
    result(4, undefined, 'h1', 'Hotel Alfama: 110 EUR; Hotel Baixa: 135 EUR'),
    answer(4, undefined, 'Hotel Alfama fits at 110 EUR a night.'),
    notice(4),
  ],
  targetTokens: 200,
  ...overrides,
});

function summarize(summaryInput: SummarizeInput): Promise<SummarizeResult> {
  const activity = createSummarizeActivity({
    openai: createOpenAIClient({ baseURL: model.baseURL, apiKey: 'sk-test' }),
  });
  return new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(activity, summaryInput);
}

describe('the summarize activity', () => {
  it('asks the model to merge the previous summary with the new messages, and returns the summary with its count', async () => {
    const text =
      'Ana is planning a Lisbon trip in May. She asked for a hotel under 120 EUR; Hotel Alfama (110 EUR) fits.';
    model.script({ content: text, usage: { prompt_tokens: 180, completion_tokens: 30 } });

    const summary = await summarize(input());

    const request = await model.nextRequest();
    expect(request.body.model).toBe('gpt-4o-mini');
    expect(request.body.messages).toEqual([
      { role: 'system', content: summaryInstructions(200) },
      {
        role: 'user',
        content: [
          'Previous summary:\nThe user, Ana, is planning a trip to Lisbon in May.',
          '',
          'New messages:',
          'User (ana): Find me a hotel under 120 EUR a night.',
          'Assistant called tool lookup with {"q":"h1"}',
          'Tool lookup returned: Hotel Alfama: 110 EUR; Hotel Baixa: 135 EUR',
          'Assistant: Hotel Alfama fits at 110 EUR a night.',
        ].join('\n'),
      },
    ]);
    const instructions = summaryInstructions(200);
    for (const asked of [
      'fact',
      'decision',
      'name',
      'number',
      'questions and tasks still open',
      'third person',
      '150 words',
    ]) {
      expect(instructions).toContain(asked);
    }
    expect(summary).toEqual({
      text,
      tokens: countTokens('gpt-4o-mini', text),
      model: 'gpt-4o-mini',
      usage: { inputTokens: 180, outputTokens: 30 },
    });
  });

  it('says when there is no summary yet', async () => {
    model.script({ content: 'Ana wants a hotel.' });
    await summarize(input({ previous: undefined }));
    const request = await model.nextRequest();
    expect(request.body.messages[1].content).toMatch(/^Previous summary: none/);
  });

  it('stays within the prompt allowance the window rules assume', () => {
    const messages = summaryRequest(input({ previous: undefined, entries: [] }));
    expect(countMessageTokens('gpt-4o', messages)).toBeLessThan(SUMMARIZE_PROMPT_TOKENS);
  });

  it('cuts a summary far over its target', async () => {
    model.script({ content: 'word '.repeat(2_000) });
    const summary = await summarize(input({ targetTokens: 100 }));
    expect(summary.tokens).toBeLessThanOrEqual(200);
  });

  it('fails for good when the provider refuses the request, like a model call', async () => {
    model.script({ status: 400, message: 'context_length_exceeded' });
    const error = await summarize(input()).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(ApplicationFailure);
    expect((error as ApplicationFailure).type).toBe(FailureTypes.ModelRequestRejected);
    expect((error as ApplicationFailure).nonRetryable).toBe(true);
  });

  it('retries an empty answer rather than forget the folded turns', async () => {
    model.script({ content: '' });
    await expect(summarize(input())).rejects.toThrow(/without text/);
  });
});
