/**
 * Content references: `sha256:<64 lowercase hex>` of a content's UTF-8 bytes. This module imports nothing from
 * Node, so workflow code may import it to validate references it holds; it never computes one. Hashing is done
 * by the store (in activities), see `contentRef` in content-hash.ts, so the workflow sandbox needs no crypto.
 */
import { z } from 'zod';
import { ValidationError } from '../errors';

/** A reference to content in a ContentStore; equal contents have equal references. */
export type ContentRef = `sha256:${string}`;

export const CONTENT_REF_PATTERN = /^sha256:[0-9a-f]{64}$/;

export function isContentRef(value: unknown): value is ContentRef {
  return typeof value === 'string' && CONTENT_REF_PATTERN.test(value);
}

/** For state and protocol schemas that carry references. */
export const ContentRefSchema = z.custom<ContentRef>(isContentRef, {
  error: 'must be a content reference, sha256:<64 lowercase hex digits>',
});

/**
 * The reference, checked; stores call this before touching disk or database, so a crafted "reference" can
 * never name a path or a query of its choosing.
 *
 * @throws ValidationError when it is not a content reference.
 */
export function requireContentRef(ref: unknown): ContentRef {
  if (isContentRef(ref)) return ref;
  const shown = typeof ref === 'string' ? JSON.stringify(ref.length > 80 ? `${ref.slice(0, 80)}…` : ref) : typeof ref;
  throw new ValidationError(`not a content reference (sha256:<64 lowercase hex digits>): ${shown}`);
}
