/**
 * Vigil's client for apps: talk to conversations by agent and conversation id, with the protocol's types and
 * Vigil's errors. Loads no workflow or worker code.
 *
 * Build the Temporal client with `createVigilClient`: payloads over the threshold (large messages and tool
 * outputs) live in the deployment's content store, and a client without it would read claims instead of values.
 *
 * @example
 * import { Connection } from '@temporalio/client';
 * import { AgentClient, createContentStore, createVigilClient, vigilConnectionOptions } from 'vigil';
 *
 * // The workers' store: the same settings as theirs, e.g. loadConfig().store (src/config.ts).
 * const store = createContentStore({ kind: 'file', dataDir: '.vigil/data', payloadThresholdBytes: 65536 });
 * // vigilConnectionOptions: a conversation's "too many requests in flight" is answered at once, not retried.
 * const client = createVigilClient({ connection: await Connection.connect(vigilConnectionOptions()), store });
 * const agents = new AgentClient({ client, store });
 * const reply = await agents.send('assistant', 'user-42', { id: 'msg-1', content: 'Hello!' });
 */
export { AgentClient } from './agent-client';
export { vigilConnectionOptions, vigilGrpcRetryOptions } from './connection';
export { createVigilClient, vigilDataConverter, type VigilClientOptions } from '../store/data-converter';
export { createContentStore } from '../store/create-content-store';
export type { ContentStore } from '../store/content-store';
export type { AgentClientOptions, EventsOptions, MessageInput, OpenOptions, SendOptions } from './agent-client';
export {
  ConfigError,
  ConversationBusyError,
  ConversationExistsError,
  ConversationNotFoundError,
  SystemError,
  TimeoutError,
  ValidationError,
  VigilError,
} from '../errors';
export type {
  CancelTurnRequest,
  CancelTurnResult,
  ChannelRef,
  ConversationStatus,
  ConversationView,
  Decision,
  ForkOptions,
  ForkResult,
  InboundMessage,
  PendingApproval,
  Reply,
  ReplyCut,
  ReplyStatus,
  TokenUsage,
  ToolCall,
  TranscriptEntry,
  TranscriptPage,
  TranscriptPageRequest,
} from '../conversation/protocol';
