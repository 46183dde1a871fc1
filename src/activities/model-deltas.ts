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
 */
import { Context } from '@temporalio/activity';
import { WorkflowStreamClient } from '@temporalio/workflow-streams/client';
import { type ConversationEvent, EVENT_TOPICS } from '../protocol';

/** How often accumulated text is published while a completion streams. */
export const DELTA_INTERVAL_MS = 150;
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
  const client = WorkflowStreamClient.fromWithinActivity({ batchInterval: DELTA_INTERVAL_MS, maxRetryDuration: PUBLISH_RETRY_MS });
  const tokens = client.topic<ConversationEvent>(EVENT_TOPICS.tokens);
  let pending = '';
  let published = false;
  let timer: NodeJS.Timeout | undefined;
  const publishPending = () => {
    timer = undefined;
    if (pending === '') return;
    tokens.publish({ type: 'model.delta', turn, step, attempt, text: pending });
    published = true;
    pending = '';
  };
  return {
    push(text) {
      pending += text;
      timer ??= setTimeout(publishPending, DELTA_INTERVAL_MS);
    },
    async close() {
      clearTimeout(timer);
      // The rest of a preview already under way; nothing at all for a completion faster than one interval.
      if (published) publishPending();
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
