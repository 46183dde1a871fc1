/**
 * Part 3, limits: what a deployment does with inputs at and past the sizes and counts Temporal allows. Each must
 * end in a clear refusal or a stored payload, never a terminated run or a workflow task retrying for ever, and the
 * conversation must go on after it.
 *
 * - Messages of 100,000 characters (the most a message may carry), 1 MB and 3 MB, through AgentClient and the
 *   gateway (whose body limit is 1 MiB); and 3 MB through a raw Temporal client that skips the typed client's
 *   checks: a `send` update, a `message` signal, and a signal from a client without the content store.
 * - A tool whose output is 5 MB, more than Temporal takes in one payload (2 MB) or one gRPC message (4 MB).
 * - A burst of `post` signals to one conversation, 64 senders at once, past the 10,000 signals Temporal lets a
 *   run take. Every signal that starts a turn is a turn of its own, and a turn costs the real server some 200 ms
 *   here (the in-process one 55 ms): 10,000 turns would take half an hour. So the burst is 500 messages each
 *   posted 21 times, as clients that retry (or a fan-out that repeats) send them: 10,500 signals, each counted
 *   against the run as Temporal counts them, and 500 turns. A run cannot continue as new while the burst goes on
 *   (each attempt is refused when a signal came in meanwhile; the real server does not even start a workflow task),
 *   so its first run takes 10,000 and the rest are refused: each must be refused as ConversationBusyError (the
 *   gateway's 429), which tells the sender to try again shortly, and is taken when posted again after a second.
 *   Each message is answered exactly once and its reply delivered to its channel once.
 * - 2,100 updates to an idle conversation that start no turn (a cancelTurn with nothing to cancel: a client that
 *   asks again and again), past the 2,000 updates Temporal allows a run, then sends through AgentClient and the
 *   gateway. Sends that each start a turn never get there: a conversation switches runs by its history's length
 *   first (some 300 turns a run); test/conversation/continue-as-new-limits.test.ts drives sends past a lowered
 *   limit.
 *
 * Afterwards every conversation of the part is at rest, and no workflow task failed except those Temporal fails
 * itself when a signal arrives while a run is continuing as new (UnhandledCommand: the worker decides again).
 * On this project's 2-core machine the part takes about 75 s in-process and 5 minutes on the real server, most of
 * it the burst's turns.
 */
import { Client, WorkflowUpdateFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { conversationWorkflowId, messageSignal, sendUpdate } from '../../src/conversation/protocol';
import type { RecordedRequest, ScriptStep } from '../../src/testing/scripted-model';
import type { Figures } from './figures';
import { allHistories, answeredOnce, countEvents, unsettled, wholeTranscript, type StoredHistory } from './histories';
import type { Random } from './random';
import { AGENT, type Stack } from './stack';

const PART = '3. limits';
const EventType = temporal.api.enums.v1.EventType;
const WorkflowTaskFailedCause = temporal.api.enums.v1.WorkflowTaskFailedCause;

const MAX_MESSAGE_CHARS = 100_000;
const MB = 1_000_000;
const TOOL_OUTPUT_CHARS = 5 * MB;
/** Temporal refuses a payload over this (limit.blobSize.error), and a gRPC message over 4 MiB. */
const TEMPORAL_PAYLOAD_LIMIT = 2 * 1024 * 1024;

const BURST_MESSAGES = 500;
const BURST_REPEATS = 21;
const BURST_SENDERS = 64;
/** Temporal's limit on the signals of one run (history.maximumSignalsPerExecution). */
const SIGNAL_LIMIT = 10_000;
/** How long the burst's turns may take, from the first signal: about three times what they take on each server. */
const BURST_LIMIT_MS = { 'in-process': 4 * 60_000, real: 10 * 60_000 } as const;

/** Temporal's limit on the updates of one run (history.maxTotalUpdates), and how far past it the part goes. */
const UPDATE_LIMIT = 2_000;
const IDLE_UPDATES = 2_100;
const UPDATE_SENDERS = 10;
const SENDS_AFTER = 20;

export async function limits(stack: Stack, figures: Figures, random: Random, tag: string): Promise<void> {
  const started = Date.now();
  stack.model.reset();
  stack.model.respondWith(limitsModel);
  const conversations = {
    messages: `limits-${tag}-messages`,
    plain: `limits-${tag}-messages-plain`,
    tool: `limits-${tag}-tool`,
    burst: `limits-${tag}-burst`,
    updates: `limits-${tag}-updates`,
  };
  try {
    await largeMessages(stack, figures, random, conversations.messages);
    await largeToolOutput(stack, figures, conversations.tool);
    await signalBurst(stack, figures, random, conversations.burst);
    await pastTheUpdateLimit(stack, figures, conversations.updates);
  } finally {
    stack.model.reset();
  }

  // Every conversation of the part at rest, and no workflow task failed for a reason of Vigil's.
  const problems: string[] = [];
  for (const id of Object.values(conversations)) {
    const why = unsettled(await stack.agents.state(AGENT, id));
    if (why) problems.push(`${id}: ${why}`);
  }
  const ids = new Set(Object.values(conversations).map((id) => conversationWorkflowId(AGENT, id)));
  const histories = (await allHistories(stack.client)).filter((h) => ids.has(h.workflowId));
  const failed = failedTasksByCause(histories);
  const raced = failed.get('UnhandledCommand') ?? 0;
  failed.delete('UnhandledCommand');
  figures.zero(PART, 'conversations not at rest afterwards', problems.length);
  figures.zero(
    PART,
    'workflow tasks failed (other than UnhandledCommand)',
    [...failed.values()].reduce((a, b) => a + b, 0),
  );
  figures.note(PART, 'workflow tasks Temporal failed with UnhandledCommand (a signal came during a switch)', raced);
  figures.note(PART, 'part took', `${((Date.now() - started) / 1000).toFixed(0)} s`);
  for (const [cause, count] of failed) process.stderr.write(`  ${PART}: ${count} workflow tasks failed: ${cause}\n`);
  for (const problem of problems) process.stderr.write(`  ${PART}: ${problem}\n`);
}

/**
 * The model of this part: answers a message with its id and the length it was sent, calls the blob tool when asked,
 * says how much of a tool's output it was sent, and answers a summary request with a short summary.
 */
function limitsModel(request: RecordedRequest): ScriptStep {
  const messages = request.body.messages;
  const first = messages[0];
  if (first?.role === 'system' && textOf(first.content).includes('running summary of a conversation')) {
    return { content: 'The user sent long messages; the assistant said how long they were.' };
  }
  const last = messages.at(-1);
  if (last?.role === 'tool')
    return { content: `the tool's output reached me as ${textOf(last.content).length} characters` };
  const text = textOf(last?.content);
  const [kind, id, size] = text.slice(0, 200).split(' ');
  if (kind === 'blob') {
    return { toolCalls: [{ id: `blob-${id}`, name: 'blob', arguments: JSON.stringify({ size: Number(size) }) }] };
  }
  return { content: `answer ${id} (${text.length} characters)` };
}

function textOf(content: unknown): string {
  return typeof content === 'string' ? content : JSON.stringify(content ?? '');
}

// ---- messages -----------------------------------------------------------------------------------------------

async function largeMessages(stack: Stack, figures: Figures, random: Random, conversationId: string): Promise<void> {
  const message = (id: string, chars: number) => ({ id, content: fill(`size ${id} `, chars, random) });
  const answers = (id: string) => (reply: { content: string }) => reply.content.startsWith(`answer ${id} `);
  const sent: string[] = [];

  // The most a message may carry, by each path: answered, and stored rather than put in history whole.
  const largest = message(`max-client`, MAX_MESSAGE_CHARS);
  let t = Date.now();
  const viaClient = await stack.agents.send(AGENT, conversationId, largest);
  const clientSeconds = seconds(t);
  sent.push(largest.id);
  const largestViaGateway = message('max-gateway', MAX_MESSAGE_CHARS);
  t = Date.now();
  const viaGateway = await postMessage(stack, conversationId, largestViaGateway);
  const gatewaySeconds = seconds(t);
  sent.push(largestViaGateway.id);
  const modelSaw = stack.model.requests
    .map((r) => r.body.messages.at(-1))
    .filter((m) => m?.role === 'user' && textOf(m.content).startsWith('size max-client '))
    .map((m) => textOf(m!.content).length);
  figures.check(
    PART,
    `a ${MAX_MESSAGE_CHARS.toLocaleString('en')}-character message (the most allowed): AgentClient / gateway`,
    `answered in ${clientSeconds} s / ${viaGateway.status} answered in ${gatewaySeconds} s`,
    answers(largest.id)(viaClient) && viaGateway.status === 200 && answers(largestViaGateway.id)(viaGateway.reply!),
  );
  figures.note(
    PART,
    `of which the model was sent (its context window is 16,000 tokens)`,
    modelSaw.length > 0 ? `${modelSaw[0].toLocaleString('en')} characters` : 'nothing',
  );
  const cut = viaClient.cut?.message;
  figures.check(
    PART,
    'what tells the user the model was sent only part of it',
    cut
      ? `the reply's cut.message (${cut.sentChars.toLocaleString('en')} of ${cut.chars.toLocaleString('en')}) and a notice`
      : 'nothing',
    cut !== undefined && cut.chars === MAX_MESSAGE_CHARS,
  );

  // Past it: refused, before anything reaches Temporal.
  for (const size of [1 * MB, 3 * MB]) {
    const label = `${size / MB} MB`;
    const big = message(`big-${size}`, size);
    const refusal = await stack.agents.send(AGENT, conversationId, big).then(
      () => 'answered',
      (error: unknown) => describeError(error),
    );
    const viaHttp = await postMessage(stack, conversationId, { ...big, id: `${big.id}-gateway` });
    figures.check(
      PART,
      `a ${label} message: AgentClient`,
      refusal,
      refusal.startsWith('ValidationError') && refusal.includes(`message.content`) && refusal.includes('100000'),
    );
    figures.check(
      PART,
      `a ${label} message: gateway`,
      `${viaHttp.status} ${viaHttp.code}: ${excerpt(viaHttp.message, 70)}`,
      size > 1024 * 1024 ? viaHttp.status === 413 : viaHttp.status === 400,
    );
  }

  // Past the typed client's checks: the conversation's own validator refuses the update; the signal, which cannot
  // be refused, is dropped and logged; a client without the content store is refused by Temporal itself.
  const handle = stack.client.workflow.getHandle(conversationWorkflowId(AGENT, conversationId));
  const raw = message('raw-3mb', 3 * MB);
  const update = await handle.executeUpdate(sendUpdate, { args: [raw], updateId: `raw-${raw.id}` }).then(
    () => 'answered',
    (error: unknown) =>
      error instanceof WorkflowUpdateFailedError
        ? `refused: ${excerpt(error.cause?.message ?? '', 60)}`
        : describeError(error),
  );
  figures.check(
    PART,
    'a 3 MB send update from a raw Temporal client',
    update,
    update.startsWith('refused: invalid message'),
  );
  await handle.signal(messageSignal, { ...raw, id: 'raw-3mb-signal' });
  const dropped = await droppedSignalLogged(stack);
  figures.check(
    PART,
    'a 3 MB message signal from a raw Temporal client',
    dropped ? 'stored by the client, dropped by the conversation (logged)' : 'not seen in the worker log',
    dropped,
  );
  // A conversation of its own: a server that took it would hold it in that conversation's history.
  await stack.agents.send(AGENT, `${conversationId}-plain`, { id: 'plain-1', content: 'size plain-1 hello' });
  const plain = new Client({ connection: stack.connection });
  const bare = await plain.workflow
    .getHandle(conversationWorkflowId(AGENT, `${conversationId}-plain`))
    .signal(messageSignal, { ...raw, id: 'raw-3mb-plain' })
    .then(
      () => 'accepted',
      (error: unknown) => `refused by Temporal: ${excerpt(describeError(error), 90)}`,
    );
  const plainPayloads = payloadSizes(await historiesOf(stack, `${conversationId}-plain`));
  figures.check(
    PART,
    'a 3 MB message signal from a client without the content store',
    `${bare}${bare === 'accepted' ? ` (largest payload in its history: ${kib(plainPayloads.largest)})` : ''}`,
    bare.includes('Blob data size exceeds limit'),
  );

  // The conversation goes on, with every message it took and none it refused.
  const next = { id: 'after-large', content: 'size after-large are you there?' };
  const after = await stack.agents.send(AGENT, conversationId, next);
  sent.push(next.id);
  const entries = await wholeTranscript(stack.agents, AGENT, conversationId);
  const result = answeredOnce(entries, sent, (id, answer) => answer.startsWith(`answer ${id} `));
  figures.check(
    PART,
    'large messages: the next message answered; the transcript has exactly the messages taken',
    `${after.status}; ${result.answered}/${sent.length}${result.problems.length ? `, ${result.problems[0]}` : ''}`,
    after.status === 'completed' && result.answered === sent.length && result.problems.length === 0,
  );
  const payloads = payloadSizes(await historiesOf(stack, conversationId));
  figures.check(
    PART,
    'large messages: largest payload in history (content store claims)',
    `${kib(payloads.largest)} (${payloads.claims} claims)`,
    payloads.largest < TEMPORAL_PAYLOAD_LIMIT && payloads.claims > 0,
  );
}

// ---- a tool's output ----------------------------------------------------------------------------------------

async function largeToolOutput(stack: Stack, figures: Figures, conversationId: string): Promise<void> {
  const t = Date.now();
  const reply = await stack.agents.send(AGENT, conversationId, {
    id: 'blob-1',
    content: `blob blob-1 ${TOOL_OUTPUT_CHARS}`,
  });
  const took = seconds(t);
  const entries = await wholeTranscript(stack.agents, AGENT, conversationId);
  const output = entries.find((e) => e.role === 'tool');
  const stored = output?.role === 'tool' ? output.content.length : 0;
  figures.check(
    PART,
    'a 5 MB tool output: what the user gets',
    `${reply.status} in ${took} s: "${excerpt(reply.content, 60)}"`,
    reply.status === 'completed' && reply.content.startsWith("the tool's output reached me as"),
  );
  figures.check(
    PART,
    'a 5 MB tool output: in the transcript',
    `${stored.toLocaleString('en')} characters`,
    stored === TOOL_OUTPUT_CHARS,
  );
  const transcript = await fetch(
    `${stack.gatewayURL}/agents/${AGENT}/conversations/${conversationId}/messages?limit=500`,
    { headers: stack.auth },
  );
  const body = await transcript.text();
  figures.check(
    PART,
    'a 5 MB tool output: the transcript read through the gateway',
    `${transcript.status}, ${(body.length / MB).toFixed(1)} MB`,
    transcript.status === 200 && body.length > TOOL_OUTPUT_CHARS,
  );
  const next = await stack.agents.send(AGENT, conversationId, { id: 'blob-next', content: 'size blob-next thanks' });
  const payloads = payloadSizes(await historiesOf(stack, conversationId));
  figures.check(
    PART,
    'a 5 MB tool output: largest payload in history (content store claims); next message',
    `${kib(payloads.largest)} (${payloads.claims} claims); ${next.status}`,
    payloads.largest < TEMPORAL_PAYLOAD_LIMIT &&
      next.status === 'completed' &&
      next.content.startsWith('answer blob-next'),
  );
}

// ---- a burst of signals -------------------------------------------------------------------------------------

async function signalBurst(stack: Stack, figures: Figures, random: Random, conversationId: string): Promise<void> {
  const ids = Array.from({ length: BURST_MESSAGES }, (_, i) => `burst-${String(i).padStart(3, '0')}`);
  // Every message once first, then again in shuffled rounds: repeats land while the message waits, runs, or is
  // long answered.
  const signals = [...ids, ...Array.from({ length: BURST_REPEATS - 1 }, () => shuffled(ids, random)).flat()];
  const deadline = Date.now() + BURST_LIMIT_MS[stack.backend.kind];
  const refusals: string[] = [];
  /** Posts refused at least once, and of them those taken when posted again. */
  let refusedPosts = 0;
  let retried = 0;
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: BURST_SENDERS }, async () => {
      for (let i = next++; i < signals.length; i = next++) {
        const id = signals[i];
        // A refusal says to try again shortly: the sender does, with the same message, until it is taken.
        for (let attempt = 0; Date.now() < deadline; attempt++) {
          const refused = await stack.agents.post(AGENT, conversationId, { id, content: `burst ${id}` }).then(
            () => undefined,
            (error: unknown) => error,
          );
          if (refused === undefined) {
            if (attempt > 0) retried++;
            break;
          }
          refusals.push(describeError(refused));
          if (attempt === 0) refusedPosts++;
          await sleep(1_000);
        }
      }
    }),
  );
  const sendSeconds = (Date.now() - started) / 1000;

  // Then the turns, until the last message is answered or the time is up.
  let view = await stack.agents.state(AGENT, conversationId);
  while ((view.turns < BURST_MESSAGES || unsettled(view)) && Date.now() < deadline) {
    await sleep(1_000);
    view = await stack.agents.state(AGENT, conversationId);
  }
  const answerSeconds = (Date.now() - started) / 1000;
  const entries = await wholeTranscript(stack.agents, AGENT, conversationId);
  const result = answeredOnce(entries, ids, (id, answer) => answer.startsWith(`answer ${id} `));
  const delivered = deliveredReplies(stack, conversationId);
  const deliveredOnce = ids.filter((id) => delivered.get(id) === 1).length;
  const histories = await historiesOf(stack, conversationId);
  const signalsPerRun = histories
    .sort((a, b) => startedAt(a) - startedAt(b))
    .map((h) => countEvents([h], EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED));
  const busy = refusals.filter((r) => r.startsWith('ConversationBusyError')).length;

  figures.note(
    PART,
    'burst: signals (messages × posts each), senders at once',
    `${signals.length.toLocaleString('en')} (${BURST_MESSAGES} × ${BURST_REPEATS}), ${BURST_SENDERS} at once, ` +
      `in ${sendSeconds.toFixed(0)} s (${Math.round(signals.length / sendSeconds)}/s)`,
  );
  figures.check(
    PART,
    `burst: refused past Temporal's ${SIGNAL_LIMIT.toLocaleString('en')} a run (ConversationBusyError), taken when posted again`,
    `${refusedPosts} refused (${busy}/${refusals.length} refusals ConversationBusyError), ${retried} taken when posted again`,
    busy === refusals.length && retried === refusedPosts,
  );
  figures.check(
    PART,
    'burst: messages answered exactly once',
    `${result.answered}/${BURST_MESSAGES}`,
    result.answered === BURST_MESSAGES && result.problems.length === 0,
  );
  figures.check(
    PART,
    'burst: replies delivered to their channel (the log) once each',
    `${deliveredOnce}/${BURST_MESSAGES}`,
    deliveredOnce === BURST_MESSAGES,
  );
  figures.check(
    PART,
    'burst: time to answer everything (turns a second)',
    `${answerSeconds.toFixed(0)} s (${(result.answered / answerSeconds).toFixed(1)}/s)`,
    !unsettled(view) && view.turns === BURST_MESSAGES,
  );
  figures.note(PART, 'burst: signals of each run of the conversation', signalsPerRun.join(', '));
  for (const problem of [
    ...refusals.filter((r) => !r.startsWith('ConversationBusyError')).slice(0, 3),
    ...result.problems.slice(0, 10),
  ])
    process.stderr.write(`  ${PART}: burst: ${problem}\n`);
}

function startedAt(history: StoredHistory): number {
  const time = history.events[0]?.eventTime;
  return time ? Number(time.seconds) * 1000 + Math.floor((time.nanos ?? 0) / 1e6) : 0;
}

/** How many times the worker delivered each message's reply to the log channel, from its log. */
function deliveredReplies(stack: Stack, conversationId: string): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of readFileSync(join(stack.runDir, 'worker.log'), 'utf8').split('\n')) {
    if (!line.includes('"reply delivered"') || !line.includes(conversationId)) continue;
    const entry = JSON.parse(line) as { conversationId?: string; messageId?: string; msg?: string };
    if (entry.msg !== 'reply delivered' || entry.conversationId !== conversationId || !entry.messageId) continue;
    counts.set(entry.messageId, (counts.get(entry.messageId) ?? 0) + 1);
  }
  return counts;
}

// ---- past the update limit ----------------------------------------------------------------------------------

async function pastTheUpdateLimit(stack: Stack, figures: Figures, conversationId: string): Promise<void> {
  const sent = ['u-first'];
  await stack.agents.send(AGENT, conversationId, { id: 'u-first', content: 'size u-first hello' });
  const refusals: string[] = [];
  let answered = 0;
  const started = Date.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: UPDATE_SENDERS }, async () => {
      while (next++ < IDLE_UPDATES) {
        await stack.agents.cancelTurn(AGENT, conversationId).then(
          (result) => {
            if (!result.cancelled) answered++;
          },
          (error: unknown) => refusals.push(describeError(error)),
        );
      }
    }),
  );
  const updateSeconds = seconds(started);

  // Then sends, half through the gateway: each answered as always.
  const replies: string[] = [];
  for (let i = 1; i <= SENDS_AFTER; i++) {
    const id = `u-after-${i}`;
    sent.push(id);
    const content = `size ${id} still there?`;
    if (i % 2 === 0) {
      const answer = await postMessage(stack, conversationId, { id, content });
      replies.push(
        answer.status === 200 ? answer.reply!.content : `${answer.status} ${answer.code}: ${answer.message}`,
      );
    } else {
      replies.push(
        await stack.agents.send(AGENT, conversationId, { id, content }).then(
          (reply) => reply.content,
          (error: unknown) => describeError(error),
        ),
      );
    }
  }
  const wrong = replies.filter((reply, i) => !reply.startsWith(`answer u-after-${i + 1} `));
  const histories = await historiesOf(stack, conversationId);
  const updatesPerRun = histories.map((h) => countEvents([h], EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED));
  const entries = await wholeTranscript(stack.agents, AGENT, conversationId);
  const result = answeredOnce(entries, sent, (id, answer) => answer.startsWith(`answer ${id} `));

  figures.check(
    PART,
    `updates that start no turn, to an idle conversation: answered`,
    `${answered}/${IDLE_UPDATES} in ${updateSeconds} s`,
    answered === IDLE_UPDATES,
  );
  figures.zero(PART, 'updates refused', refusals.length);
  figures.check(
    PART,
    `then ${SENDS_AFTER} sends (AgentClient and gateway): answered`,
    `${SENDS_AFTER - wrong.length}/${SENDS_AFTER}${wrong.length ? `: ${excerpt(wrong[0], 80)}` : ''}`,
    wrong.length === 0 && result.answered === sent.length,
  );
  figures.check(
    PART,
    `runs of the conversation (most updates in one run; Temporal allows ${UPDATE_LIMIT})`,
    `${histories.length} (${Math.max(...updatesPerRun)})`,
    histories.length >= 2 && Math.max(...updatesPerRun) < UPDATE_LIMIT,
  );
  for (const refusal of refusals.slice(0, 3)) process.stderr.write(`  ${PART}: update refused: ${refusal}\n`);
}

// ---- helpers ------------------------------------------------------------------------------------------------

interface GatewayAnswer {
  status: number;
  reply?: { content: string; status: string };
  code?: string;
  message?: string;
}

/** POST …/messages, waiting for the reply; a refusal's code and message, or the reply. */
async function postMessage(
  stack: Stack,
  conversationId: string,
  message: { id: string; content: string },
): Promise<GatewayAnswer> {
  const response = await fetch(
    `${stack.gatewayURL}/agents/${AGENT}/conversations/${conversationId}/messages?timeoutMs=120000`,
    {
      method: 'POST',
      headers: { ...stack.auth, 'content-type': 'application/json' },
      body: JSON.stringify(message),
    },
  );
  const body = (await response.json()) as { reply?: GatewayAnswer['reply']; error?: { code: string; message: string } };
  return { status: response.status, reply: body.reply, code: body.error?.code, message: body.error?.message };
}

/** Every run of one conversation, with its history. */
async function historiesOf(stack: Stack, conversationId: string): Promise<StoredHistory[]> {
  const workflowId = conversationWorkflowId(AGENT, conversationId);
  return (await allHistories(stack.client)).filter((h) => h.workflowId === workflowId);
}

/**
 * The largest payload in the histories, in bytes as encoded, and how many payloads are claims on the content
 * store (what the data converter leaves in history for a payload over its threshold).
 */
function payloadSizes(histories: StoredHistory[]): { largest: number; claims: number } {
  let largest = 0;
  let claims = 0;
  const visit = (value: unknown): void => {
    if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return;
    if (Array.isArray(value)) {
      for (const item of value) visit(item);
      return;
    }
    const record = value as Record<string, unknown>;
    if (record.data instanceof Uint8Array && record.metadata && typeof record.metadata === 'object') {
      const size = temporal.api.common.v1.Payload.encode(record as temporal.api.common.v1.IPayload).finish().length;
      largest = Math.max(largest, size);
      if (Buffer.from(record.data).toString('utf8').includes('vigil-content')) claims++;
      return;
    }
    for (const child of Object.values(record)) visit(child);
  };
  for (const history of histories) visit(history.events);
  return { largest, claims };
}

/** The workflow tasks that failed, by cause. */
function failedTasksByCause(histories: StoredHistory[]): Map<string, number> {
  const causes = new Map<string, number>();
  for (const history of histories) {
    for (const event of history.events) {
      const failed = event.workflowTaskFailedEventAttributes;
      if (!failed) continue;
      const cause =
        failed.cause === WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND
          ? 'UnhandledCommand'
          : `${WorkflowTaskFailedCause[failed.cause ?? 0]}: ${excerpt(failed.failure?.message ?? '', 100)}`;
      causes.set(cause, (causes.get(cause) ?? 0) + 1);
    }
  }
  return causes;
}

/** Whether the worker logs that it dropped an invalid message signal within 30 s. */
async function droppedSignalLogged(stack: Stack): Promise<boolean> {
  const timeout = new AbortController();
  const found = await Promise.race([
    stack.worker.waitFor(/"msg":"dropped an invalid message signal"/).then(() => true),
    sleep(30_000, false, { signal: timeout.signal }).catch(() => false),
  ]);
  timeout.abort();
  return found;
}

/** `chars` characters: the prefix, then random words, so no two messages are alike. */
function fill(prefix: string, chars: number, random: Random): string {
  const words = ['limit', 'payload', 'history', 'signal', 'turn', 'store', 'claim', 'window'];
  const parts = [prefix];
  let length = prefix.length;
  while (length < chars) {
    const word = `${words[random.int(0, words.length - 1)]}${random.int(0, 999)} `;
    parts.push(word);
    length += word.length;
  }
  return parts.join('').slice(0, chars);
}

function shuffled<T>(items: T[], random: Random): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    [copy[i], copy[j]] = [copy[j], copy[i]];
  }
  return copy;
}

/** The error's class and message, with the words of the errors it wraps (a gRPC status's details). */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const parts = [error.message];
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause) {
    const words = (cause as { details?: unknown }).details;
    const text = typeof words === 'string' && words !== '' ? words : cause.message;
    if (!parts.some((part) => part.includes(text))) parts.push(text);
  }
  return `${error.constructor.name}: ${excerpt(parts.join(': '), 160)}`;
}

function excerpt(text: string | undefined, chars: number): string {
  const flat = (text ?? '').replace(/\s+/g, ' ').trim();
  return flat.length > chars ? `${flat.slice(0, chars)}…` : flat;
}

function seconds(since: number): string {
  return ((Date.now() - since) / 1000).toFixed(1);
}

function kib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
