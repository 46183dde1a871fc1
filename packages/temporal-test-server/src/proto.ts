/**
 * The protobuf vocabulary of the test server: the SDK's own compiled protos, with int64 fields loosened to
 * plain numbers (requests are decoded with `longs: Number`, responses are built from numbers).
 */
import type Long from 'long';
import { temporal, google } from '@temporalio/proto';

export { temporal, google };

/** A proto `$Properties` type whose int64 fields may be plain numbers. */
export type Loose<T> = T extends Long
  ? number | Long
  : T extends Uint8Array
    ? T
    : T extends (infer U)[]
      ? Loose<U>[]
      : T extends object
        ? { [K in keyof T]: Loose<T[K]> }
        : T;

export type HistoryEvent = Loose<temporal.api.history.v1.HistoryEvent.$Properties>;
export type Payloads = Loose<temporal.api.common.v1.Payloads.$Properties>;
export type Payload = Loose<temporal.api.common.v1.Payload.$Properties>;
export type Failure = Loose<temporal.api.failure.v1.Failure.$Properties>;
export type Memo = Loose<temporal.api.common.v1.Memo.$Properties>;
export type SearchAttributes = Loose<temporal.api.common.v1.SearchAttributes.$Properties>;
export type Header = Loose<temporal.api.common.v1.Header.$Properties>;
export type RetryPolicy = Loose<temporal.api.common.v1.RetryPolicy.$Properties>;
export type Timestamp = Loose<google.protobuf.Timestamp.$Properties>;
export type Duration = Loose<google.protobuf.Duration.$Properties>;
export type Command = Loose<temporal.api.command.v1.Command.$Properties>;
export type ProtocolMessage = Loose<temporal.api.protocol.v1.Message.$Properties>;

export const ws = temporal.api.workflowservice.v1;
export const enums = temporal.api.enums.v1;
export const EventType = enums.EventType;
export const CommandType = enums.CommandType;
export const Status = enums.WorkflowExecutionStatus;

export function toMillis(ts: Timestamp | Duration | null | undefined): number {
  if (!ts) return 0;
  return Number(ts.seconds ?? 0) * 1000 + Math.floor((ts.nanos ?? 0) / 1e6);
}

export function timestamp(ms: number): { seconds: number; nanos: number } {
  const seconds = Math.floor(ms / 1000);
  return { seconds, nanos: Math.round((ms - seconds * 1000) * 1e6) };
}

/** Durations use the same shape as timestamps. */
export const duration = timestamp;

/** Packs a message into `google.protobuf.Any`; the field is `type_url` in this root (see the protocol notes). */
export function packAny(typeName: string, value: Uint8Array): { type_url: string; value: Uint8Array } {
  return { type_url: `type.googleapis.com/${typeName}`, value };
}

/** The attribute field of a history event, e.g. EVENT_TYPE_TIMER_FIRED -> timerFiredEventAttributes. */
export function attributesKey(eventType: number): string {
  const name = enums.EventType[eventType] ?? '';
  const camel = name
    .replace(/^EVENT_TYPE_/, '')
    .toLowerCase()
    .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return `${camel}EventAttributes`;
}

/**
 * A response may carry one field already encoded under this key: grpc-server appends the bytes to the encoded
 * message (protobuf readers accept fields in any order). Workflow and query tasks for a worker without the run
 * cached re-send the full history, so each committed event is encoded once and its bytes are reused.
 */
export const PRE_ENCODED = Symbol('vigil.preEncoded');
export interface PreEncoded {
  [PRE_ENCODED]?: Uint8Array;
}

const HISTORY_FIELD = (ws.PollWorkflowTaskQueueResponse as unknown as { fields: Record<string, { id: number }> }).fields
  .history.id;
// Events never change once they are in a run's history, so their bytes can be kept beside them.
const encodedEvents = new WeakMap<HistoryEvent, Uint8Array>();

function encodeEvent(e: HistoryEvent): Uint8Array {
  const Event = temporal.api.history.v1.HistoryEvent;
  return Event.encode(Event.fromObject(e)).finish();
}

/**
 * The encoded bytes of an event in a run's history, encoded on the first call and kept: tasks for workers reuse
 * them. Only for committed events.
 */
function committedEventBytes(e: HistoryEvent): Uint8Array {
  let bytes = encodedEvents.get(e);
  if (!bytes) encodedEvents.set(e, (bytes = encodeEvent(e)));
  return bytes;
}

/**
 * What a committed event adds to the encoded `History` message (its bytes and their field header), so the sum
 * over a run's events is the size of its history as a client fetches and encodes it. Encodes the event once, for
 * the tasks that carry it later.
 */
export function committedEventSize(e: HistoryEvent): number {
  const length = committedEventBytes(e).length;
  return 1 + varintLength(length) + length;
}

/**
 * PollWorkflowTaskQueueResponse.history as encoded bytes: `committed` events (those in a run's history) from index
 * `from` on, then `uncommitted` ones (transient task events, restamped when committed). Committed events' bytes
 * are cached; uncommitted ones are encoded afresh.
 */
export function encodeTaskHistory(
  committed: readonly HistoryEvent[],
  uncommitted: readonly HistoryEvent[] = [],
  from = 0,
): Uint8Array {
  const parts: Uint8Array[] = [];
  let size = 0;
  const add = (bytes: Uint8Array) => {
    parts.push(bytes);
    size += 1 + varintLength(bytes.length) + bytes.length;
  };
  for (let i = from; i < committed.length; i++) add(committedEventBytes(committed[i]));
  for (const e of uncommitted) add(encodeEvent(e));
  const tag = (HISTORY_FIELD << 3) | 2;
  const out = Buffer.allocUnsafe(varintLength(tag) + varintLength(size) + size);
  let pos = writeVarint(out, 0, tag);
  pos = writeVarint(out, pos, size);
  for (const bytes of parts) {
    out[pos++] = 0x0a; // History.events: field 1, length-delimited
    pos = writeVarint(out, pos, bytes.length);
    out.set(bytes, pos);
    pos += bytes.length;
  }
  return out;
}

function varintLength(n: number): number {
  let length = 1;
  while (n > 127) {
    n = Math.floor(n / 128);
    length++;
  }
  return length;
}

function writeVarint(out: Uint8Array, pos: number, n: number): number {
  while (n > 127) {
    out[pos++] = (n % 128) | 128;
    n = Math.floor(n / 128);
  }
  out[pos++] = n;
  return pos;
}
