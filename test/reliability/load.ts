/**
 * Part 6, load: 1,000 conversations open at once for 10 minutes, with messages at a steady rate spread evenly
 * over them (message j at j / rate seconds, to conversation j mod 1,000), each a real turn through AgentClient.
 * Figures: turn latency p50/p99 (send to reply), errors, how late the sender fell behind its schedule, and the
 * worker's RSS and heap over time from its `worker memory` log lines (VIGIL_MEMORY_LOG_SECONDS).
 *
 * "No growth once warm": every conversation has started by the end of the first third (with the default rate
 * and size, each gets its first message then), so the worker is warm from there; the heap and RSS in the last
 * third may be at most 20% over the middle third's (medians, so one garbage collection does not decide it).
 *
 * Sizes come from the command line (`--load-minutes`, `--load-rate`, `--load-conversations`); the figures name
 * the sizes they were measured at.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Figures } from './figures';
import { unsettled } from './histories';
import type { Random } from './random';
import { AGENT, type Stack } from './stack';

const PART = '6. load';
const MAX_GROWTH = 1.2;

export interface LoadSize {
  minutes: number;
  /** Messages per second, over all conversations. */
  rate: number;
  conversations: number;
}

export const DEFAULT_LOAD: LoadSize = { minutes: 10, rate: 5, conversations: 1000 };

interface MemoryLine {
  time: number;
  memory: { rssBytes: number; heapUsedBytes: number; cachedWorkflows: number };
}

export async function load(
  stack: Stack,
  figures: Figures,
  _random: Random,
  tag: string,
  size: LoadSize,
): Promise<void> {
  stack.model.respondWith((request) => {
    const last = request.body.messages.at(-1);
    return { content: `ok ${typeof last?.content === 'string' ? last.content : ''}` };
  });
  const total = Math.round(size.minutes * 60 * size.rate);
  const latencies: number[] = [];
  const errors: string[] = [];
  let wrong = 0;
  let latestMs = 0;
  const started = Date.now();
  const sends: Promise<void>[] = [];
  for (let j = 0; j < total; j++) {
    const due = started + (j * 1000) / size.rate;
    if (due > Date.now()) await sleep(due - Date.now());
    latestMs = Math.max(latestMs, Date.now() - due);
    const conversationId = `load-${tag}-${j % size.conversations}`;
    const id = `load-${tag}-m${j}`;
    sends.push(
      (async () => {
        const sent = performance.now();
        try {
          const reply = await stack.agents.send(AGENT, conversationId, { id, content: id });
          latencies.push(performance.now() - sent);
          if (reply.content !== `ok ${id}`) wrong++;
        } catch (error) {
          errors.push(`${id}: ${error instanceof Error ? error.message : String(error)}`);
        }
      })(),
    );
  }
  await Promise.all(sends);
  const seconds = (Date.now() - started) / 1000;

  // A sample of the conversations at the end: nothing left running or queued.
  let notAtRest = 0;
  for (let i = 0; i < size.conversations; i += Math.max(1, Math.floor(size.conversations / 50))) {
    if (unsettled(await stack.agents.state(AGENT, `load-${tag}-${i}`))) notAtRest++;
  }

  const memory = memoryLines(stack.worker.printed(), started);
  const third = (seconds * 1000) / 3;
  const middle = memory.filter((m) => m.time >= third && m.time < 2 * third);
  const last = memory.filter((m) => m.time >= 2 * third);
  const growth = (pick: (m: MemoryLine) => number) =>
    middle.length && last.length ? median(last.map(pick)) / median(middle.map(pick)) : NaN;
  const heapGrowth = growth((m) => m.memory.heapUsedBytes);
  const rssGrowth = growth((m) => m.memory.rssBytes);
  const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
  const perMinute = (pick: (m: MemoryLine) => number) =>
    Array.from({ length: Math.ceil(seconds / 60) }, (_, minute) => {
      const inMinute = memory.filter((m) => m.time >= minute * 60_000 && m.time < (minute + 1) * 60_000);
      return inMinute.length ? mb(median(inMinute.map(pick))) : '–';
    }).join(' ');

  latencies.sort((a, b) => a - b);
  const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  figures.note(
    PART,
    'size',
    `${size.conversations} conversations, ${size.rate} messages/s for ${size.minutes} min (${total} turns)`,
  );
  figures.zero(PART, 'errors', errors.length);
  figures.zero(PART, 'wrong replies', wrong);
  figures.note(PART, 'turn latency p50 / p99', `${percentile(50).toFixed(0)} / ${percentile(99).toFixed(0)} ms`);
  figures.note(PART, 'achieved rate', `${(latencies.length / seconds).toFixed(2)} turns/s`);
  figures.note(PART, 'sender behind schedule, at most', `${latestMs} ms`);
  figures.zero(PART, 'sampled conversations not at rest', notAtRest);
  figures.note(
    PART,
    'worker RSS per minute (MB)',
    perMinute((m) => m.memory.rssBytes),
  );
  figures.note(
    PART,
    'worker heap per minute (MB)',
    perMinute((m) => m.memory.heapUsedBytes),
  );
  figures.note(PART, 'cached workflows at the end', memory.at(-1)?.memory.cachedWorkflows ?? '–');
  figures.check(
    PART,
    `heap, last third / middle third (at most ${MAX_GROWTH})`,
    heapGrowth.toFixed(2),
    heapGrowth <= MAX_GROWTH,
  );
  figures.check(
    PART,
    `RSS, last third / middle third (at most ${MAX_GROWTH})`,
    rssGrowth.toFixed(2),
    rssGrowth <= MAX_GROWTH,
  );
  for (const error of errors.slice(0, 10)) process.stderr.write(`  ${PART}: ${error}\n`);
}

/** The worker's `worker memory` lines printed since `since`, with their time relative to it. */
function memoryLines(printed: string, since: number): MemoryLine[] {
  const lines: MemoryLine[] = [];
  for (const line of printed.split('\n')) {
    if (!line.includes('"msg":"worker memory"')) continue;
    const parsed = JSON.parse(line) as { time: number | string; memory: MemoryLine['memory'] };
    const time = new Date(parsed.time).getTime() - since;
    if (time >= 0) lines.push({ time, memory: parsed.memory });
  }
  return lines;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}
