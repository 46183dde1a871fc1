import { defineAgent } from '../../src/agents/define-agent';
import { ConfigError } from '../../src/errors';
import { DEFAULT_MEMORY, memoryPolicy } from '../../src/conversation/memory-policy';

const base = { name: 'support', instructions: 'Be brief.', model: 'gpt-4o-mini' };

describe('an agent memory policy', () => {
  it('fills in the defaults', () => {
    expect(defineAgent(base).spec().memory).toEqual(DEFAULT_MEMORY);
    expect(defineAgent({ ...base, memory: { pinFirstUserMessage: true } }).spec().memory).toEqual({
      ...DEFAULT_MEMORY,
      pinFirstUserMessage: true,
    });
  });

  it('reads specs recorded before memory existed with the defaults', () => {
    expect(memoryPolicy({})).toEqual(DEFAULT_MEMORY);
  });

  it('refuses a budget that leaves no room', () => {
    expect(() => defineAgent({ ...base, memory: { reserveForReplyTokens: 16_000 } })).toThrow(ConfigError);
    expect(() => defineAgent({ ...base, memory: { maxContextTokens: 4_000, summaryTargetTokens: 1_000 } })).toThrow(
      /summaryTargetTokens may use at most a quarter/,
    );
    expect(() => defineAgent({ ...base, memory: { windowSize: 3 } as never })).toThrow(ConfigError);
  });
});
