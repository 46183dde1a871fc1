import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileContentStore, createContentStore } from '../../src/store';
import { contentStoreContract } from './content-store-contract';

const dataDir = mkdtempSync(join(tmpdir(), 'vigil-content-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

/** Every file under content/, temporary ones included. */
function files(): string[] {
  const root = join(dataDir, 'content');
  try {
    return readdirSync(root).flatMap((shard) => readdirSync(join(root, shard)).map((name) => join(shard, name)));
  } catch {
    return [];
  }
}

describe('FileContentStore', () => {
  contentStoreContract(() => ({
    open: () => new FileContentStore({ dataDir }),
    countEntries: async () => files().length,
    corrupt: async (ref) => writeFileSync(new FileContentStore({ dataDir }).pathOf(ref), 'the changed words'),
  }));

  test('lays entries out as content/<2 hex>/<62 hex> and leaves no temporary files', async () => {
    const store = new FileContentStore({ dataDir });
    const ref = await store.put('laid out');
    const hex = ref.slice('sha256:'.length);
    expect(store.pathOf(ref)).toBe(join(dataDir, 'content', hex.slice(0, 2), hex.slice(2)));
    expect(files().filter((name) => name.endsWith('.tmp'))).toEqual([]);
  });

  test('putting content again repairs a damaged entry', async () => {
    const store = new FileContentStore({ dataDir });
    const ref = await store.put('worth repairing');
    writeFileSync(store.pathOf(ref), 'damaged');
    await store.put('worth repairing');
    expect(await store.get(ref)).toBe('worth repairing');
  });

  test('content written by another process is read after it exits', async () => {
    const script = `
      const { FileContentStore } = require('./src/store');
      new FileContentStore({ dataDir: process.argv[1] }).put('from the other process').then((ref) => console.log(ref));`;
    const ref = execFileSync(process.execPath, ['--import', 'tsx', '-e', script, dataDir], {
      cwd: join(__dirname, '..', '..'),
      encoding: 'utf8',
    }).trim();
    expect(await new FileContentStore({ dataDir }).get(ref)).toBe('from the other process');
  });

  test('createContentStore makes a file store by default, under VIGIL_DATA_DIR', () => {
    const store = createContentStore({ kind: 'file', dataDir, payloadThresholdBytes: 65536 });
    expect(store).toBeInstanceOf(FileContentStore);
    expect(store.name).toBe(`file:${join(dataDir, 'content')}`);
  });
});
