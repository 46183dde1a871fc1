import type { ContentRef } from './content-ref';

/**
 * Where message and tool-result contents live, so a conversation's history holds only their references.
 * Content-addressed: `put` of the same content returns the same reference and stores it once. An entry is
 * durable before `put` resolves, so a reference handed to a workflow never names content a crash can lose.
 *
 * Contents are strings, stored as their UTF-8 bytes; the reference is the SHA-256 of those bytes. (A string with
 * a lone surrogate cannot be encoded exactly in UTF-8: it is stored, and read back, with U+FFFD in its place.)
 */
export interface ContentStore {
  /** Names the store in errors and logs, without secrets, e.g. `file:/srv/vigil/data/content`. */
  readonly name: string;
  /** Stores the content (once, however often it is put) and resolves once it is durable. */
  put(content: string): Promise<ContentRef>;
  /**
   * The content of a reference, checked against its hash.
   *
   * @throws ContentMissingError when the store has no such entry.
   * @throws ContentCorruptError when the stored bytes no longer hash to the reference.
   * @throws ValidationError when `ref` is not a content reference.
   */
  get(ref: string): Promise<string>;
  /** Contents of many references, in the order given (duplicates allowed); fails as `get` on the first bad one. */
  getMany(refs: readonly string[]): Promise<string[]>;
  /** Whether the store has an entry for the reference (not checked against its hash). */
  has(ref: string): Promise<boolean>;
  /** Releases files or connections; the store is unusable afterwards. */
  close(): Promise<void>;
}
