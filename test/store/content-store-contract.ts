/**
 * What every ContentStore promises, run against each implementation (file-content-store.test.ts,
 * postgres-content-store.test.ts) so the embedded and the production store cannot drift apart.
 */
import { ContentCorruptError, ContentMissingError, ValidationError } from '../../src/errors';
import { contentRef, type ContentRef, type ContentStore } from '../../src/store';

export interface ContentStoreHarness {
  /** A new store instance over the same data as every other instance of this harness. */
  open(): ContentStore;
  /** How many entries the backing files or table hold. */
  countEntries(): Promise<number>;
  /** Changes an entry's stored bytes behind the store's back. */
  corrupt(ref: ContentRef): Promise<void>;
}

export function contentStoreContract(harness: () => ContentStoreHarness): void {
  let store: ContentStore;
  const opened: ContentStore[] = [];
  const open = () => {
    const instance = harness().open();
    opened.push(instance);
    return instance;
  };
  beforeAll(() => {
    store = open();
  });
  afterAll(async () => {
    await Promise.all(opened.map((instance) => instance.close()));
  });

  test('gives back what was put, under the sha256 of its UTF-8 bytes', async () => {
    const ref = await store.put('hello');
    expect(ref).toBe('sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824');
    expect(ref).toBe(contentRef('hello'));
    expect(await store.get(ref)).toBe('hello');
    expect(await store.has(ref)).toBe(true);
  });

  test('stores the same content once however often it is put', async () => {
    const before = await harness().countEntries();
    const first = await store.put('the same tool output');
    const second = await store.put('the same tool output');
    expect(second).toBe(first);
    expect(await harness().countEntries()).toBe(before + 1);
  });

  test('keeps unicode, NUL characters, the empty string and 5 MB contents exactly', async () => {
    const contents = [
      '',
      'naïve café — 東京 🚀 \u{1F600}',
      'before\u0000after',
      'x'.repeat(5 * 1024 * 1024 - 3) + 'end',
    ];
    const refs = await Promise.all(contents.map((content) => store.put(content)));
    expect(await store.getMany(refs)).toEqual(contents);
  });

  test('concurrent puts of the same content store one entry, all with the same ref', async () => {
    const before = await harness().countEntries();
    const content = `raced ${'y'.repeat(100_000)}`;
    const refs = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? store : open()).put(content)));
    expect(new Set(refs)).toEqual(new Set([contentRef(content)]));
    expect(await harness().countEntries()).toBe(before + 1);
    expect(await store.get(refs[0])).toBe(content);
  });

  test('a missing entry is a ContentMissingError naming the ref and the store, never an empty content', async () => {
    const ref = contentRef('never stored');
    expect(await store.has(ref)).toBe(false);
    const error = await store.get(ref).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContentMissingError);
    expect(error).toMatchObject({ ref, store: store.name });
    expect((error as Error).message).toContain(ref);
    expect((error as Error).message).toContain(store.name);
    await expect(store.getMany([await store.put('here'), ref])).rejects.toBeInstanceOf(ContentMissingError);
  });

  test('an entry changed after it was written is a ContentCorruptError', async () => {
    const ref = await store.put('the original words');
    await harness().corrupt(ref);
    const error = await open()
      .get(ref)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ContentCorruptError);
    expect(error).toMatchObject({ ref, store: store.name });
    expect((error as ContentCorruptError).actualRef).not.toBe(ref);
    expect((error as Error).message).toMatch(/corrupt/);
  });

  test('refuses anything that is not a content reference, before touching storage', async () => {
    for (const bad of ['../../etc/passwd', 'sha256:abc', `sha256:${'A'.repeat(64)}`, `sha1:${'0'.repeat(40)}`]) {
      await expect(store.get(bad)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.has(bad)).rejects.toBeInstanceOf(ValidationError);
      await expect(store.getMany([bad])).rejects.toBeInstanceOf(ValidationError);
    }
  });

  test('a new store instance over the same data reads what an earlier one wrote', async () => {
    const writer = open();
    const ref = await writer.put('written before the restart');
    await writer.close();
    expect(await open().get(ref)).toBe('written before the restart');
  });

  test('getMany answers in the order asked, duplicates included', async () => {
    const contents = Array.from({ length: 50 }, (_, i) => `message ${i}`);
    const refs = await Promise.all(contents.map((content) => store.put(content)));
    const asked = [...refs].reverse().concat(refs[3], refs[3]);
    expect(await store.getMany(asked)).toEqual([...contents].reverse().concat(contents[3], contents[3]));
    expect(await store.getMany([])).toEqual([]);
  });
}
