/**
 * Time skipping: with `timeSkipping: true` the in-process server jumps its clock to the next timer whenever no
 * workflow task or activity is pending. A real Temporal has no such mode, so this file always runs on its own
 * in-process server (whatever TEMPORAL_TEST_ADDRESS says).
 */
import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { useWorker } from '../helpers/conformance';
import { createTemporalTestEnv } from '../../src/testing/temporal-env';
import * as wf from './workflows';

const fx = useWorker({ greet: async (name: string) => `Hello, ${name}!` }, { timeSkipping: true });
const testService = () => fx.env.connection.testService!;

test('a day-long timer completes at once, and the workflow sees a day pass', async () => {
  const day = 24 * 3600 * 1000;
  const startedAt = Date.now();
  const elapsed = await fx.env.client.workflow.execute(wf.sleeper, {
    taskQueue: fx.taskQueue,
    workflowId: `skip-${randomUUID()}`,
    args: [day],
  });
  expect(elapsed).toBeGreaterThanOrEqual(day);
  // Far less than a day of real time passed; the figure only guards against the timer really being waited on.
  expect(Date.now() - startedAt).toBeLessThan(day);
});

test('time does not skip past a running activity', async () => {
  const result = await fx.env.client.workflow.execute(wf.oneActivity, {
    taskQueue: fx.taskQueue,
    workflowId: `skip-${randomUUID()}`,
    args: ['clock'],
  });
  expect(result).toBe('Hello, clock!');
});

test('a client lock holds time still; GetCurrentTime reports the skipped clock', async () => {
  const before = await testService().getCurrentTime({});
  await testService().lockTimeSkipping({});
  const handle = await fx.env.client.workflow.start(wf.waitOrTimeout, {
    taskQueue: fx.taskQueue,
    workflowId: `skip-${randomUUID()}`,
    args: [3600_000],
  });
  await handle.signal(wf.finishSignal);
  // With time locked the hour-long timer cannot have fired, so the signal wins.
  expect(await handle.result()).toBe('signalled');
  await testService().unlockTimeSkipping({});
  await testService().unlockTimeSkippingWithSleep({ duration: { seconds: 7200 } as never });
  const after = await testService().getCurrentTime({});
  const seconds = (t: typeof before) => Number(t.time?.seconds ?? 0);
  expect(seconds(after) - seconds(before)).toBeGreaterThanOrEqual(7200);
});

test('time-skipping calls on a server without it fail with FAILED_PRECONDITION', async () => {
  const plain = await createTemporalTestEnv();
  try {
    if (plain.backend === 'in-process') {
      await expect(plain.connection.testService!.lockTimeSkipping({})).rejects.toMatchObject({
        code: status.FAILED_PRECONDITION,
      });
    } else {
      // A real server has no TestService at all.
      await expect(plain.connection.testService!.lockTimeSkipping({})).rejects.toMatchObject({
        code: status.UNIMPLEMENTED,
      });
    }
  } finally {
    await plain.teardown();
  }
});
