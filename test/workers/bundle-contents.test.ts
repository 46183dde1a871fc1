/**
 * What Vigil's workflow bundle is made of: every file of the project in it lives in src/workflows or
 * src/conversation, the two folders the determinism lint guards (eslint.config.mjs), and every package in it is
 * one made for the sandbox. A module imported from anywhere else would run in every conversation unguarded.
 */
import { bundleWorkflowCode } from '@temporalio/worker';
import { readFileSync } from 'node:fs';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../../src/workers/workflow-bundle';

const SANDBOX_FOLDERS = ['./src/workflows/', './src/conversation/'];

/** zod, the SDK's workflow side and what it brings along. */
const SANDBOX_PACKAGES = [
  '@temporalio/common',
  '@temporalio/workflow',
  '@temporalio/workflow-streams',
  'long',
  'ms',
  'nexus-rpc',
  'zod',
];

/** The module ids webpack gave the bundle's files: paths from the project's root. */
async function bundledModules(): Promise<string[]> {
  // Jest's global setup bundled it already (test/global-setup.ts).
  const path = process.env.VIGIL_WORKFLOW_BUNDLE;
  const code = path
    ? readFileSync(path, 'utf8')
    : (await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...WORKFLOW_BUNDLER_OPTIONS })).code;
  return [...new Set([...code.matchAll(/^\/\*\*\*\/ "(\.\/[^"]+)"$/gm)].map((match) => match[1]))];
}

/** `./node_modules/@scope/name/...` -> `@scope/name`. */
function packageOf(module: string): string {
  const parts = module.slice('./node_modules/'.length).split('/');
  return parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
}

test("the project's files in the bundle are all in the lint-guarded sandbox folders", async () => {
  const modules = await bundledModules();
  const ours = modules.filter((module) => module.startsWith('./src/'));
  // The workflow and the conversation's rules are found, so the pattern cannot pass by matching nothing.
  expect(ours).toEqual(
    expect.arrayContaining([
      './src/workflows/conversation.ts',
      './src/conversation/state.ts',
      './src/conversation/protocol.ts',
    ]),
  );
  expect(ours.filter((module) => !SANDBOX_FOLDERS.some((folder) => module.startsWith(folder)))).toEqual([]);
  expect(modules.filter((module) => !module.startsWith('./src/') && !module.startsWith('./node_modules/'))).toEqual([]);
});

test("the packages in the bundle are zod and the SDK's sandbox side, nothing that does I/O", async () => {
  const packages = new Set(
    (await bundledModules()).filter((module) => module.startsWith('./node_modules/')).map(packageOf),
  );
  expect([...packages].filter((name) => !SANDBOX_PACKAGES.includes(name))).toEqual([]);
  expect(packages.has('zod')).toBe(true);
});
