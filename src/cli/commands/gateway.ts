/** `vigil gateway` (and `npm run gateway`, and the Compose service): the HTTP gateway alone, until Ctrl-C. */
import type { Command } from 'commander';
import { createLogger } from '../../logger';
import { runGateway } from '../../gateway/serve';
import { gatewayConfig, globalOptions } from '../settings';
import { stopOnSignals } from '../shutdown';

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
      const config = gatewayConfig(globalOptions(command));
      const logger = createLogger({ level: config.logLevel, format: config.logFormat, name: 'vigil-gateway' });
      const shutdown = stopOnSignals((message) => logger.info(message));
      try {
        await runGateway({ config, logger, stop: shutdown.signal });
      } finally {
        shutdown.dispose();
      }
    });
}
