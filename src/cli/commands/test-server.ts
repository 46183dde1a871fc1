/** `vigil test-server`: the in-process Temporal test server on its own (what `npm run test-server` runs). */
import { type Command, Option } from 'commander';
import { DYNAMIC_CONFIG_DEFAULTS } from '@vigil/temporal-test-server';
import { main as runTestServer } from '@vigil/temporal-test-server/cli';
import { parsePort } from '../parse';

interface TestServerOptions {
  port: number;
  timeSkipping?: boolean;
  dynamicConfigValue: string[];
}

export function registerTestServer(program: Command): void {
  program
    .command('test-server')
    .description("run Vigil's in-memory Temporal test server until Ctrl-C, for workers, clients and the temporal CLI")
    .addOption(
      new Option('-p, --port <port>', 'port on 127.0.0.1 (0 picks a free one)').default(7233).argParser(parsePort),
    )
    .option('--time-skipping', 'jump time to the next timer whenever no workflow task or activity is pending')
    .addOption(
      new Option(
        '--dynamic-config-value <KEY=VALUE>',
        'a server limit, as on `temporal server start-dev` (repeatable; keys below)',
      )
        .argParser((value: string, previous: string[]) => [...previous, value])
        .default([], 'none'),
    )
    .addHelpText(
      'after',
      `
Dynamic config keys (default):
${Object.entries(DYNAMIC_CONFIG_DEFAULTS)
  .map(([key, value]) => `  ${key} (${value})`)
  .join('\n')}

State is in memory only and is lost when the server stops. See docs/08-testing.md, "What the test server does not do".
Exit codes: 0 after Ctrl-C, 1 when it cannot start (e.g. the port is taken), 2 for a bad command line.

Examples:
  $ vigil test-server
  $ vigil test-server --port 0 --time-skipping
  $ vigil test-server --dynamic-config-value limit.historyCount.suggestContinueAsNew=100
  $ temporal workflow list --address 127.0.0.1:7233`,
    )
    .action(async (options: TestServerOptions) => {
      // The server's own command line does the serving, the reporting and the signals.
      process.exitCode = await runTestServer([
        '--port',
        String(options.port),
        ...(options.timeSkipping ? ['--time-skipping'] : []),
        ...options.dynamicConfigValue.flatMap((value) => ['--dynamic-config-value', value]),
      ]);
    });
}
