/**
 * `startAgentTest` as an app uses it: its own agent and tool, a scripted model, replies, the requests the model got,
 * an approval, a fault, and the settings it refuses.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { WorkflowNotFoundError } from '@temporalio/client';
import { ConfigError, conversationWorkflowId, defineAgent, defineTool, UnknownAgentError } from '../../src';
import { startAgentTest, type AgentTest } from '../../src/testing';

const calls: string[] = [];
const wordCount = defineTool({
  name: 'word_count',
  description: 'Counts the words of a text',
  parameters: z.object({ text: z.string() }),
  execute: async ({ text }) => {
    calls.push(text);
    return String(text.split(/\s+/).filter(Boolean).length);
  },
});
const erase = defineTool({
  name: 'erase',
  description: 'Erases a file',
  parameters: z.object({ path: z.string() }),
  approval: 'ask',
  execute: async ({ path }) => `erased ${path}`,
});
const helper = defineAgent({
  name: 'helper',
  instructions: 'Count words when asked.',
  model: 'test-model',
  tools: [wordCount, erase],
});

const SECRET = 'agent-test-secret-value';
/** An MCP server of the tests (a child process), with a secret the test hands to the worker. */
const withServer = defineAgent({
  name: 'with-server',
  instructions: 'Use your server.',
  model: 'test-model',
  mcp: [
    {
      name: 'local',
      command: process.execPath,
      args: ['--import', 'tsx', join(__dirname, '../mcp/stdio-server.ts')],
      env: { API_KEY: { secret: 'AGENT_TEST_MCP_KEY' }, EXPECTED_SECRET_LENGTH: String(SECRET.length) },
    },
  ],
});

let t: AgentTest;
beforeAll(async () => {
  // The default path, as an app takes it: the worker bundles Vigil's workflows itself.
  t = await startAgentTest({ agents: [helper, withServer], mcpSecrets: { AGENT_TEST_MCP_KEY: SECRET } });
});
afterAll(async () => {
  await t?.close();
});
beforeEach(() => t.model.reset());

test("the agent's tool runs, and the model sees its result and the agent's instructions", async () => {
  t.model.script(
    { toolCalls: [{ id: 'call-1', name: 'word_count', arguments: '{"text":"one two three"}' }] },
    { content: 'Three words.' },
  );
  const conversation = t.conversation('helper');
  const reply = await conversation.send('How many words in "one two three"?');

  expect(reply).toMatchObject({ status: 'completed', content: 'Three words.', models: ['test-model', 'test-model'] });
  expect(calls).toEqual(['one two three']);
  const [first, second] = [await t.model.nextRequest(), await t.model.nextRequest()];
  expect(first.body.model).toBe('test-model');
  expect(first.body.messages[0]).toEqual({ role: 'system', content: 'Count words when asked.' });
  expect(second.body.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: 'call-1', content: '3' });

  const { entries } = await conversation.transcript();
  expect(entries.map((entry) => entry.role)).toEqual(['user', 'assistant', 'tool', 'assistant']);
  expect((await conversation.state()).status).toBe('idle');
});

test("an MCP server's tools run on the worker's own connections, with the secret the test gave", async () => {
  t.model.script(
    { toolCalls: [{ id: 'call-1', name: 'local__secret_check', arguments: '{}' }] },
    { content: 'Checked.' },
  );
  const reply = await t.conversation('with-server').send('check your secret');
  expect(reply).toMatchObject({ status: 'completed', content: 'Checked.' });
  await t.model.nextRequest();
  const second = await t.model.nextRequest();
  expect(second.body.messages.at(-1)).toEqual({ role: 'tool', tool_call_id: 'call-1', content: 'the secret arrived' });
});

test('a tool that needs approval waits for the decision', async () => {
  t.model.script(
    { toolCalls: [{ id: 'call-e', name: 'erase', arguments: '{"path":"/tmp/x"}' }] },
    { content: 'Erased.' },
  );
  const conversation = t.conversation('helper');
  await conversation.open();
  const events = conversation.events();
  const replied = conversation.send('Erase /tmp/x');
  for await (const { event } of events) {
    if (event.type === 'tool.awaiting_approval') break;
  }
  expect((await conversation.state()).pendingApprovals).toMatchObject([{ toolCallId: 'call-e', tool: 'erase' }]);
  await conversation.decide({ toolCallId: 'call-e', decision: 'approve' });

  expect(await replied).toMatchObject({ status: 'completed', content: 'Erased.' });
  const toolResult = t.model.requests.at(-1)!.body.messages.at(-1);
  expect(toolResult).toEqual({ role: 'tool', tool_call_id: 'call-e', content: 'erased /tmp/x' });
});

test("a provider's fault is retried, and the reply still comes", async () => {
  t.model.script({ status: 500, message: 'upstream down' }, { content: 'Back again.' });
  const reply = await t.conversation('helper').send('hello?');
  expect(reply).toMatchObject({ status: 'completed', content: 'Back again.' });
  expect(t.model.requests.slice(-2).map((request) => request.body.messages.at(-1))).toEqual([
    { role: 'user', content: 'hello?' },
    { role: 'user', content: 'hello?' },
  ]);
});

test('unscripted, the model echoes, and conversations keep apart', async () => {
  const [a, b] = [t.conversation('helper', 'a'), t.conversation('helper', 'b')];
  expect((await a.send('first')).content).toBe('echo: first');
  expect((await b.send('second')).content).toBe('echo: second');
  expect((await a.transcript()).entries.map((entry) => entry.content)).toEqual(['first', 'echo: first']);
});

test('a misspelt agent is an UnknownAgentError, and no conversation is started', async () => {
  const conversation = t.conversation('helpr');
  await expect(conversation.send('hi')).rejects.toThrow(new UnknownAgentError('helpr', ['helper', 'with-server']));
  await expect(
    t.env.client.workflow.getHandle(conversationWorkflowId('helpr', conversation.id)).describe(),
  ).rejects.toThrow(WorkflowNotFoundError);
});

test('settings that place the test are refused, before anything starts', async () => {
  const refused = startAgentTest({
    agents: [helper],
    settings: { OPENAI_BASE_URL: 'http://example.com', VIGIL_PRICES: '{}' },
  });
  await expect(refused).rejects.toThrow(ConfigError);
  await expect(refused).rejects.toThrow('OPENAI_BASE_URL is set by startAgentTest itself; leave it out of settings');
});
