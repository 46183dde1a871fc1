/**
 * Large Temporal payloads in the content store, through the SDK's experimental External Storage: a payload over
 * the threshold (a huge tool output, a huge message, in any activity input or result, workflow input or result,
 * update, signal or query) is written to the store by the worker or client that produces it, and history holds a
 * small claim naming its content reference; the worker or client that reads it fetches it back. It is all done
 * outside the workflow sandbox, so workflow code sees the full values and needs no change.
 *
 * The worker and EVERY client that starts, signals, updates, queries or reads results of these workflows must use
 * the same `externalStorageFor(...)` (same driver name, a store over the same data): a client without it sees
 * claims instead of values.
 */
import { ExternalStorage, StorageDriverClaim, type Payload, type StorageDriver } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { DEFAULT_PAYLOAD_THRESHOLD_BYTES } from '../config';
import { ValidationError } from '../errors';
import type { ContentStore } from './content-store';

const PayloadProto = temporal.api.common.v1.Payload;

/** Written into every claim in history; changing it orphans the claims already there. */
export const CONTENT_STORE_DRIVER_NAME = 'vigil-content';

/**
 * A StorageDriver over any ContentStore. A payload is stored as the base64 of its protobuf encoding (contents
 * are strings), so the same payload is stored once and its claim is `{ ref }`.
 */
export class ContentStoreDriver implements StorageDriver {
  readonly name = CONTENT_STORE_DRIVER_NAME;
  readonly type = 'vigil.content-store';

  constructor(private readonly contents: ContentStore) {}

  async store(_context: unknown, payloads: Payload[]): Promise<StorageDriverClaim[]> {
    const refs = await Promise.all(
      payloads.map((payload) =>
        this.contents.put(Buffer.from(PayloadProto.encode(payload).finish()).toString('base64')),
      ),
    );
    return refs.map((ref) => new StorageDriverClaim({ ref }));
  }

  async retrieve(_context: unknown, claims: StorageDriverClaim[]): Promise<Payload[]> {
    const refs = claims.map(({ claimData }) => {
      if (typeof claimData.ref !== 'string')
        throw new ValidationError(`a ${this.name} claim without a ref: ${JSON.stringify(claimData)}`);
      return claimData.ref;
    });
    const encoded = await this.contents.getMany(refs);
    return encoded.map((base64) => PayloadProto.decode(Buffer.from(base64, 'base64')) as Payload);
  }
}

export interface ExternalStorageOptions {
  /** Payloads of at least this many bytes (protobuf-encoded) go to the store; default 64 KiB. */
  thresholdBytes?: number;
}

/**
 * The `externalStorage` of a data converter, for `Worker.create({ dataConverter: { externalStorage } })` and
 * `new Client({ dataConverter: { externalStorage } })`.
 *
 * @example
 *   const store = createContentStore(config.store);
 *   const externalStorage = externalStorageFor(store, { thresholdBytes: config.store.payloadThresholdBytes });
 */
export function externalStorageFor(store: ContentStore, options: ExternalStorageOptions = {}): ExternalStorage {
  return new ExternalStorage({
    drivers: [new ContentStoreDriver(store)],
    payloadSizeThreshold: options.thresholdBytes ?? DEFAULT_PAYLOAD_THRESHOLD_BYTES,
  });
}
