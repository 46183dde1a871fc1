/**
 * MCP servers as tool sources, end to end: the real worker, Temporal and the scripted model, with real MCP
 * servers written with the official SDK: a stdio server the worker spawns as a child process (node + tsx) and a
 * streamable-HTTP server on a local port. Lists are recorded in history at a turn's start and refreshed after
 * their TTL only; calls are checked against the recorded list; a server that dies or is down is a tool error for
 * the model; secrets reach the servers and nothing else (history, worker logs).
 */
import { mcpLogger, workerLog } from '../mcp/worker-log';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineAgent, type AgentDefinition } from '../../src/agents/define-agent';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { McpConnections } from '../../src/tools/mcp-connections';
import { type ConversationFixture, newId, startConversationHarness } from '../helpers/conversation';
import { historyText } from '../helpers/history-text';
import { eventually } from '../helpers/conformance';
import { startHttpTestServer, type HttpTestServer } from '../mcp/http-server';

const STDIO_SECRET = 'stdio-secret-value-7f3a9c';
const HTTP_SECRET = 'http-secret-value-b81d44';
const SECRETS: Record<string, string> = { TEST_MCP_KEY: STDIO_SECRET, TEST_MCP_BEARER: `Bearer ${HTTP_SECRET}` };

const dir = mkdtempSync(join(tmpdir(), 'vigil-mcp-'));
const extraTools = join(dir, 'extra-tools.txt');
writeFileSync(extraTools, '');
/** The extra tool of the agent handed to, whose server has the same name as the first agent's. */
const specialistTools = join(dir, 'specialist-tools.txt');
writeFileSync(specialistTools, 'special_op\n');

/** A stdio server of the test, spawned by the worker as node + tsx. */
function stdioServer(env: Record<string, string> = {}) {
  return {
    command: process.execPath,
    args: ['--import', 'tsx', join(__dirname, '../mcp/stdio-server.ts')],
    env: {
      API_KEY: { secret: 'TEST_MCP_KEY' },
      EXPECTED_SECRET_LENGTH: String(STDIO_SECRET.length),
      EXTRA_TOOLS_FILE: extraTools,
      ...env,
    },
  };
}

const agent = (name: string, mcp: AgentDefinition['mcp']) =>
  defineAgent({ name, instructions: 'Use your tools.', model: 'test-model', mcp });

let fx: ConversationFixture & { close(): Promise<void> };
let http: HttpTestServer;
let connections: McpConnections;

beforeAll(async () => {
  http = await startHttpTestServer(HTTP_SECRET);
  connections = new McpConnections({ secret: (name) => SECRETS[name], logger: mcpLogger });
  fx = await startConversationHarness(
    [
      agent('mcp-stdio', [
        { name: 'local', ...stdioServer(), ttlMs: 3_600_000, tools: { fail: { approval: 'deny' } } },
      ]),
      agent('mcp-fresh', [{ name: 'local', ...stdioServer(), ttlMs: 0 }]),
      agent('mcp-http', [
        { name: 'remote', url: http.url, headers: { Authorization: { secret: 'TEST_MCP_BEARER' } }, ttlMs: 0 },
      ]),
      defineAgent({
        name: 'mcp-long',
        instructions: 'Use your tools.',
        model: 'test-model',
        mcp: [{ name: 'local', ...stdioServer(), ttlMs: 3_600_000 }],
        limits: { continueAsNewAfterEvents: 100, continueAsNewWhenSuggested: false },
      }),
      agent('mcp-ask', [{ name: 'ask', ...stdioServer(), approval: 'ask', tools: { whoami: { approval: 'auto' } } }]),
      agent('mcp-slow', [{ name: 'slow', ...stdioServer({ LIST_DELAY_MS: '1500' }) }]),
      defineAgent({
        name: 'mcp-front',
        instructions: 'Hand off when asked.',
        model: 'test-model',
        mcp: [{ name: 'local', ...stdioServer(), ttlMs: 3_600_000 }],
        handoffs: ['mcp-specialist'],
      }),
      agent('mcp-specialist', [
        { name: 'local', ...stdioServer({ EXTRA_TOOLS_FILE: specialistTools }), ttlMs: 3_600_000 },
      ]),
      agent('mcp-too-slow', [{ name: 'slow', ...stdioServer({ LIST_DELAY_MS: '5000' }), listTimeoutMs: 1_000 }]),
    ],
    { mcpConnections: connections },
  );
});

afterAll(async () => {
  await fx?.close();
  await connections?.close();
  await http?.close();
  rmSync(dir, { recursive: true, force: true });
});

afterEach(() => fx.model.reset());

/** The history's payloads as text, and the activities it scheduled, by type (the latest run's, by default). */
async function history(agentName: string, conversationId: string, runId?: string) {
  const { events } = await fx.env.client.workflow
    .getHandle(conversationWorkflowId(agentName, conversationId), runId)
    .fetchHistory();
  const continuedFrom = events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  const activities = (events ?? []).flatMap((e) =>
    e.activityTaskScheduledEventAttributes ? [e.activityTaskScheduledEventAttributes.activityType?.name] : [],
  );
  return { text: historyText(events), activities, continuedFrom };
}

/** The tool results the model was sent in a request, by tool call id. */
function toolResults(requestIndex: number): Record<string, string> {
  const messages = fx.model.requests[requestIndex].body.messages;
  return Object.fromEntries(
    messages.flatMap((m) =>
      m.role === 'tool'
        ? [[m.tool_call_id, typeof m.content === 'string' ? m.content : JSON.stringify(m.content)]]
        : [],
    ),
  );
}

function offered(requestIndex: number): string[] {
  return (fx.model.requests[requestIndex].body.tools ?? []).map((t) => (t.type === 'function' ? t.function.name : ''));
}

function expectNoSecrets(text: string): void {
  for (const secret of [STDIO_SECRET, HTTP_SECRET]) expect(text).not.toContain(secret);
}

test('a stdio server: its tools offered as <server>__<tool>, calls run on it with its secret, checked against the recorded list', async () => {
  const id = newId();
  const first = fx.model.requests.length;
  fx.model.script(
    {
      toolCalls: [
        { id: 'c1', name: 'local__echo', arguments: '{"text":"hi"}' },
        { id: 'c2', name: 'local__secret_check', arguments: '{}' },
        { id: 'c3', name: 'local__nope', arguments: '{}' },
        { id: 'c4', name: 'local__fail', arguments: '{}' },
      ],
    },
    { content: 'done' },
  );
  const reply = await fx.client.send('mcp-stdio', id, { id: newId('m'), content: 'go' });
  expect(reply).toMatchObject({ status: 'completed', content: 'done' });

  const tools = offered(first);
  expect(tools).toEqual(
    expect.arrayContaining(['local__echo', 'local__secret_check', 'local__whoami', 'local__crash']),
  );
  // Denied for this agent, and a name the model could not call: neither offered.
  expect(tools).not.toContain('local__fail');
  expect(tools.some((name) => name.includes('xxxx'))).toBe(false);
  // The second call names the agent's version: the worker adds the recorded MCP tools to its own (none).
  expect(offered(first + 1)).toEqual(tools);

  expect(toolResults(first + 1)).toEqual({
    c1: 'echo: hi',
    c2: 'the secret arrived',
    c3: expect.stringMatching(/unknown tool "local__nope"; available: local__echo, local__secret_check/),
    c4: expect.stringMatching(/not allowed for this agent/),
  });

  // A second turn within the TTL lists nothing: one listing, recorded in history.
  fx.model.script({ toolCalls: [{ id: 'c5', name: 'local__echo', arguments: '{"text":"again"}' }] }, { content: 'ok' });
  await fx.client.send('mcp-stdio', id, { id: newId('m'), content: 'again' });
  const { text, activities } = await history('mcp-stdio', id);
  expect(activities.filter((a) => a === 'listMcpTools')).toHaveLength(1);
  expect(activities.filter((a) => a === 'runTool')).toHaveLength(3);
  expectNoSecrets(text);
  // The server printed its secret to stderr: the worker logged that line with the secret taken out.
  expect(workerLog.some((line) => line.includes('API_KEY=[secret]'))).toBe(true);
  expectNoSecrets(workerLog.join('\n'));
});

test('a stdio server that dies during a call is a tool error for the model, and the next call starts it again', async () => {
  const id = newId();
  const first = fx.model.requests.length;
  fx.model.script(
    { toolCalls: [{ id: 'w1', name: 'local__whoami', arguments: '{}' }] },
    { toolCalls: [{ id: 'x', name: 'local__crash', arguments: '{}' }] },
    { toolCalls: [{ id: 'w2', name: 'local__whoami', arguments: '{}' }] },
    { content: 'recovered' },
  );
  const reply = await fx.client.send('mcp-stdio', id, { id: newId('m'), content: 'crash it' });
  expect(reply).toMatchObject({ status: 'completed', content: 'recovered' });
  const results = toolResults(first + 3);
  const pid = (result: string) => /pid (\d+)/.exec(result)?.[1];
  expect(results.x).toMatch(/MCP server "local" could not run crash: it stopped or closed the connection/);
  expect(pid(results.w2)).toBeDefined();
  expect(pid(results.w2)).not.toBe(pid(results.w1));
  expect(results.w2).toMatch(/call 1$/);
});

test('a list past its TTL is fetched again at the next turn, never within one; a list the server changed takes effect then', async () => {
  const id = newId();
  writeFileSync(extraTools, '');
  fx.model.script(
    {
      toolCalls: [
        { id: 'l1', name: 'local__late_tool', arguments: '{}' },
        { id: 'f1', name: 'local__fail', arguments: '{}' },
      ],
    },
    { content: 'one' },
  );
  const first = fx.model.requests.length;
  await fx.client.send('mcp-fresh', id, { id: newId('m'), content: 'first' });
  expect(toolResults(first + 1).l1).toMatch(/unknown tool "local__late_tool"/);
  // A failure the server reports (isError) is the model's to read, as any failing tool's.
  expect(toolResults(first + 1).f1).toMatch(/the tool failed on purpose/);

  writeFileSync(extraTools, 'late_tool\n');
  fx.model.script({ toolCalls: [{ id: 'l2', name: 'local__late_tool', arguments: '{}' }] }, { content: 'two' });
  const second = fx.model.requests.length;
  await fx.client.send('mcp-fresh', id, { id: newId('m'), content: 'second' });
  expect(offered(second)).toContain('local__late_tool');
  expect(toolResults(second + 1).l2).toBe('called late_tool');

  // Two turns, two listings (ttlMs 0), each at its turn's start; the agent with an hour's TTL still has its old list.
  expect((await history('mcp-fresh', id)).activities.filter((a) => a === 'listMcpTools')).toHaveLength(2);
  writeFileSync(extraTools, '');
});

test('a streamable-HTTP server with a secret header; once it is down, listing falls back to the recorded list and a call is a tool error', async () => {
  const id = newId();
  const first = fx.model.requests.length;
  fx.model.script(
    {
      toolCalls: [
        { id: 'h1', name: 'remote__echo', arguments: '{"text":"over http"}' },
        { id: 'h2', name: 'remote__secret_check', arguments: '{}' },
      ],
    },
    { content: 'http ok' },
  );
  await fx.client.send('mcp-http', id, { id: newId('m'), content: 'go' });
  expect(toolResults(first + 1)).toEqual({ h1: 'echo: over http', h2: 'the secret arrived' });
  expect(http.unauthorized).toBe(0);

  await http.close();
  const second = fx.model.requests.length;
  fx.model.script(
    { toolCalls: [{ id: 'h3', name: 'remote__echo', arguments: '{"text":"down"}' }] },
    { content: 'sorry' },
  );
  const reply = await fx.client.send('mcp-http', id, { id: newId('m'), content: 'again' });
  expect(reply).toMatchObject({ status: 'completed', content: 'sorry' });
  expect(offered(second)).toContain('remote__echo');
  expect(toolResults(second + 1).h3).toMatch(/MCP server "remote" could not run echo/);

  const transcript = await fx.client.transcript('mcp-http', id);
  expect(transcript.entries).toContainEqual(
    expect.objectContaining({
      role: 'notice',
      turn: 2,
      content: expect.stringMatching(/tools of MCP server "remote" could not be listed .*uses its list from/),
    }),
  );
  const { text } = await history('mcp-http', id);
  expectNoSecrets(text);
  expectNoSecrets(workerLog.join('\n'));
});

test('a server that lists slowly holds the turn up to its list timeout; one slower than that leaves the turn without its tools, and says so', async () => {
  fx.model.script(
    { toolCalls: [{ id: 's1', name: 'slow__echo', arguments: '{"text":"late"}' }] },
    { content: 'slow ok' },
  );
  const first = fx.model.requests.length;
  const started = Date.now();
  await fx.client.send('mcp-slow', newId(), { id: newId('m'), content: 'go' });
  expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
  expect(toolResults(first + 1).s1).toBe('echo: late');

  const id = newId();
  fx.model.script({ content: 'no tools today' });
  const second = fx.model.requests.length;
  const reply = await fx.client.send('mcp-too-slow', id, { id: newId('m'), content: 'go' });
  expect(reply).toMatchObject({ status: 'completed', content: 'no tools today' });
  expect(offered(second)).toEqual([]);
  const transcript = await fx.client.transcript('mcp-too-slow', id);
  expect(transcript.entries).toContainEqual(
    expect.objectContaining({
      role: 'notice',
      content: expect.stringMatching(/tools of MCP server "slow" could not be listed .*goes on without its tools/),
    }),
  );
  // And the workflow's log, which the runtime hands on after the workflow task that wrote it.
  await eventually(async () =>
    workerLog.find((line) => /WARN The tools of MCP server "slow" could not be listed/.test(line)),
  );
});

test("an agent handed to has its own servers listed at the handoff and uses them in that turn; a server named as the first agent's keeps its own list", async () => {
  const id = newId();
  const first = fx.model.requests.length;
  fx.model.script(
    { toolCalls: [{ id: 'h1', name: 'transfer_to_mcp-specialist', arguments: '{}' }] },
    { toolCalls: [{ id: 'h2', name: 'local__special_op', arguments: '{}' }] },
    { content: 'done' },
  );
  const reply = await fx.client.send('mcp-front', id, { id: newId('m'), content: 'hand me over' });
  expect(reply).toMatchObject({ status: 'completed', content: 'done' });
  expect(offered(first)).not.toContain('local__special_op');
  // Right after the handoff, in the same turn: the specialist's server, listed then, not the front agent's list.
  expect(offered(first + 1)).toEqual(expect.arrayContaining(['local__echo', 'local__special_op']));
  expect(toolResults(first + 2)).toMatchObject({ h2: 'called special_op' });

  // The next turn, within both TTLs, lists nothing: the specialist keeps its list, the front agent its own.
  const next = fx.model.requests.length;
  fx.model.script({ toolCalls: [{ id: 'h3', name: 'local__special_op', arguments: '{}' }] }, { content: 'again' });
  await fx.client.send('mcp-front', id, { id: newId('m'), content: 'once more' });
  expect(offered(next)).toContain('local__special_op');
  expect(toolResults(next + 1)).toMatchObject({ h3: 'called special_op' });
  const { activities } = await history('mcp-front', id);
  expect(activities.filter((a) => a === 'listMcpTools')).toHaveLength(2);
});

test('the recorded lists go along with a continue-as-new: the next run lists nothing before the TTL', async () => {
  const id = newId();
  fx.model.script({ toolCalls: [{ id: 'a1', name: 'local__echo', arguments: '{"text":"one"}' }] }, { content: 'one' });
  await fx.client.send('mcp-long', id, { id: newId('m'), content: 'first' });
  // Short turns (the echo model) until the run has continued as new at its 100 events.
  for (let sent = 0; !(await history('mcp-long', id)).continuedFrom; sent++) {
    if (sent > 30) throw new Error('the conversation did not continue as new');
    await fx.client.send('mcp-long', id, { id: newId('m'), content: `turn ${sent}` });
  }
  const first = fx.model.requests.length;
  fx.model.script({ toolCalls: [{ id: 'a2', name: 'local__echo', arguments: '{"text":"two"}' }] }, { content: 'two' });
  await fx.client.send('mcp-long', id, { id: newId('m'), content: 'after the switch' });
  expect(offered(first)).toContain('local__echo');
  expect(toolResults(first + 1).a2).toBe('echo: two');

  const latest = await history('mcp-long', id);
  expect(latest.activities).toContain('runTool');
  expect(latest.activities).not.toContain('listMcpTools');
  const previous = await history('mcp-long', id, latest.continuedFrom);
  expect(previous.activities.filter((a) => a === 'listMcpTools')).toHaveLength(1);
});

test("a server's approval policy holds for its tools, with a tool's own override: an `ask` call waits for a decision", async () => {
  const id = newId();
  const first = fx.model.requests.length;
  fx.model.script(
    {
      toolCalls: [
        { id: 'q1', name: 'ask__echo', arguments: '{"text":"approved"}' },
        { id: 'q2', name: 'ask__whoami', arguments: '{}' },
      ],
    },
    { content: 'asked' },
  );
  const reply = fx.client.send('mcp-ask', id, { id: newId('m'), content: 'go' });
  const pending = await eventually(async () => {
    const state = await fx.client.state('mcp-ask', id).catch(() => undefined);
    return state?.pendingApprovals.length ? state.pendingApprovals : undefined;
  });
  expect(pending.map((p) => p.tool)).toEqual(['ask__echo']);
  await fx.client.decide('mcp-ask', id, { toolCallId: 'q1', decision: 'approve' });
  expect(await reply).toMatchObject({ status: 'completed', content: 'asked' });
  expect(toolResults(first + 1)).toEqual({ q1: 'echo: approved', q2: expect.stringMatching(/^pid \d+, call \d+$/) });
});
