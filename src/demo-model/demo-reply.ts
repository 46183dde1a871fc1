/**
 * What the demo model says: a pure function of the request, so the same conversation always gets the same
 * answers. It knows three moves, enough to show a turn with a tool call end to end without a real model:
 *
 * 1. the last message is a tool result: a sentence that uses it ("The calculator says 391.");
 * 2. the user's last message holds arithmetic and `calculator` is offered: call it with the expression;
 * 3. it asks for the time or date and `current_time` is offered: call it;
 * 4. anything else: say that this is the demo model and how to use a real one.
 */
import type { ChatCompletionCreateParams, ChatCompletionMessageParam } from 'openai/resources/chat/completions';

export const DEMO_MODEL_NAME = 'vigil-demo';

export type DemoReply = { content: string } | { toolCalls: { name: string; arguments: string }[] };

/** Runs of characters an arithmetic expression is made of. */
const EXPRESSION_RUN = /[\d.+\-*/^()\s]+/g;
/** A run counts as arithmetic when an operator sits between two numbers: "17*23", "(2 + 3) ^ 2". */
const OPERATION = /\d[\s)]*[-+*/^][\s(+-]*\d/;
const ASKS_FOR_TIME = /\b(time|date|today|what day)\b/i;
const MAX_ECHO_LENGTH = 500;

export function demoReply(request: Pick<ChatCompletionCreateParams, 'messages' | 'tools'>): DemoReply {
  const { messages } = request;
  const offered = new Set(
    (request.tools ?? []).flatMap((tool) => (tool.type === 'function' ? [tool.function.name] : [])),
  );

  if (messages.at(-1)?.role === 'tool') return { content: describeToolResults(messages) };

  const lastUser = messages[lastIndexOf(messages, 'user')];
  const text = lastUser ? textOf(lastUser.content).trim() : '';
  const expression = findArithmetic(text);
  if (expression !== undefined && offered.has('calculator')) {
    return { toolCalls: [{ name: 'calculator', arguments: JSON.stringify({ expression }) }] };
  }
  if (ASKS_FOR_TIME.test(text) && offered.has('current_time')) {
    return { toolCalls: [{ name: 'current_time', arguments: '{}' }] };
  }
  const echoed = text.length > MAX_ECHO_LENGTH ? `${text.slice(0, MAX_ECHO_LENGTH)}…` : text;
  return {
    content: `Demo model (offline): you said "${echoed}". Set OPENAI_API_KEY or OPENAI_BASE_URL for a real model.`,
  };
}

/** The first arithmetic expression in the text, trimmed of stray brackets and a full stop; undefined if none. */
export function findArithmetic(text: string): string | undefined {
  for (const [run] of text.matchAll(EXPRESSION_RUN)) {
    const candidate = balanceBrackets(run.trim().replace(/[.\s]+$/, ''));
    if (OPERATION.test(candidate)) return candidate;
  }
  return undefined;
}

/** "(see 2+2)" yields the run "2+2)": drop the closing brackets (and opening ones) that have no partner. */
function balanceBrackets(expression: string): string {
  let result = expression;
  const count = (c: string) => [...result].filter((x) => x === c).length;
  while (result.endsWith(')') && count(')') > count('(')) result = result.slice(0, -1).trimEnd();
  while (result.startsWith('(') && count('(') > count(')')) result = result.slice(1).trimStart();
  return result;
}

/** One sentence per tool result since the model last spoke, each naming the tool that produced it. */
function describeToolResults(messages: ChatCompletionMessageParam[]): string {
  const lastAssistant = lastIndexOf(messages, 'assistant');
  const assistant = messages[lastAssistant];
  const toolNames = new Map<string, string>();
  if (assistant?.role === 'assistant') {
    for (const call of assistant.tool_calls ?? []) {
      if (call.type === 'function') toolNames.set(call.id, call.function.name);
    }
  }
  return messages
    .slice(lastAssistant + 1)
    .flatMap((m) => (m.role === 'tool' ? [describeToolResult(toolNames.get(m.tool_call_id), textOf(m.content))] : []))
    .join(' ');
}

function describeToolResult(tool: string | undefined, content: string): string {
  // Vigil marks a failed tool call with this prefix (src/memory/model-messages.ts).
  if (content.startsWith('Error: ')) {
    return `The ${tool ?? 'tool'} could not answer: ${content.slice('Error: '.length)}`;
  }
  const result = parseJson(content);
  if (tool === 'calculator' && isRecord(result) && typeof result.result === 'number') {
    return `The calculator says ${result.result}.`;
  }
  if (tool === 'current_time' && isRecord(result) && typeof result.utc === 'string') {
    const weekday = typeof result.weekday === 'string' ? `, a ${result.weekday}` : '';
    return `The current time is ${result.utc} (UTC${weekday}).`;
  }
  return `The ${tool ?? 'tool'} returned: ${content}`;
}

/** Index of the last message with this role; -1 when there is none. (`findLastIndex` is past our ES2022 lib.) */
function lastIndexOf(messages: ChatCompletionMessageParam[], role: ChatCompletionMessageParam['role']): number {
  for (let i = messages.length - 1; i >= 0; i--) if (messages[i].role === role) return i;
  return -1;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** A message's text, whether it came as a string or as content parts. */
export function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: unknown) => (isRecord(part) && typeof part.text === 'string' ? part.text : '')).join('');
}
