import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Bundles the test workflows once for the whole run; every test file's workers load the same bundle instead
 * of paying for webpack each time.
 */
export default async function globalSetup(): Promise<void> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  const dir = join(tmpdir(), `vigil-test-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, 'workflows.js');
  writeFileSync(path, code);
  process.env.VIGIL_TEST_WORKFLOW_BUNDLE = path;
}
