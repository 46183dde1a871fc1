/**
 * Reads a workflow history from a JSON file, in either of the two forms histories are kept in:
 *
 * - protobufjs object form, as Vigil stores them in test/replay/histories (`History.toObject` with
 *   `{ longs: String, enums: String, bytes: String }`): timestamps are `{ seconds, nanos }` objects;
 * - proto3 JSON, as `temporal workflow show --output json`, the Web UI's download and the SDK's
 *   `historyToJSON` write it: timestamps are RFC 3339 strings, enums may be short (`WorkflowExecutionStarted`).
 *
 * The form is told by the first event's timestamp: a string in proto3 JSON, an object in protobufjs's form.
 */
import { temporal } from '@temporalio/proto';
import { readFile } from 'node:fs/promises';
import { text as readAll } from 'node:stream/consumers';
import { historyFromProto3Json } from './proto3-json-history';

type History = temporal.api.history.v1.IHistory;

export type HistoryFormat = 'protobufjs-object' | 'proto3-json';

/** A file that holds no history we can read; the message says why. */
export class HistoryFileError extends Error {}

/** `-` reads standard input, so `temporal workflow show --output json | vigil replay -` works. */
export async function readHistoryFile(path: string): Promise<{ history: History; format: HistoryFormat }> {
  let text: string;
  try {
    text = path === '-' ? await readAll(process.stdin) : await readFile(path, 'utf8');
  } catch (error) {
    throw new HistoryFileError(`cannot read it: ${error instanceof Error ? error.message : String(error)}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new HistoryFileError(`not JSON: ${(error as Error).message.replace(/\s+/g, ' ')}`);
  }
  return parseHistory(json);
}

export function parseHistory(json: unknown): { history: History; format: HistoryFormat } {
  const events = typeof json === 'object' && json !== null ? (json as { events?: unknown }).events : undefined;
  if (!Array.isArray(events) || events.length === 0) {
    throw new HistoryFileError('not a workflow history: expected an object with a non-empty "events" array');
  }
  const format: HistoryFormat =
    typeof (events[0] as { eventTime?: unknown } | null)?.eventTime === 'string' ? 'proto3-json' : 'protobufjs-object';
  let history: History;
  try {
    history =
      format === 'proto3-json'
        ? historyFromProto3Json(json)
        : temporal.api.history.v1.History.fromObject(json as object);
  } catch (error) {
    throw new HistoryFileError(`not a readable ${format} history: ${(error as Error).message}`);
  }
  const first = history.events?.[0];
  if (first?.eventType !== temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED) {
    throw new HistoryFileError('not a workflow history: the first event is not WorkflowExecutionStarted');
  }
  return { history, format };
}
