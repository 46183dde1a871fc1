import './quiet-runtime';
import type { ConnectionLike } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import { createTemporalTestEnv, TemporalTestEnv, TemporalTestEnvOptions } from '../../src/testing/temporal-env';
import { createWorker, uniqueTaskQueue } from './worker';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Activities = Record<string, (...args: any[]) => Promise<unknown>>;

export interface WorkerFixture {
  env: TemporalTestEnv;
  taskQueue: string;
  worker: Worker;
}

/**
 * One environment and one running worker for a test file. Activities are looked up per call, so tests can
 * install their own behaviour in `activities` before starting a workflow.
 */
export function useWorker(activities: Activities, options: TemporalTestEnvOptions = {}): WorkerFixture {
  const fixture = {} as WorkerFixture;
  let running: Promise<void> | undefined;
  beforeAll(async () => {
    fixture.env = await createTemporalTestEnv(options);
    fixture.taskQueue = uniqueTaskQueue('conformance');
    const dispatch: Activities = new Proxy(activities, {
      get:
        (target, name: string) =>
        (...args: unknown[]) => {
          const fn = target[name];
          if (!fn) throw new Error(`no activity named ${name} in this test file`);
          return fn(...args);
        },
    });
    fixture.worker = await createWorker(fixture.env, { taskQueue: fixture.taskQueue, activities: dispatch });
    running = fixture.worker.run();
  });
  afterAll(async () => {
    if (fixture.worker?.getState() === 'RUNNING') fixture.worker.shutdown();
    await running;
    await fixture.env?.teardown();
  });
  return fixture;
}

/** Event type names of a workflow's history, without the EVENT_TYPE_ prefix. */
export async function eventTypes(handle: {
  fetchHistory(): Promise<{ events?: { eventType?: unknown }[] | null }>;
}): Promise<string[]> {
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((e) =>
    String(temporal.api.enums.v1.EventType[e.eventType as number]).replace(/^EVENT_TYPE_/, ''),
  );
}

/** Polls `check` until it returns a value other than undefined. For conditions a test cannot subscribe to. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Runs a raw long poll (PollWorkflowTaskQueue, PollActivityTaskQueue) with a deadline, as the SDK's workers always
 * do: the real server refuses a poll without one ("Context timeout is not set."), and so does the test server.
 */
export function longPoll<T>(connection: ConnectionLike, call: () => Promise<T>, timeoutMs = 70_000): Promise<T> {
  return connection.withDeadline(Date.now() + timeoutMs, call);
}
