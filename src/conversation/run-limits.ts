/**
 * How a conversation keeps each run clear of Temporal's hard limits. Past them the server terminates the run
 * (51,200 events or 50 MB of history: the conversation would stop mid-turn) or refuses the sender (a run's
 * 10,001st signal: a `post`, or a batch of a model's text preview). Two guards, both pure functions of the run's
 * size as the workflow sees it:
 *
 * - between turns, a run past its agent's thresholds continues as new (`runIsLong` in src/workflows/conversation-run.ts);
 * - within a turn, no new step starts once the run is past TURN_STOPS_AT: the turn ends with an error reply, and
 *   the next turn boundary switches runs. That only happens to a runaway turn (thousands of steps or tool calls),
 *   since an agent's thresholds are capped below it.
 *
 * The room between TURN_STOPS_AT and Temporal's limits is what one step may still add: a model call publishes
 * at most MAX_DELTA_BATCHES_PER_CALL preview batches (each a signal and at most 4 events), and each event
 * carries at most the payload threshold (64 KiB by default; more goes to the content store). Sandbox-safe: no
 * SDK, no I/O.
 */

/** Temporal's defaults (limit.historyCount.error, limit.historySize.error, history.maximumSignalsPerExecution). */
export const TEMPORAL_RUN_LIMITS = { events: 51_200, bytes: 50 * 1024 * 1024, signals: 10_000 } as const;

/** A turn starts no new step past any of these. */
export const TURN_STOPS_AT = { events: 45_000, bytes: 40 * 1024 * 1024, signals: 8_000 } as const;

/** The highest thresholds an agent may set for switching runs between turns: a whole turn's room below TURN_STOPS_AT. */
export const MAX_SWITCH_THRESHOLDS = { events: 40_000, bytes: 32 * 1024 * 1024, signals: 6_000 } as const;

/** Defaults of an agent's thresholds for switching runs between turns. */
export const DEFAULT_SWITCH_THRESHOLDS = {
  events: 10_000,
  /** Under the 10 MB at which Temporal starts warning. */
  bytes: 8 * 1024 * 1024,
  /** Half of Temporal's limit: the rest is room for the `post`s and previews of the turns before a switch. */
  signals: 5_000,
} as const;

/** A model call's text preview, in signals, across all its attempts (see src/activities/model-deltas.ts). */
export const MAX_DELTA_BATCHES_PER_CALL = 600;

/** A run's size: its history as Temporal counts it, and the signals it has received. */
export interface RunSize {
  events: number;
  bytes: number;
  signals: number;
}

/** Why a turn may not start another step in this run, or undefined while it may. */
export function turnStopReason(size: RunSize): string | undefined {
  const past = (Object.keys(TURN_STOPS_AT) as (keyof RunSize)[]).filter((k) => size[k] >= TURN_STOPS_AT[k]);
  if (past.length === 0) return undefined;
  const what = past.map((k) => `${size[k]} ${k === 'bytes' ? 'bytes of history' : k}`).join(', ');
  return (
    `this turn was stopped before its next step: the conversation's current run has ${what}, close to the most ` +
    'one Temporal workflow run may have. The conversation goes on in a new run from the next message.'
  );
}

/** Whether a run is past a signal threshold (the agent's, or the default). */
export function pastSignalThreshold(signals: number, threshold: number | undefined): boolean {
  return signals >= (threshold ?? DEFAULT_SWITCH_THRESHOLDS.signals);
}
