/**
 * The Temporal that `vigil dev` starts when TEMPORAL_ADDRESS is not set: the Temporal CLI's dev server
 * (`temporal server start-dev`, see src/testing/temporal-cli.ts) when VIGIL_TEMPORAL_CLI names it or `temporal` is
 * on PATH, since it has the Web UI and the real server's behaviour; otherwise Vigil's in-process test server, which
 * needs nothing installed but keeps its state in memory only. Either way the namespace and Vigil's search attributes are ready before the worker starts.
 */
import { Connection } from '@temporalio/client';
import { logVerbosity, setLogVerbosity } from '@grpc/grpc-js';
import { listMissingSearchAttributes, registerVigilSearchAttributes } from '../../search-attributes-setup';
import {
  findTemporalCli,
  startTemporalCliServer,
  TemporalCliError,
  TemporalCliStartCancelled,
} from '../../testing/temporal-cli';
import { startTestServer } from '@vigil/temporal-test-server';
import { createServer } from 'node:net';
import { CommandFailed } from '../exit-codes';

export interface DevTemporalOptions {
  /** 0 picks a free port. */
  port: number;
  /** The user chose the port: fail when it is taken instead of moving to a free one. */
  portIsExplicit: boolean;
  /** The Temporal CLI's Web UI port; its default (port + 1000) when absent. */
  uiPort?: number;
  namespace: string;
  /**
   * Where the Temporal CLI's dev server keeps its state (SQLite), so conversations outlive a restart of vigil dev,
   * as the content store beside it does. The in-process server keeps nothing.
   */
  dbFile: string;
  /** Aborting it gives up waiting for the server to start. */
  stop: AbortSignal;
  /** Tells the user what is happening. */
  say(message: string): void;
}

export interface DevTemporal {
  address: string;
  /** One line for the banner: what this server is and what to expect of it. */
  description: string;
  uiURL?: string;
  /** Rejects if the server goes away on its own while dev runs (never for the in-process one). */
  exited: Promise<never>;
  close(): Promise<void>;
}

/** The stop signal came while the server was starting; it has been shut down again. */
export class StartCancelled extends CommandFailed {}

export async function startDevTemporal(options: DevTemporalOptions): Promise<DevTemporal> {
  const cli = findTemporalCli();
  return cli ? startCliDevServer(cli, options) : startInProcess(options);
}

async function startInProcess(options: DevTemporalOptions): Promise<DevTemporal> {
  let server;
  // grpc-js logs a failed bind itself ("E No address added ..."); what is said below says it better.
  const quietBind = !process.env.GRPC_VERBOSITY && !process.env.GRPC_NODE_VERBOSITY;
  if (quietBind) setLogVerbosity(logVerbosity.NONE);
  try {
    server = await startTestServer({ port: options.port });
  } catch (error) {
    if (options.portIsExplicit || options.port === 0) throw portProblem(error, options.port);
    options.say(`port ${options.port} is taken; using a free port instead (choose one with --port)`);
    server = await startTestServer({ port: 0 });
  } finally {
    if (quietBind) setLogVerbosity(logVerbosity.ERROR);
  }
  options.say(
    `no TEMPORAL_ADDRESS and no \`temporal\` CLI on PATH: started the in-process Temporal server at ${server.address}. ` +
      'Its state is in memory only and is lost when vigil dev exits.',
  );
  try {
    await prepareNamespace(server.address, options.namespace);
  } catch (error) {
    await server.close();
    throw error;
  }
  return {
    address: server.address,
    description: `${server.address} (in-process server: state in memory only, lost when vigil dev exits)`,
    exited: new Promise<never>(() => {}),
    close: () => server.close(),
  };
}

/** The namespace (when not `default`, which the test server has) and Vigil's search attributes in it. */
async function prepareNamespace(address: string, namespace: string): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    if (namespace !== 'default') {
      await connection.workflowService.registerNamespace({ namespace });
    }
    await registerVigilSearchAttributes(connection, namespace);
  } finally {
    await connection.close();
  }
}

/**
 * Vigil's search attributes that the namespace lacks: the conversation workflow sets them, and its workflow
 * tasks fail until they exist. Empty when the server cannot be asked; the worker reports an unreachable server.
 */
export async function missingSearchAttributes(address: string, namespace: string): Promise<string[]> {
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, connectTimeout: 2_000 });
  } catch {
    return [];
  }
  try {
    return await listMissingSearchAttributes(connection, namespace);
  } catch {
    return [];
  } finally {
    await connection.close();
  }
}

async function startCliDevServer(executable: string, options: DevTemporalOptions): Promise<DevTemporal> {
  options.say(`no TEMPORAL_ADDRESS: starting the Temporal CLI's dev server (${executable} server start-dev)`);
  const port = await portToUse(options);
  let server;
  try {
    server = await startTemporalCliServer({
      executable,
      port, // 0: startTemporalCliServer picks a free one
      uiPort: options.uiPort,
      namespaces: options.namespace !== 'default' ? [options.namespace] : [],
      dbFile: options.dbFile,
      stop: options.stop,
      // Its errors are worth seeing as they come; the last of them also explain an early exit.
      onStderr: (line) => process.stderr.write(`temporal: ${line}\n`),
    });
  } catch (error) {
    if (error instanceof TemporalCliStartCancelled) throw new StartCancelled(error.message);
    if (error instanceof TemporalCliError) throw new CommandFailed(error.message);
    throw error;
  }
  return {
    address: server.address,
    description: `${server.address} (Temporal CLI dev server; state kept across restarts in ${options.dbFile})`,
    uiURL: server.uiURL,
    exited: server.exited.catch((error: unknown) => {
      throw error instanceof TemporalCliError ? new CommandFailed(error.message) : error;
    }),
    close: () => server.close(),
  };
}

function portProblem(error: unknown, port: number): CommandFailed {
  const message = error instanceof Error ? error.message : String(error);
  if (/EADDRINUSE|address already in use|No address added/i.test(message)) {
    return new CommandFailed(
      `port ${port} on 127.0.0.1 is already in use; choose another with --port (0 picks a free one)`,
    );
  }
  return new CommandFailed(`could not start the in-process Temporal server on port ${port}: ${message}`);
}

/**
 * The port for the Temporal CLI's dev server: the default one when it is free; else, as for the in-process
 * server, a free one (0), which the user is told. A port the user chose is kept, and the CLI says if it is taken.
 */
export async function portToUse(options: Pick<DevTemporalOptions, 'port' | 'portIsExplicit' | 'say'>): Promise<number> {
  if (options.portIsExplicit || options.port === 0 || (await isFree(options.port))) return options.port;
  options.say(`port ${options.port} is taken; using a free port instead (choose one with --port)`);
  return 0;
}

async function isFree(port: number): Promise<boolean> {
  const probe = createServer();
  return new Promise((resolve) => {
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}
