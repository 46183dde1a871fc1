/**
 * Conversations that live for months: many turns across continue-as-new, history that grows by the same
 * number of bytes per turn however long the transcript, the context window under its budget with a rolling
 * summary, and a clear error when stored content is gone. The real worker, the offline Temporal, a scripted
 * model and a file content store.
 */
import { temporal } from '@temporalio/proto';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summaryInstructions } from '../../src/activities/summarize';
import { defineAgent } from '../../src/agents/define-agent';
import { countMessageTokens } from '../../src/memory/tokenizer';
import { conversationWorkflowId, type TranscriptEntry } from '../../src/conversation/protocol';
import { calculator } from '../../src/tools';
import { eventTypes, eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import type { RecordedRequest } from '../../src/testing/scripted-model';
import { lookup } from '../helpers/test-agents';

/**
 * 300 turns on both servers. What they prove is many switches of run with messages arriving during them, so the
 * agent switches at the lowest event threshold an agent may set (100 events, every seven turns or so: some forty
 * switches). 2,000 turns at 400 events proved the same with some fifty switches but took five minutes alone and
 * ran past ten under CI's load; flat history at a thousand turns is shown by `npm run bench:history`.
 * VIGIL_LONG_TURNS runs more; fewer only to debug: the run-count check needs them.
 */
const TURNS = Number(process.env.VIGIL_LONG_TURNS ?? 300);
/** Where history bytes per turn are compared with those at turn 10: half way. */
const LATE = TURNS / 2;
const tools = [calculator, lookup];
/** Continues as new every few turns. */
const marathon = defineAgent({
  name: 'marathon',
  instructions: 'Be brief.',
  model: 'test-model',
  tools,
  limits: { continueAsNewAfterEvents: 100 },
});
/**
 * The same agent in one run: the reference that nothing observable may differ from. The highest limits an agent
 * may set, and Temporal's suggestion ignored (a real server suggests it at 4,096 events).
 */
const reference = defineAgent({
  name: 'reference',
  instructions: 'Be brief.',
  model: 'test-model',
  tools,
  limits: {
    continueAsNewAfterEvents: 40_000,
    continueAsNewAfterBytes: 32 * 1024 * 1024,
    continueAsNewWhenSuggested: false,
  },
});
/** A small context window, so summaries come early and often. */
const forgetful = defineAgent({
  name: 'forgetful',
  instructions: 'Be brief.',
  model: 'test-model',
  memory: { maxContextTokens: 2_200, reserveForReplyTokens: 200, summaryTargetTokens: 100 },
});
const fx = useConversations([marathon, reference, forgetful]);

const isSummaryRequest = (request: RecordedRequest) => {
  const system = request.body.messages[0];
  return typeof system?.content === 'string' && system.content.startsWith(summaryInstructions(100).slice(0, 60));
};

beforeAll(() => {
  // A pure function of the request, so two conversations fed the same messages get the same answers.
  fx.model.respondWith((request) => {
    const messages = request.body.messages;
    if (isSummaryRequest(request))
      return { content: `Summary of ${messages.length} messages: the user counts and asks.` };
    const last = messages.at(-1)!;
    const text = typeof last.content === 'string' ? last.content : JSON.stringify(last.content);
    if (last.role === 'tool') return { content: `done: ${text}` };
    const calc = /^calc (\d+)/.exec(text);
    if (calc)
      return { toolCalls: [{ id: `calc_${calc[1]}`, name: 'calculator', arguments: `{"expression":"${calc[1]}*2"}` }] };
    const look = /^look (\d+)/.exec(text);
    if (look) return { toolCalls: [{ id: `look_${look[1]}`, name: 'lookup', arguments: `{"q":"item ${look[1]}"}` }] };
    return { content: `echo: ${text.slice(0, 80)}` };
  });
});

/** The i-th message: every tenth asks for the calculator, every tenth (offset) for the lookup that needs approval. */
function content(i: number): string {
  if (i % 10 === 3) return `calc ${i}`;
  if (i % 10 === 7) return `look ${i}`;
  return `message ${i}: ${'the quick brown fox jumps over the lazy dog '.repeat(3)}`;
}

async function allEntries(agent: string, id: string): Promise<TranscriptEntry[]> {
  const entries: TranscriptEntry[] = [];
  for (let offset: number | null = 0; offset !== null;) {
    const page = await fx.client.transcript(agent, id, { offset, limit: 500 });
    entries.push(...page.entries);
    offset = page.nextOffset;
  }
  return entries;
}

const withoutTimes = (entries: TranscriptEntry[]) => entries.map(({ at: _at, ...rest }) => rest);

async function historyBytes(agent: string, id: string): Promise<number> {
  const history = await fx.env.client.workflow.getHandle(conversationWorkflowId(agent, id)).fetchHistory();
  return temporal.api.history.v1.History.encode(temporal.api.history.v1.History.fromObject(history)).finish().length;
}

async function turnsDone(agent: string, id: string, turns: number): Promise<void> {
  await eventually(async () => {
    const view = await fx.client.state(agent, id).catch(() => undefined);
    if (view?.pendingApprovals.length) {
      // The first lookup asks; approved for good, later ones run without asking.
      await fx.client.decide(agent, id, {
        toolCallId: view.pendingApprovals[0].toolCallId,
        decision: 'approve',
        remember: true,
      });
    }
    return view && view.turns >= turns && view.status === 'idle' ? true : undefined;
  }, 60_000).catch(async (error: unknown) => {
    // What the conversation was doing, for whoever reads the failure.
    const handle = fx.env.client.workflow.getHandle(conversationWorkflowId(agent, id));
    const described = await handle.describe().catch(() => undefined);
    const types = await eventTypes(handle).catch(() => []);
    const view = await fx.client.state(agent, id).catch((e: unknown) => String(e));
    const runs: string[] = [];
    for await (const run of fx.env.client.workflow.list({
      query: `WorkflowId = '${conversationWorkflowId(agent, id)}'`,
    })) {
      const history = await fx.env.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
      const events = (history.events ?? []).map((e) => {
        const type = String(temporal.api.enums.v1.EventType[e.eventType as number]).replace(/^EVENT_TYPE_/, '');
        const patch = e.markerRecordedEventAttributes?.details?.patch_data?.payloads?.[0]?.data;
        return patch ? `${type}(${Buffer.from(patch).toString()})` : type;
      });
      runs.push(`${run.runId} ${run.status.name}: ${events.slice(-40).join(' ')}`);
    }
    throw new Error(
      `${agent} did not reach ${turns} turns: ${String(error)}\nstatus ${described?.status.name} run ${described?.runId}\n` +
        `state ${JSON.stringify(view).slice(0, 600)}\nlast events ${types.slice(-15).join(' ')}\nruns:\n${runs.join('\n')}`,
    );
  });
}

it(`${TURNS} turns across continue-as-new are exactly the turns of one uninterrupted run`, async () => {
  const id = newId('long');
  const bytesAt: Record<number, number> = {};
  for (let sent = 0; sent < TURNS;) {
    // Ten messages at a time, sent without waiting: some arrive while the run is switching to the next.
    for (const end = sent + 10; sent < end;) {
      sent++;
      const message = { id: `m${sent}`, content: content(sent), channel: { type: 'log' as const } };
      await Promise.all([fx.client.post('marathon', id, message), fx.client.post('reference', id, message)]);
    }
    await Promise.all([turnsDone('marathon', id, sent), turnsDone('reference', id, sent)]);
    if ([10, 20, LATE, LATE + 10].includes(sent)) bytesAt[sent] = await historyBytes('reference', id);
  }

  const [long, single] = await Promise.all([allEntries('marathon', id), allEntries('reference', id)]);
  expect(withoutTimes(long)).toEqual(withoutTimes(single));
  // No message lost or answered twice, in the order sent.
  const users = long.flatMap((e) => (e.role === 'user' ? [e.messageId] : []));
  expect(users).toEqual(Array.from({ length: TURNS }, (_, i) => `m${i + 1}`));

  const [longView, singleView] = await Promise.all([fx.client.state('marathon', id), fx.client.state('reference', id)]);
  // Two agents, each answering its own conversation: the rest of the views must be the same.
  const { agent: _a, currentAgent: _ca, ...longRest } = longView;
  const { agent: _b, currentAgent: _cb, ...singleRest } = singleView;
  expect([longView.currentAgent, singleView.currentAgent]).toEqual(['marathon', 'reference']);
  expect(longRest).toEqual(singleRest);
  expect(longView.rememberedTools).toEqual(['lookup']);
  expect(longView.turns).toBe(TURNS);
  expect(longView.memory).not.toBeNull(); // the summary came along too

  // It really did continue as new, many times; the reference never did. Visibility lags on a real server.
  const runs = async (agent: string) => {
    let count = 0;
    for await (const _ of fx.env.client.workflow.list({ query: `WorkflowId = '${conversationWorkflowId(agent, id)}'` }))
      count++;
    return count;
  };
  // About one run per seven turns; a third of that still shows switching did not stall.
  await eventually(async () => ((await runs('marathon')) > TURNS / 20 ? true : undefined), 30_000);
  await eventually(async () => ((await runs('reference')) === 1 ? true : undefined), 30_000);

  // History bytes a turn adds: the same at turn 10 as half way (10 turns each, the same mix of turns).
  const early = (bytesAt[20] - bytesAt[10]) / 10;
  const late = (bytesAt[LATE + 10] - bytesAt[LATE]) / 10;
  process.stdout.write(
    `history bytes per turn: turns 10-20 ${early.toFixed(0)}, turns ${LATE}-${LATE + 10} ${late.toFixed(0)}\n`,
  );
  expect(Math.abs(late - early) / early).toBeLessThan(0.1);
}, 900_000);

it('summarizes at the budget and keeps every model input under it, with the full transcript still there', async () => {
  const id = newId('forgetful');
  const before = fx.model.requests.length;
  for (let i = 1; i <= 40; i++) await fx.client.send('forgetful', id, { id: `m${i}`, content: content(i * 10 + 1) });

  const requests = fx.model.requests.slice(before);
  const summaries = requests.filter(isSummaryRequest);
  const calls = requests.filter((r) => !isSummaryRequest(r));
  expect(summaries.length).toBeGreaterThan(0);
  for (const call of calls) expect(countMessageTokens('test-model', call.body.messages)).toBeLessThanOrEqual(2_000);
  // The model saw the summary, not the oldest turns.
  const lastCall = calls.at(-1)!;
  expect(JSON.stringify(lastCall.body.messages[0])).toContain('Summary of');
  expect(JSON.stringify(lastCall.body.messages)).not.toContain('message 11:');

  const view = await fx.client.state('forgetful', id);
  expect(view.memory).toEqual({ summarizedThrough: expect.any(Number), summaryTokens: expect.any(Number) });
  const entries = await allEntries('forgetful', id);
  expect(entries.filter((e) => e.role === 'user')).toHaveLength(40);
  expect(entries[0]).toMatchObject({ role: 'user', content: content(11) });
});

describe('stored content that is gone', () => {
  /** Every file of the content store, so whatever the conversation stored is among them. */
  function storedFiles(): string[] {
    const root = join(fx.store.pathOf('sha256:' + '0'.repeat(64)), '..', '..');
    return readdirSync(root).flatMap((dir) => {
      const path = join(root, dir);
      return statSync(path).isDirectory() ? readdirSync(path).map((file) => join(path, file)) : [];
    });
  }

  it.each([
    ['missing', (file: string) => rmSync(file), /no content|missing|not found/i],
    ['corrupt', (file: string) => writeFileSync(file, 'not what was stored'), /corrupt|does not match|hash/i],
  ])('a %s entry ends the turn with a clear error, not an empty message', async (_, damage, words) => {
    const id = newId('damaged');
    await fx.client.send('forgetful', id, { id: 'm1', content: 'remember this' });
    for (const file of storedFiles()) damage(file);
    // A fresh worker, as after a restart: the old one keeps the records it read in memory, rightly (they cannot
    // change), so only a worker that must read the store notices.
    await fx.restartWorker();

    const reply = await fx.client.send('forgetful', id, { id: 'm2', content: 'what did I say?' });
    expect(reply.status).toBe('error');
    expect(reply.content).toMatch(words);
    expect(reply.content).toMatch(/sha256:[0-9a-f]{64}/);
  });
});
