/**
 * The gateway's one HTTP error type, and the one place where any error becomes a response. Routes throw: a
 * VigilError from the AgentClient, an HttpError of their own, or one of fastify's parsing errors; app.ts hands
 * it to `toErrorResponse`, which alone decides the status.
 *
 * Two wire shapes carry the same facts: Vigil's `{ error: { code, message, issues? } }`, and OpenAI's
 * `{ error: { message, type, code, param } }` on the OpenAI-compatible route, so that OpenAI's clients read it.
 * A system failure is answered with a generic message and the request id; its details (addresses, causes,
 * stacks) go to the log only.
 */
import { isGrpcServiceError } from '@temporalio/client';
import { isWorkflowNotReady } from '../client/agent-client';
import { status as grpcStatus } from '@grpc/grpc-js';
import {
  ConversationBusyError,
  ConversationEndedError,
  ConversationExistsError,
  ConversationNotFoundError,
  SystemError,
  TimeoutError,
  TurnInProgressError,
  UnknownAgentError,
  ValidationError,
  VigilError,
} from '../errors';

export type ErrorCode =
  | 'invalid_request'
  | 'unauthorized'
  | 'not_found'
  | 'unknown_agent'
  | 'conflict'
  | 'conversation_ended'
  | 'conversation_exists'
  | 'conversation_busy'
  | 'turn_in_progress'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'timeout'
  | 'turn_failed'
  | 'turn_cancelled'
  | 'insufficient_quota'
  | 'payment_required'
  | 'upstream_error'
  | 'unavailable'
  | 'internal';

export type Issue = ValidationError['issues'][number];

/** An error that knows its HTTP status; thrown by the gateway's own routes and hooks. */
export class HttpError extends VigilError {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * The conversation's own validator refused a request that the gateway had already checked against the
 * protocol's schemas: the request is well formed, but the conversation's state does not allow it (no such
 * approval is pending, it was already decided, the conversation is ending). That is a 409, not a 400.
 */
export function conflictWhenRefused(error: unknown): never {
  if (error instanceof ValidationError) throw new HttpError(409, 'conflict', error.message);
  throw error;
}

export interface ErrorResponse {
  status: number;
  code: ErrorCode;
  message: string;
  issues?: Issue[];
  headers?: Record<string, string>;
}

/** What the answer may mention besides the error itself. */
export interface ErrorContext {
  /** Fastify's id of the request, in the log lines of its failure. */
  requestId: string;
  bodyLimitBytes: number;
}

/** Any error -> its response. Messages of system and unknown errors never reach the caller. */
export function toErrorResponse(error: unknown, context: ErrorContext): ErrorResponse {
  const { requestId } = context;
  if (error instanceof HttpError) {
    return { status: error.status, code: error.code, message: error.message, headers: error.headers };
  }
  if (error instanceof ValidationError) {
    return { status: 400, code: 'invalid_request', message: error.message, issues: error.issues };
  }
  if (error instanceof UnknownAgentError) return { status: 404, code: 'unknown_agent', message: error.message };
  if (error instanceof ConversationNotFoundError) return { status: 404, code: 'not_found', message: error.message };
  if (error instanceof ConversationEndedError)
    return { status: 409, code: 'conversation_ended', message: error.message };
  if (error instanceof ConversationExistsError)
    return { status: 409, code: 'conversation_exists', message: error.message };
  // Not a 429: no retry helps until the turn is done, and that is the agent's rule, not a limit of Temporal's.
  if (error instanceof TurnInProgressError) return { status: 409, code: 'turn_in_progress', message: error.message };
  if (error instanceof TimeoutError) return { status: 504, code: 'timeout', message: error.message };
  // A SystemError, but the caller's to hear of: its message says why, and a retry shortly helps.
  if (error instanceof ConversationBusyError) {
    return { status: 429, code: 'conversation_busy', message: error.message, headers: { 'retry-after': '5' } };
  }
  if (error instanceof SystemError && isWorkflowNotReady(error)) {
    // Passing: workers died or failed holding the conversation's workflow task, and Temporal answers again once
    // a worker has run it.
    return {
      status: 503,
      code: 'unavailable',
      message: `the conversation is recovering from failed workflow tasks; try again shortly (request ${requestId})`,
      headers: { 'retry-after': '2' },
    };
  }
  if (error instanceof SystemError) {
    return isUnavailable(error)
      ? {
          status: 503,
          code: 'unavailable',
          message: `Temporal is not reachable; try again shortly (request ${requestId})`,
          headers: { 'retry-after': '5' },
        }
      : {
          status: 502,
          code: 'upstream_error',
          message: `the conversation could not complete the request; see the gateway log for request ${requestId}`,
        };
  }
  const parsing = fastifyClientError(error, context.bodyLimitBytes);
  if (parsing) return parsing;
  return { status: 500, code: 'internal', message: `internal error; see the gateway log for request ${requestId}` };
}

/** Vigil's error body. */
export function vigilErrorBody(response: ErrorResponse) {
  const { code, message, issues } = response;
  return { error: issues?.length ? { code, message, issues } : { code, message } };
}

const OPENAI_ERROR_TYPES: Record<ErrorCode, string> = {
  invalid_request: 'invalid_request_error',
  unauthorized: 'authentication_error',
  not_found: 'not_found_error',
  unknown_agent: 'invalid_request_error',
  conflict: 'invalid_request_error',
  conversation_ended: 'invalid_request_error',
  conversation_exists: 'invalid_request_error',
  // OpenAI's type for its own 429s.
  conversation_busy: 'requests',
  turn_in_progress: 'invalid_request_error',
  payload_too_large: 'invalid_request_error',
  unsupported_media_type: 'invalid_request_error',
  timeout: 'timeout_error',
  turn_failed: 'server_error',
  turn_cancelled: 'invalid_request_error',
  // OpenAI's type and code for a used-up quota, which its clients show as such.
  insufficient_quota: 'insufficient_quota',
  payment_required: 'invalid_request_error',
  upstream_error: 'server_error',
  unavailable: 'server_error',
  internal: 'server_error',
};

/** OpenAI's error body; `param` names the first field at fault, as OpenAI's API does. */
export function openAIErrorBody(response: ErrorResponse) {
  return {
    error: {
      message: response.message,
      type: OPENAI_ERROR_TYPES[response.code],
      // On this route the agent is the request's `model`: OpenAI's code for a model it does not serve.
      code: response.code === 'unknown_agent' ? 'model_not_found' : response.code,
      param: response.issues?.[0]?.path ?? null,
    },
  };
}

/** Fastify's own refusals (body too large, not JSON, wrong media type): client errors with safe messages. */
function fastifyClientError(error: unknown, bodyLimitBytes: number): ErrorResponse | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, statusCode } = error as { code?: unknown; statusCode?: unknown };
  if (typeof code !== 'string' || !code.startsWith('FST_') || typeof statusCode !== 'number') return undefined;
  if (statusCode === 413) {
    return {
      status: 413,
      code: 'payload_too_large',
      message: `the request body is larger than ${bodyLimitBytes} bytes`,
    };
  }
  if (statusCode === 415)
    return { status: 415, code: 'unsupported_media_type', message: 'send the request body as application/json' };
  if (statusCode >= 400 && statusCode < 500)
    return { status: statusCode, code: 'invalid_request', message: error.message };
  return undefined;
}

/** Temporal did not answer at all (as opposed to answering with a failure). */
function isUnavailable(error: Error): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (isGrpcServiceError(current) && current.code === grpcStatus.UNAVAILABLE) return true;
  }
  return false;
}
