/**
 * `npm run test:temporal [-- jest arguments]`: the test suite against the real Temporal. Starts the Temporal
 * CLI's dev server (headless, in memory, on a free port, with Vigil's search attributes) in its own process
 * group, runs jest with TEMPORAL_TEST_ADDRESS pointing at it, and stops the server, whatever jest did. The CLI is
 * VIGIL_TEMPORAL_CLI, `temporal` on PATH, or the one scripts/install-temporal.sh installed.
 *
 * Tests that need a server of their own with other dynamic config start one from the same CLI
 * (VIGIL_TEMPORAL_CLI is passed on), and so do the tests that run the CLI itself. The tests that keep an in-process
 * server of their own, and those that need the CLI, are listed with the reason in test/helpers/in-process-only.ts.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTemporalCli, startTemporalCliServer } from '../src/testing/temporal-cli';

async function main(jestArgs: string[]): Promise<number> {
  const executable = findTemporalCli({ installed: true });
  if (!executable) {
    process.stderr.write(
      'test:temporal: no Temporal CLI found (VIGIL_TEMPORAL_CLI, `temporal` on PATH, or scripts/install-temporal.sh); ' +
        'run `bash scripts/install-temporal.sh` first\n',
    );
    return 2;
  }
  const logPath = join(tmpdir(), `vigil-temporal-dev-server-${process.pid}.log`);
  const log = createWriteStream(logPath);
  const server = await startTemporalCliServer({
    executable,
    ui: false,
    logLevel: 'warn',
    onStderr: (line) => log.write(`${line}\n`),
  });
  process.stderr.write(
    `test:temporal: the Temporal CLI dev server (${executable}) at ${server.address}; its log: ${logPath}\n`,
  );

  // A turn costs the real server on 2 cores several times what it costs the in-process one: tests of many turns
  // get three times jest's usual minute (those with their own timeout keep it).
  const jest = spawn(process.execPath, [require.resolve('jest/bin/jest'), '--testTimeout=180000', ...jestArgs], {
    stdio: 'inherit',
    env: {
      ...process.env,
      TEMPORAL_TEST_ADDRESS: server.address,
      TEMPORAL_TEST_NAMESPACE: 'default',
      VIGIL_TEMPORAL_CLI: executable,
    },
  });
  // Ctrl-C reaches jest through the terminal's process group; a SIGTERM to this script is passed on.
  const forward = (signal: NodeJS.Signals) => () => jest.kill(signal);
  process.on('SIGINT', () => {});
  process.on('SIGTERM', forward('SIGTERM'));
  const [code, signal] = (await Promise.race([once(jest, 'exit'), server.exited])) as [
    number | null,
    NodeJS.Signals | null,
  ];
  await server.close();
  log.end();
  if (signal) process.stderr.write(`test:temporal: jest was killed by ${signal}\n`);
  return code ?? 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`test:temporal: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
