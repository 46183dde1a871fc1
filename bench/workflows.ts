/** Workflows for the benchmark (bundled once by bench/run.ts). */
import { condition, defineQuery, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from './activities';

const { echo } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s' });

/** start -> one activity -> complete. */
export async function oneActivity(n: number): Promise<number> {
  return echo(n);
}

export const stepSignal = defineSignal<[number]>('step');
export const stopSignal = defineSignal('stop');
export const lastQuery = defineQuery<number>('last');

/** On signal `step(n)` runs the activity with n and stores its result; `last` returns it; ends on `stop`. */
export async function signalActivityQuery(): Promise<number> {
  let last = -1;
  let stopped = false;
  const pending: number[] = [];
  setHandler(stepSignal, (n) => void pending.push(n));
  setHandler(stopSignal, () => void (stopped = true));
  setHandler(lastQuery, () => last);
  for (;;) {
    await condition(() => pending.length > 0 || stopped);
    if (pending.length === 0) return last;
    last = await echo(pending.shift()!);
  }
}
