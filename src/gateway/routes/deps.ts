import type { AgentClient } from '../../client';

/** What the routes need: the way into conversations, and how long a request waits for a reply by default. */
export interface RouteDeps {
  agents: AgentClient;
  replyTimeoutMs: number;
}
