/**
 * Binds the handlers to @grpc/grpc-js using the SDK's compiled protobuf root: no .proto files are loaded.
 * Every call is decoded inside its handler so that a malformed request is an INVALID_ARGUMENT, and every
 * failure is answered with a status; nothing a caller sends can throw out of this layer.
 */
import * as grpc from '@grpc/grpc-js';
import type { Method, Root, Type } from 'protobufjs';
import { RpcError } from './errors';
import { PRE_ENCODED, PreEncoded } from './proto';
import type { CallContext } from './workflow-service';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handlers = Record<string, (req: any, ctx: CallContext) => unknown>;

// The SDK's compiled root: the same message types the client and worker use. It ships without typings.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const protoRoot: Root = require('@temporalio/proto/protos/json-module');
const rpcStatus = protoRoot.lookupType('google.rpc.Status');

export function addService(
  server: grpc.Server,
  serviceName: string,
  handlers: Handlers,
  log: (msg: string) => void,
): void {
  const service = protoRoot.lookupService(serviceName);
  service.resolveAll();
  const definition: Record<string, grpc.MethodDefinition<Buffer, Buffer>> = {};
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const method of service.methodsArray as Method[]) {
    if (method.requestStream || method.responseStream) continue;
    const requestType = method.resolvedRequestType as Type;
    const responseType = method.resolvedResponseType as Type;
    definition[method.name] = {
      path: `/${serviceName}/${method.name}`,
      requestStream: false,
      responseStream: false,
      requestSerialize: (b: Buffer) => b,
      requestDeserialize: (b: Buffer) => b,
      responseSerialize: (b: Buffer) => b,
      responseDeserialize: (b: Buffer) => b,
    };
    const handler = handlers[method.name];
    implementation[method.name] = (
      call: grpc.ServerUnaryCall<Buffer, Buffer>,
      callback: grpc.sendUnaryData<Buffer>,
    ) => {
      const fail = (err: unknown) => {
        if (err instanceof RpcError) {
          const metadata = new grpc.Metadata();
          if (err.details) {
            const detail = rpcStatus.encode(
              rpcStatus.fromObject({ code: err.code, message: err.message, details: [err.details] }),
            );
            metadata.set('grpc-status-details-bin', Buffer.from(detail.finish()));
          }
          callback({ code: err.code, details: err.message, metadata });
        } else {
          log(`${method.name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
          callback({ code: grpc.status.INTERNAL, details: `internal error in ${method.name}: ${String(err)}` });
        }
      };
      if (!handler) {
        fail(new RpcError(grpc.status.UNIMPLEMENTED, `${method.name} is not supported by the Vigil test server`));
        return;
      }
      let request: unknown;
      try {
        request = requestType.toObject(requestType.decode(call.request), { longs: Number });
      } catch (err) {
        fail(new RpcError(grpc.status.INVALID_ARGUMENT, `malformed ${method.name} request: ${(err as Error).message}`));
        return;
      }
      const ctx: CallContext = {
        remainingMs: () => {
          const deadline = call.getDeadline();
          const at = deadline instanceof Date ? deadline.getTime() : Number(deadline);
          return Number.isFinite(at) ? at - Date.now() : Infinity;
        },
        isCancelled: () => call.cancelled,
        onCancel: (listener) => call.on('cancelled', listener),
      };
      const tooSoon = LONG_POLLS.has(method.name) ? longPollDeadlineProblem(ctx.remainingMs()) : undefined;
      if (tooSoon) {
        fail(tooSoon);
        return;
      }
      Promise.resolve()
        .then(() => handler(request, ctx))
        .then((response) => {
          let bytes: Buffer;
          try {
            const message = responseType.encode(responseType.fromObject((response ?? {}) as object)).finish();
            const preEncoded = (response as PreEncoded | undefined)?.[PRE_ENCODED];
            bytes = preEncoded ? Buffer.concat([message, preEncoded]) : Buffer.from(message);
          } catch (err) {
            fail(err);
            return;
          }
          callback(null, bytes);
        }, fail);
    };
  }
  server.addService(definition, implementation);
}

/** The task polls, which the real server refuses without a deadline it can hold them to. */
const LONG_POLLS = new Set(['PollWorkflowTaskQueue', 'PollActivityTaskQueue', 'PollNexusTaskQueue']);

/** The real server's answers (common.ValidateLongPollContextTimeout) to a poll with no deadline or one under 1 s. */
function longPollDeadlineProblem(remainingMs: number): RpcError | undefined {
  if (remainingMs === Infinity) return new RpcError(grpc.status.INVALID_ARGUMENT, 'Context timeout is not set.');
  if (remainingMs < 1_000) return new RpcError(grpc.status.FAILED_PRECONDITION, 'Context timeout is too short.');
  return undefined;
}
