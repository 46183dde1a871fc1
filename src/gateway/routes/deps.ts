import type { AgentClient } from '../../client';
import type { ScheduleClient } from '../../schedules';

/** What the routes need: the way into conversations, and how long a request waits for a reply by default. */
export interface RouteDeps {
  agents: AgentClient;
  replyTimeoutMs: number;
  /** Scheduled messages; the schedule routes answer 404 without it. */
  schedules?: ScheduleClient;
}
