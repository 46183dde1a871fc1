/**
 * createVigilWorker owns what it opens from the config: the content store, the payment verifiers and the
 * Temporal connection close once it stops, or at once when the worker cannot be created.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { FileCreditsLedger } from '../../src/payments';
import { FileContentStore } from '../../src/store';
import { createTemporalTestEnv, type TemporalTestEnv } from '../../src/testing/temporal-env';
import { InternalNativeConnection } from '@temporalio/worker/lib/connection';
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

function start(store?: FileContentStore, own: { connection?: boolean; codePath?: string } = {}) {
  const config = loadConfig({
    TEMPORAL_ADDRESS: env.address,
    TEMPORAL_NAMESPACE: env.namespace,
    VIGIL_TASK_QUEUE: uniqueTaskQueue('vigil-worker'),
    OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
    VIGIL_DATA_DIR: dataDir,
  });
  return createVigilWorker({
    config,
    ...(own.connection ? {} : { connection: env.nativeConnection }),
    workflowBundle: { codePath: own.codePath ?? process.env.VIGIL_WORKFLOW_BUNDLE! },
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

test("a store passed in stays open: it is the caller's", async () => {
  const store = new FileContentStore({ dataDir });
  const storeClosed = jest.spyOn(store, 'close');
  const worker = await start(store);
  expect(worker.store).toBe(store);
  const running = worker.run();
  worker.shutdown();
  await running;
  expect(storeClosed).not.toHaveBeenCalled();
});

test('a connection it opened closes after it stops; one passed in stays open', async () => {
  const connectionClosed = jest.spyOn(InternalNativeConnection.prototype, 'close');
  const worker = await start(undefined, { connection: true });
  const running = worker.run();
  expect(worker.worker.getState()).toBe('RUNNING');
  expect(connectionClosed).not.toHaveBeenCalled();
  worker.shutdown();
  await running;
  expect(connectionClosed).toHaveBeenCalledTimes(1);

  connectionClosed.mockClear();
  const passedIn = await start();
  const again = passedIn.run();
  passedIn.shutdown();
  await again;
  expect(connectionClosed).not.toHaveBeenCalled();
});

test('when the worker cannot be created, what it opened is closed before the error reaches the caller', async () => {
  const storeClosed = jest.spyOn(FileContentStore.prototype, 'close');
  const ledgerClosed = jest.spyOn(FileCreditsLedger.prototype, 'close');
  const connectionClosed = jest.spyOn(InternalNativeConnection.prototype, 'close');
  await expect(start(undefined, { connection: true, codePath: join(dataDir, 'no-such-bundle.js') })).rejects.toThrow();
  expect([storeClosed, ledgerClosed, connectionClosed].map((spy) => spy.mock.calls.length)).toEqual([1, 1, 1]);
});
