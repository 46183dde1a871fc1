/**
 * The server's clock: real time plus an offset that time skipping advances. Every event is stamped from it and
 * every server-side deadline (timers, activity and workflow-task timeouts, retry backoff) is a timer on it.
 */
export interface ClockTimer {
  cancel(): void;
}

interface Entry {
  due: number;
  seq: number;
  fire: () => void;
  cancelled: boolean;
}

export class Clock {
  private offset = 0;
  private entries: Entry[] = [];
  private seq = 0;
  private handle: NodeJS.Timeout | undefined;
  private skipCheckQueued = false;
  private locks = 0;
  private closed = false;

  /**
   * @param timeSkipping jump to the next timer whenever `isIdle()` says nothing is running and no client holds
   *   a time-skipping lock.
   */
  constructor(
    readonly timeSkipping: boolean,
    private readonly isIdle: () => boolean = () => true,
  ) {}

  now(): number {
    return Date.now() + this.offset;
  }

  /** Runs `fire` once the clock reaches now + delayMs. */
  after(delayMs: number, fire: () => void): ClockTimer {
    return this.at(this.now() + Math.max(0, delayMs), fire);
  }

  at(due: number, fire: () => void): ClockTimer {
    const entry: Entry = { due, seq: this.seq++, fire, cancelled: false };
    // Keep entries ordered by due time, then creation order, so timers due together fire as scheduled.
    let i = this.entries.length;
    while (i > 0 && this.entries[i - 1].due > due) i--;
    this.entries.splice(i, 0, entry);
    this.arm();
    return {
      cancel: () => {
        if (entry.cancelled) return;
        entry.cancelled = true;
        const at = this.entries.indexOf(entry);
        if (at >= 0) this.entries.splice(at, 1);
        this.arm();
      },
    };
  }

  lock(): void {
    this.locks++;
  }

  unlock(): boolean {
    if (this.locks === 0) return false;
    this.locks--;
    this.poke();
    return true;
  }

  /** Called after every state change: when time skipping is on and nothing is running, time may jump. */
  poke(): void {
    if (!this.timeSkipping || this.skipCheckQueued || this.closed) return;
    this.skipCheckQueued = true;
    setImmediate(() => {
      this.skipCheckQueued = false;
      if (this.closed || this.locks > 0 || this.entries.length === 0 || !this.isIdle()) return;
      const head = this.entries[0];
      const now = this.now();
      if (head.due > now) this.offset += head.due - now;
      this.fireDue();
    });
  }

  close(): void {
    this.closed = true;
    if (this.handle) clearTimeout(this.handle);
    this.entries = [];
  }

  private arm(): void {
    if (this.handle) clearTimeout(this.handle);
    this.handle = undefined;
    if (this.closed || this.entries.length === 0) return;
    const delay = Math.max(0, this.entries[0].due - this.now());
    // setTimeout caps at about 24.8 days; longer timers re-arm when that one fires.
    this.handle = setTimeout(() => this.fireDue(), Math.min(delay, 2 ** 31 - 1));
    this.handle.unref();
    this.poke();
  }

  private fireDue(): void {
    const now = this.now();
    while (this.entries.length > 0 && this.entries[0].due <= now) {
      const entry = this.entries.shift()!;
      entry.cancelled = true;
      try {
        entry.fire();
      } catch (err) {
        // A timer callback is server logic; a bug there must not stop the other timers.
        console.error('temporal test server: timer callback failed', err);
      }
    }
    this.arm();
  }
}
