/**
 * Schedules through the real `client.schedule` API: create, describe, list, update, pause, trigger, delete, the
 * firing of actions and the overlap policies, and the errors a real server answers.
 */
import { randomUUID } from 'node:crypto';
import {
  ScheduleAlreadyRunning,
  ScheduleDescription,
  ScheduleHandle,
  ScheduleNotFoundError,
  ScheduleOptions,
  ScheduleOverlapPolicy,
} from '@temporalio/client';
import type { temporal } from '@temporalio/proto';
import Long from 'long';
import { eventually, useWorker } from '../helpers/conformance';
import { createTemporalTestEnv } from '../../src/testing/temporal-env';
import * as wf from './workflows';

const fx = useWorker({});
const id = (prefix: string) => `${prefix}-${randomUUID()}`;
const FAR_CRON = '0 9 1 1 *'; // once a year: never fires during a test

const handles: ScheduleHandle[] = [];
afterAll(async () => {
  for (const h of handles) await h.delete().catch(() => undefined);
});

async function create(
  options: Partial<ScheduleOptions> & { workflowType?: ScheduleOptions['action']['workflowType']; args?: unknown[] },
) {
  const scheduleId = options.scheduleId ?? id('sched');
  const handle = await fx.env.client.schedule.create({
    scheduleId,
    spec: options.spec ?? { cronExpressions: [FAR_CRON] },
    action: {
      type: 'startWorkflow',
      workflowType: options.workflowType ?? wf.echo,
      args: options.args ?? ['hi'],
      taskQueue: fx.taskQueue,
      workflowId: `${scheduleId}-wf`,
    } as ScheduleOptions['action'],
    policies: options.policies,
    state: options.state,
    memo: options.memo,
  });
  handles.push(handle);
  return handle;
}

const describeUntil = (handle: ScheduleHandle, ok: (d: ScheduleDescription) => boolean) =>
  eventually(async () => {
    const d = await handle.describe();
    return ok(d) ? d : undefined;
  });

test('create, describe, list and delete; a cron string is described as the calendar it compiles to', async () => {
  const handle = await create({
    spec: { cronExpressions: ['0 9 * * 1-5'], intervals: [{ every: '90m', offset: '5m' }] },
    memo: { purpose: 'standup reminder' },
  });
  const d = await handle.describe();
  expect(d.scheduleId).toBe(handle.scheduleId);
  expect(d.spec.calendars).toHaveLength(1);
  expect(d.spec.calendars![0]).toMatchObject({
    hour: [{ start: 9, end: 9, step: 1 }],
    minute: [{ start: 0, end: 0, step: 1 }],
    dayOfWeek: [{ start: 'MONDAY', end: 'FRIDAY', step: 1 }],
  });
  expect(d.spec.intervals).toEqual([{ every: 90 * 60_000, offset: 5 * 60_000 }]);
  expect(d.memo).toEqual({ purpose: 'standup reminder' });
  expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
  expect(d.state.paused).toBe(false);
  expect(d.info.nextActionTimes.length).toBeGreaterThan(0);
  for (const t of d.info.nextActionTimes) expect(t.getTime()).toBeGreaterThan(d.info.createdAt.getTime());
  expect(d.action).toMatchObject({
    type: 'startWorkflow',
    workflowType: 'echo',
    args: ['hi'],
    taskQueue: fx.taskQueue,
  });

  // Listing is eventually consistent on a real server.
  const listed = await eventually(async () => {
    for await (const s of fx.env.client.schedule.list()) if (s.scheduleId === handle.scheduleId) return s;
    return undefined;
  });
  expect(listed.memo).toEqual({ purpose: 'standup reminder' });
  expect(listed.action).toEqual({ type: 'startWorkflow', workflowType: 'echo' });
  expect(listed.state.paused).toBe(false);

  await handle.delete();
  await expect(handle.describe()).rejects.toBeInstanceOf(ScheduleNotFoundError);
});

test('a schedule fires on its interval, names each run <workflowId>-<time> and stops after its remaining actions', async () => {
  const handle = await create({
    spec: { intervals: [{ every: '1s' }] },
    state: { remainingActions: 2 },
    args: ['tick'],
  });
  const d = await describeUntil(handle, (x) => x.info.recentActions.length === 2 && x.info.runningActions.length === 0);
  expect(d.info.numActionsTaken).toBe(2);
  expect(d.state.remainingActions).toBe(0);
  expect(d.info.nextActionTimes).toEqual([]);
  for (const action of d.info.recentActions) {
    const stamp = action.scheduledAt.toISOString().replace(/\.\d{3}Z$/, 'Z');
    expect(action.action.workflow.workflowId).toBe(`${handle.scheduleId}-wf-${stamp}`);
    const run = fx.env.client.workflow.getHandle(action.action.workflow.workflowId);
    expect(await run.result()).toBe('tick');
    const info = await run.describe();
    expect(info.searchAttributes.TemporalScheduledById).toEqual([handle.scheduleId]);
    expect(info.searchAttributes.TemporalScheduledStartTime).toEqual([action.scheduledAt]);
  }
});

test('trigger starts a run at once, even while paused; pause and unpause keep their notes', async () => {
  const handle = await create({ state: { paused: true, note: 'held' } });
  expect((await handle.describe()).state).toMatchObject({ paused: true, note: 'held' });
  await handle.trigger();
  const d = await describeUntil(handle, (x) => x.info.recentActions.length === 1);
  expect(await fx.env.client.workflow.getHandle(d.info.recentActions[0].action.workflow.workflowId).result()).toBe(
    'hi',
  );
  await handle.unpause('back on');
  expect((await handle.describe()).state).toMatchObject({ paused: false, note: 'back on' });
  await handle.pause('off again');
  expect((await handle.describe()).state).toMatchObject({ paused: true, note: 'off again' });
});

test('overlap SKIP: a fire time while the last run still runs is skipped', async () => {
  const handle = await create({ spec: { intervals: [{ every: '1s' }] }, workflowType: wf.waitForever, args: [] });
  const d = await describeUntil(handle, (x) => x.info.numActionsSkippedOverlap >= 1);
  expect(d.info.numActionsTaken).toBe(1);
  expect(d.info.runningActions).toHaveLength(1);
  await handle.delete();
  await fx.env.client.workflow.getHandle(d.info.runningActions[0].workflow.workflowId).terminate();
});

test('a trigger under ALLOW_ALL (the default) starts a run that is not tracked as running', async () => {
  const handle = await create({ workflowType: wf.waitForever, args: [] });
  await handle.trigger();
  const d = await describeUntil(handle, (x) => x.info.recentActions.length === 1);
  expect(d.info.numActionsTaken).toBe(1);
  expect(d.info.runningActions).toEqual([]);
  await fx.env.client.workflow.getHandle(d.info.recentActions[0].action.workflow.workflowId).terminate();
});

test('overlap BUFFER_ONE: a trigger waits for the running one, then starts', async () => {
  const handle = await create({ workflowType: wf.waitForever, args: [] });
  // SKIP, not the default ALLOW_ALL, so that the run is tracked as running.
  await handle.trigger(ScheduleOverlapPolicy.SKIP);
  const first = await describeUntil(handle, (x) => x.info.runningActions.length === 1);
  await handle.trigger(ScheduleOverlapPolicy.BUFFER_ONE);
  expect((await handle.describe()).info.numActionsTaken).toBe(1);
  await fx.env.client.workflow.getHandle(first.info.runningActions[0].workflow.workflowId).terminate();
  const d = await describeUntil(handle, (x) => x.info.numActionsTaken === 2);
  const second = d.info.runningActions[0] ?? d.info.recentActions[1].action;
  await fx.env.client.workflow
    .getHandle(second.workflow.workflowId)
    .terminate()
    .catch(() => undefined);
});

test('update replaces the spec; ListScheduleMatchingTimes lists the times in a range', async () => {
  const handle = await create({});
  await handle.update((prev) => ({ ...prev, spec: { cronExpressions: ['0 9 * * 1-5'] } }));
  const d = await handle.describe();
  expect(d.info.lastUpdatedAt).toBeDefined();
  const res: temporal.api.workflowservice.v1.IListScheduleMatchingTimesResponse =
    await fx.env.client.workflowService.listScheduleMatchingTimes({
      namespace: fx.env.namespace,
      scheduleId: handle.scheduleId,
      startTime: { seconds: Long.fromNumber(Date.UTC(2030, 0, 7) / 1000) }, // a Monday
      endTime: { seconds: Long.fromNumber(Date.UTC(2030, 0, 14) / 1000) },
    });
  const times = (res.startTime ?? []).map((t) => new Date(Number(t.seconds) * 1000).toISOString());
  expect(times).toEqual(['07', '08', '09', '10', '11'].map((day) => `2030-01-${day}T09:00:00.000Z`));
});

test('errors: unknown schedule, existing id, invalid spec', async () => {
  await expect(fx.env.client.schedule.getHandle(id('missing')).describe()).rejects.toBeInstanceOf(
    ScheduleNotFoundError,
  );
  await expect(fx.env.client.schedule.getHandle(id('missing')).delete()).rejects.toBeInstanceOf(ScheduleNotFoundError);
  const handle = await create({});
  await expect(create({ scheduleId: handle.scheduleId })).rejects.toBeInstanceOf(ScheduleAlreadyRunning);
  const bad = create({ spec: { cronExpressions: ['0 99 * * *'] } });
  await expect(bad).rejects.toBeInstanceOf(TypeError);
  if (fx.env.backend === 'in-process') await expect(bad).rejects.toThrow(/0 99 \* \* \*/);
});

test('fire times follow the server clock: with time skipping an hourly schedule fires without waiting an hour', async () => {
  const env = await createTemporalTestEnv({ timeSkipping: true });
  try {
    const handle = await env.client.schedule.create({
      scheduleId: id('skip'),
      spec: { intervals: [{ every: '1h' }] },
      action: {
        type: 'startWorkflow',
        workflowType: 'echo',
        args: ['x'],
        taskQueue: 'nobody-polls',
        workflowId: 'hourly',
      },
    });
    // No worker: the started run's workflow task stays pending, so the clock stops after the first fire.
    const d = await describeUntil(handle, (x) => x.info.recentActions.length === 1);
    const at = d.info.recentActions[0].scheduledAt;
    expect(at.getTime() % 3_600_000).toBe(0);
    expect(at.getTime()).toBeGreaterThan(d.info.createdAt.getTime());
    expect(d.info.recentActions[0].action.workflow.workflowId).toBe(
      `hourly-${at.toISOString().replace(/\.\d{3}Z$/, 'Z')}`,
    );
  } finally {
    await env.teardown();
  }
});
