/**
 * The gateway as Vigil's processes run it: `vigil gateway` (and so `npm run gateway` and the Compose service) on
 * its own, `vigil dev` beside its worker. One assembly from the settings, so both serve the same gateway: lazily
 * connected to Temporal (requests answer 503 until it is reachable, so the gateway may start first), over the
 * content store the worker uses (large messages and tool outputs are claims in history, read and written there).
 */
import { Connection } from '@temporalio/client';
import type { FastifyInstance } from 'fastify';
import { once } from 'node:events';
import { AgentClient, vigilConnectionOptions } from '../client';
import type { ServedAgentsOption } from '../client/served-agents';
import { describeGateway, type GatewayConfig } from '../config';
import type { Logger } from '../logger';
import { ScheduleClient } from '../schedules';
import { createContentStore } from '../store/create-content-store';
import { createVigilClient } from '../store/data-converter';
import { createGateway } from './app';

export interface BuiltGateway {
  /** Not listening yet: the caller chooses how (dev moves to a free port when the default is taken). */
  app: FastifyInstance;
  /** The store's name, for the startup log line. */
  storeName: string;
  /** Stops taking connections, lets the requests in flight finish, then closes the connection and the store. */
  close(): Promise<void>;
}

export interface GatewayParts {
  config: Pick<GatewayConfig, 'temporal' | 'gateway' | 'store'>;
  logger: Logger;
  /**
   * The agents the workers serve: their names when the gateway runs beside the worker (dev), else `'from-workers'`
   * to ask Temporal (src/client/served-agents.ts). A request for another agent is a 404 that starts nothing.
   */
  agents: ServedAgentsOption;
}

export function buildGateway({ config, logger, agents }: GatewayParts): BuiltGateway {
  const connection = Connection.lazy(vigilConnectionOptions({ address: config.temporal.address }));
  const store = createContentStore(config.store);
  const client = createVigilClient({
    connection,
    namespace: config.temporal.namespace,
    store,
    payloadThresholdBytes: config.store.payloadThresholdBytes,
  });
  const { taskQueue } = config.temporal;
  const app = createGateway({
    agents: new AgentClient({ client, taskQueue, store, agents }),
    schedules: new ScheduleClient({ client, taskQueue, agents }),
    token: config.gateway.token,
    bodyLimitBytes: config.gateway.bodyLimitBytes,
    ...(config.gateway.corsOrigins ? { corsOrigins: config.gateway.corsOrigins } : {}),
    webhookIn: config.gateway.webhookIn,
    logger,
  });
  let closed: Promise<void> | undefined;
  return {
    app,
    storeName: store.name,
    close: () =>
      (closed ??= (async () => {
        try {
          await app.close();
        } finally {
          await connection.close();
          await store.close();
        }
      })()),
  };
}

export interface RunGatewayOptions {
  config: GatewayConfig;
  logger: Logger;
  /** Aborting it stops the gateway gracefully: no new connections, the requests in flight finish. */
  stop: AbortSignal;
}

/**
 * Serves the gateway until `stop`, like runWorker for the worker. A request waiting for a reply when the stop
 * comes waits at most its timeout; the turn itself goes on in the worker.
 */
export async function runGateway({ config, logger, stop }: RunGatewayOptions): Promise<void> {
  const gateway = buildGateway({ config, logger, agents: 'from-workers' });
  try {
    const url = await gateway.app.listen({ host: config.gateway.host, port: config.gateway.port });
    logger.info(
      { url, gateway: describeGateway(config.gateway), temporal: config.temporal, store: gateway.storeName },
      'gateway listening',
    );
    if (!stop.aborted) await once(stop, 'abort');
    logger.info('shutting down: letting requests in flight finish');
  } finally {
    await gateway.close();
  }
  logger.info('gateway stopped');
}
