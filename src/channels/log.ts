/** The `log` channel: writes each reply as one structured log line, for development and audit trails. */
import type { OutputChannel } from './output-channel';

/** The part of a logger this channel uses; pino's and most structured loggers fit it. */
export interface ReplyLogger {
  info(obj: Record<string, unknown>, msg: string): void;
}

export function createLogChannel(logger: ReplyLogger): OutputChannel {
  return {
    type: 'log',
    deliver: async ({ agent, conversationId, reply }) => {
      logger.info(
        {
          agent,
          conversationId,
          messageId: reply.messageId,
          turn: reply.turn,
          status: reply.status,
          models: reply.models,
          usage: reply.usage,
          content: reply.content,
        },
        'reply delivered',
      );
      return { detail: 'logged' };
    },
  };
}
