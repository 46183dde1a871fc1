/**
 * An OpenAI chat completions request, read as a message to a durable conversation.
 *
 * - `model` names the Vigil agent (its own model is in its definition); `user` is the message's author, as
 *   OpenAI means it (an end user), never the conversation.
 * - The last message is the user's new message; it must be the user's.
 * - Without `X-Vigil-Conversation-Id`, the request is stateless, as OpenAI's API is: it gets a new conversation
 *   of its own, started from what the client sent (the earlier messages as its first turns, the system
 *   messages as its instructions after the agent's). The same words twice are two turns; "regenerate" is a new
 *   answer. A client that retries sends `Idempotency-Key` (or `X-Vigil-Message-Id`): the same key is the same
 *   conversation and the same turn, answered once.
 * - With the header, the conversation is durable and holds its own history: the earlier messages and system
 *   messages start it when it is new, and a running one keeps what it has. The new message's id is a hash of
 *   what the request says, so a retry gets the first answer, and the same words said again (a longer history)
 *   are a new turn.
 * - Sampling options (temperature, max_tokens, ...) are ignored: the agent's definition decides. Client-side
 *   tools, and the tool messages that answer them, are refused: an agent's tools are defined in Vigil.
 */
import { createHash, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { ConversationSeed, InboundMessage } from '../../conversation/protocol';
import { CONVERSATION_ID_HEADER, IDEMPOTENCY_KEY_HEADER, MESSAGE_ID_HEADER } from '../headers';
import { ConversationParams } from '../requests';

const TextPart = z.object({ type: z.literal('text'), text: z.string() });
const ContentPart = z.object({ type: z.string() }).loose();
const ChatMessage = z
  .object({
    role: z.enum(['system', 'developer', 'user', 'assistant', 'tool', 'function']),
    content: z.union([z.string(), z.array(ContentPart), z.null()]).optional(),
    name: z.string().optional(),
    tool_calls: z.array(z.unknown()).nullish(),
    function_call: z.unknown().optional(),
  })
  .loose();
type ChatMessage = z.infer<typeof ChatMessage>;

const none = (value: unknown) => value === undefined || value === null || (Array.isArray(value) && value.length === 0);
const CLIENT_TOOLS = "is not supported: the agent's tools are defined in Vigil";

const ChatBody = z
  .object({
    model: ConversationParams.shape.agent,
    messages: z.array(ChatMessage).min(1),
    /** OpenAI's end-user id: the message's author. */
    user: z.string().optional(),
    stream: z.boolean().nullish(),
    stream_options: z.object({ include_usage: z.boolean().nullish() }).loose().nullish(),
    n: z.literal(1).nullish(),
    tools: z.unknown().refine(none, CLIENT_TOOLS).optional(),
    functions: z.unknown().refine(none, CLIENT_TOOLS).optional(),
  })
  .loose();

export const ChatCompletionRequest = z
  .object({
    headers: z.object({
      [CONVERSATION_ID_HEADER]: ConversationParams.shape.conversationId.optional(),
      [MESSAGE_ID_HEADER]: InboundMessage.shape.id.optional(),
      [IDEMPOTENCY_KEY_HEADER]: InboundMessage.shape.id.optional(),
    }),
    body: ChatBody,
  })
  .transform((request, ctx) => {
    const { body, headers } = request;
    const messages = body.messages;
    const last = messages.length - 1;
    if (messages[last].role !== 'user') {
      ctx.addIssue({
        code: 'custom',
        path: ['body', 'messages', last, 'role'],
        message: `is ${messages[last].role}; the last message must be the user's new message`,
      });
      return z.NEVER;
    }
    const content = textOf(messages[last].content);
    if (content === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['body', 'messages', last, 'content'],
        message: 'must be text (a string or text parts)',
      });
      return z.NEVER;
    }

    const seed = seedOf(messages.slice(0, last), body.user, ctx);
    if (seed === undefined) return z.NEVER;

    const named = headers[CONVERSATION_ID_HEADER];
    // A stateless request's conversation and message are named alike: by the client's key, or afresh.
    const retryKey = headers[MESSAGE_ID_HEADER] ?? headers[IDEMPOTENCY_KEY_HEADER];
    const fresh = named === undefined ? statelessId(body.model, retryKey) : undefined;
    const conversationId = named ?? fresh!;
    const userMessages = messages.filter((m) => m.role === 'user').length;
    const message = InboundMessage.safeParse({
      id: headers[MESSAGE_ID_HEADER] ?? fresh ?? chatMessageId(body.model, conversationId, userMessages, content),
      content,
      author: messages[last].name ?? body.user,
    });
    if (!message.success) {
      for (const issue of message.error.issues) {
        const field = issue.path[0] === 'author' ? ['body', 'user'] : ['body', 'messages', last, ...issue.path];
        ctx.addIssue({ code: 'custom', path: field, message: issue.message });
      }
      return z.NEVER;
    }
    return {
      agent: body.model,
      conversationId,
      /** The conversation is this request's own (no conversation header). */
      stateless: named === undefined,
      message: message.data,
      seed: seed.instructions === undefined && seed.turns.length === 0 ? undefined : seed,
      stream: body.stream === true,
      includeUsage: body.stream_options?.include_usage === true,
    };
  });
export type ChatCompletionRequest = z.output<typeof ChatCompletionRequest>;

/**
 * The messages before the new one, as the seed of a conversation they start: system and developer messages
 * are its instructions, user and assistant messages its earlier turns. Undefined (with issues added) when a
 * message cannot be read so: a tool call or result, or content other than text.
 */
function seedOf(earlier: ChatMessage[], user: string | undefined, ctx: z.RefinementCtx): ConversationSeed | undefined {
  const instructions: string[] = [];
  const turns: ConversationSeed['turns'] = [];
  let readable = true;
  earlier.forEach((message, index) => {
    const path = ['body', 'messages', index];
    if (
      message.role === 'tool' ||
      message.role === 'function' ||
      !none(message.tool_calls) ||
      message.function_call != null
    ) {
      ctx.addIssue({ code: 'custom', path, message: `is a client-side tool call or result, which ${CLIENT_TOOLS}` });
      readable = false;
      return;
    }
    const text = message.content == null ? '' : textOf(message.content);
    if (text === undefined) {
      ctx.addIssue({ code: 'custom', path: [...path, 'content'], message: 'must be text (a string or text parts)' });
      readable = false;
      return;
    }
    if (message.role === 'system' || message.role === 'developer') {
      if (text !== '') instructions.push(text);
    } else if (message.role === 'user') {
      const author = message.name ?? user;
      turns.push({ role: 'user', content: text, ...(author ? { author } : {}) });
    } else {
      turns.push({ role: 'assistant', content: text });
    }
  });
  if (!readable) return undefined;
  const seed = ConversationSeed.safeParse({
    ...(instructions.length ? { instructions: instructions.join('\n\n') } : {}),
    turns,
  });
  if (!seed.success) {
    for (const issue of seed.error.issues) {
      const at =
        issue.path[0] === 'turns' && typeof issue.path[1] === 'number'
          ? ['body', 'messages', messageIndex(earlier, issue.path[1])]
          : ['body', 'messages'];
      ctx.addIssue({ code: 'custom', path: [...at, ...issue.path.slice(2)], message: issue.message });
    }
    return undefined;
  }
  return seed.data;
}

/** The index in `messages` of the n-th user or assistant message. */
function messageIndex(messages: ChatMessage[], turnEntry: number): number {
  let seen = -1;
  const index = messages.findIndex((m) => (m.role === 'user' || m.role === 'assistant') && ++seen === turnEntry);
  return index === -1 ? 0 : index;
}

/** A message's text: a string, or its text parts joined; undefined when it has other parts (images, audio). */
function textOf(content: ChatMessage['content']): string | undefined {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return undefined;
  const parts = content.map((part) => TextPart.safeParse(part));
  return parts.every((part) => part.success) ? parts.map((part) => part.data.text).join('\n') : undefined;
}

/**
 * The conversation (and message) id of a stateless request: from the client's retry key when it sends one, so
 * that a retry reaches the same turn; otherwise new, so that every request is a turn of its own.
 */
export function statelessId(agent: string, retryKey: string | undefined): string {
  if (retryKey === undefined) return `chat-${randomUUID().replaceAll('-', '')}`;
  return `chat-${createHash('sha256')
    .update(JSON.stringify([agent, retryKey]))
    .digest('hex')
    .slice(0, 32)}`;
}

/**
 * The id of the new message in a named conversation when the client names none. OpenAI's clients retry a
 * timed-out or failed request with the same body, and the conversation answers a seen id with its first reply:
 * so a hash of what the request says, not a random id, keeps a retry from starting a second turn. The count
 * of user messages tells a retry apart from the user saying the same thing again, which resends a longer
 * history. Clients that send only the newest message (no history) should send `X-Vigil-Message-Id` instead.
 */
export function chatMessageId(agent: string, conversationId: string, userMessages: number, content: string): string {
  const digest = createHash('sha256')
    .update(JSON.stringify([agent, conversationId, userMessages, content]))
    .digest('hex');
  return `chat-${digest.slice(0, 32)}`;
}
