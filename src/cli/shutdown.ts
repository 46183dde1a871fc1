/**
 * Ctrl-C for long-running commands: the first SIGINT or SIGTERM asks for a graceful stop (running activities
 * finish, servers close); a second one exits at once, for when the user will not wait.
 */
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * Signals this close to the first are the same Ctrl-C. A terminal sends SIGINT to its whole foreground group, and
 * `npm start` (and tsx, and any runner) also forwards the one it got to its child: one keypress arrives as two or
 * three signals within milliseconds. A person pressing again to stop waiting takes longer than this.
 */
export const SAME_KEYPRESS_MS = 500;

/** Exit code for a stop forced by a second signal: 128 + SIGINT, as shells report an interrupted command. */
export const EXIT_FORCED = 130;

export interface ShutdownRequest {
  /** Aborted on the first signal. */
  signal: AbortSignal;
  /** Removes the signal handlers, once the command has stopped. */
  dispose(): void;
}

export function stopOnSignals(say: (message: string) => void): ShutdownRequest {
  const controller = new AbortController();
  let firstAt = 0;
  const handler = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted && performance.now() - firstAt < SAME_KEYPRESS_MS) return;
    if (controller.signal.aborted) {
      say(`${signal} again: exiting without waiting`);
      process.exit(EXIT_FORCED);
    }
    say(`${signal} received: shutting down (press Ctrl-C again to exit at once)`);
    firstAt = performance.now();
    controller.abort();
  };
  for (const signal of SIGNALS) process.on(signal, handler);
  return {
    signal: controller.signal,
    dispose: () => {
      for (const signal of SIGNALS) process.off(signal, handler);
    },
  };
}
