/**
 * The HTTP gateway as `vigil dev` runs it: the same app as `npm run gateway` (src/gateway), on the Temporal
 * that dev uses, in the same process.
 */
import { Connection } from '@temporalio/client';
import { AgentClient } from '../../client';
import type { Config } from '../../config';
import { createGateway } from '../../gateway';
import type { Logger } from '../../logger';
import { ScheduleClient } from '../../schedules';
import { createContentStore } from '../../store/create-content-store';
import { createVigilClient } from '../../store/data-converter';
import { CommandFailed } from '../exit-codes';

export interface DevGateway {
  /** e.g. `http://127.0.0.1:8787` */
  url: string;
  /** Stops taking connections and lets the requests in flight finish; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * `agents`: the names of the agents dev's worker serves. The gateway runs beside that worker, so it knows them: a
 * request for another agent is a 404 that starts nothing.
 */
export async function startDevGateway(config: Config, logger: Logger, agents: readonly string[]): Promise<DevGateway> {
  // Lazy: the gateway answers 503 rather than failing while Temporal is unreachable, as `npm run gateway` does.
  const connection = Connection.lazy({ address: config.temporal.address });
  // The store the worker uses (config.store): the gateway reads and writes the same large payloads.
  const store = createContentStore(config.store);
  const client = createVigilClient({
    connection,
    namespace: config.temporal.namespace,
    store,
    payloadThresholdBytes: config.store.payloadThresholdBytes,
  });
  const app = createGateway({
    agents: new AgentClient({ client, taskQueue: config.temporal.taskQueue, store, agents }),
    schedules: new ScheduleClient({ client, taskQueue: config.temporal.taskQueue, agents }),
    token: config.gateway.token,
    bodyLimitBytes: config.gateway.bodyLimitBytes,
    ...(config.gateway.corsOrigins ? { corsOrigins: config.gateway.corsOrigins } : {}),
    webhookIn: config.gateway.webhookIn,
    logger: logger.child({ component: 'gateway' }),
  });
  let url: string;
  try {
    url = await app.listen({ host: config.gateway.host, port: config.gateway.port });
  } catch (error) {
    await connection.close();
    await store.close();
    const { host, port } = config.gateway;
    const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    throw new CommandFailed(
      inUse
        ? `the gateway's port ${port} on ${host} is already in use; choose another with --gateway-port ` +
            '(or VIGIL_GATEWAY_PORT; 0 picks a free one), or run without it: --no-gateway'
        : `could not start the gateway on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  let closed: Promise<void> | undefined;
  return {
    url,
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
