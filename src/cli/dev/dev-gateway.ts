/**
 * The HTTP gateway as `vigil dev` runs it: the gateway `vigil gateway` serves (src/gateway/serve.ts), on the
 * Temporal that dev uses, in the same process, moving to a free port when the default one is taken.
 */
import type { Config } from '../../config';
import { buildGateway } from '../../gateway/serve';
import type { Logger } from '../../logger';
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

export async function startDevGateway(
  config: Config,
  logger: Logger,
  { agents, portIsExplicit, say }: DevGatewayOptions,
): Promise<DevGateway> {
  const gateway = buildGateway({ config, logger: logger.child({ component: 'gateway' }), agents });
  const { host, port } = config.gateway;
  let url: string;
  try {
    url = await gateway.app.listen({ host, port }).catch(async (error: unknown) => {
      if (!isInUse(error) || portIsExplicit || port === 0) throw error;
      say(`the gateway's port ${port} is taken; using a free port instead (choose one with --gateway-port)`);
      return gateway.app.listen({ host, port: 0 });
    });
  } catch (error) {
    await gateway.close();
    throw new CommandFailed(
      isInUse(error)
        ? `the gateway's port ${port} on ${host} is already in use; choose another with --gateway-port ` +
            '(or VIGIL_GATEWAY_PORT; 0 picks a free one), or run without it: --no-gateway'
        : `could not start the gateway on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }
  return { url, close: gateway.close };
}

function isInUse(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'EADDRINUSE';
}
