/**
 * Small workflows for the conformance suite: each exercises one thing the server must do, in a way a user
 * can observe through the client.
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
  ParentClosePolicy,
} from '@temporalio/workflow';
import type * as activities from './activities';

const { greet } = proxyActivities<typeof activities>({ startToCloseTimeout: '10s' });

export const addSignal = defineSignal<[number]>('add');
export const finishSignal = defineSignal('finish');
export const totalQuery = defineQuery<number>('total');
export const addAndGetUpdate = defineUpdate<number, [number]>('addAndGet');
export const waitUpdate = defineUpdate<string>('waitForever');

export async function echo(value: unknown): Promise<unknown> {
  return value;
}

export async function oneActivity(name: string): Promise<string> {
  return await greet(name);
}

/** Adds numbers from signals and updates; finishes on the `finish` signal. */
export async function counter(start = 0): Promise<number> {
  let total = start;
  let finished = false;
  setHandler(addSignal, (n) => {
    total += n;
  });
  setHandler(totalQuery, () => total);
  setHandler(
    addAndGetUpdate,
    (n) => {
      total += n;
      return total;
    },
    {
      validator: (n) => {
        if (n < 0) throw new Error(`cannot add a negative number: ${n}`);
      },
    },
  );
  setHandler(waitUpdate, async () => {
    await condition(() => false);
    return 'never';
  });
  setHandler(finishSignal, () => {
    finished = true;
  });
  await condition(() => finished);
  return total;
}

export async function sleeper(ms: number): Promise<number> {
  const before = Date.now();
  await sleep(ms);
  return Date.now() - before;
}

/** Waits for the `finish` signal or `ms`, whichever is first: a timer that is started, then cancelled. */
export async function waitOrTimeout(ms: number): Promise<'signalled' | 'timed out'> {
  let finished = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  return (await condition(() => finished, ms)) ? 'signalled' : 'timed out';
}

export async function waitForever(): Promise<void> {
  await condition(() => false);
}

export async function failing(message: string): Promise<void> {
  throw ApplicationFailure.nonRetryable(message, 'TestFailure');
}
