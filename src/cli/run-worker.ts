/**
 * Runs a Vigil worker until asked to stop, for `vigil worker` and `vigil dev`: connects to Temporal (waiting,
 * with backoff, for a server that is still starting), runs the worker, and on stop lets running activities
 * finish before it returns.
 */
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { setTimeout as sleep } from 'node:timers/promises';
import { defaultAgents, type AgentRegistry } from '../agents/registry';
import { describeConfig, type Config } from '../config';
import type { Logger } from '../logger';
import { checkVigilSearchAttributes } from '../search-attributes-setup';
import { logMemoryEvery } from '../workers/memory-report';
import { createVigilWorker } from '../workers/worker';

const MAX_CONNECT_DELAY_MS = 10_000;

export interface RunWorkerOptions {
  config: Config;
  logger: Logger;
  /** The agents to serve (an app's config); default the shipped assistant. */
  agents?: AgentRegistry;
  /** Aborting it stops the worker gracefully. */
  stop: AbortSignal;
  /** Called once the worker polls its task queue. */
  onRunning?: () => void;
}

/** Resolves when the worker has stopped after `stop`; rejects when it fails. */
export async function runWorker({
  config,
  logger,
  stop,
  onRunning,
  agents = defaultAgents(config),
}: RunWorkerOptions): Promise<void> {
  // The default is built before waiting on Temporal, so a bad agent setting fails at once rather than after the wait.
  logger.info({ config: describeConfig(config), agents: agents.list().map((a) => a.name) }, 'starting Vigil worker');

  const connection = await connectWhenReachable(config.temporal.address, logger, stop);
  if (!connection) return;
  try {
    // Conversations upsert Vigil's search attributes; without them every workflow task would be refused, so
    // a namespace that lacks them is a configuration error (ConfigError: exit code 2, with the commands to run).
    const operator = await Connection.connect({ address: config.temporal.address });
    try {
      await checkVigilSearchAttributes(operator, config.temporal.namespace);
    } finally {
      await operator.close();
    }
    // The worker opens the content store and the payment verifiers from the config, and closes them once it
    // has stopped (after `running` resolves), so no activity still in flight loses its store.
    const worker = await createVigilWorker({ config, agents, connection, logger });
    const running = worker.run();
    if (stop.aborted) {
      // Stopped while the worker was being created (bundling the workflows takes seconds).
      worker.shutdown();
    } else {
      stop.addEventListener('abort', () => worker.shutdown(), { once: true });
      logger.info({ ...config.temporal, store: worker.store.name }, 'worker running');
      onRunning?.();
    }
    const stopMemoryLog = logMemoryEvery(config.memoryLogSeconds, worker.worker, logger);
    try {
      await running;
    } finally {
      stopMemoryLog();
    }
    logger.info('worker stopped');
  } finally {
    await connection.close();
  }
}

/**
 * Under Docker Compose or Kubernetes the worker often starts before the server is ready, so a refused
 * connection is retried with backoff. Undefined when the stop came first.
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
