/**
 * `vigil chat` as a person uses it: the real command (bin/vigil.js) in a pseudo-terminal (node-pty), typed at
 * key by key, its screen read as text. A test waits for what the screen shows, polling with a deadline.
 */
import { spawn, type IPty } from 'node-pty';
import { join } from 'node:path';
import { cleanEnv, REPO } from './cli-process';

const BIN = join(REPO, 'bin', 'vigil.js');
const DEFAULT_WAIT_MS = 20_000;

export const CTRL_C = '\x03';
export const CTRL_D = '\x04';
export const ENTER = '\r';

export interface ChatTerminal {
  /** Everything shown so far, colours and cursor moves taken out. */
  screen(): string;
  /** Types text (keys, or a line ending with ENTER). */
  type(text: string): void;
  /**
   * Waits until the screen shows `pattern` after what earlier waits matched, and returns the match; the next
   * wait starts after it. Fails with the screen when the deadline passes or the chat exits first.
   */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** The screen from the end of the last match on. */
  rest(): string;
  exited: Promise<number>;
  /** The exit code, once the chat has exited; fails with the screen if it has not by the deadline. */
  exitCode(timeoutMs?: number): Promise<number>;
  kill(): void;
}

/** ANSI escape sequences: colours, and readline's cursor moves and line clearing. */
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][A-Z0-9]|\r/g;

export function startChat(args: string[], env: NodeJS.ProcessEnv = cleanEnv()): ChatTerminal {
  return startTerminal(process.execPath, [BIN, 'chat', ...args], { env });
}

/**
 * Any command in a pseudo-terminal of its own, as a person starts it from a shell: it leads its own session and
 * process group, so the terminal's Ctrl-C reaches it and every process it starts, as a shell's job control does.
 */
export function startTerminal(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string } = {},
): ChatTerminal {
  const pty: IPty = spawn(file, args, {
    name: 'xterm',
    cols: 200,
    rows: 50,
    cwd: options.cwd ?? REPO,
    env: (options.env ?? cleanEnv()) as Record<string, string>,
  });
  let raw = '';
  let cursor = 0;
  let exitCode: number | null = null;
  pty.onData((data) => (raw += data));
  const exited = new Promise<number>((resolve) =>
    pty.onExit(({ exitCode: code }) => {
      exitCode = code;
      resolve(code);
    }),
  );
  const screen = () => raw.replace(ANSI, '');

  return {
    screen,
    type: (text) => pty.write(text),
    rest: () => screen().slice(cursor),
    exited,
    kill: () => {
      if (exitCode === null) pty.kill('SIGKILL');
    },
    exitCode: async (timeoutMs = DEFAULT_WAIT_MS) => {
      const deadline = Date.now() + timeoutMs;
      while (exitCode === null) {
        if (Date.now() > deadline) throw new Error(`the chat did not exit in ${timeoutMs} ms:\n${screen()}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return exitCode;
    },
    waitFor: async (pattern, timeoutMs = DEFAULT_WAIT_MS) => {
      const deadline = Date.now() + timeoutMs;
      const flags = pattern.flags.includes('g') ? pattern.flags : `${pattern.flags}g`;
      for (;;) {
        const search = new RegExp(pattern.source, flags);
        search.lastIndex = cursor;
        const match = search.exec(screen());
        if (match) {
          cursor = match.index + match[0].length;
          return match;
        }
        if (exitCode !== null || Date.now() > deadline) {
          const why = exitCode !== null ? `the chat exited (${exitCode})` : 'the deadline passed';
          throw new Error(`${why} before the screen showed ${pattern} after position ${cursor}:\n${screen()}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
  };
}
