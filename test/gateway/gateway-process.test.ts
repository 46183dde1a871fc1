/**
 * `vigil gateway` (what `npm run gateway` and the Compose service run) as a process: configured from the
 * environment, serving the real worker's conversations, stopping cleanly on SIGTERM, and refusing a bad
 * configuration with every problem listed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { defineAgent } from '../../src/agents/define-agent';
import { newId, useConversations } from '../helpers/conversation';
import { conversationPath, request } from './gateway-fixture';

const ROOT = join(__dirname, '..', '..');
const TOKEN = 'main-token-0123456789abcdef';
const fx = useConversations([defineAgent({ name: 'tester', instructions: 'Be brief.', model: 'test-model' })]);

/** `vigil gateway` in a child process, with only the given Vigil and Temporal settings. */
function startGateway(settings: Record<string, string>): ChildProcess {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(VIGIL_|TEMPORAL_|OPENAI_)/.test(name)),
  );
  return spawn(process.execPath, [join(ROOT, 'bin', 'vigil.js'), 'gateway'], {
    cwd: ROOT,
    env: { ...inherited, ...settings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Collects a stream's text, for checks once the process is gone. */
function collect(stream: NodeJS.ReadableStream | null): { text: string } {
  const out = { text: '' };
  stream?.on('data', (chunk: Buffer) => (out.text += chunk.toString()));
  return out;
}

/** The URL from the gateway's `gateway listening` log line (port 0 picked a free port). */
function listeningUrl(child: ChildProcess, stdout: { text: string }): Promise<string> {
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', () => {
      const entry = stdout.text
        .split('\n')
        .slice(0, -1) // the last piece may be a line still being written
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; url?: string })
        .find((e) => e.msg === 'gateway listening');
      if (entry?.url) resolve(entry.url);
    });
    child.once('exit', (code) => reject(new Error(`the gateway exited (${code}) before listening`)));
  });
}

test('serves conversations on the configured listener and stops cleanly on SIGTERM', async () => {
  const child = startGateway({
    TEMPORAL_ADDRESS: fx.env.address,
    TEMPORAL_NAMESPACE: fx.env.namespace,
    VIGIL_TASK_QUEUE: fx.taskQueue,
    VIGIL_GATEWAY_HOST: '127.0.0.1',
    VIGIL_GATEWAY_PORT: '0',
    VIGIL_GATEWAY_TOKEN: TOKEN,
  });
  const stdout = collect(child.stdout);
  const exited = once(child, 'exit');
  try {
    const url = await listeningUrl(child, stdout);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    expect(await request(url, 'GET', '/healthz')).toMatchObject({ status: 200, body: { ok: true } });
    const id = newId();
    const answer = await request(url, 'POST', `${conversationPath('tester', id)}/messages`, {
      token: TOKEN,
      body: { content: 'through the process' },
    });
    expect(answer).toMatchObject({
      status: 200,
      body: { reply: { content: 'echo: through the process', status: 'completed' } },
    });
    expect((await request(url, 'GET', conversationPath('tester', id))).status).toBe(401);

    // Beside no worker, it knows the agents from the workers polling the task queue.
    expect((await request(url, 'GET', '/v1/models', { token: TOKEN })).body).toMatchObject({
      data: [{ id: 'tester', object: 'model' }],
    });
    const stranger = newId();
    const unknown = await request(url, 'POST', `${conversationPath('nobody', stranger)}/messages`, {
      token: TOKEN,
      body: { content: 'hello?' },
    });
    expect(unknown).toMatchObject({ status: 404, body: { error: { code: 'unknown_agent' } } });
    expect((await request(url, 'GET', conversationPath('nobody', stranger), { token: TOKEN })).status).toBe(404);

    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
    expect(stdout.text).toContain('"msg":"gateway stopped"');
    expect(stdout.text).toContain('"tokenSet":true');
    expect(stdout.text).not.toContain(TOKEN);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
  }
});

test('a bad setting stops it at once with exit code 2, listing every problem and never the token', async () => {
  const child = startGateway({
    VIGIL_GATEWAY_PORT: '99999',
    VIGIL_GATEWAY_HOST: 'not a host',
    VIGIL_GATEWAY_TOKEN: 'short-secret',
    VIGIL_GATEWAY_BODY_LIMIT: '10',
  });
  const stderr = collect(child.stderr);
  const [code] = await once(child, 'exit');
  expect(code).toBe(2);
  expect(stderr.text).toContain('VIGIL_GATEWAY_HOST must be a host name or IP address');
  expect(stderr.text).toContain('VIGIL_GATEWAY_PORT must be a port, 0 to 65535 (got "99999")');
  expect(stderr.text).toContain('VIGIL_GATEWAY_TOKEN is set but shorter than 16 characters');
  expect(stderr.text).toContain('VIGIL_GATEWAY_BODY_LIMIT must be a number of bytes from 1024 to 67108864 (got "10")');
  expect(stderr.text).not.toContain('short-secret');
});
