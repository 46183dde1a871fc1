/**
 * Histories in proto3 JSON, the form `temporal workflow show --output json`, the Web UI's download and other
 * Temporal tools write (timestamps as RFC 3339 strings, durations as "10s", enums by name).
 *
 * The SDK has `historyFromJSON` / `historyToJSON` (@temporalio/common/lib/proto-utils) for this, but they
 * fail ("type must be a Type") whenever @temporalio/common and @temporalio/proto load different copies of
 * protobufjs, as they do in this project: @grpc/grpc-js puts protobufjs 7 at the top of node_modules, so each
 * Temporal package gets its own nested protobufjs 8, and the reflection type from one is not an instance of the
 * other's. Here protobufjs's protojson is loaded from the copy @temporalio/proto itself resolves, which holds
 * whatever the install layout.
 */
import type { temporal } from '@temporalio/proto';
import * as proto from '@temporalio/proto';
import { patchProtobufRoot } from '@temporalio/proto/lib/patch-protobuf-root';
import { createRequire } from 'node:module';

type IHistory = temporal.api.history.v1.IHistory;

interface ProtoJson {
  fromJson(type: unknown, json: unknown, options?: { ignoreUnknownFields?: boolean }): IHistory | null;
  toJson(type: unknown, message: unknown): unknown;
}

let loaded: { protojson: ProtoJson; historyType: unknown } | undefined;

function protoJson() {
  if (!loaded) {
    const requireAsProto = createRequire(require.resolve('@temporalio/proto'));
    const protojson = requireAsProto('protobufjs/ext/protojson') as ProtoJson;
    const historyType = (patchProtobufRoot(proto) as unknown as { lookupType(name: string): unknown }).lookupType(
      'temporal.api.history.v1.History',
    );
    loaded = { protojson, historyType };
  }
  return loaded;
}

/**
 * @throws TypeError when the JSON is not a history.
 * @example
 *   const history = historyFromProto3Json(JSON.parse(readFileSync('history.json', 'utf8')));
 */
export function historyFromProto3Json(json: unknown): IHistory {
  const { protojson, historyType } = protoJson();
  // Unknown fields are dropped, as the SDK does: a newer server may write fields this SDK does not know.
  const history = protojson.fromJson(historyType, normalizeEnums(json), { ignoreUnknownFields: true });
  if (history === null) throw new TypeError('not a history');
  return history;
}

/** The history as proto3 JSON text, as `temporal workflow show --output json` writes it. */
export function historyToProto3Json(history: IHistory): string {
  const { protojson, historyType } = protoJson();
  return JSON.stringify(
    protojson.toJson(historyType, proto.temporal.api.history.v1.History.fromObject(history)),
    null,
    2,
  );
}

type JsonObject = Record<string, unknown>;

/**
 * Older Temporal tools write enums in short form (`WorkflowExecutionStarted` for
 * `EVENT_TYPE_WORKFLOW_EXECUTION_STARTED`); protobufjs takes only the full names. The same fields as the
 * SDK's historyFromJSON are fixed.
 */
function normalizeEnums(json: unknown): unknown {
  if (!isObject(json) || !Array.isArray(json.events)) {
    throw new TypeError('expected an object with an array of events');
  }
  return { ...json, events: json.events.map(normalizeEvent) };
}

function normalizeEvent(event: unknown): unknown {
  if (!isObject(event)) throw new TypeError('an event is not an object');
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes'));
  if (key === undefined || !isObject(event[key])) {
    throw new TypeError(`event ${String(event.eventId)} has no attributes`);
  }
  const attributes = event[key];
  const fixed: JsonObject = {
    ...attributes,
    ...fullEnum(attributes, 'parentClosePolicy', 'PARENT_CLOSE_POLICY'),
    ...fullEnum(attributes, 'workflowIdReusePolicy', 'WORKFLOW_ID_REUSE_POLICY'),
    ...fullEnum(attributes, 'initiator', 'CONTINUE_AS_NEW_INITIATOR'),
    ...fullEnum(attributes, 'retryState', 'RETRY_STATE'),
  };
  if (isObject(attributes.taskQueue)) {
    fixed.taskQueue = { ...attributes.taskQueue, ...fullEnum(attributes.taskQueue, 'kind', 'TASK_QUEUE_KIND') };
  }
  const failureInfo = attributes.childWorkflowExecutionFailureInfo;
  if (isObject(failureInfo)) {
    fixed.childWorkflowExecutionFailureInfo = { ...failureInfo, ...fullEnum(failureInfo, 'retryState', 'RETRY_STATE') };
  }
  return { ...event, ...fullEnum(event, 'eventType', 'EVENT_TYPE'), [key]: fixed };
}

/** `{ kind: 'Normal' }` -> `{ kind: 'TASK_QUEUE_KIND_NORMAL' }`; full names and absent fields are left alone. */
function fullEnum(object: JsonObject, field: string, prefix: string): JsonObject {
  const value = object[field];
  if (typeof value !== 'string' || value.startsWith(prefix)) return {};
  return { [field]: `${prefix}_${value.replace(/(?<=[a-z0-9])(?=[A-Z])/g, '_').toUpperCase()}` };
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
