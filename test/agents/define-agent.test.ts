import { defineAgent } from '../../src/agents/define-agent';
import { AgentRegistry } from '../../src/agents/registry';
import { DEFAULT_LIMITS } from '../../src/conversation/agent-spec';
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

test("onBusy goes into the spec unless it is the default 'queue', which leaves spec and version as they were", () => {
  const base = { name: 'busy', instructions: 'Be brief.', model: 'gpt-4o-mini' };
  const plain = defineAgent(base);
  const queued = defineAgent({ ...base, onBusy: 'queue' });
  expect('onBusy' in queued.spec()).toBe(false);
  expect(queued.version).toBe(plain.version);
  expect(defineAgent({ ...base, onBusy: 'reject' }).spec().onBusy).toBe('reject');
  const interrupting = defineAgent({ ...base, onBusy: 'interrupt' });
  expect(interrupting.spec().onBusy).toBe('interrupt');
  expect(interrupting.version).not.toBe(plain.version);
  expect(() => defineAgent({ ...base, onBusy: 'drop' as 'queue' })).toThrow(
    /agent "busy": onBusy: Invalid option: expected one of "queue"\|"reject"\|"interrupt"/,
  );
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
  expect(
    problems({
      continueAsNewAfterEvents: 40_000,
      continueAsNewAfterBytes: 65_536,
      continueAsNewAfterSignals: 6_000,
      continueAsNewWhenSuggested: false,
    }),
  ).toBe('');
});

test('a model call is bounded by default: a minute of silence per attempt, five minutes with all retries', () => {
  const { limits } = defineAgent({ name: 'plain', instructions: 'x', model: 'm' }).spec();
  expect(limits).toMatchObject({ modelTimeoutMs: 120_000, modelIdleTimeoutMs: 60_000, modelTotalTimeoutMs: 300_000 });
  const own = defineAgent({
    name: 'own',
    instructions: 'x',
    model: 'm',
    limits: { modelIdleTimeoutMs: 2_000, modelTotalTimeoutMs: 150_000 },
  });
  expect(own.spec().limits).toMatchObject({ modelIdleTimeoutMs: 2_000, modelTotalTimeoutMs: 150_000 });
});

test('model limits that could not work are refused: a bound shorter than one attempt, milliseconds mistaken for seconds', () => {
  const problems = (limits: object) => {
    try {
      defineAgent({ name: 'slow', instructions: 'x', model: 'm', limits });
    } catch (e) {
      return (e as ConfigError).problems.join('\n');
    }
    return '';
  };
  // A model given ten minutes an attempt and no total gets a total of one attempt, not the default five minutes
  // that would cut it (an agent defined before the total existed keeps working).
  expect(problems({ modelTimeoutMs: 600_000 })).toBe('');
  expect(
    defineAgent({ name: 'slow', instructions: 'x', model: 'm', limits: { modelTimeoutMs: 600_000 } }).spec().limits
      .modelTotalTimeoutMs,
  ).toBe(600_000);
  expect(defineAgent({ name: 'quick', instructions: 'x', model: 'm' }).spec().limits.modelTotalTimeoutMs).toBe(300_000);
  expect(problems({ modelTimeoutMs: 600_000, modelTotalTimeoutMs: 599_999 })).toMatch(
    /modelTotalTimeoutMs \(599999\) must be at least/,
  );
  expect(problems({ modelTimeoutMs: 600_000, modelTotalTimeoutMs: 1_200_000 })).toBe('');
  expect(problems({ modelIdleTimeoutMs: 60 })).toMatch(/limits\.modelIdleTimeoutMs: must be at least 1000/);
  expect(problems({ modelTotalTimeoutMs: 300 })).toMatch(/limits\.modelTotalTimeoutMs: must be at least 1000/);
  // An idle timeout at or past the attempt's timeout never fires first; harmless, so allowed.
  expect(problems({ modelTimeoutMs: 30_000 })).toBe('');
});

test('the registry refuses two agents with one name', () => {
  const a = defineAgent({ name: 'a', instructions: 'x', model: 'm' });
  const registry = new AgentRegistry([a]);
  expect(registry.get('a')).toBe(a);
  expect(registry.get('b')).toBeUndefined();
  expect(() => registry.add(defineAgent({ name: 'a', instructions: 'y', model: 'm' }))).toThrow(ConfigError);
});

test('handoffs become transfer tools in the spec; an agent without them keeps the spec and version it had', () => {
  const base = { name: 'front', instructions: 'Route.', model: 'm' };
  const plain = defineAgent(base);
  expect(plain.spec()).not.toHaveProperty('handoffs');
  expect(defineAgent({ ...base, handoffs: [] }).version).toBe(plain.version);

  const back = defineAgent({ name: 'sales.eu', instructions: 'Sell.', model: 'm', handoffs: ['front'] });
  const front = defineAgent({ ...base, handoffs: [back, { agent: 'billing', description: 'Invoices.' }] });
  expect(front.handoffs).toEqual(['sales.eu', 'billing']);
  expect(front.spec().handoffs).toEqual([
    { agent: 'sales.eu', toolName: 'transfer_to_sales_eu', description: expect.stringContaining('"sales.eu"') },
    { agent: 'billing', toolName: 'transfer_to_billing', description: 'Invoices.' },
  ]);
  expect(front.version).not.toBe(plain.version);
});

test('bad handoffs are ConfigErrors: not an agent, the agent itself, twice, a clash with a tool name', () => {
  const problems = (handoffs: unknown[], name = 'front') => {
    try {
      defineAgent({ name, instructions: 'Route.', model: 'm', tools: [calculator], handoffs } as never);
      return '';
    } catch (error) {
      return (error as ConfigError).problems.join('\n');
    }
  };
  expect(problems([42])).toMatch(/handoffs\.0 must be an agent from defineAgent\(\), an agent's name/);
  expect(problems(['bad:name'])).toMatch(/handoffs\.0 must be/);
  expect(problems(['front'])).toMatch(/handoffs\.0: an agent cannot hand the conversation to itself/);
  expect(problems(['b', 'b'])).toMatch(/handoffs\.1: agent "b" is named twice/);
  expect(problems(['a.b', 'a_b'])).toMatch(/handoffs\.1: the handoff tool "transfer_to_a_b" has the name of another/);
  expect(problems([{ agent: 'b', description: ' ' }])).toMatch(/handoffs\.0\.description: must not be empty/);
  expect(problems(['b', { agent: 'c', description: 'C.' }])).toBe('');
});

test('a worker refuses to start with a handoff to an agent it does not serve', () => {
  const front = defineAgent({ name: 'front', instructions: 'Route.', model: 'm', handoffs: ['billing', 'sales'] });
  const sales = defineAgent({ name: 'sales', instructions: 'Sell.', model: 'm' });
  const registry = new AgentRegistry([front, sales]);
  expect(() => registry.checkHandoffs()).toThrow(ConfigError);
  expect(() => registry.checkHandoffs()).toThrow(
    /agent "front" hands off to agent "billing", which this worker does not serve/,
  );
  registry.add(defineAgent({ name: 'billing', instructions: 'Bill.', model: 'm' }));
  expect(() => registry.checkHandoffs()).not.toThrow();
});
