import { defineAgent } from '../../src/agents/define-agent';
import { AgentRegistry } from '../../src/agents/registry';
import { DEFAULT_LIMITS } from '../../src/agents/spec';
import { ConfigError } from '../../src/errors';
import { calculator, currentTime } from '../../src/tools';

test('an agent definition becomes the plain spec the workflow loads, with per-agent tool policies', () => {
  const agent = defineAgent({
    name: 'support',
    instructions: 'Be brief.',
    model: 'gpt-4o-mini',
    tools: [calculator, { tool: currentTime, approval: 'ask', timeoutMs: 5_000 }],
    limits: { maxSteps: 3 },
  });
  const spec = agent.spec();
  expect(spec).toMatchObject({ name: 'support', model: 'gpt-4o-mini', limits: { ...DEFAULT_LIMITS, maxSteps: 3 } });
  expect(spec.tools.map((t) => [t.name, t.approval, t.timeoutMs])).toEqual([
    ['calculator', 'auto', 30_000],
    ['current_time', 'ask', 5_000],
  ]);
  expect(spec.tools[0].parameters).toMatchObject({ type: 'object', properties: { expression: { type: 'string' } } });
  expect(agent.findTool('calculator')).toBe(calculator);
  // The spec is a copy: a caller cannot change the agent through it.
  spec.tools.pop();
  expect(agent.spec().tools).toHaveLength(2);
});

test('every problem of a bad definition is reported at once', () => {
  let error: unknown;
  try {
    defineAgent({
      name: 'bad name!',
      instructions: '',
      model: 'm',
      tools: [calculator, calculator, { tool: calculator, colour: 'red' } as never],
      limits: { maxSteps: 0 },
    });
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(ConfigError);
  const problems = (error as ConfigError).problems.join('\n');
  expect(problems).toMatch(/name/);
  expect(problems).toMatch(/instructions/);
  expect(problems).toMatch(/used twice/);
  expect(problems).toMatch(/unknown keys colour/);
  expect(problems).toMatch(/maxSteps/);
});

test('continue-as-new limits Temporal would never let a run reach are refused', () => {
  const problems = (limits: object) => {
    try {
      defineAgent({ name: 'long', instructions: 'x', model: 'm', limits });
    } catch (e) {
      return (e as ConfigError).problems.join('\n');
    }
    return '';
  };
  // A run ends at 51,200 events or 50 MB.
  expect(problems({ continueAsNewAfterEvents: 40_001 })).toMatch(/continueAsNewAfterEvents/);
  expect(problems({ continueAsNewAfterSignals: 6_001 })).toMatch(/continueAsNewAfterSignals/);
  expect(problems({ continueAsNewAfterSignals: 9 })).toMatch(/continueAsNewAfterSignals/);
  expect(problems({ continueAsNewAfterBytes: 32 * 1024 * 1024 + 1 })).toMatch(/continueAsNewAfterBytes/);
  expect(problems({ continueAsNewAfterBytes: 1024 })).toMatch(/continueAsNewAfterBytes/);
  expect(problems({ continueAsNewAfterEvents: 40_000, continueAsNewAfterBytes: 65_536, continueAsNewAfterSignals: 6_000, continueAsNewWhenSuggested: false })).toBe('');
});

test('the registry refuses two agents with one name', () => {
  const a = defineAgent({ name: 'a', instructions: 'x', model: 'm' });
  const registry = new AgentRegistry([a]);
  expect(registry.get('a')).toBe(a);
  expect(registry.get('b')).toBeUndefined();
  expect(() => registry.add(defineAgent({ name: 'a', instructions: 'y', model: 'm' }))).toThrow(ConfigError);
});
