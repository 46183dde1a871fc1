/**
 * The data converter of a Vigil deployment: the one place that decides how payloads travel between Temporal and
 * Vigil, so the worker, the replayer, the gateway, every CLI command and your own clients agree. Payloads over the
 * threshold go to the content store and history holds a claim (./payload-storage.ts); a client built without this
 * converter would read claims where values should be, so build Temporal clients with `createVigilClient`. A payload
 * no converter can decode (another SDK's encoding, JSON cut short) is read as a value every schema refuses
 * (src/workflows/payload-converter.ts), so a malformed signal is dropped instead of failing its conversation.
 */
import { Client, type ConnectionLike } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import { DEFAULT_PAYLOAD_THRESHOLD_BYTES, type StoreSettings } from '../config';
import type { ContentStore } from './content-store';
import { PAYLOAD_CONVERTER_PATH } from '../workers/workflow-bundle';
import { externalStorageFor } from './payload-storage';

/**
 * For `Worker.create({ dataConverter })`, `Worker.runReplayHistories({ dataConverter })` and
 * `new Client({ dataConverter })`. Only the store has to be the same everywhere: the threshold decides what a
 * process writes, and any process reads every claim.
 *
 * @example
 *   const store = createContentStore(config.store);
 *   await Worker.create({ ...options, dataConverter: vigilDataConverter(store, config.store) });
 */
export function vigilDataConverter(
  store: ContentStore,
  settings: Partial<Pick<StoreSettings, 'payloadThresholdBytes'>> = {},
): DataConverter {
  return {
    payloadConverterPath: PAYLOAD_CONVERTER_PATH,
    externalStorage: externalStorageFor(store, {
      thresholdBytes: settings.payloadThresholdBytes ?? DEFAULT_PAYLOAD_THRESHOLD_BYTES,
    }),
  };
}

export interface VigilClientOptions {
  connection: ConnectionLike;
  namespace?: string;
  /** The deployment's content store, the one its workers use; it stays the caller's to close. */
  store: ContentStore;
  /** Payloads this large or larger that the client sends go to the store; default 64 KiB (config.store's). */
  payloadThresholdBytes?: number;
}

/**
 * A Temporal client that reads and writes Vigil's conversations as the worker does: large payloads through the
 * content store. Use it for every client of these workflows (and wrap it in an `AgentClient`).
 *
 * @example
 *   const store = createContentStore(config.store);
 *   const client = createVigilClient({
 *     connection, namespace: config.temporal.namespace, store, payloadThresholdBytes: config.store.payloadThresholdBytes,
 *   });
 *   const agents = new AgentClient({ client, taskQueue: config.temporal.taskQueue, store });
 */
export function createVigilClient(options: VigilClientOptions): Client {
  return new Client({
    connection: options.connection,
    ...(options.namespace !== undefined ? { namespace: options.namespace } : {}),
    dataConverter: vigilDataConverter(options.store, { payloadThresholdBytes: options.payloadThresholdBytes }),
  });
}
