import type { StoreSettings } from '../config';
import type { ContentStore } from './content-store';
import { FileContentStore } from './file-content-store';
import { PostgresContentStore } from './postgres-content-store';

/**
 * The store the settings name (`VIGIL_STORE`): files under `VIGIL_DATA_DIR` by default, or PostgreSQL at
 * `VIGIL_STORE_POSTGRES_URL`. Nothing is opened until the first operation.
 *
 * @example
 *   const store = createContentStore(loadConfig().store);
 *   const ref = await store.put('a tool output');
 */
export function createContentStore(settings: StoreSettings): ContentStore {
  return settings.kind === 'postgres'
    ? new PostgresContentStore({ url: settings.url })
    : new FileContentStore({ dataDir: settings.dataDir });
}
