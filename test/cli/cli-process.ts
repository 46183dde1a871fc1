/**
 * Runs the real `vigil` command (bin/vigil.js) as a child process, for the CLI tests: its output is collected
 * as it comes, a test waits on what it prints or on its exit, and nothing is timed by sleeping.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

export const REPO = join(__dirname, '..', '..');
const BIN = join(REPO, 'bin', 'vigil.js');

export interface CliProcess {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /**
   * Resolves with the first match of `pattern` in stdout or stderr (as chosen), in what was printed from
   * character `from` on (default: all of it); rejects if the process exits first.
   */
  waitFor(pattern: RegExp, stream?: 'stdout' | 'stderr', from?: number): Promise<RegExpMatchArray>;
  /** The exit code (or the signal that ended it). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * The content store of every command a test file runs (VIGIL_DATA_DIR): one folder, so `vigil dev`'s worker and
 * the `send` and `inspect` beside it share it as a user's do in one directory, and not the repository's .vigil/.
 */
export const DATA_DIR = mkdtempSync(join(tmpdir(), 'vigil-cli-'));
afterAll(() => rmSync(DATA_DIR, { recursive: true, force: true }));

/**
 * The environment of a user who has configured nothing: no Temporal address, no model, and no `temporal` CLI
 * on PATH (so `vigil dev` takes its fully offline path on any machine), with the store in DATA_DIR. Logs kept
 * to warnings.
 */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(TEMPORAL_|OPENAI_|VIGIL_)/.test(key)) continue;
    env[key] = value;
  }
  env.PATH = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir !== '' && !isExecutable(join(dir, 'temporal')))
    .join(delimiter);
  env.VIGIL_LOG_LEVEL = 'warn';
  env.VIGIL_DATA_DIR = DATA_DIR;
  return { ...env, ...extra };
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function startCli(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): CliProcess {
  const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  const listeners = new Set<() => void>();
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream].setEncoding('utf8').on('data', (text: string) => {
      output[stream] += text;
      for (const listener of listeners) listener();
    });
  }
  // 'close', not 'exit': it comes after the output streams have ended, so nothing printed is missed.
  const exited = once(child, 'close').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));

  return {
    child,
    stdout: () => output.stdout,
    stderr: () => output.stderr,
    exited,
    waitFor: (pattern, stream = 'stderr', from = 0) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const match = output[stream].slice(from).match(pattern);
          if (!match) return;
          listeners.delete(check);
          resolve(match);
        };
        listeners.add(check);
        check();
        void exited.then(({ code, signal }) => {
          if (!listeners.has(check)) return;
          listeners.delete(check);
          reject(
            new Error(
              `vigil ${args.join(' ')} exited (${code ?? signal}) before printing ${pattern}\n` +
                `stdout:\n${output.stdout}\nstderr:\n${output.stderr}`,
            ),
          );
        });
      }),
  };
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end. */
export async function runCli(args: string[], env?: NodeJS.ProcessEnv): Promise<CliResult> {
  const cli = startCli(args, env);
  const { code } = await cli.exited;
  return { code, stdout: cli.stdout(), stderr: cli.stderr() };
}

/** A port that was free a moment ago: for an address where nothing listens. */
export async function unusedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
