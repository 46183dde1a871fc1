/**
 * Part 2's reading back: the scripted model's answers, a conversation's state and transcript as a snapshot, every
 * history's text with the content store's claims resolved, and the worker's count of dropped signals.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { temporal } from '@temporalio/proto';
import { readFileSync } from 'node:fs';
import { type RecordedRequest, type ScriptStep } from '../../../src/testing/scripted-model';
import { wholeTranscript, type StoredHistory } from '../histories';
import { AGENT, type Stack } from '../stack';

/** What the worker logs for each malformed `message` signal it drops. */
const DROPPED_SIGNAL = /dropped an invalid message signal/g;

/** The model: a tool call that needs approval for a message that asks for one, else an echo. */
export function badInputModel(request: RecordedRequest): ScriptStep {
  const messages = request.body.messages;
  const last = messages.at(-1);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const asked = typeof lastUser?.content === 'string' ? lastUser.content : '';
  if (last?.role === 'tool') return { content: `done: ${typeof last.content === 'string' ? last.content : ''}` };
  if (asked.startsWith('approve ')) {
    return {
      toolCalls: [{ id: `transfer-${asked.slice('approve '.length)}`, name: 'transfer', arguments: '{"amount":7}' }],
    };
  }
  return { content: `echo ${asked}` };
}

/** A conversation as it shows itself: its state and its whole transcript. */
export async function snapshot(stack: Stack, conversationId: string): Promise<string> {
  const [state, transcript] = await Promise.all([
    stack.agents.state(AGENT, conversationId),
    wholeTranscript(stack.agents, AGENT, conversationId),
  ]);
  return JSON.stringify({ state, transcript });
}

export function firstDifference(before: string, after: string): string {
  let i = 0;
  while (i < before.length && before[i] === after[i]) i++;
  return `before …${before.slice(Math.max(0, i - 60), i + 100)}… after …${after.slice(Math.max(0, i - 60), i + 100)}…`;
}

export async function workflowIds(stack: Stack): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const execution of stack.client.workflow.list()) ids.add(execution.workflowId);
  return ids;
}

/**
 * Every history as text, its payloads decoded, with what the content store holds for each claim in it: a large
 * input is in history only as a claim.
 */
export async function historyText(stack: Stack, histories: StoredHistory[]): Promise<string> {
  const text = histories.map((h) => JSON.stringify(h.events, decodeBytes)).join('\n');
  const refs = [...new Set(text.match(/sha256:[0-9a-f]{64}/g) ?? [])];
  const stored = refs.length === 0 ? [] : await stack.store.getMany(refs);
  const claimed = stored.map((content) => {
    try {
      const payload = temporal.api.common.v1.Payload.decode(Buffer.from(content, 'base64'));
      return `${content}\n${Buffer.from(payload.data ?? []).toString('utf8')}`;
    } catch {
      return content;
    }
  });
  return [text, ...claimed].join('\n');
}

function decodeBytes(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value;
}

/** Waits for the worker to have logged `count` more signals dropped than `from` lines in, for at most 10 s. */
export async function droppedSignals(logFile: string, from: number, count: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const dropped = (readFileSync(logFile, 'utf8').slice(from).match(DROPPED_SIGNAL) ?? []).length;
    if (dropped >= count || Date.now() > deadline) return dropped;
    // The log comes through the worker's stdout pipe, some time after the workflow task that wrote it.
    await sleep(100);
  }
}
