import { encodeChat as encodeChatCl100k } from 'gpt-tokenizer/encoding/cl100k_base';
import { encodeChat as encodeChatO200k } from 'gpt-tokenizer/encoding/o200k_base';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { countMessageTokens, countTokens, tokenizerFor, truncateToTokens } from '../../src/memory/tokenizer';
import { estimateTokens, SUMMARY_PREFIX, SUMMARY_PREFIX_TOKENS } from '../../src/conversation/token-estimate';

describe('which tokenizer counts a model', () => {
  it.each([
    ['gpt-4o', 'o200k_base'],
    ['gpt-4o-mini', 'o200k_base'],
    ['gpt-4.1-nano', 'o200k_base'],
    ['gpt-5', 'o200k_base'],
    ['o3-mini', 'o200k_base'],
    ['openai/gpt-4o', 'o200k_base'],
    ['gpt-4', 'cl100k_base'],
    ['gpt-4-turbo', 'cl100k_base'],
    ['gpt-3.5-turbo', 'cl100k_base'],
    ['claude-3-5-sonnet', 'estimate'],
    ['llama3.1:8b', 'estimate'],
    ['gpt-test', 'estimate'],
  ])('%s: %s', (model, tokenizer) => {
    expect(tokenizerFor(model)).toBe(tokenizer);
  });
});

describe('token counts', () => {
  // OpenAI's cookbook "How to count tokens with tiktoken": "tiktoken is great!" is 6 tokens in cl100k_base
  // ([83, 1609, 5963, 374, 2294, 0]) and in o200k_base ([83, 8251, 2488, 382, 2212, 0]).
  it('counts the cookbook example as OpenAI does', () => {
    expect(countTokens('gpt-4o', 'tiktoken is great!')).toBe(6);
    expect(countTokens('gpt-4', 'tiktoken is great!')).toBe(6);
  });

  // gpt-tokenizer's own fixtures (src/GptEncoding.test.ts): the two encodings split these differently.
  it('uses the encoding of the model family', () => {
    expect(countTokens('gpt-4o', 'toString constructor hasOwnProperty valueOf')).toBe(8);
    expect(countTokens('gpt-4', 'toString constructor hasOwnProperty valueOf')).toBe(6);
    expect(countTokens('gpt-4o', 'hello 👋 world 🌍')).toBe(6);
    expect(countTokens('gpt-3.5-turbo', 'hello 👋 world 🌍')).toBe(7);
  });

  it('counts text that spells a special token as plain text instead of failing', () => {
    expect(countTokens('gpt-4o', 'before <|endoftext|> after')).toBeGreaterThan(3);
  });

  it('estimates other models at 4 bytes of UTF-8 a token, rounded up', () => {
    expect(countTokens('claude-3-5-sonnet', 'abcdefgh')).toBe(2);
    expect(countTokens('claude-3-5-sonnet', 'abcdefghi')).toBe(3);
    // 14 CJK characters are 42 bytes: 11 tokens (o200k_base counts 10), where characters/4 would say 4.
    expect(estimateTokens('我非常渴望与人工智能一起工作')).toBe(11);
    expect(estimateTokens('🌍')).toBe(1);
    expect(countTokens('claude-3-5-sonnet', '')).toBe(0);
  });

  it('costs the summary prefix what token-estimate.ts says', () => {
    expect(countTokens('gpt-4o', SUMMARY_PREFIX)).toBe(SUMMARY_PREFIX_TOKENS);
    expect(countTokens('gpt-4', SUMMARY_PREFIX)).toBe(SUMMARY_PREFIX_TOKENS);
  });
});

describe('chat message counts', () => {
  const chat = [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'tiktoken is great!' },
    { role: 'assistant', content: 'gpt-tokenizer is awesome.' },
  ] as const;

  // encodeChat renders the chat as the model reads it: <|im_start|>role<|im_sep|>content<|im_end|> per message
  // and <|im_start|>assistant<|im_sep|> to prime the reply, which is OpenAI's documented overhead.
  it('adds the per-message framing and the reply priming, as the model reads the chat', () => {
    expect(countMessageTokens('gpt-4o', chat as unknown as ChatCompletionMessageParam[])).toBe(
      encodeChatO200k([...chat], 'gpt-4o').length,
    );
    expect(countMessageTokens('gpt-4', chat as unknown as ChatCompletionMessageParam[])).toBe(
      encodeChatCl100k([...chat], 'gpt-4').length,
    );
  });

  it('counts tool calls by their name and arguments', () => {
    const call: ChatCompletionMessageParam = {
      role: 'assistant',
      content: null,
      tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } }],
    };
    expect(countMessageTokens('gpt-4o', [call])).toBe(
      3 + 4 + countTokens('gpt-4o', 'weather') + countTokens('gpt-4o', '{"city":"Paris"}'),
    );
  });
});

describe('truncation', () => {
  it('cuts text to a number of tokens', () => {
    const text = 'The quick brown fox jumps over the lazy dog. '.repeat(50);
    const cut = truncateToTokens('gpt-4o', text, 20);
    expect(countTokens('gpt-4o', cut)).toBeLessThanOrEqual(20);
    expect(text.startsWith(cut)).toBe(true);
    expect(truncateToTokens('gpt-4o', 'short', 20)).toBe('short');
    expect(
      countTokens('some-model', truncateToTokens('some-model', '我非常渴望与人工智能一起工作'.repeat(9), 30)),
    ).toBeLessThanOrEqual(30);
  });
});

describe('loading', () => {
  it('loads an encoding only when a model first needs it', () => {
    jest.isolateModules(() => {
      const loaded: string[] = [];
      jest.doMock('gpt-tokenizer/encoding/o200k_base', () => {
        loaded.push('o200k_base');
        return jest.requireActual('gpt-tokenizer/encoding/o200k_base');
      });
      jest.doMock('gpt-tokenizer/encoding/cl100k_base', () => {
        loaded.push('cl100k_base');
        return jest.requireActual('gpt-tokenizer/encoding/cl100k_base');
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const tokenizer = require('../../src/memory/tokenizer') as typeof import('../../src/memory/tokenizer');
      tokenizer.countTokens('llama3.1', 'hello');
      expect(loaded).toEqual([]);
      tokenizer.countTokens('gpt-4o', 'hello');
      tokenizer.countTokens('gpt-4o-mini', 'hello again');
      expect(loaded).toEqual(['o200k_base']);
    });
  });

  it('keeps the workflow-side rules free of the tokenizer', () => {
    jest.isolateModules(() => {
      jest.doMock('../../src/memory/tokenizer', () => {
        throw new Error('the tokenizer must not be loaded by workflow code');
      });
      jest.doMock('gpt-tokenizer', () => {
        throw new Error('gpt-tokenizer must not be loaded by workflow code');
      });
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      expect(() => require('../../src/conversation/context-window')).not.toThrow();
    });
  });
});
