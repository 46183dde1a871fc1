import { createHash } from 'node:crypto';
import { ContentCorruptError } from '../errors';
import type { ContentRef } from './content-ref';

/**
 * The reference of a content: the SHA-256 of its UTF-8 bytes. Not for workflow code (it uses node:crypto);
 * activities compute references by storing the content.
 *
 * @example contentRef('hello') // 'sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824'
 */
export function contentRef(content: string | Uint8Array): ContentRef {
  return `sha256:${createHash('sha256').update(content).digest('hex')}`;
}

/**
 * The stored bytes as a string, once they are shown to hash to the reference.
 *
 * @throws ContentCorruptError otherwise.
 */
export function verifiedContent(bytes: Uint8Array, ref: ContentRef, store: string): string {
  const actual = contentRef(bytes);
  if (actual !== ref) throw new ContentCorruptError(ref, store, actual);
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}
