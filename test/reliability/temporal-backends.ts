/**
 * The two Temporal servers the suite runs on, each as a process of its own: Vigil's in-process server as
 * `vigil test-server` (state in memory), and the Temporal CLI's dev server (the real server, SQLite) over a
 * database file, so that it can be killed and started again over the same state.
 */
import { Connection } from '@temporalio/client';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { registerVigilSearchAttributes } from '../../src/search-attributes-setup';
import { freePort, startTemporalCliServer, type TemporalCliServer } from '../../src/testing/temporal-cli';
import { VigilProcess } from './processes';

export type ServerKind = 'in-process' | 'real';

export interface Backend {
  kind: ServerKind;
  address: string;
  /** SIGKILLs the server and starts it again over the same database; only the real server keeps its state. */
  crashAndRestart?(): Promise<void>;
  close(): Promise<void>;
}

export async function startBackend(
  kind: ServerKind,
  options: { runDir: string; cli?: string; env: NodeJS.ProcessEnv },
): Promise<Backend> {
  return kind === 'in-process' ? startInProcess(options) : startReal(options);
}

async function startInProcess({ runDir, env }: { runDir: string; env: NodeJS.ProcessEnv }): Promise<Backend> {
  const server = new VigilProcess('test-server', ['test-server', '--port', '0'], env, join(runDir, 'test-server.log'));
  const [, address] = await server.start(/listening on (\S+)/);
  const connection = await Connection.connect({ address });
  try {
    await registerVigilSearchAttributes(connection, 'default');
  } finally {
    await connection.close();
  }
  return { kind: 'in-process', address, close: () => server.stop() };
}

async function startReal({ runDir, cli }: { runDir: string; cli?: string }): Promise<Backend> {
  if (!cli) throw new Error('no Temporal CLI: set VIGIL_TEMPORAL_CLI or run `npm run install-temporal`');
  const port = await freePort();
  const logFile = join(runDir, 'temporal-dev-server.log');
  const start = () =>
    startTemporalCliServer({
      executable: cli,
      port,
      ui: false,
      dbFile: join(runDir, 'temporal.db'),
      logLevel: 'warn',
      onStderr: (line) => appendFileSync(logFile, `${line}\n`),
    });
  let server: TemporalCliServer = await start();
  return {
    kind: 'real',
    address: server.address,
    crashAndRestart: async () => {
      await server.kill();
      appendFileSync(logFile, '--- killed (SIGKILL), starting again over the same database\n');
      server = await start();
    },
    close: () => server.close(),
  };
}
