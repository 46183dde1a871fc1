/**
 * An agent's MCP servers: what defineAgent refuses (every problem at once), what the workflow's spec holds of them
 * (no command, URL or secret), and the pure rules of the recorded lists (due after the TTL, merged as
 * `<server>__<tool>` tools with the server's policy, offered to a call by version).
 */
import { z } from 'zod';
import { defineAgent } from '../../src/agents/define-agent';
import { ConfigError } from '../../src/errors';
import { admit, beginTurn, carriedState, initialState, restoreState } from '../../src/conversation/state';
import {
  mcpListsDue,
  mcpModelTools,
  recordMcpListing,
  recordMcpListingFailure,
  splitMcpToolName,
  withMcpTools,
  type McpState,
} from '../../src/conversation/mcp-tools';
import { defineTool } from '../../src/tools';

const base = { instructions: 'Be brief.', model: 'test-model' };

function problems(mcp: unknown, extra: object = {}): string[] {
  try {
    defineAgent({ name: 'a', ...base, ...extra, mcp: mcp as never });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

test('defineAgent reports every problem with its MCP servers at once', () => {
  const clash = defineTool({ name: 'gh__x', description: 'x', parameters: z.object({}), execute: () => 'x' });
  expect(
    problems(
      [
        { name: 'gh', command: 'node', env: { KEY: { secret: '' } } },
        { name: 'bad_name', url: 'http://localhost:1/mcp' },
        { name: 'both', command: 'node', url: 'http://localhost:1/mcp' },
        { name: 'ftp', url: 'ftp://example.com/mcp' },
        { name: 'gh', url: 'http://localhost:1/mcp', approval: 'maybe', typo: 1 },
      ],
      { tools: [clash] },
    ),
  ).toEqual([
    'agent "a": mcp.0.env.KEY.secret: must name a secret of the worker',
    expect.stringMatching(/^agent "a": mcp\.1\.name: must be 1-32 letters, digits or "-"/),
    'agent "a": mcp.2: needs either command (a stdio server) or url (a streamable-HTTP server)',
    'agent "a": mcp.3.url: must be an http(s) URL',
    expect.stringMatching(/^agent "a": mcp\.4\.approval: /),
    expect.stringMatching(/^agent "a": mcp\.4: Unrecognized key: "typo"/),
  ]);
  expect(
    problems(
      [
        { name: 'gh', command: 'node' },
        { name: 'gh', command: 'node' },
      ],
      { tools: [clash] },
    ),
  ).toEqual([
    'agent "a": mcp.1: server name "gh" is used twice; it names the server\'s tools',
    'agent "a": tool name "gh__x" begins as the tools of MCP server "gh" do',
  ]);
  // A retry policy Temporal would refuse when the call is scheduled (failing the workflow task at every attempt),
  // counting the defaults (10 s at most) it is merged with; and a misspelt retry field.
  expect(
    problems([
      { name: 'slow', command: 'node', retry: { initialIntervalMs: 20_000 } },
      { name: 'tool', command: 'node', tools: { search: { retry: { maximumIntervalMs: 100 } } } },
      { name: 'typo', command: 'node', retry: { maxAttempts: 2 } },
      { name: 'fine', command: 'node', retry: { initialIntervalMs: 20_000, maximumIntervalMs: 60_000 } },
    ]),
  ).toEqual([
    'agent "a": mcp.0: retry.maximumIntervalMs (10000) must be at least retry.initialIntervalMs (20000), counting the defaults it is merged with: set both',
    'agent "a": mcp.1.tools.search: retry.maximumIntervalMs (100) must be at least retry.initialIntervalMs (500), counting the defaults it is merged with: set both',
    expect.stringMatching(/^agent "a": mcp\.2\.retry: Unrecognized key: "maxAttempts"/),
  ]);
});

test("the spec holds each server's policy and TTL, never how to reach it or its secrets; an agent without servers keeps its version", () => {
  const plain = defineAgent({ name: 'a', ...base });
  const withServers = defineAgent({
    name: 'a',
    ...base,
    mcp: [
      {
        name: 'gh',
        command: 'npx',
        args: ['server'],
        env: { TOKEN: { secret: 'GITHUB_TOKEN' }, MODE: 'read' },
        approval: 'ask',
        tools: { search: { approval: 'auto' } },
      },
      { name: 'docs', url: 'https://docs.example.com/mcp', headers: { Authorization: { secret: 'DOCS' } } },
    ],
  });
  expect(plain.spec()).not.toHaveProperty('mcp');
  expect(plain.version).toBe(defineAgent({ name: 'a', ...base, mcp: [] }).version);
  expect(withServers.spec().mcp).toEqual([
    {
      name: 'gh',
      ttlMs: 300_000,
      listTimeoutMs: 30_000,
      approval: 'ask',
      timeoutMs: 30_000,
      retry: { maximumAttempts: 3, initialIntervalMs: 500, backoffCoefficient: 2, maximumIntervalMs: 10_000 },
      tools: { search: { approval: 'auto' } },
    },
    expect.objectContaining({ name: 'docs', approval: 'auto' }),
  ]);
  const text = JSON.stringify(withServers.spec());
  for (const hidden of ['npx', 'GITHUB_TOKEN', 'docs.example.com', 'DOCS', 'read']) expect(text).not.toContain(hidden);
  expect(withServers.mcpServers?.map((s) => s.name)).toEqual(['gh', 'docs']);
});

test('recorded lists: due when missing or past the TTL, merged as <server>__<tool> with the policies, offered by version', () => {
  const agent = defineAgent({
    name: 'a',
    ...base,
    mcp: [{ name: 'gh', command: 'npx', ttlMs: 60_000, approval: 'ask', tools: { secret_op: { approval: 'deny' } } }],
  }).spec();
  const state: McpState = { agent: 'a' };
  expect(mcpListsDue(state, agent, '2026-01-01T00:00:00.000Z').map((s) => s.name)).toEqual(['gh']);
  const tool = (name: string) => ({ name, description: name, parameters: { type: 'object' } });
  recordMcpListing(state, 'a', 'gh', [tool('search'), tool('secret_op')], '2026-01-01T00:00:00.000Z');
  expect(mcpListsDue(state, agent, '2026-01-01T00:00:59.999Z')).toEqual([]);
  expect(mcpListsDue(state, agent, '2026-01-01T00:01:00.000Z').map((s) => s.name)).toEqual(['gh']);

  const merged = withMcpTools(agent, state);
  expect(merged.tools.map((t) => [t.name, t.approval])).toEqual([
    ['gh__search', 'ask'],
    ['gh__secret_op', 'deny'],
  ]);
  expect(mcpModelTools(merged).map((t) => t.name)).toEqual(['gh__search']);
  const none = defineAgent({ name: 'b', ...base }).spec();
  expect(withMcpTools(none, state)).toBe(none);

  // An agent handed to with a server of the same name has a list of its own, due until it is fetched.
  const other = defineAgent({ name: 'b', ...base, mcp: [{ name: 'gh', command: 'other' }] }).spec();
  expect(mcpListsDue(state, other, '2026-01-01T00:00:01.000Z').map((s) => s.name)).toEqual(['gh']);
  expect(withMcpTools(other, state).tools).toEqual([]);
  recordMcpListing(state, 'b', 'gh', [tool('issues')], '2026-01-01T00:00:01.000Z');
  expect(Object.keys(state.mcpTools ?? {})).toEqual(['gh', 'b/gh']);
  expect(withMcpTools(other, state).tools.map((t) => t.name)).toEqual(['gh__issues']);
  expect(withMcpTools(agent, state).tools.map((t) => t.name)).toEqual(['gh__search', 'gh__secret_op']);

  expect(splitMcpToolName('gh__search__deep')).toEqual({ server: 'gh', tool: 'search__deep' });
  expect(splitMcpToolName('plain_tool')).toBeUndefined();
  expect(splitMcpToolName('__x')).toBeUndefined();
});

test('a failed listing keeps the recorded list and its time, says so in a notice; the lists go along with a continue-as-new', () => {
  const state = initialState('a', 'c1');
  admit(state, { id: 'm1', content: 'hi' });
  beginTurn(state, '2026-01-01T00:00:00.000Z');
  const tool = { name: 'search', description: 'search', parameters: { type: 'object' } };
  expect(recordMcpListingFailure(state, 'a', 'gh', 'connection refused', '2026-01-01T00:00:01.000Z')).toBe(
    'The tools of MCP server "gh" could not be listed (connection refused); this turn goes on without its tools.',
  );
  recordMcpListing(state, 'a', 'gh', [tool], '2026-01-01T00:00:02.000Z');
  recordMcpListingFailure(state, 'a', 'gh', 'timed out', '2026-01-01T00:10:00.000Z');
  expect(state.mcpTools).toEqual({ gh: { listedAt: '2026-01-01T00:00:02.000Z', tools: [tool] } });
  expect(state.transcript.flatMap((e) => (e.role === 'notice' && 'content' in e ? [e.content] : []))).toEqual([
    expect.stringMatching(/without its tools/),
    'The tools of MCP server "gh" could not be listed (timed out); this turn uses its list from 2026-01-01T00:00:02.000Z (1 tool).',
  ]);
  const next = restoreState(JSON.parse(JSON.stringify(carriedState(state))), 'a', 'c1');
  expect(next.mcpTools).toEqual(state.mcpTools);
  expect('mcpTools' in restoreState(JSON.parse(JSON.stringify(initialState('a', 'c2'))), 'a', 'c2')).toBe(false);
});
