/**
 * Conformance: activities as the server schedules, retries, times out and cancels them. Each test installs
 * the behaviour of the activities it runs; what it asserts is what the workflow and the client see.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { ActivityFailure, ApplicationFailure, RetryState, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { eventTypes, eventually, useWorker } from '../helpers/conformance';
import * as wf from './workflows';

type Behaviour = (...args: unknown[]) => Promise<unknown>;
const behaviours = new Map<string, Behaviour>();
const fx = useWorker({
  act: (key: string, ...args: unknown[]) => {
    const behaviour = behaviours.get(key);
    if (!behaviour) throw new Error(`no behaviour ${key}`);
    return behaviour(...args);
  },
});

/** Installs a behaviour and returns the arguments for `runActivity` that call it. */
function activity(behaviour: Behaviour): [string, unknown[]] {
  const key = randomUUID();
  behaviours.set(key, behaviour);
  return ['act', [key]];
}

const attempt = () => Context.current().info.attempt;

/** Resolves when the activity is cancelled (delivered through its heartbeats) and rethrows the cancellation. */
async function heartbeatUntilCancelled(): Promise<never> {
  const ctx = Context.current();
  const beat = setInterval(() => ctx.heartbeat(), 50);
  try {
    await ctx.cancelled;
  } finally {
    clearInterval(beat);
  }
  throw new Error('unreachable');
}

async function run(args: [string, unknown[]], options: object) {
  return fx.env.client.workflow.start(wf.runActivity, {
    taskQueue: fx.taskQueue,
    workflowId: `activity-${randomUUID()}`,
    args: [args[0], args[1], options],
  });
}

async function activityFailure(handle: { result(): Promise<unknown> }): Promise<ActivityFailure> {
  const err = await handle.result().catch((e: WorkflowFailedError) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((err as WorkflowFailedError).cause).toBeInstanceOf(ActivityFailure);
  return (err as WorkflowFailedError).cause as ActivityFailure;
}

test('a failing activity is retried by the server with backoff until it succeeds; retries stay out of history', async () => {
  const attempts: number[] = [];
  const handle = await run(
    activity(async () => {
      attempts.push(attempt());
      if (attempt() < 3) throw ApplicationFailure.retryable('not yet', 'Flaky');
      return 'done';
    }),
    { startToCloseTimeout: '5s', retry: { initialInterval: '20ms', backoffCoefficient: 2 } },
  );
  expect(await handle.result()).toBe('done');
  expect(attempts).toEqual([1, 2, 3]);
  const history = (await handle.fetchHistory()).events!;
  const started = history.filter((e) => e.activityTaskStartedEventAttributes);
  expect(started).toHaveLength(1);
  expect(started[0].activityTaskStartedEventAttributes!.attempt).toBe(3);
  expect(started[0].activityTaskStartedEventAttributes!.lastFailure?.message).toBe('not yet');
});

test('retries stop at maximum attempts, and the workflow sees the last failure', async () => {
  const attempts: number[] = [];
  const handle = await run(
    activity(async () => {
      attempts.push(attempt());
      throw ApplicationFailure.retryable(`attempt ${attempt()} failed`, 'Flaky');
    }),
    { startToCloseTimeout: '5s', retry: { initialInterval: '10ms', maximumAttempts: 3 } },
  );
  const failure = await activityFailure(handle);
  expect(attempts).toEqual([1, 2, 3]);
  expect(failure.retryState).toBe(RetryState.MAXIMUM_ATTEMPTS_REACHED);
  expect((failure.cause as ApplicationFailure).message).toBe('attempt 3 failed');
});

test('non-retryable error types and non-retryable failures are not retried', async () => {
  const byType = await run(
    activity(async () => {
      throw ApplicationFailure.retryable('fatal by type', 'Fatal');
    }),
    { startToCloseTimeout: '5s', retry: { initialInterval: '10ms', nonRetryableErrorTypes: ['Fatal'] } },
  );
  expect((await activityFailure(byType)).retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);

  const flagged = await run(
    activity(async () => {
      throw ApplicationFailure.nonRetryable('fatal by flag');
    }),
    { startToCloseTimeout: '5s', retry: { initialInterval: '10ms' } },
  );
  const failure = await activityFailure(flagged);
  expect(failure.retryState).toBe(RetryState.NON_RETRYABLE_FAILURE);
  expect((failure.cause as ApplicationFailure).message).toBe('fatal by flag');
});

test("an activity's nextRetryDelay overrides the retry policy's interval", async () => {
  const handle = await run(
    activity(async () => {
      if (attempt() === 1) throw ApplicationFailure.create({ message: 'soon', nextRetryDelay: '20ms' });
      return attempt();
    }),
    // Without nextRetryDelay the second attempt would wait an hour.
    { startToCloseTimeout: '5s', retry: { initialInterval: '1h' } },
  );
  expect(await handle.result()).toBe(2);
});

test('heartbeat details of a failed attempt are handed to the next attempt', async () => {
  const handle = await run(
    activity(async () => {
      const ctx = Context.current();
      if (attempt() === 1) {
        ctx.heartbeat({ progress: 41 });
        throw ApplicationFailure.retryable('crashed midway');
      }
      return ctx.info.heartbeatDetails;
    }),
    { startToCloseTimeout: '5s', heartbeatTimeout: '5s', retry: { initialInterval: '10ms' } },
  );
  expect(await handle.result()).toEqual({ progress: 41 });
});

test('start-to-close timeout fails an attempt that runs too long, and it is retried', async () => {
  const attempts: number[] = [];
  const handle = await run(
    activity(async () => {
      attempts.push(attempt());
      await Context.current().cancelled.catch(() => undefined);
    }),
    { startToCloseTimeout: '300ms', retry: { initialInterval: '10ms', maximumAttempts: 2 } },
  );
  const failure = await activityFailure(handle);
  expect(attempts).toEqual([1, 2]);
  expect(failure.cause).toBeInstanceOf(TimeoutFailure);
  expect((failure.cause as TimeoutFailure).timeoutType).toBe(TimeoutType.START_TO_CLOSE);
});

test('heartbeat timeout fails an attempt that stops heartbeating', async () => {
  const handle = await run(
    activity(async () => {
      Context.current().heartbeat('alive');
      await Context.current().cancelled.catch(() => undefined);
    }),
    { startToCloseTimeout: '10s', heartbeatTimeout: '300ms', retry: { maximumAttempts: 1 } },
  );
  const failure = await activityFailure(handle);
  expect((failure.cause as TimeoutFailure).timeoutType).toBe(TimeoutType.HEARTBEAT);
  expect((failure.cause as TimeoutFailure).lastHeartbeatDetails).toBe('alive');
});

test('schedule-to-close timeout bounds all attempts together', async () => {
  const handle = await run(
    activity(async () => {
      throw ApplicationFailure.retryable('keeps failing');
    }),
    { scheduleToCloseTimeout: '500ms', retry: { initialInterval: '50ms', backoffCoefficient: 1 } },
  );
  const failure = await activityFailure(handle);
  // Which of the two ends it depends on timing, on the real server as here: a failed attempt whose next retry would
  // start after the deadline ends it with TIMEOUT; the schedule-to-close timer firing while an attempt runs or waits
  // to be taken ends it with a SCHEDULE_TO_CLOSE timeout, which is not retryable (NON_RETRYABLE_FAILURE).
  if (failure.retryState === RetryState.NON_RETRYABLE_FAILURE) {
    expect((failure.cause as TimeoutFailure).timeoutType).toBe(TimeoutType.SCHEDULE_TO_CLOSE);
  } else {
    expect(failure.retryState).toBe(RetryState.TIMEOUT);
  }
});

test('schedule-to-start timeout fires when no worker takes the task', async () => {
  const handle = await fx.env.client.workflow.start(wf.runActivity, {
    taskQueue: fx.taskQueue,
    workflowId: `activity-${randomUUID()}`,
    args: [
      'act',
      ['none'],
      { taskQueue: `nobody-${randomUUID()}`, scheduleToStartTimeout: '300ms', startToCloseTimeout: '5s' },
    ],
  });
  const failure = await activityFailure(handle);
  expect((failure.cause as TimeoutFailure).timeoutType).toBe(TimeoutType.SCHEDULE_TO_START);
});

test('cancelling the workflow cancels its running activity through the heartbeat', async () => {
  let activityStarted!: () => void;
  const started = new Promise<void>((r) => (activityStarted = r));
  let sawCancel = false;
  const [name, args] = activity(async () => {
    activityStarted();
    try {
      await heartbeatUntilCancelled();
    } catch (err) {
      sawCancel = true;
      throw err;
    }
  });
  const handle = await fx.env.client.workflow.start(wf.cancellableActivity, {
    taskQueue: fx.taskQueue,
    workflowId: `activity-${randomUUID()}`,
    args: [name, args, { startToCloseTimeout: '30s', heartbeatTimeout: '5s' }],
  });
  await started;
  await handle.cancel();
  expect(await handle.result()).toBe('cancelled');
  expect(sawCancel).toBe(true);
  const types = await eventTypes(handle);
  expect(types).toContain('ACTIVITY_TASK_CANCEL_REQUESTED');
  expect(types).toContain('ACTIVITY_TASK_CANCELED');
});

test('a local activity runs in the workflow task and is recorded as a marker', async () => {
  const [, args] = activity(async () => 'local result');
  const handle = await fx.env.client.workflow.start(wf.runLocalActivity, {
    taskQueue: fx.taskQueue,
    workflowId: `local-${randomUUID()}`,
    args: ['act', args, { startToCloseTimeout: '5s' }],
  });
  expect(await handle.result()).toBe('local result');
  expect(await eventTypes(handle)).toContain('MARKER_RECORDED');
  expect(await eventTypes(handle)).not.toContain('ACTIVITY_TASK_SCHEDULED');
});

test('describe shows a running activity with its attempt and heartbeat', async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  const handle = await run(
    activity(async () => {
      Context.current().heartbeat('working');
      await released;
      return 'ok';
    }),
    { startToCloseTimeout: '30s', heartbeatTimeout: '10s' },
  );
  const pending = await eventually(async () => {
    const p = (await handle.describe()).raw.pendingActivities?.[0];
    return p?.heartbeatDetails ? p : undefined;
  });
  expect(pending.state).toBe(temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED);
  expect(pending.attempt).toBe(1);
  release();
  expect(await handle.result()).toBe('ok');
});
