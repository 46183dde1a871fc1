/**
 * Signals that arrive while a workflow task decides to continue as new. The server refuses such a completion
 * (UnhandledCommand) and, as the real server does, answers the worker with INVALID_ARGUMENT "UnhandledCommand":
 * that is what makes Core evict the run it holds, which has already run its code past the decision, and rebuild it
 * from the full history, where the signals come before the decision. A success answer left the cached run in
 * place and the signals were applied after it: the retried task continued as new again and they were lost.
 */
import '../helpers/quiet-runtime';
import { Context } from '@temporalio/activity';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { longPoll } from '../helpers/conformance';
import * as wf from './workflows';
import { useWatchedServer } from './watched-server';

const { CommandType, EventType, WorkflowTaskFailedCause } = temporal.api.enums.v1;

const watched = useWatchedServer();
const { dispatches } = watched;
const id = (prefix: string) => `${prefix}-${randomUUID()}`;

test('signals sent while the run decides to continue as new are never lost, over many switches', async () => {
  const taskQueue = id('can-signals');
  const workflowId = id('queue');
  const total = 90;
  const batch = 3;
  let sent = 0;
  // The local activity runs inside the workflow task that decides whether to continue as new: signals sent from
  // it reach the server while that task is started. Once per run, so every run first has its decision refused,
  // then takes the signals and continues as new cleanly.
  const runsSignalled = new Set<string>();
  const activities = {
    step: async () => undefined,
    idle: async () => {
      const runId = Context.current().info.workflowExecution?.runId ?? '';
      if (sent >= total || runsSignalled.has(runId)) return;
      runsSignalled.add(runId);
      const handle = watched.client.workflow.getHandle(workflowId);
      for (let i = 0; i < batch && sent < total; i++) await handle.signal(wf.itemSignal, ++sent);
    },
  };
  const worker = await Worker.create({
    connection: watched.nativeConnection,
    taskQueue,
    workflowBundle: { codePath: process.env.VIGIL_TEST_WORKFLOW_BUNDLE! },
    activities,
  });
  await worker.runUntil(async () => {
    const handle = await watched.client.workflow.start(wf.queueThenContinue, {
      taskQueue,
      workflowId,
      args: [[], total, 100],
    });
    const received = await handle.result();
    expect(received).toEqual(Array.from({ length: total }, (_, i) => i + 1));

    // The race really happened, on sticky runs: refused completions, and switches to new runs.
    const first = await watched.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).fetchHistory();
    const refused = first.events!.filter(
      (e) =>
        e.workflowTaskFailedEventAttributes?.cause ===
        WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
    );
    expect(refused.length).toBeGreaterThan(0);
    expect(first.events!.at(-1)!.eventType).toBe(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW);
    const runs = new Set(dispatches.filter((d) => d.workflowId === workflowId).map((d) => d.runId));
    expect(runs.size).toBeGreaterThanOrEqual(total / batch);
    // Each run's decision was taken in a sticky task, by a worker that had the run cached.
    expect(dispatches.filter((d) => d.workflowId === workflowId && d.sticky).length).toBeGreaterThanOrEqual(
      total / batch,
    );
  });
});

test('a completion refused for new events is answered INVALID_ARGUMENT "UnhandledCommand", and the retry carries the full history', async () => {
  const svc = watched.client.workflowService;
  const namespace = 'default';
  const taskQueue = id('raw-unhandled');
  const sticky = `${taskQueue}-sticky`;
  const handle = await watched.client.workflow.start(wf.counter, { taskQueue, workflowId: id('raw') });
  const first = await longPoll(watched.client.connection, () =>
    svc.pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'raw' }),
  );
  await handle.signal(wf.addSignal, 1);
  const err = await svc
    .respondWorkflowTaskCompleted({
      namespace,
      taskToken: first.taskToken,
      identity: 'raw',
      commands: [
        {
          commandType: CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
          completeWorkflowExecutionCommandAttributes: {},
        },
      ],
      stickyAttributes: { workerTaskQueue: { name: sticky }, scheduleToStartTimeout: { seconds: 5 } as never },
    })
    .catch((e: unknown) => e);
  // What Core matches to evict the run it cached (sdk-core: InvalidArgument with exactly this message).
  expect(err).toMatchObject({ code: 3, details: 'UnhandledCommand' });

  // The refused completion named a sticky queue; the server keeps none of it: the retry is on the normal queue.
  const second = await longPoll(watched.client.connection, () =>
    svc.pollWorkflowTaskQueue({ namespace, taskQueue: { name: taskQueue }, identity: 'raw' }),
  );
  expect(second.attempt).toBe(1);
  expect(Number(second.previousStartedEventId)).toBe(0);
  expect(second.history!.events!.map((e) => e.eventType)).toEqual([
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
    EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
  ]);
  await handle.terminate();
});
