/**
 * Who polled each task queue lately, as DescribeTaskQueue reports it (its "pollers"): an identity and the time
 * of its last poll, forgotten after a while, as the real server's matching service forgets them (its poller
 * history lasts five minutes by default). Real time, not the cluster's clock: it is about live workers.
 */
export const POLLER_TTL_MS = 5 * 60_000;

export type PollerKind = 'workflow' | 'activity';

export class PollerHistory {
  private readonly seen = new Map<string, Map<string, number>>();

  record(namespace: string, queue: string, kind: PollerKind, identity: string): void {
    const key = keyOf(namespace, queue, kind);
    const pollers = this.seen.get(key) ?? new Map<string, number>();
    pollers.set(identity, Date.now());
    this.seen.set(key, pollers);
  }

  /** The pollers seen within POLLER_TTL_MS, the most recent first. */
  pollers(namespace: string, queue: string, kind: PollerKind): { identity: string; lastAccessMs: number }[] {
    const pollers = this.seen.get(keyOf(namespace, queue, kind));
    if (!pollers) return [];
    const since = Date.now() - POLLER_TTL_MS;
    for (const [identity, at] of pollers) if (at < since) pollers.delete(identity);
    return [...pollers]
      .map(([identity, lastAccessMs]) => ({ identity, lastAccessMs }))
      .sort((a, b) => b.lastAccessMs - a.lastAccessMs);
  }
}

function keyOf(namespace: string, queue: string, kind: PollerKind): string {
  return JSON.stringify([namespace, queue, kind]);
}
