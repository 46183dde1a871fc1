/**
 * The worker's MCP connections on their own, against the test's stdio server (a real child process): a missing
 * secret is named, never shown; an idle connection is closed, its server stopped, and the next call starts it again.
 */
import { join } from 'node:path';
import type { McpStdioServer } from '../../src/agents/mcp-servers';
import { McpConnections, McpServerError } from '../../src/tools/mcp-connections';

const SECRET = 'pool-secret-value-51c0';

const server: McpStdioServer = {
  name: 'local',
  command: process.execPath,
  args: ['--import', 'tsx', join(__dirname, '../mcp/stdio-server.ts')],
  env: { API_KEY: { secret: 'POOL_KEY' }, EXPECTED_SECRET_LENGTH: String(SECRET.length) },
};

const pidOf = (text: string) => Number(/pid (\d+)/.exec(text)?.[1]);

/** Waits until the process has exited (polled: nothing tells this process when another one ends). */
async function exited(pid: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (alive(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} is still running`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a secret the worker lacks is named in the error, for the model and the log', async () => {
  const connections = new McpConnections({ secret: () => undefined });
  try {
    const error = await connections.callTool('a', server, 'echo', { text: 'x' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(McpServerError);
    expect((error as Error).message).toBe(
      'MCP server "local": the secret POOL_KEY (for env.API_KEY) is not set on this worker',
    );
  } finally {
    await connections.close();
  }
});

test('a stdio server that cannot start is an error that says so, at every call', async () => {
  const connections = new McpConnections();
  const missing = { name: 'gone', command: '/nonexistent/mcp-server' };
  try {
    for (let attempt = 0; attempt < 2; attempt++) {
      const error = await connections.callTool('a', missing, 'echo', {}).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(McpServerError);
      expect((error as Error).message).toMatch(/^MCP server "gone" could not run echo: .*ENOENT/);
    }
  } finally {
    await connections.close();
  }
});

test('an idle connection is closed and its server stopped; the next call starts it again, and close() stops it', async () => {
  const connections = new McpConnections({ secret: (name) => (name === 'POOL_KEY' ? SECRET : undefined), idleMs: 200 });
  try {
    const first = await connections.callTool('a', server, 'whoami', {});
    expect(await connections.callTool('a', server, 'secret_check', {})).toEqual({
      content: 'the secret arrived',
      isError: false,
    });
    const pid = pidOf(first.content);
    expect(alive(pid)).toBe(true);
    await exited(pid);

    const second = await connections.callTool('a', server, 'whoami', {});
    expect(pidOf(second.content)).not.toBe(pid);
    expect(second.content).toMatch(/call 1$/);
    await connections.close();
    await exited(pidOf(second.content));
    await expect(connections.callTool('a', server, 'whoami', {})).rejects.toThrow(/the worker is shutting down/);
  } finally {
    await connections.close();
  }
});
