/**
 * Conversations on one worker share the protocol's zod schemas (src/conversation/shared-schema.ts): built by the first, taken
 * by the rest, instead of built again for each conversation the sandbox creates. Shown with a real worker and
 * Vigil's bundler options: one workflow run sees what an earlier run put in the cache, and validation on the
 * shared schemas works in every run.
 */
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { createTemporalTestEnv, type TemporalTestEnv } from '../../../src/testing';
import { WORKFLOW_BUNDLER_OPTIONS } from '../../../src/workers/workflow-bundle';
import { newId } from '../../helpers/conversation';
import type { Probe } from './workflows';

let env: TemporalTestEnv;
beforeAll(async () => {
  env = await createTemporalTestEnv();
});
afterAll(async () => {
  await env?.teardown();
});

test('the second run on a worker takes the schemas the first one built, and both validate with them', async () => {
  const taskQueue = `shared-schema-${newId()}`;
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    ...WORKFLOW_BUNDLER_OPTIONS,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  });
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace,
    taskQueue,
    workflowBundle,
  });
  const probes = await worker.runUntil(async () => {
    const results: Probe[] = [];
    // One after the other, so the order of the runs is the order of their results.
    for (let i = 0; i < 2; i++) {
      results.push(await env.client.workflow.execute('schemaProbe', { taskQueue, workflowId: `${taskQueue}-${i}` }));
    }
    return results;
  });
  expect(probes).toEqual([
    { runsBefore: 0, sameSchemaAsFirstRun: true, valid: true, invalid: false },
    { runsBefore: 1, sameSchemaAsFirstRun: true, valid: true, invalid: false },
  ]);
});
