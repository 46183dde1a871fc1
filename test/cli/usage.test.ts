/** The command line itself: help, usage errors and their exit codes, run as the real `vigil` process. */
import { runCli, startCli, unusedPort } from './cli-process';

const COMMANDS = ['dev', 'worker', 'send', 'inspect', 'replay', 'test-server'];

test('vigil --help lists every command and exits 0', async () => {
  const { code, stdout } = await runCli(['--help']);
  expect(code).toBe(0);
  for (const command of COMMANDS) expect(stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
  expect(stdout).toContain('--address');
  expect(stdout).toContain('--namespace');
  expect(stdout).toContain('--task-queue');
});

test.each(COMMANDS)('vigil %s --help shows examples and exits 0', async (command) => {
  const { code, stdout } = await runCli([command, '--help']);
  expect(code).toBe(0);
  expect(stdout).toContain(`Usage: vigil ${command}`);
  expect(stdout).toContain('Examples:');
});

test('an unknown option exits 2 and names the option', async () => {
  const { code, stderr } = await runCli(['send', 'user-1', 'hi', '--bogus']);
  expect(code).toBe(2);
  expect(stderr).toContain("unknown option '--bogus'");
  expect(stderr).toContain('--help');
});

test('an unknown command exits 2', async () => {
  const { code, stderr } = await runCli(['frobnicate']);
  expect(code).toBe(2);
  expect(stderr).toContain("unknown command 'frobnicate'");
});

test('a missing argument exits 2', async () => {
  const { code, stderr } = await runCli(['send']);
  expect(code).toBe(2);
  expect(stderr).toContain("missing required argument 'conversation'");
});

test('a bad option value exits 2 and says what is expected', async () => {
  const { code, stderr } = await runCli(['dev', '--port', 'eighty']);
  expect(code).toBe(2);
  expect(stderr).toContain('must be a port number from 0 to 65535');
});

test('a bad --address is a configuration error (exit 2) reported under the option name', async () => {
  const { code, stderr } = await runCli(['--address', 'not-an-address', 'send', 'user-1', 'hi']);
  expect(code).toBe(2);
  expect(stderr).toContain('--address must be host:port');
});

test('a bad setting for the worker exits 2 with every problem listed, and no secret printed', async () => {
  const secret = 'sk-this-must-never-be-printed';
  const { code, stderr, stdout } = await runCli(['worker'], {
    ...process.env,
    TEMPORAL_ADDRESS: '',
    OPENAI_API_KEY: secret,
    VIGIL_LOG_LEVEL: 'loud',
    VIGIL_WEBHOOK_SECRET: 'tiny-secret',
  });
  expect(code).toBe(2);
  expect(stderr).toContain('VIGIL_LOG_LEVEL');
  expect(stderr).toContain('VIGIL_WEBHOOK_SECRET');
  expect(stderr + stdout).not.toContain(secret);
  expect(stderr + stdout).not.toContain('tiny-secret');
});

test('replay with nothing to replay is a usage error', async () => {
  const { code, stderr } = await runCli(['replay']);
  expect(code).toBe(2);
  expect(stderr).toContain('nothing to replay');
});

test('send exits 1 and says how to fix it when Temporal is unreachable', async () => {
  const port = await unusedPort();
  const { code, stderr } = await runCli(['send', '--address', `127.0.0.1:${port}`, 'user-1', 'hi']);
  expect(code).toBe(1);
  expect(stderr).toContain(`cannot reach Temporal at 127.0.0.1:${port}`);
  expect(stderr).toContain('vigil dev');
});

test('an invalid conversation id is a usage error, found before connecting', async () => {
  const { code, stderr } = await runCli(['send', 'no spaces allowed', 'hi']);
  expect(code).toBe(2);
  expect(stderr).toContain('invalid conversation id "no spaces allowed": use letters, digits and . _ : @ - only');
});

test('vigil test-server takes server limits as the real dev server does, and refuses a bad one naming it', async () => {
  const server = startCli(['test-server', '--port', '0', '--dynamic-config-value', 'history.maxTotalUpdates=50']);
  try {
    await server.waitFor(/listening on 127\.0\.0\.1:\d+ \(.*history\.maxTotalUpdates=50/, 'stdout');
  } finally {
    server.child.kill('SIGINT');
  }
  expect((await server.exited).code).toBe(0);

  const bad = await runCli(['test-server', '--port', '0', '--dynamic-config-value', 'history.maxTotalUpdate=50']);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('history.maxTotalUpdate');
});
