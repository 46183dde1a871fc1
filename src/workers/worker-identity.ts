/**
 * A Vigil worker tells Temporal which agents it serves in its identity, which Temporal shows for every poller
 * of a task queue (DescribeTaskQueue, the Web UI's workers tab): `4242@host vigil agents=assistant,helper`.
 * Clients away from the worker (the standalone gateway, the CLI) read it to refuse an agent that no worker
 * serves, instead of starting a conversation that fails (src/client/served-agents.ts).
 */
import { hostname } from 'node:os';

/** Temporal refuses longer identities (its `limit.maxIDLength`). */
const MAX_IDENTITY_LENGTH = 1000;
const AGENTS_MARK = ' vigil agents=';

/** The identity of a worker serving `agents`; without the list when it would be too long to send. */
export function workerIdentity(agents: readonly string[], host = hostname(), pid = process.pid): string {
  const base = `${pid}@${host}`;
  const advertised = `${base}${AGENTS_MARK}${agents.join(',')}`;
  return advertised.length <= MAX_IDENTITY_LENGTH ? advertised : base;
}

/** The agents a worker's identity names; undefined for a worker that does not say (another SDK's, an old one). */
export function agentsOfIdentity(identity: string): string[] | undefined {
  const at = identity.lastIndexOf(AGENTS_MARK);
  if (at === -1) return undefined;
  const list = identity.slice(at + AGENTS_MARK.length);
  return list === '' ? [] : list.split(',');
}
