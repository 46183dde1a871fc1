import './quiet-runtime';
import { Worker, WorkerOptions } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import type { TemporalTestEnv } from '../../src/testing/temporal-env';

/** A task queue no other test (or earlier run against a shared real server) uses. */
export function uniqueTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`;
}

/** A real worker on the test bundle, connected to the test environment. */
export async function createWorker(
  env: TemporalTestEnv,
  options: Partial<WorkerOptions> & { taskQueue: string },
): Promise<Worker> {
  const codePath = process.env.VIGIL_TEST_WORKFLOW_BUNDLE;
  if (!codePath)
    throw new Error('VIGIL_TEST_WORKFLOW_BUNDLE is not set: run the tests through jest (test/global-setup.ts)');
  return Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    workflowBundle: { codePath },
    ...options,
  });
}
