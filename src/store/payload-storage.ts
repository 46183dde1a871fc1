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
 *
 * A claim is only as good as whoever sent it: any Temporal client can signal or update a conversation with a
 * reference payload of its own making, and the SDK resolves it before any workflow code runs, so a claim that
 * throws fails that workflow task and every retry of it, for good. A claim that cannot be resolved (another
 * driver's, one without a content reference, one of content the store does not have) therefore becomes a payload
 * every schema refuses (`UNRESOLVED_CLAIM_ENCODINGS`): the signal is dropped, the update refused. Where a Vigil
 * worker wrote the claim (an activity's result) the payload converter throws instead, and the task retries.
 */
import { ExternalStorage, StorageDriverClaim, type Payload, type StorageDriver } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { DEFAULT_PAYLOAD_THRESHOLD_BYTES } from '../config';
import { ContentMissingError, SystemError } from '../errors';
import { UNRESOLVED_CLAIM_ENCODINGS } from '../workflows/payload-converter';
import { type ContentRef, isContentRef } from './content-ref';
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
    const refs = claims.map(({ claimData }) => (isContentRef(claimData.ref) ? claimData.ref : undefined));
    const contents = await this.contentsOf([...new Set(refs.filter((ref) => ref !== undefined))]);
    return refs.map((ref) => {
      if (ref === undefined) return unresolvedClaim(UNRESOLVED_CLAIM_ENCODINGS.noContentRef);
      const base64 = contents.get(ref);
      if (base64 === undefined) return unresolvedClaim(UNRESOLVED_CLAIM_ENCODINGS.missingContent);
      try {
        return PayloadProto.decode(Buffer.from(base64, 'base64')) as Payload;
      } catch {
        // The store checks content against its hash, so this is content the driver never wrote (a transcript
        // record, say), named by a forged claim.
        return unresolvedClaim(UNRESOLVED_CLAIM_ENCODINGS.notAPayload);
      }
    });
  }

  /**
   * The stored contents of the references, without those the store does not have. Vigil writes content before it
   * sends a claim and never deletes any, so a missing one was forged or lost; that is for the payload converter
   * to judge. Any other failure (the store unreachable, corrupt content) throws: the task retries until it passes.
   */
  private async contentsOf(refs: ContentRef[]): Promise<Map<ContentRef, string>> {
    try {
      const contents = await this.contents.getMany(refs);
      return new Map(refs.map((ref, i) => [ref, contents[i]]));
    } catch (error) {
      if (!(error instanceof ContentMissingError)) throw error;
    }
    // getMany fails on the first missing reference: asked one by one to learn which (rare: a forged claim, or
    // content the store lost).
    const found = new Map<ContentRef, string>();
    for (const ref of refs) {
      try {
        found.set(ref, await this.contents.get(ref));
      } catch (error) {
        if (!(error instanceof ContentMissingError)) throw error;
      }
    }
    return found;
  }
}

/** A payload with no data whose encoding says why a claim could not be resolved; see UNRESOLVED_CLAIM_ENCODINGS. */
function unresolvedClaim(encoding: string): Payload {
  return { metadata: { encoding: new TextEncoder().encode(encoding) }, data: new Uint8Array() };
}

/**
 * Stands for every driver but Vigil's: it never stores, and it resolves each claim to a payload that says the
 * claim named an unknown driver, instead of the SDK's "No driver registered" error that would fail the workflow
 * task for good.
 */
class UnknownDriver implements StorageDriver {
  readonly name = 'vigil-unknown-driver';
  readonly type = 'vigil.unknown-driver';

  store(): Promise<StorageDriverClaim[]> {
    // Unreachable: the selector picks only registered drivers, and getDriver returns those for their own names.
    return Promise.reject(new SystemError('the unknown-driver stand-in never stores payloads'));
  }

  retrieve(_context: unknown, claims: StorageDriverClaim[]): Promise<Payload[]> {
    return Promise.resolve(claims.map(() => unresolvedClaim(UNRESOLVED_CLAIM_ENCODINGS.unknownDriver)));
  }
}

/** External Storage whose claims of unknown drivers resolve to refusable payloads (see UnknownDriver). */
class VigilExternalStorage extends ExternalStorage {
  private readonly unknownDriver = new UnknownDriver();

  override getDriver(name: string): StorageDriver | null {
    // Registered drivers come back as themselves, so the SDK's check on store (`getDriver(name) === selected`)
    // still holds.
    return super.getDriver(name) ?? this.unknownDriver;
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
  return new VigilExternalStorage({
    drivers: [new ContentStoreDriver(store)],
    payloadSizeThreshold: options.thresholdBytes ?? DEFAULT_PAYLOAD_THRESHOLD_BYTES,
  });
}
