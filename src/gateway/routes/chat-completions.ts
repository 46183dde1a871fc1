/**
 * `POST /v1/chat/completions`: OpenAI's chat completions API over durable conversations, so OpenAI's clients
 * (and tools built on them) talk to Vigil agents by pointing their base URL at the gateway. How a request maps
 * to a conversation is in ../openai/chat-request.ts. Errors on this route are in OpenAI's shape.
 */
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { TimeoutError } from '../../errors';
import { conflictWhenRefused, HttpError } from '../errors';
import { chatCompletion, chatCompletionEvents } from '../openai/chat-completion';
import { MESSAGE_ID_HEADER } from '../headers';
import { ChatCompletionRequest } from '../openai/chat-request';
import { checkRequest } from '../requests';
import type { RouteDeps } from './deps';

export function chatCompletionRoutes(app: FastifyInstance, { agents, replyTimeoutMs }: RouteDeps): void {
  app.post('/chat/completions', { config: { errorFormat: 'openai' } }, async (request, reply) => {
    const chat = checkRequest(ChatCompletionRequest, request);
    reply.header(MESSAGE_ID_HEADER, chat.message.id);
    const answer = await agents
      .send(chat.agent, chat.conversationId, chat.message, { timeoutMs: replyTimeoutMs })
      .catch((error: unknown) => {
        if (error instanceof TimeoutError) {
          throw new HttpError(
            504,
            'timeout',
            `no reply within ${replyTimeoutMs} ms; the turn goes on. Send the same request again to get its reply`,
          );
        }
        return conflictWhenRefused(error);
      });
    const turn = { agent: chat.agent, conversationId: chat.conversationId, reply: answer };
    if (!chat.stream) return chatCompletion(turn);
    return reply
      .header('content-type', 'text/event-stream; charset=utf-8')
      .header('cache-control', 'no-cache')
      .send(Readable.from(chatCompletionEvents(turn, chat.includeUsage)));
  });
}
