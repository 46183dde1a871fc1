/**
 * zod schemas built once per worker thread instead of once per conversation.
 *
 * The workflow sandbox evaluates the bundle's modules again for every conversation it starts, replays or brings
 * back after eviction, so each would build its own copy of every schema in src/conversation/protocol.ts: about 8 ms of CPU and
 * most of the memory of a cached conversation (bench/conversation.ts). This module is preloaded
 * (src/workers/workflow-bundle.ts), so its map is the thread's, and a conversation's protocol module takes the
 * schemas the first one built.
 *
 * Why not preload the schemas themselves: the SDK deep-freezes what preloaded modules export, and zod writes into
 * its schemas as it works (it replaces a schema's parse function on first use, and resets a pattern's
 * `lastIndex` on every check), which a frozen schema refuses. The map is reached only through the function below,
 * and the SDK does not freeze a map's entries, so the schemas stay as writable as anywhere else.
 *
 * Sharing keeps the workflow deterministic: a schema is a function of its definition alone, and what zod caches
 * in it is the same whichever conversation built it. Outside the sandbox this is an ordinary module-level cache.
 */
const built = new Map<string, unknown>();

/** The schema under `key`, built by `build` the first time in this thread. Keys name module and schema. */
export function sharedSchema<T>(key: string, build: () => T): T {
  if (built.has(key)) return built.get(key) as T;
  const schema = build();
  built.set(key, schema);
  return schema;
}
