/**
 * The content store: message and tool-result contents (and Temporal payloads over a threshold) kept outside
 * workflow history, addressed by the SHA-256 of their bytes. Workflow code may import only `./content-ref`.
 */
export type { ContentStore } from './content-store';
export { CONTENT_REF_PATTERN, ContentRefSchema, isContentRef, requireContentRef, type ContentRef } from './content-ref';
export { contentRef } from './content-hash';
export { FileContentStore, type FileContentStoreOptions } from './file-content-store';
export { CONTENT_TABLE, PostgresContentStore, type PostgresContentStoreOptions } from './postgres-content-store';
export { createContentStore } from './create-content-store';
export {
  CONTENT_STORE_DRIVER_NAME,
  ContentStoreDriver,
  externalStorageFor,
  type ExternalStorageOptions,
} from './payload-storage';
