/**
 * Part 2, bad input: over 10,000 requests that fast-check generates against every gateway route and the signed
 * webhook route (wrong types, huge and deeply nested bodies, unicode and NUL, prototype-pollution keys, ids with
 * `:` and path tricks, huge headers, wrong content types, truncated JSON, absurd query numbers, missing and wrong
 * tokens and signatures), 16 at a time over raw node:http so that paths and headers go exactly as generated; then
 * malformed `send` updates and `message` signals straight through a Temporal client, some of them as payloads no
 * converter wrote (another SDK's encodings, JSON cut short).
 *
 * Every request that could change something is invalid by construction: one the gateway would take, aimed at one
 * of a few target conversations with real turns (one of them waiting for an approval), with at least one fault
 * the gateway must refuse. So there is no valid input to tell apart: any 2xx to such a request, any trace of it in
 * a history, any change to a target, any conversation or schedule it started is a finding. Each input carries a
 * marker (`bad-<tag>-<n>z` over HTTP, `upd-…` and `sig-…` through Temporal) that is looked for in every history
 * afterwards, with the claims of the content store resolved. A signal cannot be refused: Temporal records it
 * before the workflow sees it, so signal markers are in history by design. What must hold for signals is that the
 * workflow drops each malformed one (it logs each) and no target changes. At the end the targets must still work
 * through the gateway: the waiting approval is granted and its turn finishes, and a new message is answered.
 *
 * Forged claims of the content store's external storage are among the raw payloads (an unknown driver, no content
 * reference, a path for one, a reference the store does not have): the SDK resolves them before any workflow code
 * runs, and they must be dropped or refused like any other unreadable payload.
 */
import fc from 'fast-check';
import http from 'node:http';
import { type WorkflowHandle } from '@temporalio/client';
import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conversationWorkflowId, messageSignal } from '../../src/conversation/protocol';
import { type Figures } from './figures';
import { allHistories } from './histories';
import { type Random } from './random';
import { AGENT, type Stack } from './stack';
import { approvalRoute, conversationRoutes, eventRoutes, messageRoutes } from './bad-input/conversation-routes';
import type { Draft, Route, Targets } from './bad-input/drafts';
import { pool, render, send } from './bad-input/http-requests';
import { chatRoutes, otherRoutes, scheduleRoutes, webhookRoute } from './bad-input/other-routes';
import {
  badInputModel,
  droppedSignals,
  firstDifference,
  historyText,
  snapshot,
  workflowIds,
} from './bad-input/reading-back';
import { type UpdateOutcome, badTemporalMessage, sendBadUpdate } from './bad-input/temporal-inputs';

const PART = '2. bad input';
const HTTP_REQUESTS = 10_500;
const IN_FLIGHT = 16;
const UPDATES = 300;
const SIGNALS = 200;

function requestArbitrary(routes: Route[]): fc.Arbitrary<(marker: string) => Draft> {
  return fc.oneof(
    ...routes.map((route) => ({
      weight: route.weight,
      arbitrary: fc
        .tuple(
          route.template,
          fc.array(route.faults, { minLength: route.changes && !route.alwaysRefused ? 1 : 0, maxLength: 3 }),
          fc.array(route.oddities, { maxLength: 2 }),
        )
        .map(([template, faults, odd]) => (marker: string) => {
          const d = template(marker);
          const mods = [...odd, ...faults].sort((a, b) => a.stage - b.stage);
          for (const mod of mods) {
            mod.apply(d, marker);
            if (mod.fault) d.faults.push(mod.name);
          }
          if (route.alwaysRefused && d.faults.length === 0) d.faults.push(route.alwaysRefused);
          return d;
        }),
    })),
  );
}

// ---- The part --------------------------------------------------------------------------------------------------

export async function badInput(stack: Stack, figures: Figures, random: Random, tag: string): Promise<void> {
  const started = Date.now();
  stack.model.respondWith(badInputModel);

  // The targets: conversations with real turns, and one whose turn waits for an approval.
  const awaitingId = `bad-${tag}-awaiting`;
  const targets: Targets = {
    idle: [0, 1, 2].map((i) => `bad-${tag}-target-${i}`),
    awaiting: { conversationId: awaitingId, toolCallId: `transfer-${tag}` },
    all: [],
  };
  targets.all = [...targets.idle, awaitingId];
  for (const conversationId of targets.idle) {
    for (const i of [1, 2]) {
      await stack.agents.send(AGENT, conversationId, { id: `${conversationId}-m${i}`, content: `real ${i}` });
    }
  }
  await stack.agents.post(AGENT, awaitingId, { id: `${awaitingId}-m1`, content: `approve ${tag}` });
  const watching = new AbortController();
  const giveUp = setTimeout(() => watching.abort(), 60_000);
  let asked = false;
  for await (const { event } of stack.agents.events(AGENT, awaitingId, { fromOffset: 0, signal: watching.signal })) {
    asked = event.type === 'tool.awaiting_approval';
    if (asked) break;
  }
  clearTimeout(giveUp);
  watching.abort();
  if (!asked) throw new Error(`${awaitingId} asked for no approval within 60 s`);

  const before = new Map<string, string>();
  for (const conversationId of targets.all) before.set(conversationId, await snapshot(stack, conversationId));
  const workflowsBefore = await workflowIds(stack);
  const workerLog = join(stack.runDir, 'worker.log');
  const workerLogFrom = readFileSync(workerLog, 'utf8').length;
  const starts = { gateway: stack.gateway.starts, worker: stack.worker.starts };

  // The HTTP barrage.
  const routes = [
    ...messageRoutes(targets),
    ...conversationRoutes(targets),
    approvalRoute(targets),
    ...eventRoutes(targets),
    ...chatRoutes(targets),
    webhookRoute(targets),
    ...scheduleRoutes(targets),
    ...otherRoutes(targets),
  ];
  const shots = fc
    .sample(requestArbitrary(routes), { numRuns: HTTP_REQUESTS, seed: random.seed })
    .map((build, n) => render(stack, build(`bad-${tag}-${n}z`), `bad-${tag}-${n}z`));
  const httpStarted = Date.now();
  const statuses = new Map<number, number>();
  const routesHit = new Set<string>();
  const answers: string[] = [];
  const serverErrors: string[] = [];
  const taken: string[] = [];
  const lost: string[] = [];
  let unsendable = 0;
  let closedUnread = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  await pool(shots, IN_FLIGHT, async (shot) => {
    const answer = await send(stack, agent, shot);
    routesHit.add(shot.route);
    const what = `${shot.method} ${shot.path.slice(0, 160)} [${shot.faults.join(', ') || 'no fault'}]`;
    if (answer.unsendable) {
      unsendable++;
      return;
    }
    if (answer.closedUnread) {
      closedUnread++;
      return;
    }
    answers.push(`${answer.status} ${answer.text}`);
    if (answer.lost) {
      lost.push(`${what}: ${answer.lost}`);
      return;
    }
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    if (answer.status >= 500) serverErrors.push(`${answer.status} ${what}: ${answer.text.slice(0, 300)}`);
    if (shot.faults.length > 0 && answer.status < 300)
      taken.push(`${answer.status} ${what}: ${answer.text.slice(0, 300)}`);
  });
  agent.destroy();
  const httpSeconds = (Date.now() - httpStarted) / 1000;
  appendFileSync(join(stack.runDir, 'answers.log'), `${answers.join('\n')}\n`);

  // Malformed updates and signals, straight through the deployment's Temporal client.
  const temporalStarted = Date.now();
  const messages = badTemporalMessage(stack.receiver.url);
  const handle = (conversationId: string): WorkflowHandle =>
    stack.client.workflow.getHandle(conversationWorkflowId(AGENT, conversationId));
  const updates = fc
    .sample(
      fc.tuple(messages, fc.constantFrom(...targets.all), fc.constantFrom<'execute' | 'start'>('execute', 'start')),
      {
        numRuns: UPDATES,
        seed: random.seed + 1,
      },
    )
    .map(([build, conversationId, how], n) => ({ input: build(`upd-${tag}-${n}z`), conversationId, how }));
  const signals = fc
    .sample(fc.tuple(messages, fc.constantFrom(...targets.all)), { numRuns: SIGNALS, seed: random.seed + 2 })
    .map(([build, conversationId], n) => ({ input: build(`sig-${tag}-${n}z`), conversationId }));
  const updateOutcomes = new Map<UpdateOutcome, number>();
  const updateProblems: string[] = [];
  await pool(updates, 8, async ({ input, conversationId, how }) => {
    const { outcome, detail } = await sendBadUpdate(stack, handle(conversationId), input, how);
    updateOutcomes.set(outcome, (updateOutcomes.get(outcome) ?? 0) + 1);
    if (outcome !== 'refused')
      updateProblems.push(`${outcome}: ${input.marker} (${input.fault}, ${how}) ${detail ?? ''}`);
  });
  const signalProblems: string[] = [];
  await pool(signals, 8, async ({ input, conversationId }) => {
    const target = handle(conversationId);
    try {
      if (input.payloads) {
        await stack.client.workflowService.signalWorkflowExecution({
          namespace: stack.client.options.namespace,
          workflowExecution: { workflowId: target.workflowId },
          signalName: messageSignal.name,
          input: { payloads: input.payloads },
          identity: 'bad-input',
        });
      } else {
        await target.signal(messageSignal.name, ...input.args);
      }
    } catch (error) {
      signalProblems.push(`${input.marker} (${input.fault}) to ${conversationId}: ${(error as Error).message}`);
    }
  });
  // An update after them all: a conversation has handled every signal before it answers it (this one is refused).
  for (const conversationId of targets.all) {
    const fence = { marker: `fence-${tag}-${conversationId}`, fault: 'fence', args: [{ content: '' }] };
    await sendBadUpdate(stack, handle(conversationId), fence, 'execute');
  }
  const dropped = await droppedSignals(workerLog, workerLogFrom, signals.length);
  const temporalSeconds = (Date.now() - temporalStarted) / 1000;

  // What the bad input left behind.
  const changed: string[] = [];
  for (const conversationId of targets.all) {
    const after = await snapshot(stack, conversationId);
    const was = before.get(conversationId)!;
    if (after !== was) changed.push(`${conversationId}: ${firstDifference(was, after)}`);
  }
  const text = await historyText(stack, await allHistories(stack.client));
  const found = [...new Set(text.match(new RegExp(`(bad|upd)-${tag}-\\d+z`, 'g')) ?? [])];
  const started_ = [...(await workflowIds(stack))].filter((id) => !workflowsBefore.has(id));
  for await (const schedule of stack.client.schedule.list()) started_.push(`schedule ${schedule.scheduleId}`);

  // The targets still work, through the gateway: the approval is granted and its turn finishes (asking again for
  // a message answers with its reply once there is one), and a new message is answered.
  const gateway = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.gatewayURL}${path}`, {
      method,
      headers: { ...stack.auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json().catch(() => undefined)) as { reply?: { content: string } },
    };
  };
  const healthz = await fetch(`${new URL(stack.gatewayURL).origin}/healthz`).then(
    (r) => r.status,
    () => 0,
  );
  const conversations = `/agents/${AGENT}/conversations`;
  const approval = await gateway('POST', `${conversations}/${awaitingId}/approvals/${targets.awaiting.toolCallId}`, {
    decision: 'approve',
  });
  const approved = await gateway('POST', `${conversations}/${awaitingId}/messages`, {
    id: `${awaitingId}-m1`,
    content: `approve ${tag}`,
  });
  const turn = await gateway('POST', `${conversations}/${targets.idle[0]}/messages`, {
    id: `bad-${tag}-after`,
    content: 'still there?',
  });
  const afterwards = [
    healthz === 200 ? '' : `healthz ${healthz}`,
    approval.status === 200 ? '' : `approval ${approval.status}`,
    approved.body.reply?.content === 'done: moved 7'
      ? ''
      : `approved turn ${JSON.stringify(approved.body).slice(0, 200)}`,
    turn.body.reply?.content === 'echo still there?' ? '' : `new turn ${JSON.stringify(turn.body).slice(0, 200)}`,
    stack.gateway.starts === starts.gateway && stack.worker.starts === starts.worker ? '' : 'a process was restarted',
  ].filter(Boolean);

  const classes = [2, 3, 4, 5].map((c) => {
    const count = [...statuses].filter(([s]) => Math.floor(s / 100) === c).reduce((sum, [, k]) => sum + k, 0);
    return `${c}xx ${count}`;
  });
  figures.note(PART, 'HTTP requests (routes, in flight)', `${shots.length} (${routesHit.size}, ${IN_FLIGHT})`);
  figures.note(PART, 'answers by status class', classes.join(', '));
  figures.note(
    PART,
    'answers by status',
    [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, k]) => `${s}: ${k}`)
      .join(', '),
  );
  figures.note(PART, "requests Node's client would not send (raw paths)", unsendable);
  figures.note(PART, 'bodies over the limit cut off by the gateway (413 unread)', closedUnread);
  figures.zero(PART, '5xx answers', serverErrors.length);
  figures.zero(PART, 'requests without an answer', lost.length);
  figures.zero(PART, 'invalid requests answered 2xx', taken.length);
  figures.note(
    PART,
    'malformed send updates / message signals (Temporal client)',
    `${updates.length} / ${signals.length}`,
  );
  figures.zero(PART, 'send updates not refused', updateProblems.length);
  figures.zero(PART, 'signals Temporal did not take', signalProblems.length);
  figures.check(
    PART,
    'malformed signals dropped by the workflow (worker log)',
    `${dropped}/${signals.length}`,
    dropped === signals.length,
  );
  // Requests and updates; signals are recorded by Temporal before the workflow sees them, so theirs are left out.
  figures.zero(PART, 'refused requests and updates found in a history', found.length);
  figures.zero(PART, 'conversations or schedules started by bad input', started_.length);
  figures.check(
    PART,
    'target conversations unchanged (state, transcript)',
    `${targets.all.length - changed.length}/${targets.all.length}`,
    changed.length === 0,
  );
  figures.check(
    PART,
    'targets served afterwards (approval, a turn), no process restarted',
    afterwards.length === 0 ? 'yes' : 'no',
    afterwards.length === 0,
  );
  figures.note(
    PART,
    'seconds (HTTP / Temporal client / all)',
    `${httpSeconds.toFixed(0)} / ${temporalSeconds.toFixed(0)} / ${((Date.now() - started) / 1000).toFixed(0)}`,
  );

  const problems = [
    ...serverErrors.map((p) => `5xx: ${p}`),
    ...lost.map((p) => `no answer: ${p}`),
    ...taken.map((p) => `taken: ${p}`),
    ...updateProblems.map((p) => `update ${p}`),
    ...signalProblems.map((p) => `signal ${p}`),
    ...found.map((m) => `in a history: ${m}`),
    ...started_.map((id) => `started: ${id}`),
    ...changed.map((c) => `changed: ${c}`),
    ...afterwards.map((a) => `afterwards: ${a}`),
  ];
  for (const problem of problems.slice(0, 40)) process.stderr.write(`  ${PART}: ${problem.slice(0, 500)}\n`);
}
