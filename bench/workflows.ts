/** Workflows for the benchmarks (bundled by bench/run.ts, bench/conversation.ts and bench/history-bytes.ts). */
import { condition, defineQuery, defineSignal, defineUpdate, proxyActivities, setHandler } from '@temporalio/workflow';
import type * as activities from './activities';

const { echo } = proxyActivities<typeof activities>({ startToCloseTimeout: '30s' });

/** start -> one activity -> complete. */
export async function oneActivity(n: number): Promise<number> {
  return echo(n);
}

export const stepSignal = defineSignal<[number]>('step');
export const stopSignal = defineSignal('stop');
export const lastQuery = defineQuery<number>('last');

/** On signal `step(n)` runs the activity with n and stores its result; `last` returns it; ends on `stop`. */
export async function signalActivityQuery(): Promise<number> {
  let last = -1;
  let stopped = false;
  const pending: number[] = [];
  setHandler(stepSignal, (n) => void pending.push(n));
  setHandler(stopSignal, () => void (stopped = true));
  setHandler(lastQuery, () => last);
  for (;;) {
    await condition(() => pending.length > 0 || stopped);
    if (pending.length === 0) return last;
    last = await echo(pending.shift()!);
  }
}

/** One entry of the baseline's transcript: what a chat model's input is made of. */
export interface BaselineEntry {
  role: 'user' | 'assistant';
  content: string;
}

export const baselineMessageUpdate = defineUpdate<string, [string]>('message');
export const baselineTurnsQuery = defineQuery<number>('turns');

const { chatModel } = proxyActivities<typeof activities>({ startToCloseTimeout: '1 minute' });

/**
 * The hand-written chat workflow, baseline of bench/history-bytes.ts and bench/conversation.ts, what other
 * Temporal agent integrations and the samples do: the transcript lives in
 * the workflow and every model call gets the WHOLE transcript as its activity input, so each turn adds the
 * transcript so far to history (bytes per turn grow linearly, the history quadratically). One update per
 * message: appends it, calls the model with everything, appends and returns the answer. Messages are taken
 * one at a time, in arrival order. Runs until cancelled or terminated.
 */
export async function transcriptAsInput(): Promise<void> {
  const transcript: BaselineEntry[] = [];
  let turns = 0;
  let queue: Promise<unknown> = Promise.resolve();
  setHandler(baselineTurnsQuery, () => turns);
  setHandler(baselineMessageUpdate, (content) => {
    const turn = queue.then(async () => {
      transcript.push({ role: 'user', content });
      const answer = await chatModel(transcript);
      transcript.push({ role: 'assistant', content: answer });
      turns++;
      return answer;
    });
    queue = turn.catch(() => undefined);
    return turn;
  });
  await condition(() => false);
}
