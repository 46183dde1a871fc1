/**
 * `npm start`: the worker on its embedded default. With TEMPORAL_ADDRESS set it is exactly `npm run worker`.
 * Without it, an in-process Temporal-protocol server is started first (state in memory only, gone on exit),
 * so a fresh checkout runs with nothing else installed. The channels issue turns this into `vigil dev`.
 */
import { Connection } from '@temporalio/client';
import { registerVigilSearchAttributes } from '../search-attributes-setup';
import { startTestServer } from '../testing/temporal-server';

async function main(): Promise<void> {
  if (!process.env.TEMPORAL_ADDRESS) {
    const server = await startTestServer({ port: 7233 }).catch(() => startTestServer({ port: 0 }));
    process.env.TEMPORAL_ADDRESS = server.address;
    const connection = await Connection.connect({ address: server.address });
    await registerVigilSearchAttributes(connection, process.env.TEMPORAL_NAMESPACE || 'default');
    await connection.close();
    process.stderr.write(
      `vigil: TEMPORAL_ADDRESS is not set, so an in-process Temporal server is running at ${server.address}.\n` +
        'vigil: its state is in memory only and is lost when this process exits; set TEMPORAL_ADDRESS to use a real Temporal.\n',
    );
  }
  // The worker entry point runs on import and owns the process from here (signals, exit codes).
  await import('./main.js');
}

main().catch((error: unknown) => {
  console.error('vigil: could not start:', error);
  process.exit(1);
});
