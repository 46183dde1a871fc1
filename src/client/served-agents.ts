/**
 * Which agents the workers serve, as a client knows them, so that a message for an agent nobody serves is
 * refused (UnknownAgentError, a 404 at the gateway) rather than starting a conversation that can only fail:
 * - a list it was given: `vigil dev`'s gateway runs beside its worker and knows its registry;
 * - `'from-workers'`: what the workers polling the task queue say in their identity (src/workers/worker-identity.ts).
 *   Unknown, so nothing is refused, while no worker polls (a message then waits for one, as a durable queue
 *   should), when a worker does not say, or when Temporal cannot be asked.
 */
import type { Client } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { agentsOfIdentity } from '../workers/worker-identity';

export type ServedAgentsOption = readonly string[] | 'from-workers';

/** How long an answer from Temporal is used before asking again: a deploy's new agent is seen within this. */
const FROM_WORKERS_TTL_MS = 5_000;

export class ServedAgents {
  private cached: { at: number; agents: Promise<readonly string[] | undefined> } | undefined;

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
    private readonly option: ServedAgentsOption | undefined,
  ) {}

  /** The agents served, or undefined when that is not known. */
  async list(): Promise<readonly string[] | undefined> {
    if (this.option !== 'from-workers') return this.option;
    if (!this.cached || Date.now() - this.cached.at > FROM_WORKERS_TTL_MS) {
      this.cached = { at: Date.now(), agents: advertised(this.client, this.taskQueue) };
    }
    return this.cached.agents;
  }
}

async function advertised(client: Client, taskQueue: string): Promise<readonly string[] | undefined> {
  let pollers: temporal.api.taskqueue.v1.IPollerInfo[];
  try {
    const described = await client.workflowService.describeTaskQueue({
      namespace: client.options.namespace,
      taskQueue: { name: taskQueue, kind: temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
      taskQueueType: temporal.api.enums.v1.TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    });
    pollers = described.pollers ?? [];
  } catch {
    return undefined; // the request itself reports an unreachable Temporal
  }
  if (pollers.length === 0) return undefined;
  const served = new Set<string>();
  for (const poller of pollers) {
    const agents = agentsOfIdentity(poller.identity ?? '');
    if (agents === undefined) return undefined;
    for (const agent of agents) served.add(agent);
  }
  return [...served].sort();
}
