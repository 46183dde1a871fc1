/**
 * Vigil's client for apps: talk to conversations by agent and conversation id, with the protocol's types and
 * Vigil's errors. Loads no workflow or worker code.
 *
 * @example
 * import { Client, Connection } from '@temporalio/client';
 * import { AgentClient } from 'vigil/client';
 *
 * const agents = new AgentClient({ client: new Client({ connection: await Connection.connect() }) });
 * const reply = await agents.send('assistant', 'user-42', { id: 'msg-1', content: 'Hello!' });
 */
export { AgentClient } from './agent-client';
export type { AgentClientOptions, MessageInput, SendOptions } from './agent-client';
export {
  ConfigError,
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
  InboundMessage,
  PendingApproval,
  Reply,
  ReplyStatus,
  TokenUsage,
  ToolCall,
  TranscriptEntry,
  TranscriptPage,
  TranscriptPageRequest,
} from '../protocol';
