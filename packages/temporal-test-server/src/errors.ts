import { status } from '@grpc/grpc-js';
import { packAny, temporal } from './proto';

/** An error answered to the caller with a gRPC status code, as the real server would answer it. */
export class RpcError extends Error {
  constructor(
    readonly code: status,
    message: string,
    /** Optional `google.rpc.Status` details: the packed failure type the SDKs decode (e.g. already-started). */
    readonly details?: { type_url: string; value: Uint8Array },
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export const invalidArgument = (message: string) => new RpcError(status.INVALID_ARGUMENT, message);
export const notFound = (message: string) => new RpcError(status.NOT_FOUND, message);
export const alreadyExists = (message: string) => new RpcError(status.ALREADY_EXISTS, message);
export const failedPrecondition = (message: string) => new RpcError(status.FAILED_PRECONDITION, message);
export const resourceExhausted = (message: string) => new RpcError(status.RESOURCE_EXHAUSTED, message);
export const aborted = (message: string) => new RpcError(status.ABORTED, message);
export const unimplemented = (message: string) => new RpcError(status.UNIMPLEMENTED, message);

/** Throws INVALID_ARGUMENT when a required request field is empty. */
export function required<T>(value: T | null | undefined | '', field: string): T {
  if (value === undefined || value === null || value === '') throw invalidArgument(`${field} is not set on request.`);
  return value;
}

/**
 * The real server's answers for an update that a closing run never accepted (update/errors_failures.go,
 * consts.ErrWorkflowClosing): after continue-as-new it is retryable, and the client's retry reaches the next run;
 * after the run completes it is NOT_FOUND, which update-with-start retries once as a start.
 */
export const UPDATE_ABORTED_BY_CLOSING = 'workflow update was aborted by closing workflow';
export const WORKFLOW_CLOSING = 'workflow operation can not be applied because workflow is closing';

/**
 * A run's refusal of a new update past one of its limits (update/registry.go). The real server answers it as is to
 * UpdateWorkflowExecution, and to update-with-start inside its MultiOperationExecutionFailure (see
 * `multiOperationFailure`): SDKs read the operation's own status from there.
 */
export class UpdateLimitError extends RpcError {}

export const updateLimit = (code: status, message: string, details?: RpcError['details']) =>
  new UpdateLimitError(code, message, details);

/**
 * More updates in flight (admitted, not completed) than the run takes (history.maxInFlightUpdates): server v1.29.1's
 * words (update/registry.go checkInFlightLimit), with its ResourceExhaustedFailure (cause CONCURRENT_LIMIT, scope
 * NAMESPACE).
 */
export function inFlightUpdatesRefusal(limit: number): UpdateLimitError {
  const failure = temporal.api.errordetails.v1.ResourceExhaustedFailure;
  const { ResourceExhaustedCause, ResourceExhaustedScope } = temporal.api.enums.v1;
  return updateLimit(
    status.RESOURCE_EXHAUSTED,
    `limit on number of concurrent in-flight updates has been reached (${limit})`,
    packAny(
      'temporal.api.errordetails.v1.ResourceExhaustedFailure',
      failure
        .encode({
          cause: ResourceExhaustedCause.RESOURCE_EXHAUSTED_CAUSE_CONCURRENT_LIMIT,
          scope: ResourceExhaustedScope.RESOURCE_EXHAUSTED_SCOPE_NAMESPACE,
        })
        .finish(),
    ),
  );
}

/**
 * How the real server answers an update-with-start whose update it refused (serviceerror.MultiOperationExecution):
 * the update's code, the words "Update-with-Start could not be executed.", and each operation's status in the
 * details, the start's as aborted because of the update.
 */
export function multiOperationFailure(updateError: RpcError): RpcError {
  const failure = temporal.api.errordetails.v1.MultiOperationExecutionFailure;
  return new RpcError(
    updateError.code,
    'Update-with-Start could not be executed.',
    packAny(
      'temporal.api.errordetails.v1.MultiOperationExecutionFailure',
      failure
        .encode({
          statuses: [
            {
              code: status.ABORTED,
              message: 'Operation was aborted.',
              details: [packAny('temporal.api.failure.v1.MultiOperationExecutionAborted', new Uint8Array())],
            },
            {
              code: updateError.code,
              message: updateError.message,
              details: updateError.details ? [updateError.details] : [],
            },
          ],
        })
        .finish(),
    ),
  );
}
