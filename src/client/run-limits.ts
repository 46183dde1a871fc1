/**
 * How Temporal (the real server and the in-process one alike) refuses a run's signal or update past its limits, in
 * its own words: AgentClient turns these into `ConversationBusyError`, and the connection's retry policy answers
 * the in-flight ones at once (./connection.ts).
 */
import { google, temporal } from '@temporalio/proto';
import type { ConversationBusyError } from '../errors';

/** Server v1.29.1's words (service/history/workflow/update/registry.go): ResourceExhausted, cause CONCURRENT_LIMIT. */
export const IN_FLIGHT_REFUSALS = [
  'limit on number of concurrent in-flight updates has been reached',
  'limit on total payload size of in-flight updates has been reached',
] as const;

export const RUN_LIMIT_REFUSALS: readonly (readonly [string, ConversationBusyError['limit']])[] = [
  ['exceeded workflow execution limit for signal events', 'signals'],
  ['limit on the total number of distinct updates in this workflow has been reached', 'updates'],
  ...IN_FLIGHT_REFUSALS.map((words) => [words, 'in-flight updates'] as const),
];

/**
 * Why a multi-operation (update-with-start) failed: a real server answers "Update-with-Start could not be
 * executed." and puts each operation's own status in the error's details (MultiOperationExecutionFailure); the
 * operation that was only aborted because the other failed says nothing worth repeating.
 */
export function operationFailures(error: { metadata?: { get(key: string): unknown[] } }): string[] {
  const raw = error.metadata?.get('grpc-status-details-bin')?.[0];
  if (!(raw instanceof Uint8Array)) return [];
  try {
    const detailsOf = google.rpc.Status.decode(raw).details ?? [];
    const failure = temporal.api.errordetails.v1.MultiOperationExecutionFailure;
    return detailsOf
      .filter((any) => any.type_url?.endsWith('MultiOperationExecutionFailure') && any.value)
      .flatMap((any) => failure.decode(any.value!).statuses ?? [])
      .map((status) => status.message ?? '')
      .filter((message) => message !== '' && message !== 'Operation was aborted.');
  } catch {
    return [];
  }
}

/** Whether a gRPC status is a run's in-flight update refusal: alone, or as update-with-start's failed operation. */
export function isInFlightRefusal(status: { details?: string; metadata?: { get(key: string): unknown[] } }): boolean {
  const texts = [status.details ?? '', ...operationFailures(status)];
  return texts.some((text) => IN_FLIGHT_REFUSALS.some((words) => text.includes(words)));
}
