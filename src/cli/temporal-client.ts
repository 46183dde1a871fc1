/**
 * A Temporal client for one CLI command: connected to the configured address, closed when the command is
 * done, and a failure to connect said in words that point at the fix.
 */
import { Client, Connection } from '@temporalio/client';
import type { Config } from '../config';
import { AgentClient } from '../client';
import { CommandFailed } from './exit-codes';

// Long enough for a remote server; a refused connection is retried until then, so not longer.
const CONNECT_TIMEOUT_MS = 5_000;

export interface TemporalSession {
  client: Client;
  agents: AgentClient;
}

export async function withTemporalClient<T>(
  settings: Config['temporal'],
  use: (session: TemporalSession) => Promise<T>,
): Promise<T> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address: settings.address, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch (error) {
    throw new CommandFailed(
      `cannot reach Temporal at ${settings.address}: ${error instanceof Error ? error.message : String(error)}\n` +
        'Is `vigil dev` (or your Temporal server) running? Point at another one with --address or TEMPORAL_ADDRESS.',
      { cause: error },
    );
  }
  try {
    const client = new Client({ connection, namespace: settings.namespace });
    return await use({ client, agents: new AgentClient({ client, taskQueue: settings.taskQueue }) });
  } finally {
    await connection.close();
  }
}
