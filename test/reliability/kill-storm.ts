/**
 * Part 1, the kill storm: 200 messages over 20 conversations, half through the gateway and half through
 * AgentClient; three in ten ask for a tool, one in ten for a tool that waits for a person's approval; the replies
 * of four conversations go to a webhook. Meanwhile the worker's process group is SIGKILLed at random moments
 * (50 times, each once it polls again), the gateway is killed with requests in flight, and on the real server the
 * server itself is killed and started again over its database. Senders retry the same message id, as the docs
 * tell a client to. Then everything is read back: each message answered exactly once in its transcript, each
 * webhook reply applied once by its key, no conversation left with work open, no workflow task failed.
 *
 * Messages go out in rounds gated on the kills (round r once r * 5 kills have happened), so every round of
 * traffic meets kills, however fast the machine is.
 */
import { temporal } from '@temporalio/proto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RecordedRequest, ScriptStep } from '../../src/testing/scripted-model';
import type { Figures } from './figures';
import {
  activityRetries,
  allHistories,
  answeredOnce,
  countEvents,
  failedWorkflowTasks,
  unsettled,
  wholeTranscript,
} from './histories';
import type { Random } from './random';
import { AGENT, type Stack } from './stack';

const PART = '1. kill storm';
const CONVERSATIONS = 20;
const MESSAGES = 10;
const WORKER_KILLS = 50;
/** After these worker kills the gateway is killed too, and on the real server (second list) the server. */
const GATEWAY_KILLS_AT = new Set([8, 18, 28, 38, 48]);
const SERVER_CRASHES_AT = new Set([15, 35]);
/** How long a sender waits for one reply before it asks again with the same id. */
const REPLY_WAIT_MS = 120_000;
/** The whole storm's limit: a message still unanswered then is reported as stuck. */
const STORM_LIMIT_MS = 25 * 60_000;

type Kind = 'plain' | 'tool' | 'approve';

interface Planned {
  conversationId: string;
  id: string;
  kind: Kind;
  route: 'gateway' | 'client';
  webhook: boolean;
  round: number;
}

function plan(tag: string): Planned[] {
  const messages: Planned[] = [];
  for (let c = 0; c < CONVERSATIONS; c++) {
    for (let m = 0; m < MESSAGES; m++) {
      messages.push({
        conversationId: `storm-${tag}-${String(c).padStart(2, '0')}`,
        id: `c${c}-m${m}-${tag}`,
        kind: m === 4 ? 'approve' : m % 3 === 1 ? 'tool' : 'plain',
        route: c % 2 === 0 ? 'gateway' : 'client',
        webhook: c % 5 === 4,
        round: m,
      });
    }
  }
  return messages;
}

/** What the model answers, from the conversation so far: the same for a retried call as for the first. */
export function stormModel(random: Random): (request: RecordedRequest) => ScriptStep {
  return (request) => {
    const messages = request.body.messages;
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const [kind, id] = (typeof lastUser?.content === 'string' ? lastUser.content : '').split(' ');
    const last = messages.at(-1);
    // Some calls take a while, so that kills land in the middle of them.
    const delayMs = random.int(0, 400);
    if (last?.role === 'tool') {
      const output = typeof last.content === 'string' ? last.content : JSON.stringify(last.content);
      return { content: `done ${id}: ${output}`, delayMs };
    }
    if (kind === 'tool') return { toolCalls: [{ id: `add-${id}`, name: 'add', arguments: '{"a":2,"b":3}' }], delayMs };
    if (kind === 'approve') {
      return { toolCalls: [{ id: `transfer-${id}`, name: 'transfer', arguments: '{"amount":5}' }], delayMs };
    }
    return { content: `answer ${id}`, delayMs };
  };
}

/**
 * The answer a message must get. A tool call whose every attempt was cut off by a kill is given to the model as a
 * failed result (src/workflows/turn.ts), and the model answers with that: the message is still answered once.
 */
function expectedAnswer(kind: Kind, id: string, answer: string): boolean {
  if (kind === 'plain') return answer === `answer ${id}`;
  const tool = kind === 'tool' ? 'add' : 'transfer';
  return (
    answer === `done ${id}: ${kind === 'tool' ? '5' : 'moved 5'}` ||
    answer.startsWith(`done ${id}: Error: ${tool} did not finish`)
  );
}

export async function killStorm(stack: Stack, figures: Figures, random: Random, tag: string): Promise<void> {
  const started = Date.now();
  stack.model.respondWith(stormModel(random));
  const messages = plan(tag);
  const byId = new Map(messages.map((m) => [m.id, m]));
  const counts = {
    retries: 0,
    http500: 0,
    statuses: new Map<number, number>(),
    gatewayInFlight: 0,
    cutOff: 0,
    wrongReplies: [] as string[],
  };

  // The kills, and the rounds of traffic they release.
  let kills = 0;
  const roundWaiters: { round: number; resolve: () => void }[] = [];
  const releaseRounds = () => {
    for (const w of roundWaiters.filter((w) => kills >= w.round * (WORKER_KILLS / MESSAGES))) {
      roundWaiters.splice(roundWaiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const roundOpen = (round: number) =>
    new Promise<void>((resolve) => {
      roundWaiters.push({ round, resolve });
      releaseRounds();
    });
  let gatewayKills = 0;
  let serverCrashes = 0;
  const killer = (async () => {
    while (kills < WORKER_KILLS) {
      await sleep(random.int(100, 2_500));
      await stack.worker.kill();
      kills++;
      if (GATEWAY_KILLS_AT.has(kills)) {
        counts.cutOff += counts.gatewayInFlight;
        await stack.gateway.kill();
        gatewayKills++;
        await stack.startGateway();
      }
      if (SERVER_CRASHES_AT.has(kills) && stack.backend.crashAndRestart) {
        await stack.backend.crashAndRestart();
        serverCrashes++;
      }
      await stack.startWorker();
      releaseRounds();
    }
  })();

  // One sender per conversation, its messages one after another, each retried with its id until answered.
  const retry = async <T>(what: () => Promise<T | undefined>): Promise<T> => {
    for (;;) {
      if (Date.now() - started > STORM_LIMIT_MS) throw new Error('the storm ran out of time');
      const result = await what().catch(() => undefined);
      if (result !== undefined) return result;
      counts.retries++;
      await sleep(250);
    }
  };

  const viaGateway = async (message: Planned): Promise<string | undefined> => {
    const { conversationId, id, kind, webhook } = message;
    const query = webhook ? '?wait=false' : `?timeoutMs=${REPLY_WAIT_MS}`;
    const url = `${stack.gatewayURL}/agents/${AGENT}/conversations/${conversationId}/messages${query}`;
    counts.gatewayInFlight++;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { ...stack.auth, 'content-type': 'application/json' },
        body: JSON.stringify({
          id,
          content: `${kind} ${id}`,
          ...(webhook ? { channel: { type: 'webhook', url: stack.receiver.url } } : {}),
        }),
      });
      counts.statuses.set(response.status, (counts.statuses.get(response.status) ?? 0) + 1);
      if (response.status === 500) counts.http500++;
      if (response.status === 202) return '';
      if (response.status !== 200) return undefined;
      const { reply } = (await response.json()) as { reply: { content: string } };
      return reply.content;
    } finally {
      counts.gatewayInFlight--;
    }
  };

  const viaClient = async (message: Planned): Promise<string> => {
    const { conversationId, id, kind, webhook } = message;
    const content = `${kind} ${id}`;
    if (webhook) {
      await stack.agents.post(AGENT, conversationId, {
        id,
        content,
        channel: { type: 'webhook', url: stack.receiver.url },
      });
      return '';
    }
    const reply = await stack.agents.send(AGENT, conversationId, { id, content }, { timeoutMs: REPLY_WAIT_MS });
    return reply.content;
  };

  const approve = async (message: Planned): Promise<void> => {
    const toolCallId = `transfer-${message.id}`;
    const pending = async () =>
      (await stack.agents.state(AGENT, message.conversationId)).pendingApprovals.some(
        (p) => p.toolCallId === toolCallId,
      );
    // Waits for the request to appear, then answers it until it is no longer pending.
    await retry(async () => ((await pending()) ? true : undefined));
    await retry(async () => {
      if (!(await pending())) return true;
      if (message.route === 'client') {
        await stack.agents.decide(AGENT, message.conversationId, { toolCallId, decision: 'approve' });
      } else {
        const url = `${stack.gatewayURL}/agents/${AGENT}/conversations/${message.conversationId}/approvals/${toolCallId}`;
        const response = await fetch(url, {
          method: 'POST',
          headers: { ...stack.auth, 'content-type': 'application/json' },
          body: JSON.stringify({ decision: 'approve' }),
        });
        if (response.status === 500) counts.http500++;
      }
      return undefined;
    });
  };

  const sendOne = async (message: Planned): Promise<void> => {
    await roundOpen(message.round);
    const approval = message.kind === 'approve' ? approve(message) : Promise.resolve();
    const reply = await retry(() => (message.route === 'gateway' ? viaGateway(message) : viaClient(message)));
    if (message.webhook) {
      await stack.receiver.delivery(message.id);
    } else if (!expectedAnswer(message.kind, message.id, reply)) {
      counts.wrongReplies.push(`${message.id}: ${reply.slice(0, 80)}`);
    }
    await approval;
  };

  const conversations = [...new Set(messages.map((m) => m.conversationId))];
  const senders = conversations.map(async (conversationId) => {
    for (const message of messages.filter((m) => m.conversationId === conversationId)) await sendOne(message);
  });
  const limitReached = new AbortController();
  const limit = sleep(STORM_LIMIT_MS, 'limit' as const, { signal: limitReached.signal }).catch(() => 'done' as const);
  const outcome = await Promise.race([Promise.all([killer, ...senders]).then(() => 'done' as const), limit]);
  limitReached.abort();
  const trafficSeconds = (Date.now() - started) / 1000;

  // Everything read back once the storm is over.
  let answered = 0;
  const problems: string[] = [];
  let notAtRest = 0;
  let toolsGivenUp = 0;
  for (const conversationId of conversations) {
    const ids = messages.filter((m) => m.conversationId === conversationId).map((m) => m.id);
    const entries = await wholeTranscript(stack.agents, AGENT, conversationId);
    toolsGivenUp += entries.filter((e) => e.role === 'tool' && e.isError).length;
    const result = answeredOnce(entries, ids, (id, answer) => expectedAnswer(byId.get(id)!.kind, id, answer));
    answered += result.answered;
    problems.push(...result.problems.map((p) => `${conversationId}: ${p}`));
    const why = unsettled(await stack.agents.state(AGENT, conversationId));
    if (why) {
      notAtRest++;
      problems.push(`${conversationId}: ${why}`);
    }
  }
  const webhookIds = messages.filter((m) => m.webhook).map((m) => m.id);
  const appliedPerMessage = new Map<string, number>();
  for (const delivery of stack.receiver.applied.values()) {
    const id = delivery.body.reply.messageId;
    appliedPerMessage.set(id, (appliedPerMessage.get(id) ?? 0) + 1);
  }
  const appliedOnce = webhookIds.filter((id) => appliedPerMessage.get(id) === 1).length;
  const histories = (await allHistories(stack.client)).filter((h) => h.workflowId.includes(`storm-${tag}-`));
  const EventType = temporal.api.enums.v1.EventType;

  figures.note(
    PART,
    'messages sent (gateway / AgentClient)',
    `${messages.length} (${messages.length / 2} / ${messages.length / 2})`,
  );
  figures.check(PART, 'worker SIGKILLs (process group)', kills, kills >= WORKER_KILLS);
  figures.note(PART, 'gateway SIGKILLs (requests cut off)', `${gatewayKills} (${counts.cutOff})`);
  if (stack.backend.crashAndRestart)
    figures.note(PART, 'Temporal server SIGKILLs, restarted on its database', serverCrashes);
  figures.check(
    PART,
    'messages answered exactly once in the transcript',
    `${answered}/${messages.length}`,
    answered === messages.length,
  );
  figures.zero(PART, "replies to the sender not its message's answer", counts.wrongReplies.length);
  figures.note(PART, 'tool calls given up, every attempt killed (the model told)', toolsGivenUp);
  figures.check(
    PART,
    'webhook replies applied once by key',
    `${appliedOnce}/${webhookIds.length} (${stack.receiver.requests.length - stack.receiver.applied.size} redeliveries)`,
    appliedOnce === webhookIds.length,
  );
  figures.zero(PART, 'conversations not at rest afterwards', notAtRest);
  figures.zero(PART, 'workflow tasks failed', failedWorkflowTasks(histories));
  figures.note(
    PART,
    'workflow tasks timed out (a worker died holding them)',
    countEvents(histories, EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT),
  );
  figures.note(PART, 'activity retries', activityRetries(histories));
  figures.note(PART, 'requests made again (sends with the same id, approval polls)', counts.retries);
  figures.zero(PART, 'HTTP 500 answers', counts.http500);
  figures.note(
    PART,
    'gateway answers by status',
    [...counts.statuses]
      .sort()
      .map(([s, n]) => `${s}: ${n}`)
      .join(', '),
  );
  figures.check(PART, 'time to answer everything', `${trafficSeconds.toFixed(0)} s`, outcome === 'done');
  for (const problem of [...problems, ...counts.wrongReplies].slice(0, 20))
    process.stderr.write(`  ${PART}: ${problem}\n`);
}
