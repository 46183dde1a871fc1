/** Transcripts for the memory tests: entries with known token counts, and a seeded random generator. */
import type { TranscriptEntry } from '../../src/conversation/protocol';

export type Entry = TranscriptEntry & { tokens?: number };

const at = '2025-01-01T00:00:00.000Z';
const usage = { inputTokens: 0, outputTokens: 0 };

export function user(turn: number, tokens?: number, content = `message ${turn}`): Extract<Entry, { role: 'user' }> {
  return { role: 'user', turn, messageId: `m${turn}`, content, at, ...(tokens === undefined ? {} : { tokens }) };
}

export function answer(turn: number, tokens?: number, content = `answer ${turn}`): Entry {
  return {
    role: 'assistant',
    turn,
    content,
    toolCalls: [],
    model: 'gpt-test',
    usage,
    at,
    ...(tokens === undefined ? {} : { tokens }),
  };
}

export function call(turn: number, tokens: number | undefined, ids: string[]): Entry {
  const toolCalls = ids.map((id) => ({ id, name: 'lookup', arguments: `{"q":"${id}"}` }));
  return {
    role: 'assistant',
    turn,
    content: '',
    toolCalls,
    model: 'gpt-test',
    usage,
    at,
    ...(tokens === undefined ? {} : { tokens }),
  };
}

export function result(turn: number, tokens: number | undefined, id: string, content = `result of ${id}`): Entry {
  return {
    role: 'tool',
    turn,
    toolCallId: id,
    name: 'lookup',
    content,
    isError: false,
    at,
    ...(tokens === undefined ? {} : { tokens }),
  };
}

export function notice(turn: number): Entry {
  return { role: 'notice', turn, content: 'The turn was cancelled.', at };
}

/** A plain turn: a user message and an answer, each of `tokens`. */
export function turn(n: number, tokens: number): Entry[] {
  return [user(n, tokens), answer(n, tokens)];
}

/** mulberry32: a small seeded PRNG, so the random transcripts are the same on every run. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A random conversation: turns of a user message and one to four steps, some calling tools (one to three
 * calls, each answered, except sometimes the last step of a cancelled turn), some ending with a notice. Entry
 * sizes stay under `maxTokens`; a few entries have no count and are estimated from their text.
 */
export function randomTranscript(next: () => number, turns: number, maxTokens: number): Entry[] {
  const size = () => 1 + Math.floor(next() * maxTokens);
  const counted = (tokens: number) => (next() < 0.15 ? undefined : tokens);
  const entries: Entry[] = [];
  let callId = 0;
  for (let t = 1; t <= turns; t++) {
    entries.push(next() < 0.15 ? user(t, undefined, 'x'.repeat(size() * 4)) : user(t, size()));
    const steps = 1 + Math.floor(next() * 4);
    for (let s = 0; s < steps; s++) {
      if (s < steps - 1 || next() < 0.3) {
        const ids = Array.from({ length: 1 + Math.floor(next() * 3) }, () => `call_${++callId}`);
        entries.push(call(t, counted(size()), ids));
        const cancelled = s === steps - 1 && next() < 0.3;
        for (const id of cancelled ? ids.slice(0, 1) : ids)
          entries.push(result(t, counted(size()), id, 'r'.repeat(size() * 4)));
      } else {
        entries.push(answer(t, counted(size())));
      }
    }
    if (next() < 0.2) entries.push(notice(t));
  }
  return entries;
}
