/**
 * Sticky execution: a worker that completes a workflow task names its sticky queue; the run's next tasks go there
 * with only the events the worker lacks, and fall back to the normal queue with the full history when that worker
 * is gone. Watched through the server's onWorkflowTask hook, with the real Worker and Client (and, where a worker
 * must vanish without a word, a raw one through the gRPC service).
 */
import '../helpers/quiet-runtime';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { createTemporalTestEnv } from '../../src/testing/temporal-env';
import { eventTypes, eventually, longPoll } from '../helpers/conformance';
import * as wf from './workflows';
import { useWatchedServer } from './watched-server';

const { CommandType, EventType, TaskQueueKind, TimeoutType, WorkflowTaskFailedCause } = temporal.api.enums.v1;

const watched = useWatchedServer();
const { dispatches } = watched;
const tasksOf = (workflowId: string, query = false) =>
  dispatches.filter((d) => d.workflowId === workflowId && d.query === query);
const id = (prefix: string) => `${prefix}-${randomUUID()}`;
/** A Duration for the raw service, whose int64 fields are typed as Long but take numbers. */
const seconds = (n: number) => ({ seconds: n }) as never;

/** A real worker; pong answers its round number. A short sticky timeout keeps fallbacks quick. */
async function startWorker(taskQueue: string): Promise<{ worker: Worker; stop(): Promise<void> }> {
  const worker = await Worker.create({
    connection: watched.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: process.env.VIGIL_TEST_WORKFLOW_BUNDLE! },
    activities: { pong: async (n: number) => n },
    stickyQueueScheduleToStartTimeout: '1s',
  });
  const running = worker.run();
  return {
    worker,
    stop: async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
    },
  };
}

/** Sends `ping` signals from..to, each after the previous round finished. */
async function play(
  handle: {
    signal(def: typeof wf.pingSignal, n: number): Promise<void>;
    query(def: typeof wf.roundsQuery): Promise<number>;
  },
  from: number,
  to: number,
) {
  for (let n = from; n <= to; n++) {
    await handle.signal(wf.pingSignal, n);
    await eventually(async () => ((await handle.query(wf.roundsQuery)) >= n ? true : undefined));
  }
}

describe('with one worker', () => {
  test('tasks after the first go to its sticky queue and carry only the events after the last completed task', async () => {
    const taskQueue = id('sticky');
    const w = await startWorker(taskQueue);
    try {
      const rounds = 15;
      const handle = await watched.client.workflow.start(wf.pingPong, {
        taskQueue,
        workflowId: id('pingpong'),
        args: [rounds],
      });
      for (let n = 1; n <= rounds; n++) await handle.signal(wf.pingSignal, n);
      expect(await handle.result()).toBe(rounds);

      const history = (await handle.fetchHistory()).events!;
      const tasks = tasksOf(handle.workflowId);
      expect(tasks.length).toBeGreaterThan(rounds);
      const [first, ...rest] = tasks;
      expect(first).toMatchObject({ sticky: false, firstEventId: 1, previousStartedEventId: 0, attempt: 1, taskQueue });
      expect(first.eventCount).toBe(first.startedEventId);
      for (const task of rest) {
        expect(task.sticky).toBe(true);
        expect(task.taskQueue).not.toBe(taskQueue);
        // From the event after the last completed task's Started event (its Completed event) to this task's Started.
        expect(task.firstEventId).toBe(task.previousStartedEventId + 1);
        expect(task.firstEventId + task.eventCount - 1).toBe(task.startedEventId);
        expect(history[task.firstEventId - 1].eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED);
        expect(history[task.startedEventId - 1].eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
        expect(task.eventCount).toBeLessThan(task.startedEventId);
      }
      // The Scheduled events of sticky tasks name the sticky queue, as the real server writes them.
      const scheduled = history.filter((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED);
      expect(scheduled[0].workflowTaskScheduledEventAttributes?.taskQueue?.kind).toBe(
        TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
      );
      expect(scheduled.at(-1)!.workflowTaskScheduledEventAttributes?.taskQueue).toMatchObject({
        kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY,
        normalName: taskQueue,
      });
      const sent = tasks.reduce((sum, t) => sum + t.eventCount, 0);
      const full = tasks.reduce((sum, t) => sum + t.startedEventId, 0);
      expect(sent).toBeLessThan(full / 3);
    } finally {
      await w.stop();
    }
  });

  test('queries go to the sticky queue without history, and to the normal queue with all of it once the run is not sticky', async () => {
    const taskQueue = id('sticky-query');
    const w = await startWorker(taskQueue);
    try {
      const handle = await watched.client.workflow.start(wf.pingPong, {
        taskQueue,
        workflowId: id('query'),
        args: [100],
      });
      await play(handle, 1, 3);
      const before = tasksOf(handle.workflowId, true).length;
      expect(await handle.query(wf.roundsQuery)).toBe(3);
      const query = tasksOf(handle.workflowId, true)[before];
      expect(query).toMatchObject({ sticky: true, eventCount: 0, startedEventId: 0 });

      // ResetStickyTaskQueue: the next query and task go to the normal queue with the full history; the worker,
      // which still has the run cached, copes, and names its sticky queue again.
      await watched.client.workflowService.resetStickyTaskQueue({
        namespace: 'default',
        execution: { workflowId: handle.workflowId },
      });
      const queries = tasksOf(handle.workflowId, true).length;
      expect(await handle.query(wf.roundsQuery)).toBe(3);
      expect(tasksOf(handle.workflowId, true)[queries]).toMatchObject({ sticky: false, firstEventId: 1, taskQueue });
      const tasks = tasksOf(handle.workflowId).length;
      await play(handle, 4, 5);
      const after = tasksOf(handle.workflowId).slice(tasks);
      expect(after[0]).toMatchObject({ sticky: false, firstEventId: 1, taskQueue });
      expect(after.at(-1)!.sticky).toBe(true);
      await handle.terminate();
    } finally {
      await w.stop();
    }
  });
});

test('a worker shut down and replaced by a new one: the new worker gets the full history and finishes the run', async () => {
  const taskQueue = id('sticky-restart');
  const first = await startWorker(taskQueue);
  const handle = await watched.client.workflow.start(wf.pingPong, { taskQueue, workflowId: id('restart'), args: [6] });
  await play(handle, 1, 3);
  await first.stop();
  const tasks = tasksOf(handle.workflowId).length;
  const second = await startWorker(taskQueue);
  try {
    const started = Date.now();
    await play(handle, 4, 6);
    expect(await handle.result()).toBe(6);
    // ShutdownWorker named the old sticky queue: no waiting for its schedule-to-start timeout.
    expect(Date.now() - started).toBeLessThan(5_000);
    const after = tasksOf(handle.workflowId).slice(tasks);
    expect(after[0]).toMatchObject({ sticky: false, firstEventId: 1, taskQueue, attempt: 1 });
    expect(after.slice(1).every((t) => t.sticky)).toBe(true);
    expect(new Set(after.slice(1).map((t) => t.taskQueue)).size).toBe(1);
    expect(after[1].taskQueue).not.toBe(tasksOf(handle.workflowId)[1].taskQueue);
  } finally {
    await second.stop();
  }
});

describe('a raw worker', () => {
  const svc = () => watched.client.workflowService;
  const namespace = 'default';
  const stickyAttributes = (name: string) => ({
    workerTaskQueue: { name, kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: '' },
    scheduleToStartTimeout: seconds(1),
  });

  test('a sticky worker that vanishes without a word: the task times out SCHEDULE_TO_START and a new worker gets it from the normal queue', async () => {
    const taskQueue = id('raw-sticky');
    const sticky = `${taskQueue}-sticky`;
    const handle = await watched.client.workflow.start(wf.counter, { taskQueue, workflowId: id('vanish') });
    const first = await longPoll(watched.client.connection, () =>
      svc().pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'raw' }),
    );
    await svc().respondWorkflowTaskCompleted({
      namespace,
      taskToken: first.taskToken,
      commands: [],
      stickyAttributes: stickyAttributes(sticky),
    });

    // The raw worker polls its sticky queue once: the signal's task comes there, with only the new events.
    const poll = longPoll(watched.client.connection, () =>
      svc().pollWorkflowTaskQueue({
        namespace,
        taskQueue: { name: sticky, kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: taskQueue },
        identity: 'raw',
      }),
    );
    await handle.signal(wf.addSignal, 1);
    const second = await poll;
    expect(Number(second.previousStartedEventId)).toBe(Number(first.startedEventId));
    expect(Number(second.history!.events![0].eventId)).toBe(Number(first.startedEventId) + 1);
    expect(second.history!.events!.map((e) => e.eventType)).toEqual([
      EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
      EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
      EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    ]);
    expect(second.workflowExecutionTaskQueue).toMatchObject({
      name: taskQueue,
      kind: TaskQueueKind.TASK_QUEUE_KIND_NORMAL,
    });
    await svc().respondWorkflowTaskCompleted({
      namespace,
      taskToken: second.taskToken,
      commands: [],
      stickyAttributes: stickyAttributes(sticky),
    });

    // Then it is gone. The next task waits on its sticky queue for the sticky schedule-to-start timeout (1 s),
    // times out as the real server records it, and goes to the normal queue.
    await handle.signal(wf.addSignal, 2);
    const timedOut = await eventually(async () =>
      (await handle.fetchHistory()).events!.find((e) => e.eventType === EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT),
    );
    expect(timedOut.workflowTaskTimedOutEventAttributes).toMatchObject({
      timeoutType: TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
    });
    expect(Number(timedOut.workflowTaskTimedOutEventAttributes!.startedEventId ?? 0)).toBe(0);
    const types = await eventTypes(handle);
    expect(types.slice(-3)).toEqual([
      'WORKFLOW_EXECUTION_SIGNALED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_TIMED_OUT',
    ]);

    const tasks = tasksOf(handle.workflowId).length;
    const w = await startWorker(taskQueue);
    try {
      await handle.signal(wf.finishSignal);
      expect(await handle.result()).toBe(3);
      expect(tasksOf(handle.workflowId)[tasks]).toMatchObject({
        sticky: false,
        firstEventId: 1,
        attempt: 1,
        taskQueue,
      });
    } finally {
      await w.stop();
    }
  });

  test('a failed workflow task clears the sticky queue: the retry comes from the normal queue, with the full history, as attempt 1', async () => {
    const taskQueue = id('raw-fail');
    const sticky = `${taskQueue}-sticky`;
    const handle = await watched.client.workflow.start(wf.counter, { taskQueue, workflowId: id('fail') });
    const first = await longPoll(watched.client.connection, () =>
      svc().pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'raw' }),
    );
    await svc().respondWorkflowTaskCompleted({
      namespace,
      taskToken: first.taskToken,
      commands: [],
      stickyAttributes: stickyAttributes(sticky),
    });
    const poll = longPoll(watched.client.connection, () =>
      svc().pollWorkflowTaskQueue({
        namespace,
        taskQueue: { name: sticky, kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY },
        identity: 'raw',
      }),
    );
    await handle.signal(wf.addSignal, 1);
    const second = await poll;
    expect(second.attempt).toBe(1);
    await svc().respondWorkflowTaskFailed({
      namespace,
      taskToken: second.taskToken,
      cause: WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
      failure: { message: 'cache lost' },
    });
    const third = await longPoll(watched.client.connection, () =>
      svc().pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'raw' }),
    );
    expect(third.attempt).toBe(1);
    expect(Number(third.history!.events![0].eventId)).toBe(1);
    expect(third.history!.events!.at(-1)!.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED);
    await svc().respondWorkflowTaskCompleted({ namespace, taskToken: third.taskToken, commands: [] });
    // Completed without stickyAttributes: the next task is on the normal queue too.
    await handle.signal(wf.addSignal, 2);
    const fourth = await longPoll(watched.client.connection, () =>
      svc().pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'raw' }),
    );
    expect(Number(fourth.history!.events![0].eventId)).toBe(1);
    await handle.terminate();
  });

  test('time skipping does not jump past a sticky task waiting for its worker: it times out in real time, and time jumps only once it is done', async () => {
    const env = await createTemporalTestEnv({ timeSkipping: true });
    const testService = env.connection.testService!;
    const raw = env.client.workflowService;
    const taskQueue = id('raw-skip');
    const sticky = `${taskQueue}-sticky`;
    const hour = 3600;
    try {
      // Locked while the raw worker sets up: an hour-long timer, and a sticky queue it polled once.
      await testService.lockTimeSkipping({});
      const startedAt = Number((await testService.getCurrentTime({})).time!.seconds);
      const handle = await env.client.workflow.start(wf.waitOrTimeout, {
        taskQueue,
        workflowId: id('skip'),
        args: [hour * 1000],
      });
      const first = await longPoll(env.client.connection, () =>
        raw.pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'raw' }),
      );
      await raw.respondWorkflowTaskCompleted({
        namespace,
        taskToken: first.taskToken,
        commands: [
          {
            commandType: CommandType.COMMAND_TYPE_START_TIMER,
            startTimerCommandAttributes: { timerId: '1', startToFireTimeout: seconds(hour) },
          },
        ],
        stickyAttributes: stickyAttributes(sticky),
      });
      const poll = longPoll(env.client.connection, () =>
        raw.pollWorkflowTaskQueue({
          namespace,
          taskQueue: { name: sticky, kind: TaskQueueKind.TASK_QUEUE_KIND_STICKY },
          identity: 'raw',
        }),
      );
      await handle.signal(wf.noteSignal, 'one');
      const second = await poll;
      await raw.respondWorkflowTaskCompleted({
        namespace,
        taskToken: second.taskToken,
        commands: [],
        stickyAttributes: stickyAttributes(sticky),
      });
      // The raw worker is gone; a task waits on its sticky queue when time may skip again.
      await handle.signal(wf.noteSignal, 'two');
      await testService.unlockTimeSkipping({});
      await eventually(async () => ((await eventTypes(handle)).includes('WORKFLOW_TASK_TIMED_OUT') ? true : undefined));
      // An absence check, so there is no condition to wait on: the skipper acts within a tick of the time out,
      // and 200 ms gives a wrong skip ample time to show.
      await new Promise((r) => setTimeout(r, 200));
      // The task still waits (now on the normal queue): the hour has not been skipped, the timer has not fired.
      expect(Number((await testService.getCurrentTime({})).time!.seconds) - startedAt).toBeLessThan(60);
      expect(await eventTypes(handle)).not.toContain('TIMER_FIRED');

      // A worker takes it from the normal queue, with the full history; once it is done, time jumps to the timer.
      const third = await longPoll(env.client.connection, () =>
        raw.pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'raw' }),
      );
      expect(Number(third.history!.events![0].eventId)).toBe(1);
      await raw.respondWorkflowTaskCompleted({ namespace, taskToken: third.taskToken, commands: [] });
      await eventually(async () => ((await eventTypes(handle)).includes('TIMER_FIRED') ? true : undefined));
      expect(Number((await testService.getCurrentTime({})).time!.seconds) - startedAt).toBeGreaterThanOrEqual(hour);
      await handle.terminate();
    } finally {
      await env.teardown();
    }
  });
});
