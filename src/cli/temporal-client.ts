/**
 * A Temporal client for one CLI command: connected to the configured address, reading and writing payloads
 * through the configured content store as the worker does, closed when the command is done, and a failure to
 * connect said in words that point at the fix.
 */
import { Client, Connection, isGrpcServiceError, type ServiceError } from '@temporalio/client';
import { loadStoreSettings, type StoreSettings, type TemporalSettings } from '../config';
import { AgentClient, vigilConnectionOptions } from '../client';
import type { ContentStore } from '../store/content-store';
import { createContentStore } from '../store/create-content-store';
import { createVigilClient } from '../store/data-converter';
import { CommandFailed } from './exit-codes';

// Long enough for a remote server; a refused connection is retried until then, so not longer.
const CONNECT_TIMEOUT_MS = 5_000;

export interface TemporalSession {
  /** Built with the deployment's data converter (src/store/data-converter.ts). */
  client: Client;
  agents: AgentClient;
  store: ContentStore;
}

/**
 * Runs `use` with a client of the conversations at `settings`. Large payloads live in the content store, so the
 * client opens the one the environment configures (the worker's, when both run with the same settings): without
 * it a command would read claims where large messages and tool outputs should be.
 */
export async function withTemporalClient<T>(
  settings: TemporalSettings,
  use: (session: TemporalSession) => Promise<T>,
  options: { store?: StoreSettings } = {},
): Promise<T> {
  // Checked before connecting, so a bad store setting is a configuration error even with Temporal down.
  const storeConfig = options.store ?? loadStoreSettings();
  let connection: Connection;
  try {
    connection = await Connection.connect(
      vigilConnectionOptions({ address: settings.address, connectTimeout: CONNECT_TIMEOUT_MS }),
    );
  } catch (error) {
    throw new CommandFailed(
      `cannot reach Temporal at ${settings.address}: ${error instanceof Error ? error.message : String(error)}\n` +
        'Is `vigil dev` (or your Temporal server) running? Point at another one with --address or TEMPORAL_ADDRESS.',
      { cause: error },
    );
  }
  const store = createContentStore(storeConfig);
  try {
    const client = createVigilClient({
      connection,
      namespace: settings.namespace,
      store,
      payloadThresholdBytes: storeConfig.payloadThresholdBytes,
    });
    // An agent that no worker polling the task queue serves is refused before a conversation starts.
    const agents = new AgentClient({ client, taskQueue: settings.taskQueue, store, agents: 'from-workers' });
    return await use({ client, agents, store });
  } finally {
    await connection.close();
    await store.close();
  }
}

/** What Temporal said when it refused a request (the gRPC details), else the SDK's message. */
export function temporalSaid(error: ServiceError): string {
  if (isGrpcServiceError(error.cause)) return error.cause.details;
  return error.cause instanceof Error ? error.cause.message : error.message;
}
