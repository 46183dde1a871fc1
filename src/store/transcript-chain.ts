/**
 * The transcript in the content store, as a chain: each entry is stored as one record that names the record
 * before it, so the whole transcript is reachable from the newest record (the head), and a model call needs
 * only the head and how far back its context window reaches, whatever the conversation's length. That is what
 * keeps the history bytes a turn adds constant: activity inputs carry references and the turn's new entries,
 * never the transcript.
 *
 * Records are content-addressed, so storing one again (a retried activity) gives the same reference, and a
 * record is stored before any reference to it is returned to the workflow.
 */
import { ApplicationFailure } from '@temporalio/common';
import { ContentCorruptError, ContentMissingError, SystemError } from '../errors';
import type { TranscriptEntry } from '../conversation/protocol';
import { contentRef, type ContentStore } from '.';
import { type ChainInput, type ChainState, type ChainUpdate } from '../conversation/activity-contract';
import { FailureTypes } from '../conversation/failure-types';

interface TranscriptRecord {
  /** The entry's position in the transcript. */
  index: number;
  entry: TranscriptEntry;
  /** The record of the entry before it; null for the first. */
  prev: string | null;
}

/**
 * The entries the chain lacks, as records after its head, with the new chain and their references. A record's
 * reference is the hash of its text, so every record (each naming the one before) is known before any is
 * written.
 */
export interface PendingAppend extends ChainUpdate {
  /** The new records' texts by reference, for reading them before they are durable. */
  records: ReadonlyMap<string, string>;
  /** Settles once every new record is durable in the store (rejects with the store's failure). */
  durable: Promise<void>;
}

/**
 * Starts storing the entries the chain lacks, side by side, and returns at once. A caller may read the new
 * records (`records`) and work meanwhile (the model call), but must await `durable` before handing any of the
 * references to the workflow.
 */
export function startAppend(store: ContentStore, chain: ChainInput): PendingAppend {
  let head = chain.head;
  let length = chain.length;
  const records = new Map<string, string>();
  const refs: string[] = [];
  for (const entry of chain.append) {
    const record: TranscriptRecord = { index: length, entry, prev: head };
    const text = JSON.stringify(record);
    head = contentRef(text);
    records.set(head, text);
    refs.push(head);
    length++;
  }
  const durable = Promise.all(
    [...records].map(async ([ref, text]) => {
      const stored = await readable(() => store.put(text));
      // A store that does not address by the SHA-256 of the UTF-8 text would break every later record's link.
      if (stored !== ref)
        throw new SystemError(`the content store returned ${stored} for a record whose hash is ${ref}`);
    }),
  ).then(() => undefined);
  // Awaited later by the caller; until then a failure must not count as unhandled (Node would end the process).
  durable.catch(() => undefined);
  return { head, length, refs, records, durable };
}

/** Stores the entries the chain lacks after its head; returns the new chain and their references once durable. */
export async function appendToChain(store: ContentStore, chain: ChainInput): Promise<ChainUpdate> {
  const { head, length, refs, durable } = startAppend(store, chain);
  await durable;
  return { head, length, refs };
}

/** The entries from index `from` to the chain's end, oldest first, each with its index: a walk back from the head. */
export async function readChain(
  store: ContentStore,
  chain: ChainState,
  from: number,
  /** Records not yet durable (startAppend's), read from memory. */
  pending?: ReadonlyMap<string, string>,
): Promise<{ index: number; entry: TranscriptEntry }[]> {
  const entries: { index: number; entry: TranscriptEntry }[] = [];
  for (let ref = chain.head; ref !== null && entries.length < chain.length - from;) {
    const text = pending?.get(ref);
    const record = text === undefined ? await readRecord(store, ref) : (JSON.parse(text) as TranscriptRecord);
    entries.push({ index: record.index, entry: record.entry });
    ref = record.prev;
  }
  return entries.reverse();
}

/** One stored entry by its reference (a pinned message, far back in the chain). */
export async function readEntry(store: ContentStore, ref: string): Promise<{ index: number; entry: TranscriptEntry }> {
  const record = await readRecord(store, ref);
  return { index: record.index, entry: record.entry };
}

/** A stored summary's text. */
export async function readSummary(store: ContentStore, ref: string): Promise<string> {
  return readable(() => store.get(ref));
}

async function readRecord(store: ContentStore, ref: string): Promise<TranscriptRecord> {
  return JSON.parse(await readable(() => store.get(ref))) as TranscriptRecord;
}

/**
 * Stored entries by their references, for a reader outside an activity (`AgentClient.transcript`): the store's
 * own errors (ContentMissingError, ContentCorruptError) reach the caller as they are.
 */
export async function readStoredEntries(store: ContentStore, refs: readonly string[]): Promise<TranscriptEntry[]> {
  const records = await store.getMany(refs);
  return records.map((text) => (JSON.parse(text) as TranscriptRecord).entry);
}

/**
 * A missing or corrupt record can only get worse with retries: it fails the call for good, with the store's
 * words (the reference and the store, no contents), so the turn ends with a clear error instead of a model
 * that silently sees less.
 */
async function readable<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof ContentMissingError || error instanceof ContentCorruptError) {
      throw ApplicationFailure.create({
        message: error.message,
        type: FailureTypes.ContentUnavailable,
        nonRetryable: true,
      });
    }
    throw error;
  }
}
