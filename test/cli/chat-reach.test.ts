/**
 * Issue 15's whole reach from `vigil chat`, as a user types it: one conversation whose agent uses a tool of a real
 * MCP server (test/mcp/stdio-server.ts, spawned by the worker), asks a sub-agent (agentAsTool: a child conversation
 * of its own, whose tool call the chat approves on that conversation) and hands the conversation to another agent,
 * which answers the rest of the turn. The model is the
 * scripted one; the worker, the Temporal client and the CLI process are real.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { agentAsTool } from '../../src/agents/agent-as-tool';
import { defineAgent } from '../../src/agents/define-agent';
import { McpConnections } from '../../src/tools/mcp-connections';
import { newId, useConversations } from '../helpers/conversation';
import { lookup, lookups } from '../helpers/test-agents';
import { cleanEnv, REPO } from './cli-process';

const SECRET = 'chat-reach-secret-3f9a';

// Its lookup asks for approval: the chat asks the user, and answers on the researcher's own conversation.
const researcher = defineAgent({
  name: 'reach-researcher',
  instructions: 'Find facts.',
  model: 'researcher-model',
  tools: [lookup],
});
const specialist = defineAgent({
  name: 'reach-specialist',
  instructions: 'Answer billing.',
  model: 'specialist-model',
});
const concierge = defineAgent({
  name: 'reach-concierge',
  instructions: 'Route and answer.',
  model: 'concierge-model',
  tools: [agentAsTool(researcher, { name: 'ask_researcher', description: 'Finds facts.' })],
  handoffs: [specialist],
  mcp: [
    {
      name: 'local',
      command: process.execPath,
      args: ['--import', 'tsx', join(__dirname, '../mcp/stdio-server.ts')],
      env: { API_KEY: { secret: 'REACH_MCP_KEY' }, EXPECTED_SECRET_LENGTH: String(SECRET.length) },
    },
  ],
});

const connections = new McpConnections({ secret: (name) => (name === 'REACH_MCP_KEY' ? SECRET : undefined) });
const fx = useConversations([concierge, researcher, specialist], { mcpConnections: connections });
afterAll(() => connections.close());

test('vigil chat: an MCP tool, a sub-agent and a handoff in one conversation', async () => {
  fx.model.script(
    { toolCalls: [{ name: 'local__echo', arguments: '{"text":"hi"}' }] },
    { content: 'The server said hi.' },
    { toolCalls: [{ name: 'ask_researcher', arguments: '{"input":"the capital of France?"}' }] },
    { toolCalls: [{ name: 'lookup', arguments: '{"q":"capital of France"}' }] },
    { content: 'Paris.' },
    { content: 'The researcher says Paris.' },
    { toolCalls: [{ name: 'transfer_to_reach-specialist', arguments: '{}' }] },
    { content: 'Specialist here: your invoice is paid.' },
  );
  const id = newId('reach');
  const args = ['--address', fx.env.address, '--namespace', fx.env.namespace, '--task-queue', fx.taskQueue];
  const child = spawn(
    process.execPath,
    [join(REPO, 'bin', 'vigil.js'), 'chat', ...args, '--agent', 'reach-concierge', id],
    { cwd: REPO, env: cleanEnv({ VIGIL_DATA_DIR: fx.dataDir }), stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stdin.end('echo hi\nwhat is the capital of France?\ny\nmy invoice\n');
  const [code] = (await once(child, 'close')) as [number | null];
  expect({ code, stdout }).toMatchObject({ code: 0 });

  expect(stdout).toContain('The server said hi.');
  expect(stdout).toContain('The researcher says Paris.');
  // The sub-agent's approval, asked naming its conversation, answered from the chat, and the tool ran.
  expect(stdout).toMatch(
    /agent reach-researcher \(conversation [^)]+\) asks: Allow lookup\(\{"q":"capital of France"\}\)\? \[y\]es \/ \[n\]o \/ \[a\]lways: yes\n/,
  );
  expect(lookups).toContain('capital of France');
  // Named by the agent that answered: the specialist, once the conversation was handed to it.
  expect(stdout).toContain('reach-concierge> The researcher says Paris.\n');
  expect(stdout).toContain('reach-specialist> Specialist here: your invoice is paid.\n');
  expect(stdout).toMatch(/handed from agent "reach-concierge" to agent "reach-specialist"/);

  // What the model was given: the MCP server's answer, and the sub-agent's, as tool results.
  const toolResults = fx.model.requests.flatMap((r) =>
    r.body.messages
      .filter((m) => m.role === 'tool')
      .map((m) => (typeof m.content === 'string' ? m.content : JSON.stringify(m.content))),
  );
  expect(toolResults).toContainEqual(expect.stringContaining('echo: hi'));
  expect(toolResults).toContainEqual(expect.stringContaining('Paris.'));
  expect(fx.model.requests.at(-1)?.body.model).toBe('specialist-model');
  const state = await fx.client.state('reach-concierge', id);
  expect(state).toMatchObject({ turns: 3, currentAgent: 'reach-specialist' });
}, 120_000);
