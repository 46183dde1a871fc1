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
import { ContentCorruptError, ContentMissingError } from '../errors';
import type { TranscriptEntry } from '../protocol';
import type { ContentStore } from '../store';
import { type ChainInput, type ChainState, type ChainUpdate, FailureTypes } from './types';

interface TranscriptRecord {
  /** The entry's position in the transcript. */
  index: number;
  entry: TranscriptEntry;
  /** The record of the entry before it; null for the first. */
  prev: string | null;
}

/** Stores the entries the chain lacks, in order, after its head; returns the new chain and their references. */
export async function appendToChain(store: ContentStore, chain: ChainInput): Promise<ChainUpdate> {
  let head = chain.head;
  let length = chain.length;
  const refs: string[] = [];
  for (const entry of chain.append) {
    const record: TranscriptRecord = { index: length, entry, prev: head };
    head = await readable(() => store.put(JSON.stringify(record)));
    refs.push(head);
    length++;
  }
  return { head, length, refs };
}

/** The entries from index `from` to the chain's end, oldest first, each with its index: a walk back from the head. */
export async function readChain(
  store: ContentStore,
  chain: ChainState,
  from: number,
): Promise<{ index: number; entry: TranscriptEntry }[]> {
  const entries: { index: number; entry: TranscriptEntry }[] = [];
  for (let ref = chain.head; ref !== null && entries.length < chain.length - from; ) {
    const record = await readRecord(store, ref);
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
      throw ApplicationFailure.create({ message: error.message, type: FailureTypes.ContentUnavailable, nonRetryable: true });
    }
    throw error;
  }
}
