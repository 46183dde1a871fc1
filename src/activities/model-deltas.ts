/**
 * Where the model activity sends the text of a streaming completion while it arrives: the conversation's
 * event stream (see src/workflows/conversation-events.ts), through @temporalio/workflow-streams.
 *
 * Text is coalesced into one `model.delta` event per interval, and each interval's batch is one signal: the
 * history cost of streaming follows the reply's duration, not its token count. A completion that ends within
 * its first interval publishes nothing: the reply event brings its whole text as soon as a delta would have,
 * and the signal would cost the conversation a workflow task for a preview nobody had time to see. Publishing
 * is a preview and best effort: a failure to publish is logged and never fails the model call, whose result is
 * what counts.
 *
 * Signals are a run's scarcest resource (Temporal refuses a run's 10,001st; see src/conversation/run-limits.ts), so
 * a call's preview has a budget of MAX_DELTA_BATCHES_PER_CALL signals whatever its length or retries: the
 * interval grows on a long stream, each attempt may spend half of what the one before it could, and a preview
 * that has spent its attempt's share stops (the reply still arrives whole).
 */
import { Context } from '@temporalio/activity';
import { WorkflowStreamClient } from '@temporalio/workflow-streams/client';
import { type ConversationEvent, EVENT_TOPICS } from '../conversation/protocol';
import { MAX_DELTA_BATCHES_PER_CALL } from '../conversation/run-limits';

/** How often accumulated text is published while a completion streams (at first; see deltaIntervalMs). */
export const DELTA_INTERVAL_MS = 150;
/** Batches at DELTA_INTERVAL_MS before the interval starts to grow: the first 15 s of a stream. */
const BATCHES_AT_FIRST_INTERVAL = 100;
/** After those, the interval doubles every this many batches. */
const BATCHES_PER_DOUBLING = 50;

/** The wait before the next batch, once `published` batches have gone: 150 ms for 15 s, then doubling. */
export function deltaIntervalMs(published: number): number {
  if (published < BATCHES_AT_FIRST_INTERVAL) return DELTA_INTERVAL_MS;
  return DELTA_INTERVAL_MS * 2 ** (1 + Math.floor((published - BATCHES_AT_FIRST_INTERVAL) / BATCHES_PER_DOUBLING));
}

/** The batches an attempt may publish: half the call's budget for the first, half of that for the next, and so on. */
export function deltaBatchBudget(attempt: number): number {
  return Math.floor(MAX_DELTA_BATCHES_PER_CALL / 2 ** Math.max(1, attempt));
}
/** How long a batch is retried before the preview is given up (the reply still arrives whole). */
const PUBLISH_RETRY_MS = 10_000;

export interface DeltaSink {
  /** Text the model just produced. */
  push(text: string): void;
  /** Publishes what is left and waits until it is in the conversation's stream. */
  close(): Promise<void>;
}

export type DeltaSinkFactory = (at: { turn: number; step: number }) => DeltaSink;

/** Deltas to the conversation that scheduled the running activity. */
export const publishToConversation: DeltaSinkFactory = ({ turn, step }) => {
  const context = Context.current();
  const attempt = context.info.attempt;
  const client = WorkflowStreamClient.fromWithinActivity({
    batchInterval: DELTA_INTERVAL_MS,
    maxRetryDuration: PUBLISH_RETRY_MS,
  });
  const tokens = client.topic<ConversationEvent>(EVENT_TOPICS.tokens);
  const budget = deltaBatchBudget(attempt);
  let pending = '';
  let batches = 0;
  let timer: NodeJS.Timeout | undefined;
  const publishPending = () => {
    timer = undefined;
    if (pending === '' || batches >= budget) return;
    tokens.publish({ type: 'model.delta', turn, step, attempt, text: pending });
    batches++;
    pending = '';
  };
  return {
    push(text) {
      if (batches >= budget) return; // the preview has spent its share; the reply brings the rest
      pending += text;
      timer ??= setTimeout(publishPending, deltaIntervalMs(batches));
    },
    async close() {
      clearTimeout(timer);
      // The rest of a preview already under way; nothing at all for a completion faster than one interval.
      if (batches > 0) publishPending();
      try {
        await client[Symbol.asyncDispose]();
      } catch (error) {
        context.log.warn('model deltas could not be published; watchers get the reply without a preview', {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    },
  };
};
