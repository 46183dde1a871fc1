import type { AgentClient } from '../../client';
import type { ScheduleClient } from '../../schedules';
import type { StreamTokens } from '../stream-token';

/** What the routes need: the way into conversations, and how long a request waits for a reply by default. */
export interface RouteDeps {
  agents: AgentClient;
  replyTimeoutMs: number;
  /** Scheduled messages; the schedule routes answer 404 without it. */
  schedules?: ScheduleClient;
  /** Issues the tokens that open an event stream from a browser (see ../stream-token.ts). */
  streamTokens: StreamTokens;
}
