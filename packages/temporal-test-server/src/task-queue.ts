/**
 * Matching of tasks to long polls. A task is a closure that turns into a poll response when a poller takes it,
 * or into nothing when it went stale in the queue (its run closed, its activity was cancelled).
 */
export type Task<R, C> = (poller: C) => R | undefined;

interface Poller<R, C> {
  context: C;
  deliver(response: R): boolean;
}

export class TaskQueue<R, C> {
  private tasks: Task<R, C>[] = [];
  private pollers: Poller<R, C>[] = [];

  get backlog(): number {
    return this.tasks.length;
  }

  /** Polls waiting now. */
  get waiting(): number {
    return this.pollers.length;
  }

  /** Queues a task; the function returned takes it out again if no poller has taken it yet. */
  add(task: Task<R, C>): () => void {
    this.tasks.push(task);
    // Matching waits for the current state change to finish: a task taken synchronously would write its
    // Started events into the middle of, say, a workflow task completion.
    queueMicrotask(() => this.match());
    return () => {
      const at = this.tasks.indexOf(task);
      if (at >= 0) this.tasks.splice(at, 1);
    };
  }

  /**
   * Waits for a task until `timeoutMs` passes or `isCancelled()` turns true; resolves undefined then.
   * A response is only handed to a poller whose call is still open, so a cancelled poll never loses a task.
   */
  poll(
    context: C,
    timeoutMs: number,
    isCancelled: () => boolean,
    onCancel: (listener: () => void) => void,
  ): Promise<R | undefined> {
    return new Promise((resolve) => {
      let done = false;
      const finish = (response: R | undefined) => {
        if (done) return false;
        done = true;
        clearTimeout(timer);
        const at = this.pollers.indexOf(poller);
        if (at >= 0) this.pollers.splice(at, 1);
        resolve(response);
        return true;
      };
      const poller: Poller<R, C> = {
        context,
        deliver: (response) => (isCancelled() ? (finish(undefined), false) : finish(response)),
      };
      const timer = setTimeout(() => finish(undefined), Math.max(0, timeoutMs));
      timer.unref();
      onCancel(() => finish(undefined));
      this.pollers.push(poller);
      this.match();
    });
  }

  /** Answers every waiting poll with nothing (server shutdown). */
  release(empty: R): void {
    for (const poller of [...this.pollers]) poller.deliver(empty);
  }

  private match(): void {
    while (this.pollers.length > 0 && this.tasks.length > 0) {
      const poller = this.pollers[0];
      const task = this.tasks.shift()!;
      const response = task(poller.context);
      if (response === undefined) continue;
      if (!poller.deliver(response)) {
        // The poll was cancelled under us: the task was already turned into a response (e.g. a Started event
        // written). Hand the same response to the next poller instead of losing it.
        this.tasks.unshift(() => response);
      }
    }
  }
}
