/**
 * A content store with the worker's recent entries kept in memory. Entries are content-addressed and never
 * change, so a cached entry is always right: a model call reads its context window (hundreds of transcript
 * records) mostly from memory instead of one file or query each. The cache is per worker (per activities
 * instance): an entry the store has lost is still noticed by any worker that did not read it recently.
 */
import type { ContentRef } from './content-ref';
import type { ContentStore } from './content-store';

/** Entries kept by default: the records of a few dozen long context windows. */
export const DEFAULT_CACHED_ENTRIES = 10_000;

export function cachedContentStore(store: ContentStore, maxEntries = DEFAULT_CACHED_ENTRIES): ContentStore {
  // A Map iterates in insertion order: re-inserting on use keeps the least recently used first.
  const cache = new Map<string, string>();
  const remember = (ref: string, content: string) => {
    cache.delete(ref);
    cache.set(ref, content);
    if (cache.size > maxEntries) cache.delete(cache.keys().next().value!);
  };
  return {
    name: store.name,
    async put(content): Promise<ContentRef> {
      const ref = await store.put(content);
      remember(ref, content);
      return ref;
    },
    async get(ref) {
      const cached = cache.get(ref);
      if (cached !== undefined) {
        remember(ref, cached);
        return cached;
      }
      const content = await store.get(ref);
      remember(ref, content);
      return content;
    },
    async getMany(refs) {
      return Promise.all(refs.map((ref) => this.get(ref)));
    },
    has: (ref) => (cache.has(ref) ? Promise.resolve(true) : store.has(ref)),
    close: () => store.close(),
  };
}
