/**
 * The `npm run test-server` command, as a user runs it: a real child process, a real @temporalio/client, and
 * the process's own output and exit as the only signals (no sleeps).
 */
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { longPoll } from '../helpers/conformance';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, connect, Server } from 'node:net';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'packages', 'temporal-test-server', 'src', 'cli.ts');

interface CliProcess {
  child: ChildProcessWithoutNullStreams;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit once the process has ended and its output is fully read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves with the first stdout line matching `pattern`; rejects if the process ends first. */
  line(pattern: RegExp): Promise<RegExpMatchArray>;
}

const started: CliProcess[] = [];

function runCli(args: string[]): CliProcess {
  // Node itself with tsx's loader, not the tsx binary: that wrapper relays signals to a child process of its own
  // and, on a busy machine, may answer a Ctrl-C with exit 130 before the server's handler is known to it.
  const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
    cwd: ROOT,
    env: process.env,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stdin.end();
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8');
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
  const waiters: { pattern: RegExp; resolve: (m: RegExpMatchArray) => void }[] = [];
  // Complete lines only: a line is matched once its newline has arrived.
  const find = (pattern: RegExp) =>
    out
      .split('\n')
      .slice(0, -1)
      .map((l) => l.match(pattern))
      .find((m): m is RegExpMatchArray => m !== null);
  child.stdout.on('data', (chunk: string) => {
    out += chunk;
    for (const w of [...waiters]) {
      const m = find(w.pattern);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const proc: CliProcess = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    line: (pattern) =>
      new Promise<RegExpMatchArray>((resolve, reject) => {
        const already = find(pattern);
        if (already) return resolve(already);
        waiters.push({ pattern, resolve });
        // Settling twice is a no-op: this only matters when the process ends without printing the line.
        exited.then(
          ({ code, signal }) =>
            reject(
              new Error(
                `test-server exited (code ${code}, signal ${signal}) before printing ${pattern}.\nstdout: ${out}\nstderr: ${err}`,
              ),
            ),
          reject,
        );
      }),
  };
  started.push(proc);
  return proc;
}

afterEach(async () => {
  // A failed assertion must not leave a server running: end only the processes this file started.
  for (const proc of started.splice(0)) {
    if (proc.child.exitCode === null && proc.child.signalCode === null) proc.child.kill('SIGKILL');
    await proc.exited.catch(() => undefined);
  }
});

/** Resolves when a TCP connection to the port is refused, rejects if one is accepted. */
function expectRefused(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      reject(new Error(`port ${port} still accepts connections`));
    });
    socket.once('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNREFUSED' ? resolve() : reject(e)));
  });
}

test('serves a real client until SIGTERM, then closes its port and exits 0', async () => {
  const cli = runCli(['--port', '0']);
  const [, address, port] = await cli.line(
    /^Temporal test server listening on (127\.0\.0\.1:(\d+)) \(in memory; time skipping off\)$/,
  );

  const connection = await Connection.connect({ address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const workflowId = `cli-${randomUUID()}`;
    // No worker: the server alone must accept, describe and list the execution.
    const handle = await client.workflow.start('counter', { taskQueue: `cli-${randomUUID()}`, workflowId, args: [0] });
    const description = await handle.describe();
    expect(description.status.name).toBe('RUNNING');
    expect(description.workflowId).toBe(workflowId);
    expect(description.type).toBe('counter');

    const listed: string[] = [];
    for await (const execution of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
      listed.push(`${execution.workflowId} ${execution.runId} ${execution.status.name}`);
    }
    expect(listed).toEqual([`${workflowId} ${handle.firstExecutionRunId} RUNNING`]);

    // The client is still connected when the server is told to stop, as a user's worker or client would be.
    expect(cli.child.kill('SIGTERM')).toBe(true);
    expect(await cli.exited).toEqual({ code: 0, signal: null });
  } finally {
    await connection.close();
  }
  expect(cli.stdout().trim().split('\n')).toHaveLength(1);
  expect(cli.stderr()).toMatch(/SIGTERM received, shutting down/);
  await expectRefused(Number(port));
});

test('SIGINT (Ctrl-C) also shuts down cleanly, and --time-skipping is reported', async () => {
  const cli = runCli(['--port', '0', '--time-skipping']);
  await cli.line(/^Temporal test server listening on 127\.0\.0\.1:\d+ \(in memory; time skipping on\)$/);
  cli.child.kill('SIGINT');
  expect(await cli.exited).toEqual({ code: 0, signal: null });
});

test("--dynamic-config-value KEY=VALUE (repeatable) sets the server's limits, as on `temporal server start-dev`", async () => {
  const cli = runCli([
    '--port',
    '0',
    '--dynamic-config-value',
    'limit.historyCount.suggestContinueAsNew=3',
    '--dynamic-config-value',
    'history.maxTotalUpdates=5',
  ]);
  const [, address] = await cli.line(
    /^Temporal test server listening on (127\.0\.0\.1:\d+) \(in memory; time skipping off; limit\.historyCount\.suggestContinueAsNew=3; history\.maxTotalUpdates=5\)$/,
  );
  const connection = await Connection.connect({ address });
  try {
    // Acting as the worker: the first workflow task's Started event is the 3rd, which the threshold suggests at.
    const client = new Client({ connection, namespace: 'default' });
    const taskQueue = `cli-${randomUUID()}`;
    await client.workflow.start('counter', { taskQueue, workflowId: `cli-${randomUUID()}` });
    const task = await longPoll(connection, () =>
      connection.workflowService.pollWorkflowTaskQueue({
        namespace: 'default',
        taskQueue: { name: taskQueue },
        identity: 'cli-test',
      }),
    );
    const started = task.history!.events!.at(-1)!;
    expect(Number(started.eventId)).toBe(3);
    expect(started.workflowTaskStartedEventAttributes).toMatchObject({
      suggestContinueAsNew: true,
      suggestContinueAsNewReasons: [
        temporal.api.enums.v1.SuggestContinueAsNewReason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS,
      ],
    });
  } finally {
    await connection.close();
  }
  cli.child.kill('SIGTERM');
  expect(await cli.exited).toEqual({ code: 0, signal: null });
});

test.each([
  [
    ['--dynamic-config-value', 'limit.historyCount.suggestContinueAsNeww=3'],
    /unknown dynamic config key 'limit\.historyCount\.suggestContinueAsNeww'/,
  ],
  [
    ['--dynamic-config-value', 'history.maxTotalUpdates=lots'],
    /dynamic config history\.maxTotalUpdates must be a whole number of updates, at least 1, got 'lots'/,
  ],
  [
    ['--dynamic-config-value', 'history.maxTotalUpdates.suggestContinueAsNewThreshold=0'],
    /history\.maxTotalUpdates\.suggestContinueAsNewThreshold must be a fraction/,
  ],
  [
    ['--dynamic-config-value', 'history.maxTotalUpdates'],
    /--dynamic-config-value takes KEY=VALUE, got 'history\.maxTotalUpdates'/,
  ],
])('a bad --dynamic-config-value %j is a usage error naming it: exit 2, nothing served', async (args, message) => {
  const cli = runCli(['--port', '0', ...args]);
  expect(await cli.exited).toEqual({ code: 2, signal: null });
  expect(cli.stderr()).toMatch(message);
  expect(cli.stdout()).toBe('');
});

test('--port abc is a usage error: exit 2 with a message naming the flag', async () => {
  const cli = runCli(['--port', 'abc']);
  expect(await cli.exited).toEqual({ code: 2, signal: null });
  expect(cli.stderr()).toMatch(/--port .*'abc'/);
  expect(cli.stderr()).toMatch(/--help/);
  expect(cli.stdout()).toBe('');
});

test.each([
  [['--bogus'], /Unknown option '--bogus'/],
  [['--port'], /--port/],
  [['--port', '70000'], /--port must be an integer from 0 to 65535/],
  [['--port', '-1'], /--port/],
  [['7233'], /Unexpected argument '7233'/],
])('bad arguments %j exit 2', async (args, message) => {
  const cli = runCli(args);
  expect(await cli.exited).toEqual({ code: 2, signal: null });
  expect(cli.stderr()).toMatch(message);
});

test('--help prints the usage and exits 0', async () => {
  const cli = runCli(['--help']);
  expect(await cli.exited).toEqual({ code: 0, signal: null });
  expect(cli.stdout()).toMatch(/--port <port>/);
  expect(cli.stdout()).toMatch(/--time-skipping/);
  expect(cli.stdout()).toMatch(/--dynamic-config-value KEY=VALUE/);
  expect(cli.stdout()).toMatch(/limit\.historyCount\.suggestContinueAsNew=4096/);
});

test('a port in use is reported clearly, exit 1', async () => {
  const blocker: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    blocker.once('error', reject);
    blocker.listen(0, '127.0.0.1', resolve);
  });
  try {
    const port = (blocker.address() as { port: number }).port;
    const cli = runCli(['--port', String(port)]);
    expect(await cli.exited).toEqual({ code: 1, signal: null });
    expect(cli.stderr()).toMatch(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`));
    expect(cli.stdout()).toBe('');
  } finally {
    await new Promise<void>((resolve) => blocker.close(() => resolve()));
  }
});
