/** How Vigil's workflow code is bundled, everywhere it is bundled: the worker, tests, replay, benchmarks. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * Modules loaded once per worker thread and shared by every conversation, instead of once per conversation:
 * zod itself (workflows/preload.ts) and the cache that lets conversations share their schemas (shared-schema.ts).
 */
export const WORKFLOW_BUNDLER_OPTIONS = {
  preloadModules: [require.resolve('../workflows/preload'), require.resolve('../conversation/shared-schema')],
};
