/**
 * Continue-as-new advice and the total-updates limit, as a workflow author meets them with the real worker and
 * client: workflowInfo().continueAsNewSuggested (and its reasons) and historySize, which the server reports in each
 * WorkflowTaskStarted event, and the refusal of updates past history.maxTotalUpdates. The limits are lowered
 * through the server's dynamic config (`createTemporalTestEnv({ dynamicConfig })`, a server of the test's own: a
 * real dev server under `npm run test:temporal`, else an in-process one), so they are reached in a few tasks.
 *
 * The history count is the history's next event id when the task starts (the real server's getHistorySizeInfo):
 * the started event's id for an ordinary task, one less for an update's speculative task, whose scheduled event is
 * not written yet. The reasons are those of server v1.31, which the in-process server follows; server v1.29.1
 * (Temporal CLI 1.5.1) sends none. Vigil reads only continueAsNewSuggested.
 */
import { WorkflowContinuedAsNewError, WorkflowHandle, WorkflowUpdateFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { randomUUID } from 'node:crypto';
import { eventTypes, eventually, useWorker } from '../helpers/conformance';
import { DynamicConfigError, resolveDynamicConfig, startTestServer } from '@vigil/temporal-test-server';
import type { HistoryAdvice } from './workflows';
import * as wf from './workflows';

const id = (prefix: string) => `${prefix}-${randomUUID()}`;
const FAILED_PRECONDITION = 9;

type Reporter = WorkflowHandle<typeof wf.adviceReporter>;

/** The reasons a server gives with its advice: v1.31's on the in-process server, none from server v1.29.1. */
const reasonsOn = (fx: ReturnType<typeof useWorker>, reasons: string[]) =>
  fx.env.backend === 'in-process' ? reasons : [];

/**
 * Starts the reporter and waits for its first workflow task to complete, so the first update comes in a task of
 * its own (an update that reached the server before the worker took the first task would be in that task), and
 * the history's layout is the same in every run.
 */
async function startReporter(fx: ReturnType<typeof useWorker>, workflowId: string, timers?: number) {
  const handle = await fx.env.client.workflow.start(wf.adviceReporter, {
    taskQueue: fx.taskQueue,
    workflowId,
    ...(timers !== undefined ? { args: [timers] } : {}),
  });
  await eventually(async () => ((await eventTypes(handle)).includes('WORKFLOW_TASK_COMPLETED') ? true : undefined));
  return handle;
}

/** Asks the workflow for its advice `times` times, each update carrying `weight` into history. */
async function askRepeatedly(handle: Reporter, times: number, weight = ''): Promise<HistoryAdvice[]> {
  const answers: HistoryAdvice[] = [];
  for (let i = 0; i < times; i++) answers.push(await handle.executeUpdate(wf.adviceUpdate, { args: [weight] }));
  return answers;
}

/** The encoded size of the first `count` events of the run's history, as a client fetches it. */
async function encodedSize(handle: Reporter, count: number): Promise<number> {
  const history = await handle.fetchHistory();
  const History = temporal.api.history.v1.History;
  return History.encode({ events: history.events!.slice(0, count) }).finish().length;
}

describe('defaults (the real server v1.31 dynamic config)', () => {
  const fx = useWorker({});

  test('the defaults are 4096 events, 4 MiB, 2000 updates and 90% of them, 10000 signals, 2 MiB payloads', () => {
    expect(resolveDynamicConfig()).toEqual({
      historyCountSuggest: 4096,
      historySizeSuggest: 4 * 1024 * 1024,
      maxTotalUpdates: 2000,
      updatesSuggest: 1800,
      maxSignals: 10_000,
      blobSizeError: 2 * 1024 * 1024,
    });
  });

  test("continue-as-new is suggested once the history count (an update task's started event id - 1) is 4096, not before", async () => {
    // `timers` timers in the first task are events 5 to timers + 4; the first update's task starts at timers + 6.
    const firstUpdate = async (timers: number) => {
      const handle = await startReporter(fx, id('default-count'), timers);
      try {
        return await handle.executeUpdate(wf.adviceUpdate, { args: [''] });
      } finally {
        await handle.terminate();
      }
    };
    expect(await firstUpdate(4090)).toMatchObject({ historyLength: 4096, continueAsNewSuggested: false, reasons: [] });
    expect(await firstUpdate(4091)).toMatchObject({
      historyLength: 4097,
      continueAsNewSuggested: true,
      reasons: reasonsOn(fx, ['TOO_MANY_HISTORY_EVENTS']),
    });
  });
});

describe('limit.historyCount.suggestContinueAsNew', () => {
  // Each update's task starts 5 events after the last (6, 11, ...), and counts one less (5, 10, ...): one counts
  // exactly the threshold.
  const threshold = 25;
  const fx = useWorker({}, { dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': threshold } });

  test('continueAsNewSuggested turns true once the history reaches the threshold, false before', async () => {
    const handle = await startReporter(fx, id('count'));
    const answers = await askRepeatedly(handle, 10);
    for (const a of answers) {
      expect(a).toMatchObject(
        a.historyLength - 1 >= threshold
          ? { continueAsNewSuggested: true, reasons: reasonsOn(fx, ['TOO_MANY_HISTORY_EVENTS']) }
          : { continueAsNewSuggested: false, reasons: [] },
      );
    }
    // Both sides of the threshold were seen, and the threshold itself.
    expect(answers[0].continueAsNewSuggested).toBe(false);
    expect(answers.find((a) => a.historyLength - 1 === threshold)?.continueAsNewSuggested).toBe(true);
    expect(answers.find((a) => a.historyLength - 1 === threshold - 5)?.continueAsNewSuggested).toBe(false);
    await handle.signal(wf.finishSignal);
    await handle.result();
  });

  test('historySize grows with the history and is the size of the history the client fetches', async () => {
    const handle = await startReporter(fx, id('size'));
    const answers = [...(await askRepeatedly(handle, 3)), ...(await askRepeatedly(handle, 3, 'x'.repeat(1000)))];
    // The first task is an ordinary one: everything before its WorkflowTaskStarted event counts.
    const first = await handle.query(wf.firstAdviceQuery);
    expect(first.historyLength).toBe(3);
    expect(first.historySize).toBe(await encodedSize(handle, 2));
    expect(answers[0].historySize).toBeGreaterThan(first.historySize);
    for (let i = 1; i < answers.length; i++) expect(answers[i].historySize).toBeGreaterThan(answers[i - 1].historySize);
    // The heavy updates weigh what they carry.
    expect(answers[5].historySize - answers[4].historySize).toBeGreaterThan(1000);
    for (const a of answers) {
      // The size of the history before the task's WorkflowTaskStarted event; an update's task is speculative, and
      // as on a real server its WorkflowTaskScheduled event is not counted until the task completes.
      const beforeStarted = await encodedSize(handle, a.historyLength - 1);
      const beforeScheduled = await encodedSize(handle, a.historyLength - 2);
      expect(a.historySize).toBeGreaterThanOrEqual(beforeScheduled);
      expect(a.historySize).toBeLessThanOrEqual(beforeStarted);
    }
    await handle.signal(wf.finishSignal);
    await handle.result();
    // DescribeWorkflowExecution reports the size of the whole history.
    const described = await handle.describe();
    expect(Number(described.raw.workflowExecutionInfo!.historySizeBytes)).toBe(
      await encodedSize(handle, described.historyLength),
    );
  });
});

describe('limit.historySize.suggestContinueAsNew', () => {
  const threshold = 5_000;
  const fx = useWorker({}, { dynamicConfig: { 'limit.historySize.suggestContinueAsNew': threshold } });

  test('a history that reaches the size brings the suggestion (HISTORY_SIZE_TOO_LARGE)', async () => {
    const handle = await startReporter(fx, id('bytes'));
    const answers = await askRepeatedly(handle, 8, 'x'.repeat(1000));
    for (const a of answers) {
      expect(a).toMatchObject(
        a.historySize >= threshold
          ? { continueAsNewSuggested: true, reasons: reasonsOn(fx, ['HISTORY_SIZE_TOO_LARGE']) }
          : { continueAsNewSuggested: false, reasons: [] },
      );
    }
    expect(answers[0].continueAsNewSuggested).toBe(false);
    expect(answers.at(-1)!.continueAsNewSuggested).toBe(true);
    // Far from the (default) event count: the size alone did it.
    expect(answers.at(-1)!.historyLength).toBeLessThan(100);
    await handle.signal(wf.finishSignal);
    await handle.result();
  });
});

describe('history.maxTotalUpdates', () => {
  const max = 10;
  const fx = useWorker({}, { dynamicConfig: { 'history.maxTotalUpdates': max } });

  test('suggested from 90% of the limit; a new update past it is refused, a retry of one the run has is not; continue-as-new starts the count again', async () => {
    const workflowId = id('updates');
    const handle = await startReporter(fx, workflowId);

    // Rejected updates leave no trace and do not count.
    for (let i = 0; i < 3; i++) {
      await expect(handle.executeUpdate(wf.adviceUpdate, { args: ['reject'] })).rejects.toBeInstanceOf(
        WorkflowUpdateFailedError,
      );
    }
    const answers: HistoryAdvice[] = [];
    for (let n = 1; n <= max; n++)
      answers.push(await handle.executeUpdate(wf.adviceUpdate, { args: [''], updateId: `u${n}` }));
    // ceil(10 × 0.9) = 9: the 9th update's task counts it with the 8 before it.
    answers.forEach((a, i) => {
      expect(a).toMatchObject(
        i + 1 >= 9
          ? { continueAsNewSuggested: true, reasons: reasonsOn(fx, ['TOO_MANY_UPDATES']) }
          : { continueAsNewSuggested: false, reasons: [] },
      );
    });

    const refused = await handle
      .executeUpdate(wf.adviceUpdate, { args: [''], updateId: 'u11' })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(Error);
    expect((refused as Error & { cause?: { code?: number; details?: string } }).cause).toMatchObject({
      code: FAILED_PRECONDITION,
      details: expect.stringMatching(
        new RegExp(
          `^The limit on the total number of distinct updates in this workflow has been reached \\(${max}\\)\\.`,
        ),
      ),
    });
    // A retry joins the update the run has: answered with its outcome, not refused.
    expect(await handle.executeUpdate(wf.adviceUpdate, { args: [''], updateId: 'u3' })).toEqual(answers[2]);

    // The run continues as new; the next run has a count of its own.
    await handle.signal(wf.continueSignal);
    const switched = await fx.env.client.workflow
      .getHandle(workflowId, handle.firstExecutionRunId, { followRuns: false })
      .result()
      .catch((e: unknown) => e);
    expect(switched).toBeInstanceOf(WorkflowContinuedAsNewError);
    const nextRunId = (switched as WorkflowContinuedAsNewError).newExecutionRunId;
    const next = fx.env.client.workflow.getHandle<typeof wf.adviceReporter>(workflowId, nextRunId);
    const fresh = await askRepeatedly(next, max);
    expect(fresh.map((a) => a.runId)).toEqual(Array(max).fill(nextRunId));
    fresh.forEach((a, i) => expect(a.continueAsNewSuggested).toBe(i + 1 >= 9));
    await expect(next.executeUpdate(wf.adviceUpdate, { args: [''] })).rejects.toMatchObject({
      cause: { code: FAILED_PRECONDITION },
    });
    await next.signal(wf.finishSignal);
    await next.result();
  });
});

describe('bad dynamic config', () => {
  test.each([
    [
      { 'limit.historyCount.suggestContinueAsNews': 10 },
      /unknown dynamic config key 'limit\.historyCount\.suggestContinueAsNews'/,
    ],
    [
      { 'limit.historyCount.suggestContinueAsNew': 0 },
      /limit\.historyCount\.suggestContinueAsNew must be a whole number of events/,
    ],
    [
      { 'limit.historySize.suggestContinueAsNew': 1.5 },
      /limit\.historySize\.suggestContinueAsNew must be a whole number of bytes/,
    ],
    [
      { 'history.maxTotalUpdates': '10' },
      /history\.maxTotalUpdates must be a whole number of updates, at least 1, got '10'/,
    ],
    [
      { 'history.maxTotalUpdates.suggestContinueAsNewThreshold': 1.5 },
      /suggestContinueAsNewThreshold must be a fraction/,
    ],
  ])('%j is refused with the key named', async (dynamicConfig, message) => {
    const start = startTestServer({ dynamicConfig: dynamicConfig as never });
    await expect(start).rejects.toBeInstanceOf(DynamicConfigError);
    await expect(start).rejects.toThrow(message);
  });
});
