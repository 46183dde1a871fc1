/**
 * Heartbeats for activities that wait on a provider (model calls, summaries). A cancelled turn reaches the
 * activity through the heartbeat's answer, so the interval is how long a cancel takes to abort the request.
 */
import type { Context } from '@temporalio/activity';

/** Heartbeat this often when the activity has no heartbeat timeout; the worker throttles what it sends anyway. */
const DEFAULT_HEARTBEAT_INTERVAL_MS = 5_000;

/** Heartbeats until the returned function is called: once a second, never slower than a third of the timeout. */
export function startHeartbeats(context: Context): () => void {
  const timeoutMs = context.info.heartbeatTimeoutMs;
  const intervalMs = timeoutMs ? Math.max(Math.min(timeoutMs / 3, 1_000), 10) : DEFAULT_HEARTBEAT_INTERVAL_MS;
  const timer = setInterval(() => context.heartbeat(), intervalMs);
  return () => clearInterval(timer);
}
