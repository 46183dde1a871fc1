/**
 * The suite's real processes: `vigil worker`, `vigil gateway` and `vigil test-server`, each in a process group of
 * its own, so that a SIGKILL takes the whole group as a crashing machine would, and nothing outlives the suite.
 * Everything a process writes goes to a log file of the run as it comes (the secrets part reads them all), and a
 * caller waits on what a process prints, never on a timer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = join(__dirname, '..', '..');
const BIN = join(REPO, 'bin', 'vigil.js');

/** Every process the suite started and has not stopped, so an interrupted run stops them all. */
const running = new Set<VigilProcess>();

export class VigilProcess {
  private child!: ChildProcess;
  private output = '';
  private listeners = new Set<() => void>();
  private exit!: Promise<void>;
  /** How many times the process was started; the log names each start. */
  starts = 0;

  constructor(
    readonly name: string,
    private readonly args: string[],
    private readonly env: NodeJS.ProcessEnv,
    private readonly logFile: string,
  ) {}

  /** Starts it (again), and resolves once it prints `ready`. */
  async start(ready: RegExp): Promise<RegExpMatchArray> {
    this.starts++;
    this.output = '';
    appendFileSync(this.logFile, `--- start ${this.starts} of ${this.name}\n`);
    this.child = spawn(process.execPath, [BIN, ...this.args], {
      cwd: REPO,
      env: this.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(this);
    for (const stream of [this.child.stdout!, this.child.stderr!]) {
      stream.setEncoding('utf8').on('data', (text: string) => {
        appendFileSync(this.logFile, text);
        this.output += text;
        for (const listener of this.listeners) listener();
      });
    }
    this.exit = once(this.child, 'close').then(() => {
      running.delete(this);
      for (const listener of this.listeners) listener();
    });
    return this.waitFor(ready);
  }

  /** The first match of `pattern` in what this start printed; rejects if the process ends first. */
  waitFor(pattern: RegExp): Promise<RegExpMatchArray> {
    const child = this.child;
    return new Promise((resolve, reject) => {
      const check = () => {
        const match = this.output.match(pattern);
        if (match) {
          this.listeners.delete(check);
          resolve(match);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          this.listeners.delete(check);
          reject(new Error(`${this.name} ended (${child.exitCode ?? child.signalCode}) before printing ${pattern}`));
        }
      };
      this.listeners.add(check);
      check();
    });
  }

  /** What this start has printed so far. */
  printed(): string {
    return this.output;
  }

  /** SIGKILL to the whole group, as a power cut; resolves once it is gone. */
  async kill(): Promise<void> {
    await this.signal('SIGKILL');
  }

  /** SIGTERM, and SIGKILL if it has not stopped within 15 s. */
  async stop(): Promise<void> {
    const forced = setTimeout(() => this.signalGroup('SIGKILL'), 15_000);
    try {
      await this.signal('SIGTERM');
    } finally {
      clearTimeout(forced);
    }
  }

  private async signal(signal: NodeJS.Signals): Promise<void> {
    if (!running.has(this)) return;
    this.signalGroup(signal);
    await this.exit;
  }

  private signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.child.pid!, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Stops every process still running: at the end of a run, and when it is interrupted. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((p) => p.kill()));
}
