/**
 * `npm run worker`: runs a Vigil worker from the environment (see src/config.ts) until SIGINT or SIGTERM.
 *
 * Exit codes: 0 after a clean shutdown, 1 when the worker fails, 2 for a bad configuration (nothing to retry:
 * the message on stderr says what to fix).
 */
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultAgents } from '../agents/registry';
import { describeConfig, loadConfig } from '../config';
import { ConfigError } from '../errors';
import { createLogger, type Logger } from '../logger';
import { checkVigilSearchAttributes } from '../search-attributes-setup';
import { createVigilWorker, installRuntimeLogger } from './worker';

const SHUTDOWN_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
const MAX_CONNECT_DELAY_MS = 10_000;

async function run(): Promise<number> {
  const config = loadConfig();
  const logger = createLogger({ level: config.logLevel, name: 'vigil-worker' });
  // Before the first connection, which would install the SDK's default runtime; the signals are ours to handle.
  installRuntimeLogger(logger, { shutdownSignals: [] });
  // Built before waiting on Temporal, so a bad agent setting fails at once rather than after the wait.
  const agents = defaultAgents(config);
  logger.info({ config: describeConfig(config), agents: agents.list().map((a) => a.name) }, 'starting Vigil worker');

  const stopping = new AbortController();
  let onStop = () => {};
  for (const signal of SHUTDOWN_SIGNALS) {
    process.on(signal, () => {
      if (stopping.signal.aborted) {
        logger.warn({ signal }, 'second signal: exiting without waiting for running activities');
        process.exit(130);
      }
      logger.info({ signal }, 'shutting down: letting running activities finish');
      stopping.abort();
      onStop();
    });
  }

  const connection = await connectWhenReachable(config.temporal.address, logger, stopping.signal);
  if (!connection) return 0;
  try {
    // Conversations upsert Vigil's search attributes; without them every workflow task would be refused.
    const operator = await Connection.connect({ address: config.temporal.address });
    try {
      await checkVigilSearchAttributes(operator, config.temporal.namespace);
    } finally {
      await operator.close();
    }
    const worker = await createVigilWorker({ config, agents, connection, logger });
    onStop = () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    };
    const running = worker.run();
    // A signal that came while the worker was being created.
    if (stopping.signal.aborted) onStop();
    logger.info(
      { address: config.temporal.address, namespace: config.temporal.namespace, taskQueue: config.temporal.taskQueue },
      'worker running',
    );
    await running;
    logger.info('worker stopped');
    return 0;
  } finally {
    await connection.close();
  }
}

/**
 * Connects to Temporal, retrying with backoff until it answers: under Docker Compose or Kubernetes the worker
 * often starts before the server is ready. Undefined when a shutdown signal came first.
 */
async function connectWhenReachable(
  address: string,
  logger: Logger,
  stop: AbortSignal,
): Promise<NativeConnection | undefined> {
  for (let attempt = 1; !stop.aborted; attempt++) {
    try {
      const connection = await NativeConnection.connect({ address });
      if (attempt > 1) logger.info({ address, attempts: attempt }, 'connected to Temporal');
      return connection;
    } catch (error) {
      const retryInMs = Math.min(500 * 2 ** attempt, MAX_CONNECT_DELAY_MS);
      logger.warn(
        { address, attempt, retryInMs, reason: error instanceof Error ? error.message : String(error) },
        'waiting for Temporal: not reachable yet',
      );
      await sleep(retryInMs, undefined, { signal: stop }).catch(() => undefined);
    }
  }
  return undefined;
}

run().then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      process.stderr.write(`vigil worker: ${error.message}\n`);
      process.exit(2);
    }
    // The logger may not exist yet (or be the thing that failed): stderr is always there.
    console.error('vigil worker failed:', error);
    process.exit(1);
  },
);
