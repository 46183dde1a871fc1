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
