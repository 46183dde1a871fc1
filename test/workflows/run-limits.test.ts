/**
 * The arithmetic that keeps a conversation's runs clear of Temporal's hard limits: where a turn stops, and that
 * the room left for the step under way is more than a step can take.
 */
import { deltaBatchBudget, deltaIntervalMs } from '../../src/activities/model-deltas';
import {
  MAX_DELTA_BATCHES_PER_CALL,
  MAX_SWITCH_THRESHOLDS,
  TEMPORAL_RUN_LIMITS,
  TURN_STOPS_AT,
  turnStopReason,
} from '../../src/conversation/run-limits';
import { DEFAULT_PAYLOAD_THRESHOLD_BYTES } from '../../src/config';

test('a turn goes on below every threshold, and stops past any one, saying which', () => {
  const below = {
    events: TURN_STOPS_AT.events - 1,
    bytes: TURN_STOPS_AT.bytes - 1,
    signals: TURN_STOPS_AT.signals - 1,
  };
  expect(turnStopReason(below)).toBeUndefined();
  expect(turnStopReason({ ...below, events: 45_000 })).toMatch(
    /run has 45000 events, close to the most one Temporal workflow run may have/,
  );
  expect(turnStopReason({ ...below, signals: 8_001 })).toMatch(/8001 signals/);
  expect(turnStopReason({ ...below, bytes: 41 * 1024 * 1024, signals: 9_000 })).toMatch(
    /42991616 bytes of history, 9000 signals/,
  );
});

test("one step's most, measured from the budgets, fits in the room between where a turn stops and Temporal's limits", () => {
  // Every preview batch of every attempt of one model call: it never passes the call's budget, however many retries.
  const perCall = Array.from({ length: 50 }, (_, i) => deltaBatchBudget(i + 1)).reduce((a, b) => a + b, 0);
  expect(perCall).toBeLessThanOrEqual(MAX_DELTA_BATCHES_PER_CALL);
  // A batch is a signal, and at most a workflow task (3 events) besides its own event.
  const eventsPerCall = perCall * 4 + 20;
  expect(TURN_STOPS_AT.signals + perCall).toBeLessThan(TEMPORAL_RUN_LIMITS.signals);
  expect(TURN_STOPS_AT.events + eventsPerCall).toBeLessThan(TEMPORAL_RUN_LIMITS.events);
  // A step of tool calls: each adds at most 6 events and one payload up to the store's threshold (more goes to the store).
  const toolCallsThatFit = Math.floor(
    (TEMPORAL_RUN_LIMITS.bytes - TURN_STOPS_AT.bytes) / (DEFAULT_PAYLOAD_THRESHOLD_BYTES + 1024),
  );
  expect(toolCallsThatFit).toBeGreaterThanOrEqual(150);
  expect(Math.floor((TEMPORAL_RUN_LIMITS.events - TURN_STOPS_AT.events) / 6)).toBeGreaterThanOrEqual(1_000);
  // An agent's switch thresholds leave a whole turn of room below where a turn stops.
  expect(TURN_STOPS_AT.events - MAX_SWITCH_THRESHOLDS.events).toBeGreaterThanOrEqual(5_000);
  expect(TURN_STOPS_AT.bytes - MAX_SWITCH_THRESHOLDS.bytes).toBeGreaterThanOrEqual(8 * 1024 * 1024);
  expect(TURN_STOPS_AT.signals - MAX_SWITCH_THRESHOLDS.signals).toBeGreaterThanOrEqual(2_000);
});

test('a long preview slows down instead of stopping: 150 ms for 15 s, then the interval doubles every 50 batches', () => {
  expect(deltaIntervalMs(0)).toBe(150);
  expect(deltaIntervalMs(99)).toBe(150);
  expect(deltaIntervalMs(100)).toBe(300);
  expect(deltaIntervalMs(150)).toBe(600);
  // The first attempt's 300 batches last 4 minutes: twice the default model timeout.
  const first = Array.from({ length: deltaBatchBudget(1) }, (_, i) => deltaIntervalMs(i)).reduce((a, b) => a + b, 0);
  expect(deltaBatchBudget(1)).toBe(300);
  expect(first).toBeGreaterThanOrEqual(240_000);
  expect(deltaBatchBudget(2)).toBe(150);
  expect(deltaBatchBudget(10)).toBe(0);
});
