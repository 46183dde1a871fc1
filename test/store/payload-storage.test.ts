/**
 * Temporal payloads over the threshold go to the content store through the SDK's External Storage, proven with
 * a real worker and client on the in-process test server: history holds small claims, workflow code and the
 * client see full values.
 */
import { Client } from '@temporalio/client';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTemporalTestEnv, type TemporalTestEnv } from '../../src/testing/temporal-env';
import {
  CONTENT_STORE_DRIVER_NAME,
  ContentStoreDriver,
  FileContentStore,
  externalStorageFor,
  isContentRef,
} from '../../src/store';
import { createWorker, uniqueTaskQueue } from '../helpers/worker';

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-payloads-'));
const store = new FileContentStore({ dataDir });
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** About `bytes` of text that differs per seed, so each test stores its own entries. */
function bigText(seed: string, bytes: number): string {
  const line = `${seed}: the tool printed this line, and again. `;
  return line.repeat(Math.ceil(bytes / line.length)).slice(0, bytes);
}

test('the driver stores a payload once under its content ref and gives it back whole', async () => {
  const driver = new ContentStoreDriver(store);
  const payload = defaultPayloadConverter.toPayload({ output: bigText('driver', 100_000) }) as Payload;
  const claims = await driver.store({}, [payload, payload]);
  expect(claims.map((claim) => claim.claimData)).toEqual([claims[0].claimData, claims[0].claimData]);
  expect(isContentRef(claims[0].claimData.ref)).toBe(true);
  const [back] = await driver.retrieve({}, [claims[0]]);
  expect(defaultPayloadConverter.fromPayload(back)).toEqual({ output: bigText('driver', 100_000) });
});

describe('with a worker and a client that share the store', () => {
  let env: TemporalTestEnv;
  let worker: Worker;
  let running: Promise<void>;
  let client: Client;
  const taskQueue = uniqueTaskQueue('payloads');
  const externalStorage = externalStorageFor(store, { thresholdBytes: 64 * 1024 });

  beforeAll(async () => {
    env = await createTemporalTestEnv();
    worker = await createWorker(env, {
      taskQueue,
      dataConverter: { externalStorage },
      activities: {
        toolOutput: async (seed: string) => bigText(seed, 1024 * 1024),
        length: async (text: string) => text.length,
      },
    });
    running = worker.run();
    client = new Client({ connection: env.connection, namespace: env.namespace, dataConverter: { externalStorage } });
  });
  afterAll(async () => {
    if (worker?.getState() === 'RUNNING') worker.shutdown();
    await running;
    await env?.teardown();
  });

  /** The run's history as the server keeps it, read without External Storage, and its encoded size. */
  async function rawHistory(workflowId: string) {
    const history = await env.client.workflow.getHandle(workflowId).fetchHistory();
    const bytes = temporal.api.history.v1.History.encode(history).finish().length;
    return { events: history.events ?? [], bytes };
  }

  /** The content refs of the claims a payload list holds. */
  function claimRefs(payloads: Payload[] | null | undefined): string[] {
    return (payloads ?? []).map((payload) => {
      const reference = JSON.parse(Buffer.from(payload.data as Uint8Array).toString('utf8')) as {
        driverName: string;
        claimData: { ref: string };
      };
      expect(reference.driverName).toBe(CONTENT_STORE_DRIVER_NAME);
      return reference.claimData.ref;
    });
  }

  test('a 1 MB activity result is a small claim in history, and the workflow and client get the full value', async () => {
    const workflowId = `payloads-${taskQueue}-result`;
    const result = await client.workflow.execute('runActivity', {
      taskQueue,
      workflowId,
      args: ['toolOutput', ['result'], { startToCloseTimeout: '30s' }],
    });
    expect(result).toBe(bigText('result', 1024 * 1024));

    const { events, bytes } = await rawHistory(workflowId);
    expect(bytes).toBeLessThan(8 * 1024);
    const completed = events.find((event) => event.activityTaskCompletedEventAttributes);
    const closed = events.find((event) => event.workflowExecutionCompletedEventAttributes);
    const activityRefs = claimRefs(completed?.activityTaskCompletedEventAttributes?.result?.payloads);
    const workflowRefs = claimRefs(closed?.workflowExecutionCompletedEventAttributes?.result?.payloads);
    // The workflow returned the very value it was given: the same payload, stored once.
    expect(workflowRefs).toEqual(activityRefs);
    expect(await store.has(activityRefs[0])).toBe(true);
  });

  test('a 1 MB workflow input goes to the store from the client and reaches activities whole', async () => {
    const workflowId = `payloads-${taskQueue}-input`;
    const text = bigText('input', 1024 * 1024);
    const length = await client.workflow.execute('runActivity', {
      taskQueue,
      workflowId,
      args: ['length', [text], { startToCloseTimeout: '30s' }],
    });
    expect(length).toBe(text.length);
    const { events, bytes } = await rawHistory(workflowId);
    expect(bytes).toBeLessThan(8 * 1024);
    const started = events.find((event) => event.workflowExecutionStartedEventAttributes);
    const scheduled = events.find((event) => event.activityTaskScheduledEventAttributes);
    // The workflow's input (the activity's name, its arguments, its options) is one payload per argument.
    const inputRefs = claimRefs(started?.workflowExecutionStartedEventAttributes?.input?.payloads?.slice(1, 2));
    const activityRefs = claimRefs(scheduled?.activityTaskScheduledEventAttributes?.input?.payloads);
    expect(inputRefs).toHaveLength(1);
    expect(activityRefs).toHaveLength(1);
  });

  test('payloads under the threshold stay inline', async () => {
    const workflowId = `payloads-${taskQueue}-small`;
    expect(await client.workflow.execute('echo', { taskQueue, workflowId, args: ['small'] })).toBe('small');
    const { events } = await rawHistory(workflowId);
    const started = events.find((event) => event.workflowExecutionStartedEventAttributes);
    const [payload] = started?.workflowExecutionStartedEventAttributes?.input?.payloads ?? [];
    expect(defaultPayloadConverter.fromPayload(payload as Payload)).toBe('small');
  });
});
