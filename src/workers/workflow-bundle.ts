/** How Vigil's workflow code is bundled, everywhere it is bundled: the worker, tests, replay, benchmarks. */
export const WORKFLOWS_PATH = require.resolve('../workflows');

/**
 * The workflows' payload converter: Temporal's default, but a payload it cannot decode reaches the handler as a value
 * its schema refuses instead of failing the workflow task for good (see workflows/payload-converter.ts). In the
 * bundle, and in `vigilDataConverter` for the worker that bundles at startup and for clients.
 */
export const PAYLOAD_CONVERTER_PATH = require.resolve('../workflows/payload-converter');

/**
 * Modules loaded once per worker thread and shared by every conversation, instead of once per conversation:
 * zod itself (workflows/preload.ts) and the cache that lets conversations share their schemas (shared-schema.ts).
 * With the payload converter, so that a bundle made ahead (tests, replay) decodes as the worker's own does.
 */
export const WORKFLOW_BUNDLER_OPTIONS = {
  preloadModules: [require.resolve('../workflows/preload'), require.resolve('../conversation/shared-schema')],
  payloadConverterPath: PAYLOAD_CONVERTER_PATH,
};
