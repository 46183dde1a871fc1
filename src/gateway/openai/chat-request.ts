/**
 * An OpenAI chat completions request, read as a message to a durable conversation.
 *
 * - `model` names the Vigil agent (its own model is in its definition).
 * - The conversation is the `X-Vigil-Conversation-Id` header, or else the `user` field; one is required.
 * - Only the LAST user message is new: the conversation's history lives in Vigil, so the earlier messages a
 *   chat client resends (and any system prompt: the agent has its instructions) are not read.
 * - Sampling options (temperature, max_tokens, ...) are ignored: the agent's definition decides. Client-side
 *   tools are refused: an agent's tools are defined in Vigil.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { InboundMessage } from '../../protocol';
import { CONVERSATION_ID_HEADER, MESSAGE_ID_HEADER } from '../headers';
import { ConversationParams } from '../requests';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const ContentPart = z.object({ type: z.string() }).loose();
const ChatMessage = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
    name: z.string().optional(),
  })
  .loose();

const none = (value: unknown) => value === undefined || value === null || (Array.isArray(value) && value.length === 0);

const ChatBody = z
  .object({
    model: ConversationParams.shape.agent,
    messages: z.array(ChatMessage).min(1),
    // OpenAI's end-user id: here the conversation id unless the header names one, and the message's author.
    user: z.string().optional(),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).loose().nullish(),
    n: z.literal(1).nullish(),
    tools: z.unknown().refine(none, 'is not supported: the agent\'s tools are defined in Vigil').optional(),
    functions: z.unknown().refine(none, 'is not supported: the agent\'s tools are defined in Vigil').optional(),
  })
  .loose();

export const ChatCompletionRequest = z
  .object({
    headers: z.object({
      [CONVERSATION_ID_HEADER]: ConversationParams.shape.conversationId.optional(),
      [MESSAGE_ID_HEADER]: InboundMessage.shape.id.optional(),
    }),
    body: ChatBody,
  })
  .transform((request, ctx) => {
    const { body, headers } = request;
    const fromHeader = headers[CONVERSATION_ID_HEADER];
    if (fromHeader === undefined && body.user === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['body', 'user'],
        message: `name the conversation: set the ${CONVERSATION_ID_HEADER} header or the user field`,
      });
      return z.NEVER;
    }
    const named = ConversationParams.shape.conversationId.safeParse(fromHeader ?? body.user);
    if (!named.success) {
      for (const issue of named.error.issues) ctx.addIssue({ code: 'custom', path: ['body', 'user'], message: issue.message });
      return z.NEVER;
    }
    const conversationId = named.data;
    const index = body.messages.map((m) => m.role).lastIndexOf('user');
    if (index === -1) {
      ctx.addIssue({ code: 'custom', path: ['body', 'messages'], message: 'has no user message to send' });
      return z.NEVER;
    }
    const last = body.messages[index];
    const content = textOf(last.content);
    if (content === undefined) {
      ctx.addIssue({ code: 'custom', path: ['body', 'messages', index, 'content'], message: 'must be text (a string or text parts)' });
      return z.NEVER;
    }
    const userMessages = body.messages.filter((m) => m.role === 'user').length;
    const message = InboundMessage.safeParse({
      id: headers[MESSAGE_ID_HEADER] ?? chatMessageId(body.model, conversationId, userMessages, content),
      content,
      author: last.name ?? body.user,
    });
    if (!message.success) {
      for (const issue of message.error.issues) {
        const field = issue.path[0] === 'author' ? ['body', 'user'] : ['body', 'messages', index, ...issue.path];
        ctx.addIssue({ code: 'custom', path: field, message: issue.message });
      }
      return z.NEVER;
    }
    return {
      agent: body.model,
      conversationId,
      message: message.data,
      stream: body.stream === true,
      includeUsage: body.stream_options?.include_usage === true,
    };
  });
export type ChatCompletionRequest = z.output<typeof ChatCompletionRequest>;

/** A message's text: a string, or its text parts joined; undefined when it has other parts (images, audio). */
function textOf(content: z.infer<typeof ChatMessage>['content']): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const parts = content.map((part) => TextPart.safeParse(part));
  return parts.every((part) => part.success) ? parts.map((part) => part.data.text).join('\n') : undefined;
}

/**
 * The id of the new message when the client names none. OpenAI's clients retry a timed-out or failed request
 * with the same body, and the conversation answers a seen id with its first reply: so a hash of what the
 * request says, not a random id, keeps a retry from starting a second turn. The count of user messages tells
 * a retry apart from the user saying the same thing again, which resends a longer history. Clients that send
 * only the newest message (no history) should send `X-Vigil-Message-Id` instead.
 */
export function chatMessageId(agent: string, conversationId: string, userMessages: number, content: string): string {
  const digest = createHash('sha256').update(JSON.stringify([agent, conversationId, userMessages, content])).digest('hex');
  return `chat-${digest.slice(0, 32)}`;
}
