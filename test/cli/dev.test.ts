/**
 * `vigil dev` as a user runs it on a machine with nothing configured: no Temporal address, no model, no
 * `temporal` CLI. It must serve messages end to end (in-process Temporal, demo model, worker, gateway), the
 * other commands must work against it, and Ctrl-C must stop it cleanly.
 */
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import OpenAI from 'openai';
import { cleanEnv, DATA_DIR, REPO, runCli, startCli, type CliProcess } from './cli-process';

/** Waits for the ready banner; returns the Temporal address and gateway URL (if any) it prints. */
async function ready(dev: CliProcess): Promise<{ address: string; gateway?: string }> {
  // The banner is written at once, so when its last line is there, all of it is.
  await dev.waitFor(/^Ctrl-C stops\.$/m);
  const address = /npx vigil send --address (\S+)/.exec(dev.stderr())?.[1];
  if (address === undefined) throw new Error(`no address in the banner:\n${dev.stderr()}`);
  return { address, gateway: /^ {2}Gateway {3}(\S+)$/m.exec(dev.stderr())?.[1] };
}

/** Every dev process a test starts, so one left running by a failed test is killed rather than hanging jest. */
const running: CliProcess[] = [];
function startDev(args: string[], env?: NodeJS.ProcessEnv): CliProcess {
  const dev = startCli(['dev', ...args], env);
  running.push(dev);
  return dev;
}
afterAll(async () => {
  for (const dev of running.splice(0)) {
    if (dev.child.exitCode === null && dev.child.signalCode === null) dev.child.kill('SIGKILL');
    await dev.exited;
  }
});

describe('with nothing configured', () => {
  let dev: CliProcess;
  let address: string;
  let gateway: string;

  beforeAll(async () => {
    dev = startDev(['--port', '0', '--gateway-port', '0']);
    const banner = await ready(dev);
    address = banner.address;
    gateway = banner.gateway!;
  });

  test('says that Temporal is in memory only and that the model is the offline demo', () => {
    expect(dev.stderr()).toContain('in-process Temporal server');
    expect(dev.stderr()).toContain('in memory only');
    expect(dev.stderr()).toContain('offline demo model "vigil-demo"');
  });

  test("vigil send gets the demo model's answer, computed with the calculator tool", async () => {
    const { code, stdout, stderr } = await runCli(['send', '--address', address, 'cli-test', 'what is 17*23']);
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'The calculator says 391.\n' });
    expect(stderr).toMatch(/turn 1 · completed · vigil-demo/);
  });

  test('vigil send --json prints the whole reply; the same --id gets the same reply', async () => {
    const send = () => runCli(['send', '--address', address, 'cli-test', 'hello', '--id', 'msg-hello', '--json']);
    const first = await send();
    expect(first.code).toBe(0);
    const reply = JSON.parse(first.stdout) as { turn: number; messageId: string; content: string; models: string[] };
    expect(reply).toMatchObject({ turn: 2, messageId: 'msg-hello', models: ['vigil-demo'] });
    expect(reply.content).toContain('Demo model (offline): you said "hello"');
    const again = await send();
    expect(JSON.parse(again.stdout)).toEqual(reply);
  });

  test('vigil inspect shows the state, the models of each turn, and the transcript', async () => {
    const human = await runCli(['inspect', '--address', address, 'cli-test']);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('Conversation cli-test (agent assistant)');
    expect(human.stdout).toMatch(/status: +idle/);
    expect(human.stdout).toMatch(/^ {2}1 {2}vigil-demo {2}2 calls/m);
    expect(human.stdout).toContain('-> calculator({"expression":"17*23"})');

    const json = await runCli(['inspect', '--address', address, 'cli-test', '--json']);
    expect(json.code).toBe(0);
    const view = JSON.parse(json.stdout) as {
      state: { status: string; turns: number };
      turns: { turn: number; models: string[]; modelCalls: number }[];
      transcript: { role: string }[];
    };
    expect(view.state).toMatchObject({ status: 'idle', turns: 2 });
    expect(view.turns.map(({ turn, models, modelCalls }) => ({ turn, models, modelCalls }))).toEqual([
      { turn: 1, models: ['vigil-demo'], modelCalls: 2 },
      { turn: 2, models: ['vigil-demo'], modelCalls: 1 },
    ]);
    expect(view.transcript.map((e) => e.role)).toEqual(['user', 'assistant', 'tool', 'assistant', 'user', 'assistant']);
  });

  test('vigil list finds conversations by agent and status through their search attributes', async () => {
    const { code, stdout } = await runCli([
      'list',
      '--address',
      address,
      '--agent',
      'assistant',
      '--status',
      'idle',
      '--json',
    ]);
    expect(code).toBe(0);
    const listed = JSON.parse(stdout) as { conversationId: string; status: string; tokens: number }[];
    expect(listed.find((c) => c.conversationId === 'cli-test')).toMatchObject({ status: 'idle' });
    expect(listed.find((c) => c.conversationId === 'cli-test')!.tokens).toBeGreaterThan(0);
    const none = await runCli(['list', '--address', address, '--status', 'awaiting_approval']);
    expect(none.stdout).toBe('no conversations\n');
    expect((await runCli(['list', '--address', address, '--status', 'sleeping'])).code).toBe(2);

    // What the agent has spent across its conversations: the sum of their search attributes.
    const totals = await runCli(['list', '--address', address, '--agent', 'assistant', '--totals', '--json']);
    const { conversations, totals: byAgent } = JSON.parse(totals.stdout) as {
      conversations: { tokens: number }[];
      totals: Record<string, { conversations: number; tokens: number }>;
    };
    expect(byAgent.assistant).toMatchObject({
      conversations: conversations.length,
      tokens: conversations.reduce((sum, c) => sum + c.tokens, 0),
    });
    expect((await runCli(['list', '--address', address, '--agent', 'assistant', '--totals'])).stdout).toMatch(
      /^total assistant: \d+ conversations, \d+ tokens, \$/m,
    );
  });

  test('vigil inspect of a conversation that does not exist exits 1', async () => {
    const { code, stderr } = await runCli(['inspect', '--address', address, 'nobody']);
    expect(code).toBe(1);
    expect(stderr).toContain('conversation nobody of agent assistant was not found');
  });

  test('the gateway it prints serves the same conversations', async () => {
    const response = await fetch(`${gateway}/v1/agents/assistant/conversations/over-http/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ content: 'what is (2+3)^2' }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ reply: { content: 'The calculator says 25.' } });
  });

  test('the gateway knows the agents dev serves: another is a 404 that starts nothing, on every route that could start one', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${gateway}/v1${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const message = await post('/agents/nobody/conversations/c1/messages', { content: 'hello' });
    expect(message.status).toBe(404);
    expect(await message.json()).toEqual({
      error: { code: 'unknown_agent', message: 'no agent named "nobody" is served here; the agents are: assistant' },
    });
    const completion = await post('/chat/completions', {
      model: 'nobody',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect(completion.status).toBe(404);
    expect(await completion.json()).toMatchObject({
      error: { code: 'model_not_found', type: 'invalid_request_error' },
    });
    const schedule = await post('/agents/nobody/conversations/c1/schedules', { content: 'tick', every: '1h' });
    expect(schedule.status).toBe(404);
    expect(await schedule.json()).toMatchObject({ error: { code: 'unknown_agent' } });

    // OpenAI's clients ask first which models there are: the agents.
    const models = await new OpenAI({ baseURL: `${gateway}/v1`, apiKey: 'unused' }).models.list();
    expect(models.data).toEqual([{ id: 'assistant', object: 'model', created: 0, owned_by: 'vigil' }]);

    // The CLI, away from the worker, knows them too: the worker names them in its identity.
    const sent = await runCli(['send', '--address', address, '--agent', 'nobody', 'c1', 'hello']);
    expect(sent).toMatchObject({
      code: 2,
      stderr: 'vigil: no agent named "nobody" is served here; the agents are: assistant\n',
    });
    const scheduled = await runCli([
      'schedule',
      'create',
      '--address',
      address,
      '--agent',
      'nobody',
      'c1',
      '--message',
      'tick',
      '--every',
      '1h',
    ]);
    expect(scheduled).toMatchObject({
      code: 2,
      stderr: expect.stringContaining('no agent named "nobody" is served here'),
    });

    // Nothing was left behind: no conversation of that agent, as `vigil list --totals` counts them.
    const { stdout } = await runCli(['list', '--address', address, '--agent', 'nobody', '--json']);
    expect(JSON.parse(stdout)).toEqual([]);
  });

  test('vigil replay --query fetches the histories from Temporal and replays them', async () => {
    const { code, stdout } = await runCli([
      'replay',
      '--address',
      address,
      '--query',
      "WorkflowId = 'conversation:assistant:cli-test'",
    ]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^PASS workflow conversation:assistant:cli-test \(run \S+\)$/m);
    expect(stdout).toContain('1 history replayed: all passed');
  });

  test('Ctrl-C stops it and it exits 0', async () => {
    dev.child.kill('SIGINT');
    expect(await dev.exited).toEqual({ code: 0, signal: null });
    expect(dev.stderr()).toContain('SIGINT received: shutting down');
    expect(dev.stderr()).toMatch(/vigil dev: stopped\n$/);
  });
});

test('a --port that is taken is an error (exit 1) that says what to do', async () => {
  const taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  try {
    const { port } = taken.address() as AddressInfo;
    const dev = startDev(['--port', String(port), '--no-gateway']);
    expect((await dev.exited).code).toBe(1);
    expect(dev.stderr()).toContain(`port ${port} on 127.0.0.1 is already in use; choose another with --port`);
  } finally {
    taken.close();
  }
});

describe('with the Temporal CLI on PATH', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-dev-cli-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** A `temporal` on PATH that runs `body`, a shell script. */
  function temporalOnPath(body: string): NodeJS.ProcessEnv {
    const script = join(dir, 'temporal');
    writeFileSync(script, `#!/bin/sh\n${body}\n`);
    chmodSync(script, 0o755);
    const env = cleanEnv({ FAKE_TEMPORAL_ARGS: join(dir, 'args') });
    return { ...env, PATH: [dir, env.PATH].join(delimiter) };
  }

  test('it runs `temporal server start-dev` with the port and search attributes, and stops it on Ctrl-C', async () => {
    const fake = join(REPO, 'test', 'cli', 'fake-temporal.ts');
    const env = temporalOnPath(`exec "${process.execPath}" --require "${require.resolve('tsx/cjs')}" "${fake}" "$@"`);
    const dev = startDev(['--port', '0', '--no-gateway'], env);
    const { address, gateway } = await ready(dev);
    expect(gateway).toBeUndefined();
    expect(dev.stderr()).toContain("starting the Temporal CLI's dev server");
    expect(dev.stderr()).toMatch(/Temporal {2}127\.0\.0\.1:\d+ \(Temporal CLI dev server/);
    expect(dev.stderr()).toMatch(/Web UI {4}http:\/\/127\.0\.0\.1:\d+/);
    const args = readFileSync(join(dir, 'args'), 'utf8').split('\n');
    expect(args.slice(0, 2)).toEqual(['server', 'start-dev']);
    expect(args.join(' ')).toContain(`--port ${address.split(':')[1]}`);
    expect(args.join(' ')).toContain('--search-attribute VigilAgent=Keyword');
    // Its state goes to a file beside the content store, so conversations outlive a restart.
    expect(args.join(' ')).toContain(`--db-filename ${join(DATA_DIR, 'temporal-dev.db')}`);
    expect(dev.stderr()).toContain(`state kept across restarts in ${join(DATA_DIR, 'temporal-dev.db')}`);

    const { code, stdout } = await runCli(['send', '--address', address, 'via-cli', 'what is 6*7']);
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'The calculator says 42.\n' });

    dev.child.kill('SIGINT');
    expect(await dev.exited).toEqual({ code: 0, signal: null });
    // Dev stopped its Temporal rather than leaving it behind.
    expect(dev.stderr()).toContain('temporal: fake temporal: SIGTERM received, stopping');
    expect(dev.stderr()).toMatch(/vigil dev: stopped\n$/);
  });

  test('when the dev server exits at start, dev exits 1 and shows its last words', async () => {
    const env = temporalOnPath(`echo "listen tcp 127.0.0.1:7233: bind: address already in use" >&2; exit 3`);
    const dev = startDev(['--no-gateway'], env);
    const { code } = await dev.exited;
    const stderr = dev.stderr();
    expect(code).toBe(1);
    expect(stderr).toContain('the Temporal CLI dev server exited with code 3');
    expect(stderr).toContain('address already in use');
  });
});
