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
export const unimplemented = (message: string) => new RpcError(status.UNIMPLEMENTED, message);

/** Throws INVALID_ARGUMENT when a required request field is empty. */
export function required<T>(value: T | null | undefined | '', field: string): T {
  if (value === undefined || value === null || value === '') throw invalidArgument(`${field} is not set on request.`);
  return value;
}
