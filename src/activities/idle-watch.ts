/**
 * A provider's silence, watched from inside the model activity. A hung provider sends nothing: no response
 * headers, or a stream that stops between two chunks. Temporal cannot tell that from a slow answer (the activity
 * heartbeats all along, and the start-to-close timeout is sized for the slowest stream), and the openai SDK's own
 * `timeout` only covers the wait for headers. So the activity aborts the request once nothing has arrived for the
 * agent's idle timeout and fails the attempt with a retryable failure; Temporal starts the next one at once. A
 * stream whose chunks keep coming is never cut here, however long it runs.
 */
import { ApplicationFailure } from '@temporalio/common';
import { describeDuration } from '../conversation/duration-text';
import { MODEL_UNAVAILABLE } from './model-failure';

export interface IdleWatch {
  /** For the request: aborts when the activity is cancelled, or when the provider has been silent for too long. */
  readonly signal: AbortSignal;
  /** Something arrived from the provider (its headers, a chunk): the silence starts again from now. */
  touch(): void;
  /** The failure the attempt ends with when the watch gave up on the provider; undefined otherwise. */
  failure(): ApplicationFailure | undefined;
  /** Stops the clock; call it however the request ended. */
  stop(): void;
}

/** Starts watching now; `cancellation` is the activity's own signal, passed on to the request. */
export function watchIdle(idleMs: number, cancellation: AbortSignal): IdleWatch {
  const controller = new AbortController();
  let silent = false;
  const onCancel = () => controller.abort(cancellation.reason);
  if (cancellation.aborted) onCancel();
  else cancellation.addEventListener('abort', onCancel, { once: true });
  const timer = setTimeout(() => {
    silent = true;
    controller.abort(new Error(`no answer for ${idleMs} ms`));
  }, idleMs);
  return {
    signal: controller.signal,
    touch: () => {
      if (!silent) timer.refresh();
    },
    failure: () => {
      // A cancelled activity reports the cancellation, whatever else happened.
      if (!silent || cancellation.aborted) return undefined;
      return ApplicationFailure.create({
        message: `the model provider sent nothing for ${describeDuration(idleMs)}`,
        type: MODEL_UNAVAILABLE,
        details: [{ idleTimeoutMs: idleMs }],
      });
    },
    stop: () => {
      clearTimeout(timer);
      cancellation.removeEventListener('abort', onCancel);
    },
  };
}
