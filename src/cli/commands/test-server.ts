/** `vigil test-server`: the in-process Temporal test server on its own (what `npm run test-server` runs). */
import { type Command, Option } from 'commander';
import { main as runTestServer } from '../../testing/temporal-server/cli';
import { parsePort } from '../parse';

interface TestServerOptions {
  port: number;
  timeSkipping?: boolean;
}

export function registerTestServer(program: Command): void {
  program
    .command('test-server')
    .description("run Vigil's in-memory Temporal test server until Ctrl-C, for workers, clients and the temporal CLI")
    .addOption(new Option('-p, --port <port>', 'port on 127.0.0.1 (0 picks a free one)').default(7233).argParser(parsePort))
    .option('--time-skipping', 'jump time to the next timer whenever no workflow task or activity is pending')
    .addHelpText(
      'after',
      `
State is in memory only and is lost when the server stops. See README.md, "What the test server does not do".
Exit codes: 0 after Ctrl-C, 1 when it cannot start (e.g. the port is taken), 2 for a bad command line.

Examples:
  $ vigil test-server
  $ vigil test-server --port 0 --time-skipping
  $ temporal workflow list --address 127.0.0.1:7233`,
    )
    .action(async (options: TestServerOptions) => {
      // The server's own command line does the serving, the reporting and the signals.
      process.exitCode = await runTestServer([
        '--port',
        String(options.port),
        ...(options.timeSkipping ? ['--time-skipping'] : []),
      ]);
    });
}
