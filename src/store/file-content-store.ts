/**
 * The embedded content store: one file per content under `<dataDir>/content/<first 2 hex>/<other 62 hex>`.
 * A put writes a temporary file beside the entry, fsyncs it, renames it into place and fsyncs the directory,
 * so the entry is whole and durable before its reference is returned; a crash leaves at most a stray temporary
 * file, never a partial entry. Writers of the same content race harmlessly: each renames identical bytes onto
 * the same name.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { ContentMissingError, StoreUnavailableError } from '../errors';
import { contentRef, verifiedContent } from './content-hash';
import { requireContentRef, type ContentRef } from './content-ref';
import type { ContentStore } from './content-store';

export interface FileContentStoreOptions {
  /** Vigil's data directory; entries go under its `content/` folder, created when missing. */
  dataDir: string;
}

export class FileContentStore implements ContentStore {
  readonly name: string;
  private readonly root: string;

  constructor(options: FileContentStoreOptions) {
    this.root = join(resolve(options.dataDir), 'content');
    this.name = `file:${this.root}`;
  }

  /** Where an entry lives (tests corrupt it there). */
  pathOf(ref: string): string {
    const hex = requireContentRef(ref).slice('sha256:'.length);
    return join(this.root, hex.slice(0, 2), hex.slice(2));
  }

  async put(content: string): Promise<ContentRef> {
    const bytes = Buffer.from(content, 'utf8');
    const ref = contentRef(bytes);
    const path = this.pathOf(ref);
    try {
      // Stored already and intact: nothing to write. A damaged entry is rewritten, which repairs it.
      if (await this.holdsIntact(path, ref)) return ref;
      await this.ensureDirectory(dirname(path));
      await writeDurably(path, bytes);
      return ref;
    } catch (error) {
      throw this.unavailable(`could not store content ${ref}`, error);
    }
  }

  async get(ref: string): Promise<string> {
    const checked = requireContentRef(ref);
    let bytes: Buffer;
    try {
      bytes = await readFile(this.pathOf(checked));
    } catch (error) {
      if (codeOf(error) === 'ENOENT') throw new ContentMissingError(checked, this.name);
      throw this.unavailable(`could not read content ${checked}`, error);
    }
    return verifiedContent(bytes, checked, this.name);
  }

  async getMany(refs: readonly string[]): Promise<string[]> {
    refs.forEach(requireContentRef);
    const unique = [...new Set(refs)];
    const contents = new Map<string, string>();
    // A context window may name hundreds of entries; a few reads at a time keep file descriptors in check.
    for (let start = 0; start < unique.length; start += 32) {
      const batch = unique.slice(start, start + 32);
      const read = await Promise.all(batch.map((ref) => this.get(ref)));
      batch.forEach((ref, index) => contents.set(ref, read[index]));
    }
    return refs.map((ref) => contents.get(ref) as string);
  }

  async has(ref: string): Promise<boolean> {
    const path = this.pathOf(ref);
    try {
      return (await stat(path)).isFile();
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return false;
      throw this.unavailable(`could not look up content ${ref}`, error);
    }
  }

  async close(): Promise<void> {}

  private async holdsIntact(path: string, ref: ContentRef): Promise<boolean> {
    try {
      return contentRef(await readFile(path)) === ref;
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return false;
      throw error;
    }
  }

  /** Creates the entry's folder; a folder just created is made durable in its parent too. */
  private async ensureDirectory(dir: string): Promise<void> {
    const created = await mkdir(dir, { recursive: true });
    if (created === undefined) return;
    // mkdir returns the first folder it created; each new folder's entry must reach its parent's disk.
    for (let folder = dir; folder.length >= created.length; folder = dirname(folder)) {
      await fsyncDirectory(dirname(folder));
    }
  }

  private unavailable(message: string, error: unknown): StoreUnavailableError {
    const detail = error instanceof Error ? error.message : String(error);
    const wrapped = new StoreUnavailableError(`${message} in ${this.name}: ${detail}`, this.name, codeOf(error));
    wrapped.cause = error;
    return wrapped;
  }
}

async function writeDurably(path: string, bytes: Buffer): Promise<void> {
  // Unique per writer, in the same folder so the rename is atomic.
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const file = await open(temporary, 'wx', 0o644);
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(dirname(path));
}

async function fsyncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}
