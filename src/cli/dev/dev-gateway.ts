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

export interface DevGatewayOptions {
  /**
   * The names of the agents dev's worker serves. The gateway runs beside that worker, so it knows them: a request
   * for another agent is a 404 that starts nothing.
   */
  agents: readonly string[];
  /** The user chose the port: fail when it is taken instead of moving to a free one, as dev's Temporal does. */
  portIsExplicit: boolean;
  /** Tells the user what is happening. */
  say(message: string): void;
}

export async function startDevGateway(config: Config, logger: Logger, { agents, portIsExplicit, say }: DevGatewayOptions): Promise<DevGateway> {
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
  const { host, port } = config.gateway;
  let url: string;
  try {
    url = await app.listen({ host, port }).catch(async (error: unknown) => {
      if (!isInUse(error) || portIsExplicit || port === 0) throw error;
      say(`the gateway's port ${port} is taken; using a free port instead (choose one with --gateway-port)`);
      return app.listen({ host, port: 0 });
    });
  } catch (error) {
    await connection.close();
    await store.close();
    throw new CommandFailed(
      isInUse(error)
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

function isInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}
