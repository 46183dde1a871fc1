/**
 * `POST /v1/chat/completions`: OpenAI's chat completions API over durable conversations, so OpenAI's clients
 * (and tools built on them) talk to Vigil agents by pointing their base URL at the gateway. How a request maps
 * to a conversation is in ../openai/chat-request.ts. Errors on this route are in OpenAI's shape.
 */
import type { FastifyInstance } from 'fastify';
import { Readable } from 'node:stream';
import { TimeoutError } from '../../errors';
import { conflictWhenRefused, HttpError } from '../errors';
import { cancelAbandonedTurn } from '../openai/abandoned-turn';
import { chatCompletion, turnFailure } from '../openai/chat-completion';
import { startLiveCompletion } from '../openai/live-completion';
import { CONVERSATION_ID_HEADER, MESSAGE_ID_HEADER } from '../headers';
import { ChatCompletionRequest } from '../openai/chat-request';
import { checkRequest } from '../requests';
import type { RouteDeps } from './deps';

export function chatCompletionRoutes(app: FastifyInstance, { agents, replyTimeoutMs }: RouteDeps): void {
  /**
   * OpenAI's model list, which most clients fetch first: each agent is a model. A gateway knows the agents from
   * vigil dev's registry, or from the workers polling the task queue; when it does not, it says so rather than
   * list none.
   */
  app.get('/models', { config: { errorFormat: 'openai' } }, async () => {
    const served = await agents.servedAgents();
    if (!served) {
      throw new HttpError(
        404,
        'not_found',
        'which agents the workers serve is not known (no worker polls the task queue, or one does not say), so they cannot be listed',
      );
    }
    return { object: 'list', data: served.map((id) => ({ id, object: 'model', created: 0, owned_by: 'vigil' })) };
  });

  app.post('/chat/completions', { config: { errorFormat: 'openai' } }, async (request, reply) => {
    const chat = checkRequest(ChatCompletionRequest, request);
    const { agent, conversationId, seed } = chat;
    reply.header(MESSAGE_ID_HEADER, chat.message.id).header(CONVERSATION_ID_HEADER, conversationId);
    const send = () =>
      agents.send(agent, conversationId, chat.message, { timeoutMs: replyTimeoutMs, seed }).catch((error: unknown) => {
        if (error instanceof TimeoutError) throw replyTimeout(chat, replyTimeoutMs);
        return conflictWhenRefused(error);
      });
    // Until the response is written, a closed connection is a client that left: its turn is cancelled.
    const whenAbandoned = (answered: Promise<unknown>) =>
      reply.raw.on('close', () => {
        if (!reply.raw.writableFinished) {
          void cancelAbandonedTurn(
            agents,
            { agent, conversationId, messageId: chat.message.id, answered },
            request.log,
          );
        }
      });

    if (!chat.stream) {
      const answer = send();
      whenAbandoned(answer);
      const answered = await answer;
      const failure = turnFailure(answered);
      if (failure) throw failure;
      return chatCompletion({ agent, conversationId, reply: answered });
    }

    // Watch the conversation from before the message goes in, so the turn's text is seen from its start.
    await agents.open(agent, conversationId, { seed });
    const fromOffset = chat.stateless ? 0 : await agents.eventOffset(agent, conversationId);
    const watching = new AbortController();
    reply.raw.on('close', () => watching.abort());
    const answer = send();
    answer.catch(() => undefined); // observed by the stream; refused before it starts, it is the response
    whenAbandoned(answer);
    try {
      const lines = await startLiveCompletion({
        agent,
        conversationId,
        messageId: chat.message.id,
        includeUsage: chat.includeUsage,
        events: agents.events(agent, conversationId, { fromOffset, signal: watching.signal }),
        reply: answer,
      });
      const body = Readable.from(lines);
      body.on('close', () => watching.abort());
      return reply
        .header('content-type', 'text/event-stream; charset=utf-8')
        .header('cache-control', 'no-cache')
        .send(body);
    } catch (error) {
      watching.abort();
      throw error;
    }
  });
}

/**
 * No reply in time: the turn goes on. A named conversation answers the same request again with its reply; a
 * stateless request sent again would be a new turn, so OpenAI's clients are told not to retry it.
 */
function replyTimeout(chat: ChatCompletionRequest, replyTimeoutMs: number): HttpError {
  if (!chat.stateless) {
    return new HttpError(
      504,
      'timeout',
      `no reply within ${replyTimeoutMs} ms; the turn goes on. Send the same request again to get its reply`,
    );
  }
  return new HttpError(
    504,
    'timeout',
    `no reply within ${replyTimeoutMs} ms; the turn goes on in conversation ${chat.conversationId}, whose transcript will hold its reply. A request sent with an Idempotency-Key can be sent again for it`,
    { 'x-should-retry': 'false' },
  );
}
