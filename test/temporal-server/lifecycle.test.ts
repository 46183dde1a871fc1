/**
 * Conformance: starting executions, signals, queries, updates, cancellation, termination and history, as a
 * user of the real client and worker observes them. Runs unchanged against a real Temporal.
 */
import {
  QueryNotRegisteredError,
  WithStartWorkflowOperation,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  WorkflowUpdateFailedError,
  WorkflowUpdateStage,
} from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, TerminatedFailure } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { eventTypes, eventually, longPoll, useWorker } from '../helpers/conformance';
import * as wf from './workflows';

const late = { block: async (): Promise<void> => undefined };
const fx = useWorker({
  greet: async (name: string) => `Hello, ${name}!`,
  block: () => late.block(),
});
const id = (prefix: string) => `${prefix}-${randomUUID()}`;

describe('starting', () => {
  test('a workflow runs and returns its result, with the history a real server writes', async () => {
    const handle = await fx.env.client.workflow.start(wf.oneActivity, {
      taskQueue: fx.taskQueue,
      workflowId: id('one'),
      args: ['Ada'],
    });
    expect(await handle.result()).toBe('Hello, Ada!');
    expect(await eventTypes(handle)).toEqual([
      'WORKFLOW_EXECUTION_STARTED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'ACTIVITY_TASK_SCHEDULED',
      'ACTIVITY_TASK_STARTED',
      'ACTIVITY_TASK_COMPLETED',
      'WORKFLOW_TASK_SCHEDULED',
      'WORKFLOW_TASK_STARTED',
      'WORKFLOW_TASK_COMPLETED',
      'WORKFLOW_EXECUTION_COMPLETED',
    ]);
  });

  test('a second start with the same id fails while the first runs; USE_EXISTING returns the running one', async () => {
    const workflowId = id('conflict');
    const first = await fx.env.client.workflow.start(wf.waitForever, { taskQueue: fx.taskQueue, workflowId });
    await expect(
      fx.env.client.workflow.start(wf.waitForever, { taskQueue: fx.taskQueue, workflowId }),
    ).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    const existing = await fx.env.client.workflow.start(wf.waitForever, {
      taskQueue: fx.taskQueue,
      workflowId,
      workflowIdConflictPolicy: 'USE_EXISTING',
    });
    expect(existing.firstExecutionRunId).toBe(first.firstExecutionRunId);
    const replaced = await fx.env.client.workflow.start(wf.waitForever, {
      taskQueue: fx.taskQueue,
      workflowId,
      workflowIdConflictPolicy: 'TERMINATE_EXISTING',
    });
    expect(replaced.firstExecutionRunId).not.toBe(first.firstExecutionRunId);
    const firstRun = fx.env.client.workflow.getHandle(workflowId, first.firstExecutionRunId);
    expect((await firstRun.describe()).status.name).toBe('TERMINATED');
    await replaced.terminate('done');
  });

  test('id reuse policies decide whether a closed workflow id can start again', async () => {
    const workflowId = id('reuse');
    const opts = { taskQueue: fx.taskQueue, workflowId, args: [1] as [unknown] };
    await fx.env.client.workflow.execute(wf.echo, opts);
    await expect(
      fx.env.client.workflow.start(wf.echo, { ...opts, workflowIdReusePolicy: 'REJECT_DUPLICATE' }),
    ).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    await expect(
      fx.env.client.workflow.start(wf.echo, { ...opts, workflowIdReusePolicy: 'ALLOW_DUPLICATE_FAILED_ONLY' }),
    ).rejects.toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
    expect(await fx.env.client.workflow.execute(wf.echo, { ...opts, args: [2] as [unknown] })).toBe(2);
  });

  test('a start retried with the same request id is answered with the same run', async () => {
    const request = {
      namespace: fx.env.namespace,
      workflowId: id('dedupe'),
      workflowType: { name: 'echo' },
      taskQueue: { name: fx.taskQueue },
      requestId: randomUUID(),
    };
    const a = await fx.env.client.workflowService.startWorkflowExecution(request);
    const b = await fx.env.client.workflowService.startWorkflowExecution(request);
    expect(b.runId).toBe(a.runId);
  });

  test('signal-with-start starts once and signals every time', async () => {
    const workflowId = id('sws');
    const opts = { taskQueue: fx.taskQueue, workflowId, signal: wf.addSignal, signalArgs: [4] as [number] };
    const a = await fx.env.client.workflow.signalWithStart(wf.counter, opts);
    const b = await fx.env.client.workflow.signalWithStart(wf.counter, opts);
    expect(b.signaledRunId).toBe(a.signaledRunId);
    expect(await a.query(wf.totalQuery)).toBe(8);
    await a.signal(wf.finishSignal);
    expect(await a.result()).toBe(8);
  });

  test('memo and search attributes given at start are visible in describe', async () => {
    const handle = await fx.env.client.workflow.start(wf.waitForever, {
      taskQueue: fx.taskQueue,
      workflowId: id('memo'),
      memo: { owner: 'ada' },
      searchAttributes: { VigilAgent: ['blue'] },
    });
    const d = await handle.describe();
    expect(d.memo).toEqual({ owner: 'ada' });
    expect(d.searchAttributes.VigilAgent).toEqual(['blue']);
    expect(d.type).toBe('waitForever');
    expect(d.taskQueue).toBe(fx.taskQueue);
    expect(d.status.name).toBe('RUNNING');
    await handle.terminate();
  });
});

describe('signals, queries and updates', () => {
  test('signals change state that queries and updates see, in order', async () => {
    const handle = await fx.env.client.workflow.start(wf.counter, {
      taskQueue: fx.taskQueue,
      workflowId: id('counter'),
    });
    await handle.signal(wf.addSignal, 2);
    expect(await handle.query(wf.totalQuery)).toBe(2);
    expect(await handle.executeUpdate(wf.addAndGetUpdate, { args: [3] })).toBe(5);
    await handle.signal(wf.finishSignal);
    expect(await handle.result()).toBe(5);
    expect(await handle.query(wf.totalQuery)).toBe(5);
    const types = await eventTypes(handle);
    expect(types.filter((t) => t.startsWith('WORKFLOW_EXECUTION_UPDATE'))).toEqual([
      'WORKFLOW_EXECUTION_UPDATE_ACCEPTED',
      'WORKFLOW_EXECUTION_UPDATE_COMPLETED',
    ]);
  });

  test('an update rejected by its validator fails for the caller and leaves no trace in history', async () => {
    const handle = await fx.env.client.workflow.start(wf.counter, {
      taskQueue: fx.taskQueue,
      workflowId: id('reject'),
    });
    expect(await handle.executeUpdate(wf.addAndGetUpdate, { args: [1] })).toBe(1);
    const before = (await handle.fetchHistory()).events!.length;
    const err = await handle.executeUpdate(wf.addAndGetUpdate, { args: [-1] }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    expect(err.cause).toBeInstanceOf(ApplicationFailure);
    expect(err.cause.message).toMatch(/negative/);
    expect((await handle.fetchHistory()).events!.length).toBe(before);
    // The workflow goes on normally after the rejection.
    expect(await handle.executeUpdate(wf.addAndGetUpdate, { args: [2] })).toBe(3);
    await handle.signal(wf.finishSignal);
    expect(await handle.result()).toBe(3);
  });

  test('a rejected update is forgotten: the same id sent again is a new update, and its validator runs again', async () => {
    const handle = await fx.env.client.workflow.start(wf.counter, {
      taskQueue: fx.taskQueue,
      workflowId: id('reject-again'),
    });
    const updateId = randomUUID();
    const err = await handle.executeUpdate(wf.addAndGetUpdate, { args: [-1], updateId }).catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowUpdateFailedError);
    // The real server's registry drops a rejected update; a retry with the same id is judged afresh.
    expect(await handle.executeUpdate(wf.addAndGetUpdate, { args: [4], updateId })).toBe(4);
    expect(await handle.executeUpdate(wf.addAndGetUpdate, { args: [-1], updateId })).toBe(4);
    await handle.terminate();
  });

  test('an update with a known id returns the first outcome instead of running again', async () => {
    const handle = await fx.env.client.workflow.start(wf.counter, {
      taskQueue: fx.taskQueue,
      workflowId: id('upd-dedupe'),
    });
    const updateId = randomUUID();
    expect(await handle.executeUpdate(wf.addAndGetUpdate, { args: [5], updateId })).toBe(5);
    expect(await handle.executeUpdate(wf.addAndGetUpdate, { args: [5], updateId })).toBe(5);
    expect(await handle.query(wf.totalQuery)).toBe(5);
    await handle.terminate();
  });

  test('an accepted update still running when the workflow completes fails', async () => {
    const handle = await fx.env.client.workflow.start(wf.counter, {
      taskQueue: fx.taskQueue,
      workflowId: id('upd-pending'),
    });
    const update = await handle.startUpdate(wf.waitUpdate, { waitForStage: WorkflowUpdateStage.ACCEPTED });
    await handle.signal(wf.finishSignal);
    await handle.result();
    await expect(update.result()).rejects.toBeInstanceOf(WorkflowUpdateFailedError);
  });

  test('an update handed to a workflow task that fails is handed to the next task', async () => {
    // A raw worker: poll, see the update, fail the task, poll again. No SDK worker serves this task queue.
    const taskQueue = `raw-${randomUUID()}`;
    const svc = fx.env.client.workflowService;
    const handle = await fx.env.client.workflow.start(wf.counter, { taskQueue, workflowId: id('redeliver') });
    const poll = () =>
      longPoll(fx.env.connection, () =>
        svc.pollWorkflowTaskQueue({ namespace: fx.env.namespace, taskQueue: { name: taskQueue }, identity: 'raw' }),
      );
    const first = await poll();
    await svc.respondWorkflowTaskCompleted({ namespace: fx.env.namespace, taskToken: first.taskToken, commands: [] });
    const update = handle.executeUpdate(wf.addAndGetUpdate, { args: [1], updateId: 'u-1' }).catch((e: Error) => e);
    const delivered = await poll();
    expect(delivered.messages?.map((m) => m.protocolInstanceId)).toEqual(['u-1']);
    await svc.respondWorkflowTaskFailed({
      namespace: fx.env.namespace,
      taskToken: delivered.taskToken,
      cause: temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
      failure: { message: 'worker crashed' },
    });
    const again = await poll();
    expect(again.messages?.map((m) => m.protocolInstanceId)).toEqual(['u-1']);
    await handle.terminate();
    expect(await update).toBeInstanceOf(Error);
  });

  test('a run whose workflow task failed twice in a row refuses updates and queries until a task completes', async () => {
    // The real server fails them fast (WorkflowNotReady) from the third attempt of a workflow task: workers that
    // died or failed holding the run's tasks. A raw worker fails the tasks; no SDK worker serves this task queue.
    const taskQueue = `raw-${randomUUID()}`;
    const svc = fx.env.client.workflowService;
    const handle = await fx.env.client.workflow.start(wf.counter, { taskQueue, workflowId: id('not-ready') });
    const poll = () =>
      longPoll(fx.env.connection, () =>
        svc.pollWorkflowTaskQueue({ namespace: fx.env.namespace, taskQueue: { name: taskQueue }, identity: 'raw' }),
      );
    const fail = async () =>
      svc.respondWorkflowTaskFailed({
        namespace: fx.env.namespace,
        taskToken: (await poll()).taskToken,
        cause:
          temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
        failure: { message: 'worker crashed' },
      });
    await fail();
    await fail();
    const update = await handle.executeUpdate(wf.addAndGetUpdate, { args: [1] }).then(
      () => 'accepted',
      (e: Error) => `${e.message} ${String(e.cause)}`,
    );
    expect(update).toContain(
      'FAILED_PRECONDITION: Unable to perform workflow execution update due to Workflow Task in failed state.',
    );
    const query = await handle.query(wf.totalQuery).then(
      () => 'answered',
      (e: Error) => `${e.message} ${String(e.cause)}`,
    );
    expect(query).toContain('Unable to query workflow due to Workflow Task in failed state.');
    await handle.terminate();
  });

  test('update-with-start starts the workflow, or updates the running one', async () => {
    const workflowId = id('uws');
    const startOp = () =>
      new WithStartWorkflowOperation(wf.counter, {
        workflowId,
        taskQueue: fx.taskQueue,
        args: [10],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    const first = startOp();
    expect(
      await fx.env.client.workflow.executeUpdateWithStart(wf.addAndGetUpdate, {
        args: [5],
        startWorkflowOperation: first,
      }),
    ).toBe(15);
    const second = startOp();
    expect(
      await fx.env.client.workflow.executeUpdateWithStart(wf.addAndGetUpdate, {
        args: [5],
        startWorkflowOperation: second,
      }),
    ).toBe(20);
    await (await first.workflowHandle()).terminate();
  });

  test('a query the workflow does not define is an error naming it', async () => {
    const handle = await fx.env.client.workflow.start(wf.counter, {
      taskQueue: fx.taskQueue,
      workflowId: id('noquery'),
    });
    await expect(handle.query('nope')).rejects.toBeInstanceOf(QueryNotRegisteredError);
    await handle.terminate();
  });

  test('a signal that arrives while the workflow task completes the run is not lost', async () => {
    // A local activity keeps the first workflow task open; the signal lands in that window, so the server
    // must refuse the completion (unhandled command) and hand the signal to a new task.
    let blockCalled!: () => void;
    const called = new Promise<void>((r) => (blockCalled = r));
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    late.block = async () => {
      blockCalled();
      await released;
      late.block = async () => undefined;
    };
    const handle = await fx.env.client.workflow.start(wf.lateSignals, {
      taskQueue: fx.taskQueue,
      workflowId: id('late'),
    });
    await called;
    await handle.signal(wf.noteSignal, 'late');
    release();
    // Refused with UnhandledCommand, the worker evicts the run it cached and rebuilds it from the full history,
    // where the signal comes before the decision: the run returns with it.
    expect(await handle.result()).toEqual(['late']);
    expect(await handle.query(wf.notesQuery)).toEqual(['late']);
    const failed = (await handle.fetchHistory()).events!.find((e) => e.workflowTaskFailedEventAttributes);
    expect(failed?.workflowTaskFailedEventAttributes?.cause).toBe(
      temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
    );
  });
});

describe('ending', () => {
  test('a workflow failure reaches the caller with its type and message', async () => {
    const err = await fx.env.client.workflow
      .execute(wf.failing, { taskQueue: fx.taskQueue, workflowId: id('fail'), args: ['boom'] })
      .catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause).toBeInstanceOf(ApplicationFailure);
    expect(err.cause.type).toBe('TestFailure');
    expect(err.cause.message).toBe('boom');
  });

  test('cancellation reaches the workflow, which ends cancelled', async () => {
    const handle = await fx.env.client.workflow.start(wf.waitForever, {
      taskQueue: fx.taskQueue,
      workflowId: id('cancel'),
    });
    await handle.cancel();
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause).toBeInstanceOf(CancelledFailure);
    const types = await eventTypes(handle);
    expect(types).toContain('WORKFLOW_EXECUTION_CANCEL_REQUESTED');
    expect(types[types.length - 1]).toBe('WORKFLOW_EXECUTION_CANCELED');
  });

  test('termination ends the run at once, with its reason', async () => {
    const handle = await fx.env.client.workflow.start(wf.waitForever, {
      taskQueue: fx.taskQueue,
      workflowId: id('term'),
    });
    await handle.terminate('enough');
    const err = await handle.result().catch((e) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect(err.cause).toBeInstanceOf(TerminatedFailure);
    expect((await handle.describe()).status.name).toBe('TERMINATED');
    const last = (await handle.fetchHistory()).events!.at(-1)!;
    expect(last.workflowExecutionTerminatedEventAttributes?.reason).toBe('enough');
  });

  test('continue-as-new chains runs and the client follows them to the final result', async () => {
    const handle = await fx.env.client.workflow.start(wf.continueAsNewCounter, {
      taskQueue: fx.taskQueue,
      workflowId: id('can'),
      args: [3],
    });
    expect(await handle.result()).toBe(4);
    const first = fx.env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
    expect((await eventTypes(first)).at(-1)).toBe('WORKFLOW_EXECUTION_CONTINUED_AS_NEW');
    expect((await first.describe()).status.name).toBe('CONTINUED_AS_NEW');
    const latest = await fx.env.client.workflow.getHandle(handle.workflowId).describe();
    expect(latest.runId).not.toBe(handle.firstExecutionRunId);
    expect(latest.status.name).toBe('COMPLETED');
  });

  test('a failing workflow task is retried and the workflow recovers once it can', async () => {
    const handle = await fx.env.client.workflow.start(wf.failsUntilSignalled, {
      taskQueue: fx.taskQueue,
      workflowId: id('wft-fail'),
      workflowTaskTimeout: '1s',
    });
    await eventually(async () => ((await eventTypes(handle)).includes('WORKFLOW_TASK_FAILED') ? true : undefined));
    await handle.signal(wf.finishSignal);
    expect(await handle.result()).toBe('recovered');
    const failed = (await handle.fetchHistory()).events!.filter(
      (e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
    );
    expect(failed.length).toBeGreaterThanOrEqual(1);
  });

  test('a run timeout ends the run as timed out', async () => {
    const handle = await fx.env.client.workflow.start(wf.waitForever, {
      taskQueue: fx.taskQueue,
      workflowId: id('run-timeout'),
      workflowRunTimeout: '1s',
    });
    await expect(handle.result()).rejects.toThrow(/timed out/i);
    expect((await handle.describe()).status.name).toBe('TIMED_OUT');
  });

  test('an execution timeout spans continue-as-new runs', async () => {
    const handle = await fx.env.client.workflow.start(wf.sleepAndContinue, {
      taskQueue: fx.taskQueue,
      workflowId: id('exec-timeout'),
      args: [200],
      // Long enough for the first run to continue as new on a loaded machine and a real server.
      workflowExecutionTimeout: '3s',
    });
    await expect(handle.result()).rejects.toBeInstanceOf(WorkflowFailedError);
    const first = fx.env.client.workflow.getHandle(handle.workflowId, handle.firstExecutionRunId);
    expect((await first.describe()).status.name).toBe('CONTINUED_AS_NEW');
    const last = fx.env.client.workflow.getHandle(handle.workflowId);
    expect((await last.describe()).status.name).toBe('TIMED_OUT');
    expect((await eventTypes(last)).at(-1)).toBe('WORKFLOW_EXECUTION_TIMED_OUT');
  });
});

describe('history', () => {
  test('a history fetched from the server replays against the workflow code without nondeterminism', async () => {
    const handle = await fx.env.client.workflow.start(wf.counter, {
      taskQueue: fx.taskQueue,
      workflowId: id('replay'),
    });
    await handle.signal(wf.addSignal, 1);
    expect(await handle.executeUpdate(wf.addAndGetUpdate, { args: [2] })).toBe(3);
    await handle.signal(wf.finishSignal);
    await handle.result();
    const history = await handle.fetchHistory();
    await expect(
      Worker.runReplayHistory(
        { workflowBundle: { codePath: process.env.VIGIL_TEST_WORKFLOW_BUNDLE! } },
        history,
        handle.workflowId,
      ),
    ).resolves.toBeUndefined();
  });

  test('history pages join into the whole history', async () => {
    const handle = await fx.env.client.workflow.start(wf.oneActivity, {
      taskQueue: fx.taskQueue,
      workflowId: id('pages'),
      args: ['x'],
    });
    await handle.result();
    const whole = (await handle.fetchHistory()).events!;
    const pages: unknown[] = [];
    let nextPageToken: Uint8Array | undefined;
    do {
      const page = await fx.env.client.workflowService.getWorkflowExecutionHistory({
        namespace: fx.env.namespace,
        execution: { workflowId: handle.workflowId },
        maximumPageSize: 3,
        nextPageToken,
      });
      pages.push(...page.history!.events!.map((e) => Number(e.eventId)));
      nextPageToken = page.nextPageToken?.length ? page.nextPageToken : undefined;
    } while (nextPageToken);
    expect(pages).toEqual(whole.map((e) => Number(e.eventId)));
  });

  test('a long poll for new events returns when a signal arrives', async () => {
    const handle = await fx.env.client.workflow.start(wf.counter, {
      taskQueue: fx.taskQueue,
      workflowId: id('longpoll'),
    });
    await handle.query(wf.totalQuery); // the first workflow task has completed
    const request = { namespace: fx.env.namespace, execution: { workflowId: handle.workflowId }, waitNewEvent: true };
    // The first long-poll call returns what is there, with a token that points past it.
    const current = await fx.env.client.workflowService.getWorkflowExecutionHistory(request);
    expect(current.nextPageToken?.length).toBeGreaterThan(0);
    const poll = fx.env.client.workflowService.getWorkflowExecutionHistory({
      ...request,
      nextPageToken: current.nextPageToken,
    });
    await handle.signal(wf.addSignal, 1);
    const page = await poll;
    expect(page.history!.events!.map((e) => e.eventType)).toContain(
      temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
    );
    await handle.terminate();
  });
});
