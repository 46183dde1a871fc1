/**
 * Agents as tools: the pure rules of a sub-agent call. The model of one conversation calls another agent as a tool;
 * the call runs as a child conversation of its own (src/workflows/sub-agent.ts), one message long, whose reply is
 * the tool's result. Here: the child's address and first message, derived from the call so that the same call
 * always names the same child, and how the child's usage adds to the parent's. Sandbox-safe: no I/O.
 */
import { z } from 'zod';
import { type ChildOf, MAX_ID_LENGTH, type InboundMessage, type Reply, type ToolCall } from './protocol';
import { type ConversationUsage, emptyTotals, MAX_TRACKED_AUTHORS, type UsageTotals } from './usage';

/** The arguments of an agent tool, as the model is told them. */
export const AGENT_TOOL_PARAMETERS: Record<string, unknown> = {
  type: 'object',
  properties: { input: { type: 'string', description: 'What to ask the agent: a whole message, as a user would.' } },
  required: ['input'],
  additionalProperties: false,
};

const AgentToolArguments = z.object({ input: z.string().trim().min(1, 'must not be empty') }).strict();

/**
 * The child's conversation id: the parent's agent, conversation, turn and tool call, so a retried or replayed
 * call names the same child (its workflow id is `conversation:<sub-agent>:<this>`). A tool call id outside the id
 * grammar has its other characters replaced; one too long for an id is shortened to a digest of the whole.
 */
export function childConversationId(parent: Omit<ChildOf, 'toolCallId'>, toolCallId: string): string {
  const id = `${parent.agent}:${parent.conversationId}:t${parent.turn}:${toolCallId.replace(/[^A-Za-z0-9._:@-]/g, '_')}`;
  if (id.length <= MAX_ID_LENGTH) return id;
  return `${parent.agent.slice(0, 100)}:sub-${digest(`${parent.agent}\n${parent.conversationId}\n${parent.turn}\n${toolCallId}`)}`;
}

/** The child's one message, from the model's arguments; a problem for the model to fix when they are not `{ input }`. */
export function subAgentMessage(call: ToolCall, author: string | undefined): InboundMessage | { problem: string } {
  let args: unknown;
  try {
    args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
  } catch (error) {
    return { problem: `arguments are not valid JSON: ${(error as Error).message}` };
  }
  const parsed = AgentToolArguments.safeParse(args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      problem: `arguments must be { "input": "<message>" }: ${issue?.path.join('.') || 'arguments'}: ${issue?.message}`,
    };
  }
  return {
    id: `tool-call:${call.id.replace(/[^\x21-\x7E]/g, '_')}`.slice(0, MAX_ID_LENGTH),
    content: parsed.data.input,
    ...(author !== undefined ? { author } : {}),
  };
}

/** The tool result of a finished sub-agent conversation: its reply, an error unless it completed. */
export function subAgentResult(agent: string, reply: Reply | undefined): { content: string; isError: boolean } {
  if (!reply) return { content: `the agent "${agent}" gave no reply`, isError: true };
  if (reply.status === 'completed') return { content: reply.content, isError: false };
  return { content: `the agent "${agent}" did not answer (${reply.status}): ${reply.content}`, isError: true };
}

/**
 * The parent's usage with a child's added: totals, per model, and all of it to the author of the parent's message
 * (whose message the child's answer serves). Returns a new object.
 */
export function addChildUsage(
  usage: ConversationUsage,
  child: ConversationUsage,
  author: string | undefined,
): ConversationUsage {
  const next: ConversationUsage = { ...usage, ...sum(usage, child), byModel: { ...usage.byModel } };
  for (const [model, totals] of Object.entries(child.byModel)) {
    next.byModel[model] = sum(next.byModel[model] ?? emptyTotals(), totals);
  }
  if (child.otherModels) next.otherModels = sum(usage.otherModels ?? emptyTotals(), child.otherModels);
  if (author !== undefined) {
    if (Object.hasOwn(usage.byAuthor, author) || Object.keys(usage.byAuthor).length < MAX_TRACKED_AUTHORS) {
      next.byAuthor = { ...usage.byAuthor, [author]: sum(usage.byAuthor[author] ?? emptyTotals(), child) };
    } else {
      next.otherAuthors = sum(usage.otherAuthors ?? emptyTotals(), child);
    }
  }
  return next;
}

function sum(a: UsageTotals, b: UsageTotals): UsageTotals {
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    costMicros: a.costMicros + b.costMicros,
    modelCalls: a.modelCalls + b.modelCalls,
    unpricedCalls: a.unpricedCalls + b.unpricedCalls,
  };
}

/** Two FNV-1a 32-bit hashes as hex: a short, stable digest (the sandbox has no crypto). */
function digest(text: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c, 0x5bd1e995) >>> 0;
  }
  return a.toString(16).padStart(8, '0') + b.toString(16).padStart(8, '0');
}
