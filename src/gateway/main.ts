/**
 * `npm run gateway`: serves the HTTP gateway from the environment (see src/config.ts) until SIGINT or SIGTERM.
 *
 * It starts without waiting for Temporal: the connection is made on the first request, and requests answer
 * 503 while Temporal is unreachable, so the gateway can start before it. On a signal it stops taking
 * connections and lets the requests in flight finish (a request waiting for a reply waits at most its timeout;
 * the turn itself goes on); a second signal exits at once.
 *
 * Exit codes: 0 after a clean shutdown, 1 when the gateway fails, 2 for a bad configuration.
 */
import { Connection } from '@temporalio/client';
import { AgentClient } from '../client';
import { describeGateway, loadGatewayConfig } from '../config';
import { ConfigError } from '../errors';
import { createLogger } from '../logger';
import { ScheduleClient } from '../schedules';
import { createContentStore } from '../store/create-content-store';
import { createVigilClient } from '../store/data-converter';
import { createGateway } from './app';

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

async function run(): Promise<number> {
  const config = loadGatewayConfig();
  const logger = createLogger({ level: config.logLevel, format: config.logFormat, name: 'vigil-gateway' });
  for (const warning of config.warnings) logger.warn(warning);

  let stopping = false;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    for (const signal of SHUTDOWN_SIGNALS) {
      process.on(signal, () => {
        if (stopping) {
          logger.warn({ signal }, 'second signal: exiting without waiting for requests in flight');
          process.exit(130);
        }
        stopping = true;
        resolve(signal);
      });
    }
  });

  const connection = Connection.lazy({ address: config.temporal.address });
  // The worker's store: large messages and tool outputs are claims in history, read and written through it.
  const store = createContentStore(config.store);
  try {
    const client = createVigilClient({
      connection,
      namespace: config.temporal.namespace,
      store,
      payloadThresholdBytes: config.store.payloadThresholdBytes,
    });
    // Beside no worker, it asks Temporal which agents the workers serve (src/client/served-agents.ts).
    const agents = new AgentClient({ client, taskQueue: config.temporal.taskQueue, store, agents: 'from-workers' });
    const app = createGateway({
      agents,
      schedules: new ScheduleClient({ client, taskQueue: config.temporal.taskQueue, agents: 'from-workers' }),
      token: config.gateway.token,
      bodyLimitBytes: config.gateway.bodyLimitBytes,
      ...(config.gateway.corsOrigins ? { corsOrigins: config.gateway.corsOrigins } : {}),
      webhookIn: config.gateway.webhookIn,
      logger,
    });
    const url = await app.listen({ host: config.gateway.host, port: config.gateway.port });
    logger.info({ url, gateway: describeGateway(config.gateway), temporal: config.temporal, store: store.name }, 'gateway listening');

    const signal = await stopped;
    logger.info({ signal }, 'shutting down: letting requests in flight finish');
    await app.close();
    logger.info('gateway stopped');
    return 0;
  } finally {
    await connection.close();
    await store.close();
  }
}

run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`vigil gateway: ${error.message}\n`);
      process.exit(2);
    }
    console.error('vigil gateway failed:', error);
    process.exit(1);
  },
);
