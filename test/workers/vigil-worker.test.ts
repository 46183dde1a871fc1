/** createVigilWorker owns what it opens from the config: the content store and the payment verifiers close once it stops. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { FileCreditsLedger } from '../../src/pricing';
import { FileContentStore } from '../../src/store';
import { createTemporalTestEnv, type TemporalTestEnv } from '../../src/testing/temporal-env';
import { createVigilWorker } from '../../src/workers/worker';
import { uniqueTaskQueue } from '../helpers/worker';

let env: TemporalTestEnv;
const dataDir = mkdtempSync(join(tmpdir(), 'vigil-worker-'));
beforeAll(async () => {
  env = await createTemporalTestEnv();
});
afterAll(async () => {
  await env?.teardown();
  rmSync(dataDir, { recursive: true, force: true });
});
afterEach(() => jest.restoreAllMocks());

function start(store?: FileContentStore) {
  const config = loadConfig({
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_NAMESPACE: env.namespace,
    VIGIL_TASK_QUEUE: uniqueTaskQueue('vigil-worker'),
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    VIGIL_DATA_DIR: dataDir,
  });
  return createVigilWorker({
    config,
    connection: env.nativeConnection,
    workflowBundle: { codePath: process.env.VIGIL_WORKFLOW_BUNDLE! },
    logger: createLogger({ level: 'silent', name: 'test' }),
    ...(store ? { store } : {}),
  });
}

test('the store and the credits ledger it opened stay open while it runs and close after it stops', async () => {
  const storeClosed = jest.spyOn(FileContentStore.prototype, 'close');
  const ledgerClosed = jest.spyOn(FileCreditsLedger.prototype, 'close');
  const worker = await start();
  expect(worker.store).toBeInstanceOf(FileContentStore);
  expect(worker.store.name).toContain(dataDir);
  const running = worker.run();
  expect(worker.worker.getState()).toBe('RUNNING');
  expect([storeClosed.mock.calls.length, ledgerClosed.mock.calls.length]).toEqual([0, 0]);
  worker.shutdown();
  worker.shutdown(); // a second call is harmless
  await running;
  expect([storeClosed.mock.calls.length, ledgerClosed.mock.calls.length]).toEqual([1, 1]);
});

test('a store passed in stays open: it is the caller\'s', async () => {
  const store = new FileContentStore({ dataDir });
  const storeClosed = jest.spyOn(store, 'close');
  const worker = await start(store);
  expect(worker.store).toBe(store);
  const running = worker.run();
  worker.shutdown();
  await running;
  expect(storeClosed).not.toHaveBeenCalled();
});
