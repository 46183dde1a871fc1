import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../src/workers/workflow-bundle';

/**
 * Bundles the workflows once for the whole run (the conformance suite's and Vigil's own); every test file's
 * workers load the same bundles instead of paying for webpack each time.
 */
export default async function globalSetup(): Promise<void> {
  const logger = { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error };
  const dir = join(tmpdir(), `vigil-test-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const bundles = {
    VIGIL_TEST_WORKFLOW_BUNDLE: { workflowsPath: require.resolve('./workflows') },
    VIGIL_WORKFLOW_BUNDLE: { workflowsPath: WORKFLOWS_PATH, ...WORKFLOW_BUNDLER_OPTIONS },
  };
  for (const [variable, options] of Object.entries(bundles)) {
    const { code } = await bundleWorkflowCode({ ...options, logger });
    const path = join(dir, `${variable.toLowerCase()}.js`);
    writeFileSync(path, code);
    process.env[variable] = path;
  }
}
