/**
 * Small workflows for the conformance suite: each exercises one thing the server must do, in a way a user
 * can observe through the client. Activities are called by name, so each test supplies its own behaviour.
 */
import {
  ActivityCancellationType,
  ActivityOptions,
  ApplicationFailure,
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  defineUpdate,
  executeChild,
  getExternalWorkflowHandle,
  isCancellation,
  LocalActivityOptions,
  ParentClosePolicy,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  startChild,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const addSignal = defineSignal<[number]>('add');
export const finishSignal = defineSignal('finish');
export const noteSignal = defineSignal<[string]>('note');
export const totalQuery = defineQuery<number>('total');
export const notesQuery = defineQuery<string[]>('notes');
export const addAndGetUpdate = defineUpdate<number, [number]>('addAndGet');
export const waitUpdate = defineUpdate<string>('waitForever');

type AnyActivity = (...args: unknown[]) => Promise<unknown>;

export async function echo(value: unknown): Promise<unknown> {
  return value;
}

export async function oneActivity(name: string): Promise<string> {
  const { greet } = proxyActivities<{ greet(name: string): Promise<string> }>({ startToCloseTimeout: '10s' });
  return await greet(name);
}

/** Runs one activity by name with the given options and returns its result. */
export async function runActivity(name: string, args: unknown[], options: ActivityOptions): Promise<unknown> {
  const activities = proxyActivities<Record<string, AnyActivity>>(options);
  return await activities[name](...args);
}

export async function runLocalActivity(name: string, args: unknown[], options: LocalActivityOptions): Promise<unknown> {
  const activities = proxyLocalActivities<Record<string, AnyActivity>>(options);
  return await activities[name](...args);
}

/** Runs an activity until the workflow is cancelled; reports whether the activity's cancellation completed. */
export async function cancellableActivity(name: string, args: unknown[], options: ActivityOptions): Promise<string> {
  const activities = proxyActivities<Record<string, AnyActivity>>({
    ...options,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
  try {
    await activities[name](...args);
    return 'completed';
  } catch (err) {
    if (isCancellation(err)) return 'cancelled';
    throw err;
  }
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

/** Waits for the `finish` signal or `ms`, whichever is first: a timer that is started, then fired or cancelled. */
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

/** Returns the signals it saw; a local activity keeps its first workflow task open while the test signals. */
export async function lateSignals(): Promise<string[]> {
  const seen: string[] = [];
  setHandler(noteSignal, (note) => {
    seen.push(note);
  });
  setHandler(notesQuery, () => seen);
  const { block } = proxyLocalActivities<{ block(): Promise<void> }>({ startToCloseTimeout: '10s' });
  await block();
  return seen;
}

/** Fails its workflow task (a plain Error is a task failure, not a workflow failure) until signalled. */
export async function failsUntilSignalled(): Promise<string> {
  let fixed = false;
  setHandler(finishSignal, () => {
    fixed = true;
  });
  if (!fixed) throw new Error('not fixed yet');
  return 'recovered';
}

export async function continueAsNewCounter(remaining: number, runs = 1): Promise<number> {
  if (remaining > 0) await continueAsNew<typeof continueAsNewCounter>(remaining - 1, runs + 1);
  return runs;
}

export async function parent(childId: string): Promise<unknown> {
  return await executeChild(echo, { workflowId: childId, args: ['from child'] });
}

export async function parentOfFailingChild(childId: string): Promise<string> {
  try {
    await executeChild(failing, { workflowId: childId, args: ['child failed'] });
    return 'no failure';
  } catch (err) {
    return `${(err as Error).name}: ${((err as Error).cause as Error | undefined)?.message}`;
  }
}

/** Starts a child that never ends and returns: the parent close policy decides the child's fate. */
export async function parentLeavesChild(childId: string, policy: 'TERMINATE' | 'ABANDON'): Promise<string> {
  const child = await startChild(waitForever, {
    workflowId: childId,
    parentClosePolicy: policy === 'TERMINATE' ? ParentClosePolicy.TERMINATE : ParentClosePolicy.ABANDON,
  });
  return child.firstExecutionRunId;
}

export async function signalExternal(targetId: string, amount: number): Promise<string> {
  try {
    await getExternalWorkflowHandle(targetId).signal(addSignal, amount);
    return 'signalled';
  } catch (err) {
    return `failed: ${(err as Error).name}`;
  }
}

export async function cancelExternal(targetId: string): Promise<string> {
  try {
    await getExternalWorkflowHandle(targetId).cancel();
    return 'cancel requested';
  } catch (err) {
    return `failed: ${(err as Error).name}`;
  }
}

/** Upserts a keyword search attribute and a memo field, then waits for `finish`. */
export async function tagged(attribute: string, value: string): Promise<void> {
  upsertSearchAttributes([{ key: defineSearchAttributeKey(attribute, SearchAttributeType.KEYWORD), value }]);
  upsertMemo({ note: `tagged ${value}` });
  let finished = false;
  setHandler(finishSignal, () => {
    finished = true;
  });
  await condition(() => finished);
}

export async function info(): Promise<{ runId: string; firstRunId: string; attempt: number }> {
  const i = workflowInfo();
  return { runId: i.runId, firstRunId: i.firstExecutionRunId, attempt: i.attempt };
}

/** Sleeps, then continues as new, forever: only an execution timeout ends it. */
export async function sleepAndContinue(ms: number): Promise<void> {
  await sleep(ms);
  await continueAsNew<typeof sleepAndContinue>(ms);
}

export const pingSignal = defineSignal<[number]>('ping');
export const roundsQuery = defineQuery<number>('rounds');

/**
 * Many rounds in one run: each `ping` signal runs the `pong` activity with its number. Returns after `rounds`
 * rounds. For sticky execution (tasks after the first carry only new events) and its benchmark.
 */
export async function pingPong(rounds: number): Promise<number> {
  const pending: number[] = [];
  let done = 0;
  setHandler(pingSignal, (n) => void pending.push(n));
  setHandler(roundsQuery, () => done);
  const { pong } = proxyActivities<{ pong(n: number): Promise<number> }>({ startToCloseTimeout: '10s' });
  while (done < rounds) {
    await condition(() => pending.length > 0);
    await pong(pending.shift()!);
    done++;
  }
  return done;
}

export const itemSignal = defineSignal<[number]>('item');

/**
 * A queue fed by `item` signals, drained at each idle moment. Each run does one step (an activity), then each idle moment first runs the local activity
 * `idle` (the test sends signals while it runs, so they arrive during the workflow task), then continues as new
 * only if nothing is queued, carrying what it received. Returns what it received once it has `expected` items and
 * nothing is queued, or after `runsLeft` more runs (so a lost signal ends it, and shows as a missing number).
 */
export async function queueThenContinue(received: number[], expected: number, runsLeft: number): Promise<number[]> {
  const queue: number[] = [];
  setHandler(itemSignal, (n) => void queue.push(n));
  const { idle } = proxyLocalActivities<{ idle(): Promise<void> }>({ startToCloseTimeout: '10s' });
  // A turn of work first, so the idle moment comes in a later task: on a sticky queue, to a worker that has the
  // run cached.
  await proxyActivities<{ step(): Promise<void> }>({ startToCloseTimeout: '10s' }).step();
  for (;;) {
    await idle();
    if (queue.length === 0) {
      if (received.length >= expected || runsLeft <= 1) return received;
      await continueAsNew<typeof queueThenContinue>(received, expected, runsLeft - 1);
    }
    received.push(...queue.splice(0));
  }
}

/** What workflowInfo() told the workflow about its history and continuing as new, in the task that asked. */
export interface HistoryAdvice {
  runId: string;
  historyLength: number;
  historySize: number;
  continueAsNewSuggested: boolean;
  reasons: string[];
}

/** Its argument is only weight: it is recorded in history with the update. "reject" is refused by the validator. */
export const adviceUpdate = defineUpdate<HistoryAdvice, [weight: string]>('advice');
/** The advice the run's first workflow task carried. */
export const firstAdviceQuery = defineQuery<HistoryAdvice>('firstAdvice');
export const continueSignal = defineSignal('continue');

function historyAdvice(): HistoryAdvice {
  const i = workflowInfo();
  return {
    runId: i.runId,
    historyLength: i.historyLength,
    historySize: i.historySize,
    continueAsNewSuggested: i.continueAsNewSuggested,
    reasons: [...(i.suggestedContinueAsNewReasons ?? [])],
  };
}

/**
 * Answers each `advice` update with what workflowInfo() says about the history and continuing as new. Continues
 * as new on `continue` (the next run does the same), returns on `finish`. `timers` long timers started in the first
 * task make a long history at once (one TimerStarted event each).
 */
export async function adviceReporter(timers = 0): Promise<void> {
  const first = historyAdvice();
  for (let i = 0; i < timers; i++) void sleep('1 day');
  let next: 'continue' | 'finish' | undefined;
  setHandler(firstAdviceQuery, () => first);
  setHandler(adviceUpdate, historyAdvice, {
    validator: (weight) => {
      if (weight === 'reject') throw new Error('rejected by the validator');
    },
  });
  setHandler(continueSignal, () => void (next = 'continue'));
  setHandler(finishSignal, () => void (next = 'finish'));
  await condition(() => next !== undefined);
  if (next === 'continue') await continueAsNew<typeof adviceReporter>();
}
