import { CompletionAssembly, ProviderResponseUnreadable } from '../../src/activities/completion-assembly';

const assemble = (...parts: unknown[]) => {
  const assembly = new CompletionAssembly({ fallbackIdPrefix: 'call_t1s1' });
  const texts = parts.flatMap((part) => assembly.add(part));
  return { ...assembly.result(), texts };
};
const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  id: 'c1',
  model: 'm',
  choices: [{ index: 0, delta, finish_reason: null, ...extra }],
});

describe('text', () => {
  it('joins content pieces without needing a role, and hands each piece out for the preview', () => {
    const result = assemble(chunk({ content: 'Hel' }), chunk({ content: 'lo' }), chunk({}, { finish_reason: 'stop' }));
    expect(result).toMatchObject({
      id: 'c1',
      model: 'm',
      content: 'Hello',
      finishReason: 'stop',
      answered: true,
      toolCalls: [],
    });
    expect(result.texts).toEqual(['Hel', 'lo']);
  });

  it('takes a stream with no finish reason, and says the reason is unknown', () => {
    expect(assemble(chunk({ content: 'ok' }))).toMatchObject({ content: 'ok', finishReason: 'unknown' });
  });

  it("skips chunks with empty choices (Azure's first chunk, the usage chunk) and takes usage from any chunk", () => {
    const result = assemble(
      { id: '', model: '', choices: [], prompt_filter_results: [{ prompt_index: 0 }] },
      chunk({ content: 'hi' }, { content_filter_results: {} }),
      { id: 'c1', choices: [], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } },
    );
    expect(result).toMatchObject({ id: 'c1', model: 'm', content: 'hi', usage: { inputTokens: 9, outputTokens: 2 } });
  });

  it('reads usage under x_groq, and the last usage when several chunks carry running totals', () => {
    expect(
      assemble(chunk({ content: 'a' }), { choices: [], x_groq: { usage: { prompt_tokens: 4, completion_tokens: 1 } } })
        .usage,
    ).toEqual({
      inputTokens: 4,
      outputTokens: 1,
    });
    expect(
      assemble(
        { ...chunk({ content: 'a' }), usage: { prompt_tokens: 4, completion_tokens: 1 } },
        { ...chunk({ content: 'b' }), usage: { prompt_tokens: 4, completion_tokens: 2 } },
      ).usage,
    ).toEqual({ inputTokens: 4, outputTokens: 2 });
  });

  it('takes `message` where old proxies put `delta`, and a whole non-streamed completion the same way', () => {
    expect(assemble({ choices: [{ message: { content: 'whole' }, finish_reason: 'stop' }] })).toMatchObject({
      content: 'whole',
      finishReason: 'stop',
    });
  });

  it("keeps reasoning out of the reply (reasoning_content, reasoning, Mistral's thinking parts)", () => {
    const result = assemble(
      chunk({ reasoning_content: 'think ', content: null }),
      chunk({ reasoning: 'more ' }),
      chunk({
        content: [
          { type: 'thinking', thinking: [{ type: 'text', text: 'deep' }] },
          { type: 'text', text: 'Answer' },
        ],
      }),
      {
        choices: [],
        usage: { prompt_tokens: 5, completion_tokens: 30, completion_tokens_details: { reasoning_tokens: 25 } },
      },
    );
    expect(result.content).toBe('Answer');
    expect(result.texts).toEqual(['Answer']);
    expect(result.reasoning).toBe('think more deep');
    expect(result.usage).toEqual({ inputTokens: 5, outputTokens: 30, reasoningTokens: 25 });
  });

  it('answers with the refusal when the model refused instead of answering', () => {
    expect(assemble(chunk({ refusal: 'I cannot help with that.' })).content).toBe('I cannot help with that.');
  });

  it('ignores choices other than the first, and knows an answer without any choice is empty', () => {
    expect(assemble({ choices: [{ index: 1, delta: { content: 'other' } }] })).toMatchObject({
      content: '',
      answered: false,
    });
    expect(assemble({ id: 'x', choices: [] })).toMatchObject({ answered: false });
  });
});

describe('tool calls', () => {
  it('joins fragments by index, split anywhere, whatever the id repetition', () => {
    const result = assemble(
      chunk({ tool_calls: [{ index: 0, id: 'a', type: 'function', function: { name: 'calc', arguments: '' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'ulator' } }] }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"expr' } }] }),
      chunk({ tool_calls: [{ index: 1, id: 'b', function: { name: 'time', arguments: '{}' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { arguments: 'ession":"1+1"}' } }] }),
      chunk({}, { finish_reason: 'tool_calls' }),
    );
    expect(result.toolCalls).toEqual([
      { id: 'a', name: 'calculator', arguments: '{"expression":"1+1"}' },
      { id: 'b', name: 'time', arguments: '{}' },
    ]);
    expect(result.finishReason).toBe('tool_calls');
  });

  it('takes a name repeated on every fragment once', () => {
    const result = assemble(
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'calculator', arguments: '{"a":' } }] }),
      chunk({ tool_calls: [{ index: 0, id: 'a', function: { name: 'calculator', arguments: '1}' } }] }),
    );
    expect(result.toolCalls).toEqual([{ id: 'a', name: 'calculator', arguments: '{"a":1}' }]);
  });

  it('takes whole calls without an index (Gemini, Mistral), and arguments sent as an object', () => {
    const result = assemble(
      chunk({
        tool_calls: [
          { id: 'x', type: 'function', function: { name: 'calculator', arguments: '{"expression":"2*3"}' } },
          { id: 'y', type: 'function', function: { name: 'time', arguments: { zone: 'UTC' } } },
        ],
      }),
    );
    expect(result.toolCalls).toEqual([
      { id: 'x', name: 'calculator', arguments: '{"expression":"2*3"}' },
      { id: 'y', name: 'time', arguments: '{"zone":"UTC"}' },
    ]);
  });

  it('names calls that came without an id or index, so their results can refer to them', () => {
    const result = assemble(
      chunk({ tool_calls: [{ function: { name: 'time', arguments: '{' } }] }),
      chunk({ tool_calls: [{ function: { arguments: '}' } }] }),
      chunk({ tool_calls: [{ function: { name: 'calculator', arguments: '{}' } }] }),
    );
    expect(result.toolCalls).toEqual([
      { id: 'call_t1s1_1', name: 'time', arguments: '{}' },
      { id: 'call_t1s1_2', name: 'calculator', arguments: '{}' },
    ]);
  });
});

describe('what cannot be understood', () => {
  it.each([
    ['a number', 42, 'sent a chunk of an unknown shape (the chunk: '],
    ['choices that are not a list', { choices: { index: 0 } }, 'sent a chunk of an unknown shape (choices: '],
    ['content that is a number', chunk({ content: 7 }), 'sent a chunk of an unknown shape (choices.0.delta.content: '],
  ])('%s is unreadable, and the error says where', (_, part, message) => {
    const assembly = new CompletionAssembly({ fallbackIdPrefix: 'c' });
    expect(() => assembly.add(part)).toThrow(ProviderResponseUnreadable);
    expect(() => assembly.add(part)).toThrow(message);
  });
});
