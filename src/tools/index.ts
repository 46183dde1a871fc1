/** Tools: defining them, and the built-in ones. */
export {
  DEFAULT_TOOL_TIMEOUT_MS,
  defineTool,
  ToolFatalError,
  toolSpec,
  type Tool,
  type ToolContext,
  type ToolDefinition,
  type ToolOverrides,
  type ToolParameters,
} from './define-tool';
export { calculator } from './builtin/calculator';
export { ArithmeticError, evaluateArithmetic } from './builtin/arithmetic';
export { currentTime, describeInstant, UnknownTimeZoneError, type CurrentTime } from './builtin/current-time';
export {
  createHttpFetchTool,
  FetchRefusedError,
  MAX_REDIRECTS,
  nonPublicReason,
  type HttpFetchOptions,
  type HttpFetchResult,
  type Resolve,
  type ResolvedAddress,
} from './builtin/http-fetch';
