/**
 * When a conversation continues as new: once its run's history passes the agent's byte limit, when Temporal
 * suggests it (unless the agent says not to), and before the run's total-updates or signals limit would refuse
 * messages. Each `send` is an update and each `post` a signal, so a conversation that ignored those limits would
 * stop taking messages. A runaway turn stops before its run reaches Temporal's limits.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { calculator } from '../../src/tools';
import { TURN_STOPS_AT } from '../../src/conversation/run-limits';
import type { ConversationFixture } from '../helpers/conversation';
import { newId, useConversations } from '../helpers/conversation';
import { eventually } from '../helpers/conformance';

const KIB = 1024;
/** A message of about 3 KB: with its echoed reply, a turn adds some 8 KB to history. */
const message = (i: number) => `message ${i}: ${'words that take room in the history '.repeat(80)}`.slice(0, 3_000);

/**
 * Each run of the conversation, oldest first: its status, and its history's encoded size and length without the
 * closing continue-as-new event (which carries the next run's input: the state, inline when it is small).
 */
async function runsOf(fx: ConversationFixture, agent: string, id: string) {
  const runs: { status: string; bytes: number; events: number; started: number }[] = [];
  for await (const run of fx.env.client.workflow.list({
    query: `WorkflowId = '${conversationWorkflowId(agent, id)}'`,
  })) {
    const history = await fx.env.client.workflow.getHandle(run.workflowId, run.runId).fetchHistory();
    const events = (history.events ?? []).filter((e) => !e.workflowExecutionContinuedAsNewEventAttributes);
    runs.push({
      status: run.status.name,
      bytes: temporal.api.history.v1.History.encode({ events }).finish().length,
      events: events.length,
      started: run.startTime.getTime(),
    });
  }
  return runs.sort((a, b) => a.started - b.started);
}

/** Sends `count` messages one after another; each gets its own reply. */
async function converse(fx: ConversationFixture, agent: string, id: string, count: number): Promise<void> {
  for (let i = 1; i <= count; i++) {
    const reply = await fx.client.send(agent, id, { id: `m${i}`, content: message(i) });
    expect(reply.content).toBe(`echo: ${message(i)}`);
  }
}

async function userMessages(fx: ConversationFixture, agent: string, id: string): Promise<string[]> {
  const { entries } = await fx.client.transcript(agent, id, { limit: 500 });
  return entries.flatMap((e) => (e.role === 'user' ? [e.messageId] : []));
}

const ids = (count: number) => Array.from({ length: count }, (_, i) => `m${i + 1}`);

/** The same agent twice: one follows Temporal's suggestion (the default), one ignores it. */
const advised = defineAgent({ name: 'advised', instructions: 'Be brief.', model: 'test-model' });
const unadvised = defineAgent({
  name: 'unadvised',
  instructions: 'Be brief.',
  model: 'test-model',
  limits: { continueAsNewWhenSuggested: false },
});

describe('on any Temporal', () => {
  const sized = defineAgent({
    name: 'sized',
    instructions: 'Be brief.',
    model: 'test-model',
    // A window that holds every turn: no summary call (with its own, larger, answer) makes one turn weigh more.
    memory: { maxContextTokens: 200_000 },
    limits: { continueAsNewAfterBytes: 64 * KIB, continueAsNewWhenSuggested: false },
  });
  /** Continues as new every ten turns or so, busy or not. */
  const busy = defineAgent({
    name: 'busy',
    instructions: 'Be brief.',
    model: 'test-model',
    limits: { continueAsNewAfterEvents: 100, continueAsNewWhenSuggested: false },
  });
  const fx = useConversations([sized, busy]);
  const logged = (id: string) => fx.logged.filter((line) => line.conversationId === id);

  it('a run continues as new once its history passes continueAsNewAfterBytes, and nothing is lost', async () => {
    const id = newId('sized');
    await converse(fx, 'sized', id, 24);

    const runs = await runsOf(fx, 'sized', id);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    // Every run but the last was ended by its size, at the first idle moment after the limit: a turn (some
    // 19 KB here) after it at most.
    for (const run of runs.slice(0, -1)) {
      expect(run.status).toBe('CONTINUED_AS_NEW');
      expect(run.bytes).toBeGreaterThanOrEqual(64 * KIB);
      expect(run.bytes).toBeLessThan(90 * KIB);
    }
    expect(runs.at(-1)!.status).toBe('RUNNING');
    expect(await userMessages(fx, 'sized', id)).toEqual(ids(24));
    expect((await fx.client.state('sized', id)).turns).toBe(24);

    // The memo and search attributes come with the switch: the next run starts with them, so the Temporal UI and
    // `temporal workflow list` show the conversation as it was, not a blank one until its first turn boundary.
    const current = fx.env.client.workflow.getHandle(conversationWorkflowId('sized', id));
    const started = (await current.fetchHistory()).events![0].workflowExecutionStartedEventAttributes!;
    expect(started.continuedExecutionRunId).toBeTruthy();
    const memo = Object.fromEntries(
      Object.entries(started.memo?.fields ?? {}).map(([k, v]) => [k, defaultPayloadConverter.fromPayload(v)]),
    );
    expect(memo).toEqual({
      summary: expect.stringMatching(/^sized · \d+ turns · idle$/),
      lastMessage: expect.stringMatching(/^message \d+: /),
    });
    const agentAttribute = started.searchAttributes?.indexedFields?.VigilAgent;
    expect(agentAttribute && defaultPayloadConverter.fromPayload(agentAttribute)).toEqual('sized');
  });

  it('a conversation that is never idle continues as new between turns, carrying its queue', async () => {
    const id = newId('busy');
    // The first answer takes a while, so the other 39 messages are queued before any turn ends.
    fx.model.script({ content: 'echo: m1', delayMs: 500 });
    for (let i = 1; i <= 40; i++)
      await fx.client.post('busy', id, { id: `m${i}`, content: i === 1 ? 'm1' : `m${i}`, channel: { type: 'log' } });
    await eventually(async () => ((await fx.client.state('busy', id)).turns === 40 ? true : undefined), 60_000);

    // Idle only once, at the end: switching only when idle would have made one or two runs.
    expect((await runsOf(fx, 'busy', id)).length).toBeGreaterThanOrEqual(3);
    expect(await userMessages(fx, 'busy', id)).toEqual(ids(40));
    // Every message answered once, to its channel.
    expect(
      logged(id)
        .map((line) => line.messageId as string)
        .sort(),
    ).toEqual(ids(40).sort());
  });

  it('sends that arrive while a busy conversation switches runs are taken by the next run, each answered once', async () => {
    const id = newId('switching');
    const posted = Array.from({ length: 15 }, (_, i) => `p${i + 1}`);
    const sent = Array.from({ length: 6 }, (_, i) => `s${i + 1}`);
    // Slow answers for the first message (so the rest queue up) and for the sends (so the switch takes a while).
    fx.model.respondWith((request) => {
      const last = request.body.messages.at(-1)!.content;
      const text = typeof last === 'string' ? last : JSON.stringify(last);
      return { content: `echo: ${text}`, delayMs: text === 'p1' || text.startsWith('s') ? 300 : 0 };
    });
    try {
      for (const m of posted) await fx.client.post('busy', id, { id: m, content: m, channel: { type: 'log' } });
      // Three sends queue behind the posts: when the run grows long, it must wait for their replies to switch.
      const early = sent.slice(0, 3).map((m) => fx.client.send('busy', id, { id: m, content: m }));
      await eventually(
        async () => ((await fx.client.state('busy', id)).turns >= posted.length ? true : undefined),
        60_000,
      );
      // Three more while it waits: refused there, and sent again by AgentClient to the next run.
      const late = sent.slice(3).map((m) => fx.client.send('busy', id, { id: m, content: m }));
      const replies = await Promise.all([...early, ...late]);
      expect(replies.map((r) => [r.messageId, r.content])).toEqual(sent.map((m) => [m, `echo: ${m}`]));
    } finally {
      fx.model.reset();
    }

    // The posted messages first, in order; then the sends, each once (sent together, they race each other).
    const users = await userMessages(fx, 'busy', id);
    expect(users.slice(0, posted.length)).toEqual(posted);
    expect(users.slice(posted.length).sort()).toEqual(sent);
    expect((await runsOf(fx, 'busy', id)).length).toBeGreaterThanOrEqual(2);
  });
});

describe('a runaway turn', () => {
  const runaway = defineAgent({ name: 'runaway', instructions: 'Be brief.', model: 'test-model', tools: [calculator] });
  const fx = useConversations([runaway]);

  // On a real server the signals reach the worker in activations of up to thousands; this crashed the worker
  // process until Vigil's workers allowed an activation more than the SDK's 5 s (ACTIVATION_TIMEOUT).
  it("stops before its next step once the run nears Temporal's signal limit, and the conversation goes on in a new run", async () => {
    const id = newId('runaway');
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    fx.model.respondWith(async (request) => {
      const last = request.body.messages.at(-1)!;
      if (last.role === 'user' && last.content === 'go') {
        await released;
        return { toolCalls: [{ name: 'calculator', arguments: '{"expression":"1+1"}' }] };
      }
      return { content: `echo: ${typeof last.content === 'string' ? last.content : ''}` };
    });
    try {
      await fx.client.post('runaway', id, { id: 'm1', content: 'go', channel: { type: 'log' } });
      await fx.model.nextRequest();
      // While the model thinks, the run receives as many signals as a turn stops at: here empty batches of the
      // event stream's publish signal, as a model's text preview sends them (one per batch).
      const handle = fx.env.client.workflow.getHandle(conversationWorkflowId('runaway', id));
      for (let sent = 0; sent < TURN_STOPS_AT.signals; sent += 100) {
        await Promise.all(
          Array.from({ length: 100 }, () =>
            handle.signal('__temporal_workflow_stream_publish', { items: [], publisher_id: '', sequence: 0 }),
          ),
        );
      }
      release();

      // The model asked for a tool; the turn stopped instead of running it, with a reply that says why.
      await eventually(async () => (fx.logged.some((line) => line.conversationId === id) ? true : undefined), 120_000);
      const reply = fx.logged.find((line) => line.conversationId === id)!;
      expect(reply.content).toMatch(
        /^This message could not be fully answered: this turn was stopped before its next step: .*8\d{3} signals/,
      );
      const { entries } = await fx.client.transcript('runaway', id, { limit: 50 });
      expect(entries.filter((e) => e.role === 'tool')).toEqual([]);

      // The next turn boundary switched runs: the next message is answered in a new run, as always.
      expect((await fx.client.send('runaway', id, { id: 'm2', content: 'still there?' })).content).toBe(
        'echo: still there?',
      );
      const runs = await runsOf(fx, 'runaway', id);
      expect(runs.map((r) => r.status)).toEqual(['CONTINUED_AS_NEW', 'RUNNING']);
      expect(runs[0].events).toBeLessThan(TURN_STOPS_AT.events);
    } finally {
      release();
      fx.model.reset();
    }
    // About 20 s alone on a 2-core machine; under CI's two test files at once, CPU-bound, it took over 60 s.
  }, 240_000);
});

describe('when a run may take only 40 signals (a real server allows 10,000)', () => {
  const posted = defineAgent({
    name: 'posted',
    instructions: 'Be brief.',
    model: 'test-model',
    limits: { continueAsNewAfterSignals: 10, continueAsNewWhenSuggested: false },
  });
  const unswitched = defineAgent({
    name: 'unswitched',
    instructions: 'Be brief.',
    model: 'test-model',
    limits: { continueAsNewWhenSuggested: false },
  });
  const fx = useConversations([posted, unswitched], { dynamicConfig: { 'history.maximumSignalsPerExecution': 40 } });
  const answered = (id: string) =>
    fx.logged.filter((line) => line.conversationId === id).map((line) => line.messageId as string);

  it('the conversation continues as new past continueAsNewAfterSignals and takes every post; without it, the 41st is refused', async () => {
    const id = newId('signals');
    for (let i = 1; i <= 60; i++) {
      await fx.client.post('posted', id, { id: `m${i}`, content: `m${i}`, channel: { type: 'log' } });
      // One at a time, so each run takes some posts and then switches at a turn boundary.
      await eventually(async () => (answered(id).includes(`m${i}`) ? true : undefined), 30_000);
    }
    expect(answered(id)).toEqual(ids(60));
    expect(await userMessages(fx, 'posted', id)).toEqual(ids(60));
    // Visibility may list the last switch a moment late on a real server.
    await eventually(async () => ((await runsOf(fx, 'posted', id)).length >= 3 ? true : undefined), 10_000);

    // What the switch saves a conversation from: the run refuses post 41, and the client is told why. A real
    // server once refused post 40 instead (in a clean-clone CI; the cause is not established: a post whose answer
    // the client lost and sent again would count twice, since a signal is delivered at least once). Either way the
    // conversation takes each message it took exactly once.
    const stuck = newId('signals');
    let taken = 0;
    let refusal: unknown;
    for (let i = 1; i <= 41 && refusal === undefined; i++) {
      try {
        await fx.client.post('unswitched', stuck, { id: `m${i}`, content: `m${i}`, channel: { type: 'log' } });
        taken = i;
      } catch (error) {
        refusal = error;
      }
    }
    expect(taken).toBeGreaterThanOrEqual(38);
    // A refusal that says what happened and that a retry shortly helps (the gateway's 429 conversation_busy).
    expect(refusal).toMatchObject({
      name: 'ConversationBusyError',
      message: expect.stringMatching(/exceeded workflow execution limit for signal events.*try again shortly/),
    });
    await eventually(async () => (answered(stuck).length === taken ? true : undefined), 60_000);
    expect(await userMessages(fx, 'unswitched', stuck)).toEqual(ids(taken));
  });

  it('an idle conversation that takes posts starting no turn (a message posted again and again) switches runs without waiting for one', async () => {
    const id = newId('reposted');
    await fx.client.post('posted', id, { id: 'm1', content: 'm1', channel: { type: 'log' } });
    await eventually(async () => (answered(id).includes('m1') ? true : undefined), 30_000);
    // 45 more signals, none a new message: past the run's 40 unless the idle run switches. One at a time (the state
    // query waits for the signal's workflow task), so that each run can switch before the next 30 arrive.
    for (let i = 0; i < 45; i++) {
      await fx.client.post('posted', id, { id: 'm1', content: 'm1', channel: { type: 'log' } });
      await fx.client.state('posted', id);
    }
    await fx.client.post('posted', id, { id: 'm2', content: 'm2', channel: { type: 'log' } });
    await eventually(async () => (answered(id).includes('m2') ? true : undefined), 30_000);
    expect(answered(id)).toEqual(['m1', 'm2']);
    expect(await userMessages(fx, 'posted', id)).toEqual(['m1', 'm2']);
    // Visibility may list the last switch a moment late on a real server.
    await eventually(async () => ((await runsOf(fx, 'posted', id)).length >= 3 ? true : undefined), 10_000);
  });
});

describe('when Temporal suggests continue-as-new (here after 60 events)', () => {
  const fx = useConversations([advised, unadvised], {
    dynamicConfig: { 'limit.historyCount.suggestContinueAsNew': 60 },
  });

  it('the conversation follows the suggestion, unless its agent sets continueAsNewWhenSuggested: false', async () => {
    const id = newId('advice');
    await converse(fx, 'advised', id, 15);
    await converse(fx, 'unadvised', id, 15);

    const followed = await runsOf(fx, 'advised', id);
    expect(followed.length).toBeGreaterThanOrEqual(2);
    // Soon after the 60th event: at the first idle moment once the suggestion came.
    for (const run of followed.slice(0, -1)) expect(run.events).toBeLessThan(90);
    expect((await runsOf(fx, 'unadvised', id)).map((r) => r.status)).toEqual(['RUNNING']);
    expect(await userMessages(fx, 'advised', id)).toEqual(ids(15));
    expect(await userMessages(fx, 'unadvised', id)).toEqual(ids(15));
  });
});

describe('when a run may take only 30 updates (a real server allows 2,000 and suggests continue-as-new at 90%)', () => {
  const fx = useConversations([advised, unadvised], { dynamicConfig: { 'history.maxTotalUpdates': 30 } });

  it('the conversation continues as new before the limit and takes every message; ignoring the advice, the 31st is refused', async () => {
    const id = newId('updates');
    await converse(fx, 'advised', id, 45);
    expect(await userMessages(fx, 'advised', id)).toEqual(ids(45));
    const runs = await runsOf(fx, 'advised', id);
    expect(runs.length).toBeGreaterThanOrEqual(2);
    // Not the history's length: far below Temporal's 4,096 events and Vigil's 10,000.
    expect(runs[0].events).toBeLessThan(1_000);

    // What the advice saves a conversation from: the run refuses message 31, and the client is told why.
    await converse(fx, 'unadvised', id, 30);
    await expect(fx.client.send('unadvised', id, { id: 'm31', content: message(31) })).rejects.toThrow(
      /total number of distinct updates in this workflow has been reached \(30\)/,
    );
    expect(await userMessages(fx, 'unadvised', id)).toEqual(ids(30));
  });

  it('an idle conversation driven past the limit by updates that start no turn switches runs, and its next send is answered', async () => {
    const id = newId('idle-updates');
    await converse(fx, 'advised', id, 1);
    // A client that asks again and again to cancel a turn that is not there: each ask is an update of the run.
    for (let i = 0; i < 45; i++)
      expect(await fx.client.cancelTurn('advised', id)).toEqual({ cancelled: false, turn: null });
    await converse(fx, 'advised', id, 2);
    expect(await userMessages(fx, 'advised', id)).toEqual(ids(2));
    expect((await runsOf(fx, 'advised', id)).length).toBeGreaterThanOrEqual(2);
  });
});
