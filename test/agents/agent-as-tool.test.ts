/** agentAsTool's definition and the pure rules of a sub-agent call (src/conversation/sub-agent.ts). */
import { agentAsTool } from '../../src/agents/agent-as-tool';
import { defineAgent } from '../../src/agents/define-agent';
import { AgentRegistry } from '../../src/agents/registry';
import { MAX_ID_LENGTH } from '../../src/conversation/protocol';
import {
  addChildUsage,
  AGENT_TOOL_PARAMETERS,
  childConversationId,
  subAgentMessage,
  subAgentResult,
} from '../../src/conversation/sub-agent';
import { addModelCall, emptyUsage } from '../../src/conversation/usage';
import { ConfigError } from '../../src/errors';
import { calculator } from '../../src/tools';

const researcher = defineAgent({ name: 'research.eu', instructions: 'Find facts.', model: 'm' });

test('an agent as a tool is a tool spec naming the agent, with { input } for arguments and its own approval policy', () => {
  const writer = defineAgent({
    name: 'writer',
    instructions: 'Write.',
    model: 'm',
    tools: [
      calculator,
      { tool: agentAsTool(researcher), approval: 'ask' },
      agentAsTool('critic', { name: 'critique', description: 'Critiques.' }),
    ],
  });
  const [, research, critique] = writer.spec().tools;
  expect(research).toMatchObject({
    name: 'research_eu',
    agent: 'research.eu',
    approval: 'ask',
    parameters: AGENT_TOOL_PARAMETERS,
  });
  expect(research.description).toMatch(/"research\.eu"/);
  expect(critique).toMatchObject({ name: 'critique', agent: 'critic', approval: 'auto', description: 'Critiques.' });
  expect(writer.agentTools).toEqual(['research.eu', 'critic']);
  // The activity never runs it: no tool of that name on the worker.
  expect(writer.findTool('critique')).toBeUndefined();
});

test('bad agent tools are ConfigErrors', () => {
  expect(() => agentAsTool('bad:name')).toThrow(ConfigError);
  expect(() => agentAsTool(researcher, { name: 'has space' })).toThrow(/name: use letters, digits/);
  expect(() => agentAsTool(researcher, { description: '' })).toThrow(/description: must not be empty/);
  const define = (tools: unknown[]) => () =>
    defineAgent({ name: 'writer', instructions: 'Write.', model: 'm', tools } as never);
  expect(define([agentAsTool('writer')])).toThrow(/cannot call itself as a tool/);
  expect(define([agentAsTool('calculator'), calculator])).toThrow(/tool name "calculator" is used twice/);
  expect(define([{ tool: agentAsTool('critic'), timeoutMs: 5 }])).toThrow(/unknown keys timeoutMs/);
});

test('a worker refuses to start with an agent tool it does not serve', () => {
  const writer = defineAgent({ name: 'writer', instructions: 'Write.', model: 'm', tools: [agentAsTool(researcher)] });
  expect(() => new AgentRegistry([writer]).checkHandoffs()).toThrow(
    /agent "writer" calls agent "research.eu" as a tool, which this worker does not serve/,
  );
  expect(() => new AgentRegistry([writer, researcher]).checkHandoffs()).not.toThrow();
});

test("the child's id comes from the parent's agent, conversation, turn and tool call; always within the id grammar", () => {
  const parent = { agent: 'writer', conversationId: 'acct:42', turn: 3 };
  expect(childConversationId(parent, 'call_abc')).toBe('writer:acct:42:t3:call_abc');
  expect(childConversationId(parent, 'call abc/1')).toBe('writer:acct:42:t3:call_abc_1');
  const long = childConversationId({ ...parent, conversationId: 'x'.repeat(200) }, 'call_1');
  expect(long.length).toBeLessThanOrEqual(MAX_ID_LENGTH);
  expect(long).toMatch(/^writer:sub-[0-9a-f]{16}$/);
  expect(childConversationId({ ...parent, conversationId: 'x'.repeat(200) }, 'call_1')).toBe(long);
  expect(childConversationId({ ...parent, conversationId: 'x'.repeat(200) }, 'call_2')).not.toBe(long);
});

test("the child's message is the model's input; other arguments are the model's to fix", () => {
  const call = (args: string) => ({ id: 'c1', name: 'research', arguments: args });
  expect(subAgentMessage(call('{"input":"why?"}'), 'ann')).toEqual({
    id: 'tool-call:c1',
    content: 'why?',
    author: 'ann',
  });
  expect(subAgentMessage(call('{"input":'), undefined)).toMatchObject({
    problem: expect.stringMatching(/not valid JSON/),
  });
  expect(subAgentMessage(call('{}'), undefined)).toMatchObject({ problem: expect.stringMatching(/input/) });
  expect(subAgentMessage(call('{"input":"x","more":1}'), undefined)).toHaveProperty('problem');
  const reply = { messageId: 'm', turn: 1, models: [], usage: { inputTokens: 0, outputTokens: 0 } };
  expect(subAgentResult('r', { ...reply, status: 'completed', content: 'yes' })).toEqual({
    content: 'yes',
    isError: false,
  });
  expect(subAgentResult('r', { ...reply, status: 'cancelled', content: 'stop' })).toMatchObject({ isError: true });
  expect(subAgentResult('r', undefined)).toMatchObject({ isError: true });
});

test("a child's usage adds to the parent's totals, per model, and to the parent's message author", () => {
  const parent = addModelCall(
    emptyUsage(),
    { model: 'a', inputTokens: 10, outputTokens: 1, costMicros: 5, priced: true },
    'ann',
  );
  const child = addModelCall(emptyUsage(), {
    model: 'b',
    inputTokens: 20,
    outputTokens: 2,
    costMicros: 7,
    priced: true,
  });
  const sum = addChildUsage(parent, child, 'ann');
  expect(sum).toMatchObject({ inputTokens: 30, outputTokens: 3, costMicros: 12, modelCalls: 2 });
  expect(sum.byModel).toEqual({ a: parent.byModel.a, b: child.byModel.b });
  expect(sum.byAuthor.ann).toMatchObject({ inputTokens: 30, modelCalls: 2 });
  expect(parent.modelCalls).toBe(1); // unchanged
});
