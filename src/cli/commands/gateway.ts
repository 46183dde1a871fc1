/** `vigil gateway`: the HTTP gateway alone, exactly as `npm run gateway` runs it. */
import type { Command } from 'commander';
import { applyGlobalOptions, globalOptions } from '../settings';

export function registerGateway(program: Command): void {
  program
    .command('gateway')
    .description('serve the HTTP gateway (conversations over HTTP, and the OpenAI-compatible endpoint) until Ctrl-C')
    .addHelpText(
      'after',
      `
Settings come from the environment (VIGIL_GATEWAY_HOST, VIGIL_GATEWAY_PORT, VIGIL_GATEWAY_TOKEN,
VIGIL_GATEWAY_BODY_LIMIT, TEMPORAL_*; see src/gateway/README.md), with the global options over them. It starts
without waiting for Temporal (requests answer 503 until it is reachable); on SIGINT or SIGTERM it lets requests
in flight finish. Exit codes: 0 after a clean shutdown, 1 when it fails, 2 for a bad setting.

Examples:
  $ VIGIL_GATEWAY_TOKEN=... vigil gateway
  $ vigil gateway --address temporal.internal:7233`,
    )
    .action(async (_options: unknown, command: Command) => {
      Object.assign(process.env, applyGlobalOptions(globalOptions(command)));
      // The gateway's entry point owns the process from here: its signals, its exit codes. `require`, because
      // the CLI runs as CommonJS (through tsx or compiled), where a dynamic import would skip the TS loader.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      require('../../gateway/main');
      await new Promise<never>(() => undefined);
    });
}
