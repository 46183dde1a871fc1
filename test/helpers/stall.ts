/**
 * A held answer for the test servers that stand in for third parties: the request is applied, its answer
 * waits until the test releases it, as when the caller dies before it hears back.
 */
export interface Stall {
  /** Called by the server when the stalled request arrives. */
  arrived: () => void;
  /** Resolves once the test releases the answer. */
  released: Promise<void>;
}

/** The server's side (`stall`) and the test's (`arrived` to wait on, `release` to let the answer go). */
export function createStall(): { stall: Stall; arrived: Promise<void>; release: () => void } {
  let arrived!: () => void;
  let release!: () => void;
  const arrivedP = new Promise<void>((resolve) => (arrived = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  return { stall: { arrived, released }, arrived: arrivedP, release };
}
