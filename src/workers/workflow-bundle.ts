/** How Vigil's workflow code is bundled, everywhere it is bundled: the worker, tests, replay, benchmarks. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

export const WORKFLOW_BUNDLER_OPTIONS = {
  preloadModules: [require.resolve('../workflows/preload')],
};
