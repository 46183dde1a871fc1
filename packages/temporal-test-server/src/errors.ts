import { status } from '@grpc/grpc-js';

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
