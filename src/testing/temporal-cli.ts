/**
 * The real Temporal on one machine: the Temporal CLI's dev server (`temporal server start-dev`, server with
 * SQLite and the Web UI), started as a child process in its own process group and stopped with it. Used by
 * `vigil dev`, by `npm run test:temporal` (the suite on a real server) and by tests that need a real server of
 * their own (dynamic config that a shared server cannot have).
 */
import { Connection } from '@temporalio/client';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, statSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ConfigError, SystemError } from '../errors';
import { VIGIL_SEARCH_ATTRIBUTES } from '../search-attributes';

/** The CLI release scripts/install-temporal.sh builds; it carries Temporal server 1.29.1. */
export const TEMPORAL_CLI_VERSION = '1.5.1';

/** The dev server did not start, or went away. */
export class TemporalCliError extends SystemError {}

export interface TemporalCliServerOptions {
  /** The `temporal` binary. */
  executable: string;
  /** gRPC port on 127.0.0.1; absent or 0 picks a free one. */
  port?: number;
  /** Serve the Web UI (default true); on `uiPort`, or the CLI's default of port + 1000. */
  ui?: boolean;
  uiPort?: number;
  /** Namespaces besides `default`. */
  namespaces?: string[];
  /** `--dynamic-config-value KEY=VALUE`; values are sent as JSON. */
  dynamicConfig?: Readonly<Record<string, unknown>>;
  /** Keep the state in this SQLite file (kept across restarts); in memory when absent. */
  dbFile?: string;
  /** Each line the server writes to stderr (its log, at `logLevel`). */
  onStderr?(line: string): void;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Aborting it gives up waiting for the server to start. */
  stop?: AbortSignal;
  /** How long to wait for it to answer (default 60 s). */
  startTimeoutMs?: number;
}

export interface TemporalCliServer {
  address: string;
  uiURL?: string;
  /** The server's command line, for messages. */
  args: string[];
  /** Rejects if the server goes away on its own. */
  exited: Promise<never>;
  /** Stops it (SIGTERM to its process group, SIGKILL after 10 s); idempotent. */
  close(): Promise<void>;
  /** SIGKILL to its process group, as a crash: nothing is flushed or closed first. */
  kill(): Promise<void>;
}

/** The start was given up because `stop` was aborted; the server has been stopped again. */
export class TemporalCliStartCancelled extends TemporalCliError {}

const POLL_INTERVAL_MS = 250;
const STOP_TIMEOUT_MS = 10_000;

/** Where scripts/install-temporal.sh puts the CLI (VIGIL_TEMPORAL_HOME, else the user's cache folder). */
export function installedTemporalCliPath(env: NodeJS.ProcessEnv = process.env): string {
  const home =
    env.VIGIL_TEMPORAL_HOME || join(env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vigil', 'temporal-cli');
  return join(home, `v${TEMPORAL_CLI_VERSION}`, 'temporal');
}

/**
 * The Temporal CLI to use: VIGIL_TEMPORAL_CLI when set (an error if it is not an executable), else `temporal` on
 * PATH, else the one scripts/install-temporal.sh installed when `installed` is true; undefined when none.
 */
export function findTemporalCli(options: { env?: NodeJS.ProcessEnv; installed?: boolean } = {}): string | undefined {
  const env = options.env ?? process.env;
  const chosen = env.VIGIL_TEMPORAL_CLI;
  if (chosen) {
    if (!isExecutableFile(chosen)) throw new ConfigError([`VIGIL_TEMPORAL_CLI=${chosen} is not an executable file`]);
    return chosen;
  }
  const onPath = findExecutable('temporal', env.PATH ?? '');
  if (onPath) return onPath;
  const installed = installedTemporalCliPath(env);
  return options.installed && isExecutableFile(installed) ? installed : undefined;
}

export async function startTemporalCliServer(options: TemporalCliServerOptions): Promise<TemporalCliServer> {
  // The CLI takes no port 0 (and picks its HTTP and metrics ports itself); a port free a moment ago is the best
  // that can be done.
  const port = options.port ? options.port : await freePort();
  const address = `127.0.0.1:${port}`;
  const ui = options.ui ?? true;
  const uiPort = options.uiPort ?? port + 1000;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    ...(ui ? ['--ui-port', String(uiPort)] : ['--headless']),
    '--log-level',
    options.logLevel ?? 'error',
    ...(options.dbFile ? ['--db-filename', options.dbFile] : []),
    ...(options.namespaces ?? []).flatMap((namespace) => ['--namespace', namespace]),
    ...Object.entries(VIGIL_SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    ...Object.entries(options.dynamicConfig ?? {}).flatMap(([key, value]) => [
      '--dynamic-config-value',
      `${key}=${JSON.stringify(value)}`,
    ]),
  ];

  // Its own process group, so that stopping it stops whatever it started too, and a Ctrl-C meant for the
  // parent reaches it only through close().
  const child = spawn(options.executable, args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const recent: string[] = [];
  child.stderr.setEncoding('utf8').on('data', (text: string) => {
    for (const line of text.split('\n').filter((l) => l.trim() !== '')) {
      options.onStderr?.(line);
      recent.push(line);
      if (recent.length > 20) recent.shift();
    }
  });
  let running = true;
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (error) => {
      running = false;
      reject(new TemporalCliError(`could not run ${options.executable}: ${error.message}`));
    });
    child.once('exit', (code, signal) => {
      running = false;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      const tail = recent.length > 0 ? `:\n  ${recent.join('\n  ')}` : '';
      reject(new TemporalCliError(`the Temporal CLI dev server ${how}${tail}`));
    });
  });
  exited.catch(() => {}); // Read by the caller while the server runs; here only raced.

  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const close = async () => {
    if (!running) return;
    const gone = once(child, 'exit');
    signalGroup('SIGTERM');
    const forced = setTimeout(() => signalGroup('SIGKILL'), STOP_TIMEOUT_MS);
    await gone;
    clearTimeout(forced);
  };
  const kill = async () => {
    if (!running) return;
    const gone = once(child, 'exit');
    signalGroup('SIGKILL');
    await gone;
  };

  try {
    await Promise.race([waitUntilServing(address, options), exited]);
  } catch (error) {
    await close();
    throw error;
  }
  return { address, uiURL: ui ? `http://127.0.0.1:${uiPort}` : undefined, args, exited, close, kill };
}

/**
 * Polls until the server answers with Vigil's search attributes in `default`: the CLI prints nothing reliable to
 * wait on, and its frontend answers a moment before the attributes given on its command line are registered.
 */
async function waitUntilServing(address: string, options: TemporalCliServerOptions): Promise<void> {
  const timeoutMs = options.startTimeoutMs ?? 60_000;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (!options.stop?.aborted && Date.now() < deadline) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        if (Object.keys(VIGIL_SEARCH_ATTRIBUTES).every((name) => customAttributes?.[name] !== undefined)) return;
        lastError = new Error("Vigil's search attributes are not registered yet");
      } finally {
        await connection.close();
      }
    } catch (error) {
      lastError = error;
    }
    await sleep(POLL_INTERVAL_MS, undefined, { signal: options.stop }).catch(() => undefined);
  }
  if (options.stop?.aborted) throw new TemporalCliStartCancelled('stopped before Temporal was ready');
  const reason = lastError instanceof Error ? lastError.message : String(lastError);
  throw new TemporalCliError(
    `the Temporal CLI dev server did not answer at ${address} within ${timeoutMs / 1000}s: ${reason}`,
  );
}

export async function freePort(): Promise<number> {
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
      if (isExecutableFile(candidate)) return candidate;
    }
  }
  return undefined;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
