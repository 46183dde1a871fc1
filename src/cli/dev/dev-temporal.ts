/**
 * The Temporal that `vigil dev` starts when TEMPORAL_ADDRESS is not set: the Temporal CLI's dev server
 * (`temporal server start-dev`) when `temporal` is on PATH, since it has the Web UI and the real server's
 * behaviour; otherwise Vigil's in-process test server, which needs nothing installed but keeps its state in
 * memory only. Either way the namespace and Vigil's search attributes are ready before the worker starts.
 */
import { Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { logVerbosity, setLogVerbosity } from '@grpc/grpc-js';
import { accessSync, constants, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { VIGIL_SEARCH_ATTRIBUTES } from '../../search-attributes';
import { listMissingSearchAttributes, registerVigilSearchAttributes } from '../../search-attributes-setup';
import { startTestServer } from '../../testing/temporal-server';
import { CommandFailed } from '../exit-codes';

export interface DevTemporalOptions {
  /** 0 picks a free port. */
  port: number;
  /** The user chose the port: fail when it is taken instead of moving to a free one. */
  portIsExplicit: boolean;
  /** The Temporal CLI's Web UI port; its default (port + 1000) when absent. */
  uiPort?: number;
  namespace: string;
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

const CLI_START_TIMEOUT_MS = 60_000;
const CLI_POLL_INTERVAL_MS = 250;
const CLI_STOP_TIMEOUT_MS = 10_000;

export async function startDevTemporal(options: DevTemporalOptions): Promise<DevTemporal> {
  const cli = findExecutable('temporal');
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
  // The CLI takes no port 0; a port free a moment ago is the best that can be done.
  const port = options.port === 0 ? await freePort() : options.port;
  const address = `127.0.0.1:${port}`;
  const uiPort = options.uiPort ?? port + 1000;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--log-level',
    'error',
    ...(options.namespace !== 'default' ? ['--namespace', options.namespace] : []),
    ...Object.entries(VIGIL_SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
  options.say(`no TEMPORAL_ADDRESS: starting the Temporal CLI's dev server (${executable} ${args.join(' ')})`);

  const child = spawn(executable, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  // Its errors are worth seeing as they come, and the last of them explain an early exit.
  const recent: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    for (const line of text.split('\n').filter((l) => l.trim() !== '')) {
      process.stderr.write(`temporal: ${line}\n`);
      recent.push(line);
      if (recent.length > 20) recent.shift();
    }
  });
  let running = true;
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => {
      running = false;
      reject(new CommandFailed(`could not run ${executable}: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      running = false;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = recent.length > 0 ? `:\n  ${recent.join('\n  ')}` : '';
      reject(new CommandFailed(`the Temporal CLI dev server ${how}${tail}`));
    });
  });
  exited.catch(() => {}); // Read by the caller while dev runs; here only raced.

  const close = async () => {
    if (!running) return;
    const gone = once(child, 'exit');
    child.kill('SIGTERM');
    const forced = setTimeout(() => child.kill('SIGKILL'), CLI_STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(forced);
  };

  try {
    await Promise.race([waitUntilServing(address, options.stop), exited]);
  } catch (error) {
    await close();
    throw error;
  }
  return {
    address,
    description: `${address} (Temporal CLI dev server; state lasts until vigil dev exits)`,
    uiURL: `http://127.0.0.1:${uiPort}`,
    exited,
    close,
  };
}

/** Polls until the server answers a gRPC call: the CLI prints nothing reliable to wait on. */
async function waitUntilServing(address: string, stop: AbortSignal): Promise<void> {
  const deadline = Date.now() + CLI_START_TIMEOUT_MS;
  let lastError: unknown;
  while (!stop.aborted && Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      await connection.close();
      return;
    } catch (error) {
      lastError = error;
      await sleep(CLI_POLL_INTERVAL_MS, undefined, { signal: stop }).catch(() => undefined);
    }
  }
  if (stop.aborted) throw new StartCancelled('stopped before Temporal was ready');
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new CommandFailed(`the Temporal CLI dev server did not answer at ${address} within ${CLI_START_TIMEOUT_MS / 1000}s: ${reason}`);
}

function portProblem(error: unknown, port: number): CommandFailed {
  const message = error instanceof Error ? error.message : String(error);
  if (/EADDRINUSE|address already in use|No address added/i.test(message)) {
    return new CommandFailed(`port ${port} on 127.0.0.1 is already in use; choose another with --port (0 picks a free one)`);
  }
  return new CommandFailed(`could not start the in-process Temporal server on port ${port}: ${message}`);
}

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The first executable of that name on PATH, or undefined. */
export function findExecutable(name: string, path = process.env.PATH ?? ''): string | undefined {
  const names = process.platform === 'win32' ? [`${name}.exe`, `${name}.cmd`] : [name];
  for (const dir of path.split(delimiter).filter((d) => d !== '')) {
    for (const candidate of names.map((n) => join(dir, n))) {
      try {
        accessSync(candidate, constants.X_OK);
        if (statSync(candidate).isFile()) return candidate;
      } catch {
        // not here
      }
    }
  }
  return undefined;
}
