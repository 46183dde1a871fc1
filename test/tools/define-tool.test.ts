import { z } from 'zod';
import { DEFAULT_TOOL_RETRY } from '../../src/conversation/agent-spec';
import { ConfigError } from '../../src/errors';
import { defineTool, toolSpec, type Tool } from '../../src/tools/define-tool';

const ctx = { signal: new AbortController().signal, conversationId: 'c1', agent: 'a', turn: 1, toolCallId: 't1' };

describe('defineTool', () => {
  it('infers the argument type of execute from the zod schema', async () => {
    const greet = defineTool({
      name: 'greet',
      description: 'Greets someone',
      parameters: z.object({ name: z.string(), times: z.number().int().default(1) }),
      execute: (args) => {
        // Compile-time checks: `tsc` fails this file if inference breaks.
        const name: string = args.name;
        const times: number = args.times;
        // @ts-expect-error `missing` is not in the schema
        void args.missing;
        return `${name} x${times}`;
      },
    });
    const args = greet.parameters.parse({ name: 'Ada' });
    expect(await greet.execute(args, ctx)).toBe('Ada x1');
    const asGeneric: Tool = greet; // a typed tool fits where any tool is expected (agents, registries)
    expect(asGeneric.name).toBe('greet');
  });

  it('fills in the defaults: auto approval, a 30 s timeout and the default retry', () => {
    const tool = defineTool({
      name: 'noop',
      description: 'Does nothing',
      parameters: z.object({}),
      execute: () => 'ok',
    });
    expect(tool).toMatchObject({ approval: 'auto', timeoutMs: 30_000, retry: DEFAULT_TOOL_RETRY });
  });

  it.each(['', 'has space', 'dot.name', 'x'.repeat(65), 'ümlaut'])('rejects the tool name %j', (name) => {
    const define = () => defineTool({ name, description: 'd', parameters: z.object({}), execute: () => 'ok' });
    expect(define).toThrow(ConfigError);
    expect(define).toThrow(/name must be 1-64 letters, digits, "_" or "-"/);
  });

  it('accepts names with letters, digits, underscores and dashes up to 64 characters', () => {
    for (const name of ['a', 'get_weather-v2', 'x'.repeat(64)]) {
      expect(defineTool({ name, description: 'd', parameters: z.object({}), execute: () => 'ok' }).name).toBe(name);
    }
  });

  it('reports every problem of a definition at once', () => {
    let error: unknown;
    try {
      defineTool({
        name: 'bad name',
        description: ' ',
        parameters: z.object({ when: z.date() }),
        execute: () => 'ok',
        timeoutMs: -1,
        retry: { backoffCoefficient: 0.5 },
      });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems).toHaveLength(5);
    expect(problems.join('\n')).toMatch(/description must be a non-empty string/);
    expect(problems.join('\n')).toMatch(/cannot be expressed as JSON Schema/);
    expect(problems.join('\n')).toMatch(/timeoutMs must be a positive integer/);
    expect(problems.join('\n')).toMatch(/backoffCoefficient must be >= 1/);
  });

  it('rejects a retry policy Temporal would refuse at the call, counting the defaults it is merged with', () => {
    const define = (retry: object) => () =>
      defineTool({ name: 't', description: 'd', parameters: z.object({}), execute: () => 'ok', retry });
    // Refused by Temporal when the call is scheduled, in the workflow: a turn stuck for good, so refused here.
    expect(define({ initialIntervalMs: 20_000 })).toThrow(
      'tool "t": retry.maximumIntervalMs (10000) must be at least retry.initialIntervalMs (20000), counting the defaults it is merged with: set both',
    );
    const tool = define({ initialIntervalMs: 20_000, maximumIntervalMs: 60_000 })();
    expect(tool.retry).toMatchObject({ initialIntervalMs: 20_000, maximumIntervalMs: 60_000 });
    // An agent's override is checked merged with the tool's own policy.
    expect(() => toolSpec(tool, { retry: { maximumIntervalMs: 1_000 } })).toThrow(
      /retry\.maximumIntervalMs \(1000\) must be at least retry\.initialIntervalMs \(20000\)/,
    );
    expect(toolSpec(tool, { retry: { maximumIntervalMs: 20_000 } }).retry.maximumIntervalMs).toBe(20_000);
  });

  it('rejects parameters that are not an object schema', () => {
    expect(() =>
      defineTool({
        name: 'scalar',
        description: 'd',
        parameters: z.string() as unknown as z.ZodObject,
        execute: () => 'ok',
      }),
    ).toThrow(/parameters must be a z.object/);
  });
});

describe('toolSpec', () => {
  const search = defineTool({
    name: 'search',
    description: 'Searches the catalogue',
    parameters: z.object({
      query: z.string().describe('What to look for'),
      limit: z.number().int().max(50).default(10),
    }),
    execute: () => [],
    approval: 'ask',
    timeoutMs: 5_000,
    retry: { maximumAttempts: 5 },
  });

  it('describes the arguments as the JSON Schema the model fills in', () => {
    const spec = toolSpec(search);
    expect(spec).toEqual({
      name: 'search',
      description: 'Searches the catalogue',
      parameters: {
        type: 'object',
        properties: {
          query: { type: 'string', description: 'What to look for' },
          limit: { type: 'integer', maximum: 50, default: 10, minimum: expect.any(Number) },
        },
        // The model may leave out `limit`: the schema's default fills it in.
        required: ['query'],
      },
      approval: 'ask',
      timeoutMs: 5_000,
      retry: { ...DEFAULT_TOOL_RETRY, maximumAttempts: 5 },
    });
    expect(JSON.parse(JSON.stringify(spec))).toEqual(spec); // plain JSON, fit for workflow history
  });

  it("applies an agent's overrides over the tool's own policy", () => {
    const spec = toolSpec(search, { approval: 'deny', timeoutMs: 1_000, retry: { initialIntervalMs: 50 } });
    expect(spec).toMatchObject({
      approval: 'deny',
      timeoutMs: 1_000,
      retry: { ...DEFAULT_TOOL_RETRY, maximumAttempts: 5, initialIntervalMs: 50 },
    });
  });

  it('rejects bad overrides with a clear error', () => {
    expect(() => toolSpec(search, { approval: 'maybe' as 'ask' })).toThrow(/approval must be one of auto, ask, deny/);
  });
});
