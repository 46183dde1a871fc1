/** The turn rules, without Temporal: what the conversation does next given its state and the model's answer. */
import { DEFAULT_LIMITS, DEFAULT_TOOL_RETRY, AgentSpec, ToolSpec } from '../../src/conversation/agent-spec';
import type { ModelCallResult } from '../../src/conversation/activity-contract';
import {
  admit,
  answeringAgent,
  applyDecision,
  applyHandoff,
  applyModelAnswer,
  applyToolResults,
  beginTurn,
  busyRefusal,
  CARRIED_ENTRIES,
  cancelTurn,
  carriedState,
  DEDUPE_WINDOW,
  decisionRefusal,
  expireApprovals,
  finishTurn,
  initialState,
  interruptReason,
  interrupts,
  nextStep,
  olderIdRefusal,
  recordDeliveryFailure,
  refusal,
  rememberBusyPolicy,
  requestApprovals,
  restoreState,
  seededState,
  sendRefusal,
  transcriptPage,
  view,
} from '../../src/conversation/state';

const tool = (name: string, approval: ToolSpec['approval'] = 'auto'): ToolSpec => ({
  name,
  description: name,
  parameters: { type: 'object' },
  approval,
  timeoutMs: 1000,
  retry: DEFAULT_TOOL_RETRY,
});
const agent: AgentSpec = {
  name: 'a',
  instructions: 'be brief',
  model: 'm1',
  tools: [tool('calc'), tool('fetch', 'ask'), tool('rm', 'deny')],
  limits: { ...DEFAULT_LIMITS, maxSteps: 3 },
};
const now = '2026-01-01T00:00:00.000Z';
const answer = (content: string, toolCalls: ModelCallResult['toolCalls'] = []): ModelCallResult => ({
  content,
  toolCalls,
  model: 'm1',
  usage: { inputTokens: 10, outputTokens: 2 },
  finishReason: toolCalls.length ? 'tool_calls' : 'stop',
});
const call = (id: string, name: string, args = '{}') => ({ id, name, arguments: args });

function started(content = 'hi') {
  const state = initialState('a', 'c1');
  admit(state, { id: 'm1', content });
  beginTurn(state, now);
  return state;
}

test('a turn starts with a model call carrying the instructions, the new entries to store, the window and usable tools', () => {
  const state = started('what is 2+2?');
  const step = nextStep(state, agent);
  expect(step.kind).toBe('call_model');
  if (step.kind !== 'call_model') return;
  expect(step.input).toMatchObject({ model: 'm1', instructions: 'be brief', step: 1, turn: 1 });
  // The transcript travels by reference: the call stores what the stored transcript lacks, then reads its window.
  expect(step.input.transcript).toEqual([]);
  expect(step.input.window?.chain).toMatchObject({ head: null, length: 0, from: 0, pinnedRefs: [] });
  expect(step.input.window?.chain?.append).toEqual([
    expect.objectContaining({ role: 'user', content: 'what is 2+2?' }),
  ]);
  expect(step.input.window?.ranges).toEqual([[0, 0]]);
  expect(step.input.tools.map((t) => t.name)).toEqual(['calc', 'fetch']); // denied tools are not offered
});

test('the next call carries only what was added since, and the stored transcript where the last one left it', () => {
  const state = started('what is 2+2?');
  const first = nextStep(state, agent);
  if (first.kind !== 'call_model') throw new Error(first.kind);
  applyModelAnswer(
    state,
    {
      content: '',
      toolCalls: [{ id: 'c1', name: 'calc', arguments: '{}' }],
      model: 'm1',
      usage: { inputTokens: 5, outputTokens: 3 },
      finishReason: 'tool_calls',
      chain: { head: 'sha256:' + 'a'.repeat(64), length: 1, refs: ['sha256:' + 'a'.repeat(64)] },
    },
    now,
  );
  applyToolResults(
    state,
    [{ toolCall: { id: 'c1', name: 'calc', arguments: '{}' }, result: { content: '4', isError: false } }],
    now,
  );
  const second = nextStep(state, agent);
  if (second.kind !== 'call_model') throw new Error(second.kind);
  expect(second.input.window?.chain).toMatchObject({ head: 'sha256:' + 'a'.repeat(64), length: 1, from: 0 });
  expect(second.input.window?.chain?.append.map((e) => e.role)).toEqual(['assistant', 'tool']);
  expect(state.entryRefs).toEqual(['sha256:' + 'a'.repeat(64)]);
});

test('an answer without tool calls finishes the turn with that answer', () => {
  const state = started();
  applyModelAnswer(state, answer('hello'), now);
  expect(nextStep(state, agent)).toEqual({ kind: 'finish', status: 'completed', content: 'hello' });
  const reply = finishTurn(state, 'completed', 'hello', now);
  expect(reply).toEqual({
    messageId: 'm1',
    turn: 1,
    status: 'completed',
    content: 'hello',
    models: ['m1'],
    usage: { inputTokens: 10, outputTokens: 2 },
  });
  expect(view(state)).toMatchObject({
    status: 'idle',
    turns: 1,
    usage: { inputTokens: 10, outputTokens: 2, modelCalls: 1 },
  });
});

test('auto tools run; unknown and denied tools answer the model with an error without running', () => {
  const state = started();
  applyModelAnswer(state, answer('', [call('t1', 'calc'), call('t2', 'nope'), call('t3', 'rm')]), now);
  const step = nextStep(state, agent);
  expect(step.kind).toBe('run_tools');
  if (step.kind !== 'run_tools') return;
  expect(step.calls.map((c) => c.id)).toEqual(['t1']);
  expect(step.settled.map((s) => [s.toolCall.id, s.result.isError])).toEqual([
    ['t2', true],
    ['t3', true],
  ]);
  expect(step.settled[0].result.content).toMatch(/unknown tool "nope"/);
  expect(step.settled[1].result.content).toMatch(/not allowed/);
});

test('tool results are recorded in the order the model asked, then the model is called again', () => {
  const state = started();
  applyModelAnswer(state, answer('', [call('t1', 'calc'), call('t2', 'calc')]), now);
  applyToolResults(
    state,
    [
      { toolCall: call('t2', 'calc'), result: { content: 'two', isError: false } },
      { toolCall: call('t1', 'calc'), result: { content: 'one', isError: false } },
    ],
    now,
  );
  expect(
    state.transcript.filter((e) => e.role === 'tool').map((e) => e.role === 'tool' && 'content' in e && e.content),
  ).toEqual(['one', 'two']);
  const step = nextStep(state, agent);
  expect(step.kind).toBe('call_model');
  if (step.kind === 'call_model') expect(step.input.step).toBe(2);
});

test('the step limit ends the turn with a clear reply', () => {
  const state = started();
  for (let i = 0; i < 3; i++) {
    applyModelAnswer(state, answer('', [call(`t${i}`, 'calc')]), now);
    applyToolResults(state, [{ toolCall: call(`t${i}`, 'calc'), result: { content: 'x', isError: false } }], now);
  }
  const step = nextStep(state, agent);
  expect(step).toMatchObject({ kind: 'finish', status: 'step_limit' });
  if (step.kind === 'finish') expect(step.content).toMatch(/limit of 3 model calls/);
});

test("'ask' tools wait for a decision; a rejection goes back to the model with the reason", () => {
  const state = started();
  applyModelAnswer(state, answer('', [call('t1', 'fetch'), call('t2', 'calc')]), now);
  const step = nextStep(state, agent);
  expect(step).toEqual({ kind: 'await_approval', requests: [call('t1', 'fetch')] });
  requestApprovals(state, [call('t1', 'fetch')], now);
  expect(view(state).status).toBe('awaiting_approval');
  expect(view(state).pendingApprovals).toEqual([expect.objectContaining({ toolCallId: 't1', tool: 'fetch' })]);
  expect(decisionRefusal(state, { toolCallId: 'zzz', decision: 'approve' })).toMatch(/no tool call zzz/);
  applyDecision(state, { toolCallId: 't1', decision: 'reject', reason: 'not that site' });
  expect(decisionRefusal(state, { toolCallId: 't1', decision: 'approve' })).toMatch(
    /no tool call t1 is waiting|already decided/,
  );
  const after = nextStep(state, agent);
  expect(after.kind).toBe('run_tools');
  if (after.kind !== 'run_tools') return;
  expect(after.calls.map((c) => c.id)).toEqual(['t2']);
  expect(after.settled[0].result).toEqual({ isError: true, content: 'the user rejected this call: not that site' });
});

test('an approval with remember approves that tool for the rest of the conversation', () => {
  const state = started();
  applyModelAnswer(state, answer('', [call('t1', 'fetch')]), now);
  requestApprovals(state, [call('t1', 'fetch')], now);
  applyDecision(state, { toolCallId: 't1', decision: 'approve', remember: true });
  expect(state.rememberedTools).toEqual(['fetch']);
  applyToolResults(state, [{ toolCall: call('t1', 'fetch'), result: { content: 'ok', isError: false } }], now);
  applyModelAnswer(state, answer('', [call('t2', 'fetch')]), now);
  expect(nextStep(state, agent)).toMatchObject({ kind: 'run_tools', calls: [call('t2', 'fetch')] });
});

test('unanswered approvals past their time are rejected', () => {
  const state = started();
  applyModelAnswer(state, answer('', [call('t1', 'fetch')]), now);
  requestApprovals(state, [call('t1', 'fetch')], now, '2026-01-01T00:01:00.000Z');
  expireApprovals(state);
  const step = nextStep(state, agent);
  expect(step.kind === 'run_tools' && step.settled[0].result.content).toMatch(/no decision was made in time/);
});

test('a cancelled turn finishes as cancelled and is noted in the transcript', () => {
  const state = started();
  expect(cancelTurn(state, 'user pressed stop')).toBe(1);
  expect(cancelTurn(state, 'again')).toBeNull();
  const step = nextStep(state, agent);
  expect(step).toEqual({ kind: 'finish', status: 'cancelled', content: 'The turn was cancelled: user pressed stop' });
  finishTurn(state, 'cancelled', 'The turn was cancelled: user pressed stop', now);
  expect(state.transcript.at(-1)).toMatchObject({
    role: 'notice',
    content: 'The turn was cancelled: user pressed stop',
  });
});

test('a cancellation that names a message leaves the turn of another message alone', () => {
  const state = started();
  const running = state.turn!.message.id;
  expect(cancelTurn(state, 'its client left', 'some-other-message')).toBeNull();
  expect(state.turn?.cancelled).toBeNull();
  expect(cancelTurn(state, 'its client left', running)).toBe(1);
});

test('a seeded conversation starts with its earlier turns and its own instructions, and goes on from them', () => {
  const state = seededState(
    'a',
    'c1',
    {
      instructions: 'Answer in French.',
      turns: [
        { role: 'assistant', content: 'Welcome.' },
        { role: 'user', content: 'hi', author: 'ada' },
        { role: 'assistant', content: 'Hello.' },
      ],
    },
    now,
  );
  expect(state.transcript).toEqual([
    {
      role: 'assistant',
      turn: 0,
      content: 'Welcome.',
      toolCalls: [],
      model: 'seed',
      usage: { inputTokens: 0, outputTokens: 0 },
      at: now,
    },
    { role: 'user', turn: 1, messageId: 'seed-1', content: 'hi', author: 'ada', at: now },
    {
      role: 'assistant',
      turn: 1,
      content: 'Hello.',
      toolCalls: [],
      model: 'seed',
      usage: { inputTokens: 0, outputTokens: 0 },
      at: now,
    },
  ]);
  // Seeded turns took no message id: a message may use `seed-1` as its own.
  expect(admit(state, { id: 'seed-1', content: 'and now?' })).toBe('new');
  expect(beginTurn(state, now).turn).toBe(2);
  const step = nextStep(state, agent);
  expect(step).toMatchObject({
    kind: 'call_model',
    input: { instructions: 'be brief', conversationInstructions: 'Answer in French.' },
  });
  // It travels through continue-as-new.
  expect(restoreState(JSON.parse(JSON.stringify(carriedState(state))), 'a', 'c1').instructions).toBe(
    'Answer in French.',
  );
});

test('a message id seen before never queues a second turn', () => {
  const state = initialState('a', 'c1');
  expect(admit(state, { id: 'm1', content: 'x' })).toBe('new');
  expect(admit(state, { id: 'm1', content: 'x again' })).toBe('duplicate');
  expect(state.queue).toHaveLength(1);
  beginTurn(state, now);
  finishTurn(state, 'completed', 'done', now);
  expect(admit(state, { id: 'm1', content: 'x' })).toBe('duplicate');
  expect(state.queue).toHaveLength(0);
});

test('messages queue in arrival order; an ending conversation refuses new ones but answers retries', () => {
  const state = initialState('a', 'c1');
  admit(state, { id: 'a', content: '1' });
  admit(state, { id: 'b', content: '2' });
  expect(beginTurn(state, now).message.id).toBe('a');
  expect(view(state).queued).toEqual([{ id: 'b' }]);
  state.ending = true;
  expect(refusal(state, { id: 'c', content: '3' })).toMatch(/ending/);
  expect(refusal(state, { id: 'b', content: '2' })).toBeUndefined();
});

test('a send is refused while the conversation ends, for a used id, and for a message whose reply is gone', () => {
  const state = started();
  // The message of the turn in flight: its send waits for the reply to come.
  expect(sendRefusal(state, { id: 'm1', content: 'hi' })).toBeUndefined();
  const reply = finishTurn(state, 'completed', 'done', now);
  expect(sendRefusal(state, { id: 'm1', content: 'hi' })).toBeUndefined();
  // The reply was dropped to keep the state small: a send could wait for it for ever.
  state.seen['m1'].reply = null;
  expect(sendRefusal(state, { id: 'm1', content: 'hi' })).toBe(
    'message m1 was answered too long ago for its reply to be kept',
  );
  expect(sendRefusal(state, { id: 'm2', content: 'new' })).toBeUndefined();
  state.ending = true;
  expect(sendRefusal(state, { id: 'm2', content: 'new' })).toMatch(/ending/);
  expect(reply.turn).toBe(1);
});

test("onBusy 'reject' refuses a new message while a turn runs or messages wait, never a retry, and not when idle", () => {
  const state = initialState('a', 'c1');
  rememberBusyPolicy(state, { ...agent, onBusy: 'reject' });
  expect(busyRefusal(state, { id: 'm1' })).toBeUndefined();
  admit(state, { id: 'm1', content: 'hi' });
  expect(busyRefusal(state, { id: 'm2' })).toMatch(/1 message\(s\) wait for their turn.*onBusy: 'reject'/);
  beginTurn(state, '2026-01-01T00:00:00Z');
  expect(busyRefusal(state, { id: 'm2' })).toMatch(/^the conversation is busy: turn 1 \(message m1\) is running, and/);
  expect(busyRefusal(state, { id: 'm1' })).toBeUndefined(); // a retry gets its reply
  expect(interrupts(state, { id: 'm2' })).toBe(false);
  finishTurn(state, 'completed', 'done', '2026-01-01T00:00:01Z');
  expect(busyRefusal(state, { id: 'm2' })).toBeUndefined();
  // The default queues: nothing is refused.
  rememberBusyPolicy(state, agent);
  expect(state.onBusy).toBeUndefined();
  admit(state, { id: 'm2', content: 'again' });
  expect(busyRefusal(state, { id: 'm3' })).toBeUndefined();
});

test("onBusy 'interrupt' cancels a running turn once, for a new message, and goes along with a continue-as-new", () => {
  const state = initialState('a', 'c1');
  rememberBusyPolicy(state, { ...agent, onBusy: 'interrupt' });
  admit(state, { id: 'm1', content: 'hi' });
  expect(interrupts(state, { id: 'm2' })).toBe(false); // nothing runs yet
  beginTurn(state, '2026-01-01T00:00:00Z');
  expect(interrupts(state, { id: 'm1' })).toBe(false);
  expect(interrupts(state, { id: 'm2' })).toBe(true);
  cancelTurn(state, interruptReason({ id: 'm2' }));
  expect(interrupts(state, { id: 'm3' })).toBe(false); // already winding down: m3 queues behind m2
  expect(nextStep(state, agent)).toMatchObject({
    kind: 'finish',
    status: 'cancelled',
    content: 'The turn was cancelled: interrupted by message m2',
  });
  expect(restoreState(JSON.parse(JSON.stringify(carriedState(state))), 'a', 'c1').onBusy).toBe('interrupt');
  expect('onBusy' in restoreState(JSON.parse(JSON.stringify(carriedState(initialState('a', 'c2')))), 'a', 'c2')).toBe(
    false,
  );
});

test('a reply its channel could not take stands, and the transcript says why', () => {
  const state = started();
  const reply = finishTurn(state, 'completed', 'done', now);
  recordDeliveryFailure(state, reply, 'webhook', 'the receiver answered 410', now);
  expect(state.transcript.at(-1)).toEqual({
    role: 'notice',
    turn: 1,
    content: 'The reply could not be delivered to its webhook channel: the receiver answered 410',
    at: now,
  });
  expect(state.seen['m1'].reply).toEqual(reply);
});

test('the transcript is paged', () => {
  const state = initialState('a', 'c1');
  for (let i = 0; i < 5; i++) {
    admit(state, { id: `m${i}`, content: `q${i}` });
    beginTurn(state, now);
    finishTurn(state, 'completed', 'a', now);
  }
  expect(transcriptPage(state, { limit: 2 })).toMatchObject({ offset: 0, total: 5, nextOffset: 2 });
  expect(transcriptPage(state, { offset: 4, limit: 2 })).toMatchObject({
    offset: 4,
    nextOffset: null,
    entries: [expect.objectContaining({ content: 'q4' })],
  });
});

test('a state from another schema version or conversation is refused', () => {
  const state = initialState('a', 'c1');
  expect(restoreState(JSON.parse(JSON.stringify(state)), 'a', 'c1')).toEqual(state);
  expect(() => restoreState({ ...state, schemaVersion: 99 }, 'a', 'c1')).toThrow(/schema version 99/);
  expect(() => restoreState(state, 'a', 'other')).toThrow(/another conversation/);
});

test('continue-as-new carries the newest entries whole and older stored ones as references with their token counts', () => {
  const state = initialState('a', 'c1');
  const turns = CARRIED_ENTRIES; // two entries each: twice as many entries as are carried whole
  for (let i = 1; i <= turns; i++) {
    admit(state, { id: `m${i}`, content: `question ${i}` });
    beginTurn(state, now);
    applyModelAnswer(state, answer(`answer ${i}`), now);
    finishTurn(state, 'completed', `answer ${i}`, now);
  }
  // The store holds all but the last ten entries (the next activity would store those).
  const stored = state.transcript.length - 10;
  state.chain = { head: 'ref-head', length: stored };
  state.entryRefs = state.transcript.slice(0, stored).map((_, i) => `ref-${i}`);

  const carried = carriedState(state);
  const cut = state.transcript.length - CARRIED_ENTRIES;
  expect(carried.transcript.slice(cut)).toEqual(state.transcript.slice(cut));
  expect(carried.transcript[0]).toEqual({
    role: 'user',
    turn: 1,
    at: now,
    tokens: expect.any(Number),
    stored: 'ref-0',
  });
  // An answer counts the model's output tokens, as the window rules do.
  expect(carried.transcript[1]).toMatchObject({
    role: 'assistant',
    stored: 'ref-1',
    tokens: answer('answer 1').usage.outputTokens,
  });
  expect(carried.transcript.slice(0, cut).every((e) => 'stored' in e)).toBe(true);
  // The state it came from is left as it was; the carried one reads back as the next run's.
  expect(state.transcript.every((e) => !('stored' in e))).toBe(true);
  expect(restoreState(JSON.parse(JSON.stringify(carried)), 'a', 'c1')).toEqual(carried);
  // A short conversation, or one whose old entries are not stored yet, goes as it is.
  expect(carriedState(initialState('a', 'c2')).transcript).toEqual([]);
  expect(carriedState({ ...state, chain: { head: null, length: 0 } }).transcript).toEqual(state.transcript);
});

describe('a message id is answered once for the life of the conversation', () => {
  /** Ids of one length, so that the window weighs the same whichever ids it holds. */
  const idOf = (i: number) => `m-${String(i).padStart(6, '0')}`;
  /** Answers messages `from` to `to` (their ids idOf(i)), one turn each. */
  function converse(state: ReturnType<typeof initialState>, from: number, to: number): void {
    for (let i = from; i <= to; i++) {
      if (admit(state, { id: idOf(i), content: `q${i}` }) !== 'new') throw new Error(`${idOf(i)} was not taken as new`);
      beginTurn(state, now);
      finishTurn(state, 'completed', `a${i}`, now);
    }
  }
  /** The carried state as JSON, less the transcript (whose older entries go as stored references). */
  const carriedSize = (state: ReturnType<typeof initialState>) => {
    const carried = carriedState(state);
    return JSON.stringify(carried).length - JSON.stringify(carried.transcript).length;
  };

  test('an id that left the dedupe window is refused with a reason; ids in it and new ids are not', () => {
    const state = initialState('a', 'c1');
    converse(state, 1, DEDUPE_WINDOW + 50);
    // The oldest 50 left the exact window...
    expect(state.seenOrder).toHaveLength(DEDUPE_WINDOW);
    expect(state.seen[idOf(50)]).toBeUndefined();
    // ...and never start a turn again: the validator and the message signal ask this first.
    for (let i = 1; i <= 50; i++) expect(olderIdRefusal(state, { id: idOf(i) })).toBeDefined();
    expect(olderIdRefusal(state, { id: idOf(1) })).toBe(
      'message id m-000001 was used in this conversation before, and its reply is no longer kept: a message id is answered ' +
        'once. If this is a new message, send it again under a new id (rarely, a new id cannot be told from one used long ago)',
    );
    // Ids in the window are the window's to answer (a retry gets its reply); a new id is taken.
    expect(olderIdRefusal(state, { id: idOf(51) })).toBeUndefined();
    expect(admit(state, { id: idOf(51), content: 'again' })).toBe('duplicate');
    expect(olderIdRefusal(state, { id: 'a-new-id' })).toBeUndefined();
  });

  test('older ids go with continue-as-new, and the carried state stops growing once the window is full', () => {
    const state = initialState('a', 'c1');
    const twice = 2 * (DEDUPE_WINDOW + 2_000);
    converse(state, 1, twice / 2);
    const size = carriedSize(state);
    const next = restoreState(JSON.parse(JSON.stringify(carriedState(state))), 'a', 'c1');
    // (Compared as carried: jest compares 2 MiB of bits one by one, for seconds.)
    expect(carriedState(next).olderIds).toEqual(carriedState(state).olderIds);
    expect(olderIdRefusal(next, { id: idOf(1) })).toBeDefined();
    expect(olderIdRefusal(next, { id: idOf(twice / 2 + 1) })).toBeUndefined();

    // Twice as many messages: the same size but for the window's turn numbers, which have grown a digit
    // (2,001 to 9,999 before): some 8,000 characters of 3.3 MB.
    converse(next, twice / 2 + 1, twice);
    expect(Math.abs(carriedSize(next) - size)).toBeLessThan(size / 200);
    expect(
      Array.from({ length: twice - DEDUPE_WINDOW }, (_, i) => idOf(i + 1)).filter(
        (id) => !olderIdRefusal(next, { id }),
      ),
    ).toEqual([]);
  });

  test('a state carried by schema 3 keeps its window, and its ids are refused once they leave it', () => {
    // As a run of schema 3 carried it: the window full of answered ids, and no older ids.
    const seenOrder = Array.from({ length: DEDUPE_WINDOW }, (_, i) => idOf(i + 1));
    const v3 = {
      ...JSON.parse(JSON.stringify(initialState('a', 'c1'))),
      schemaVersion: 3,
      seen: Object.fromEntries(seenOrder.map((id, i) => [id, { turn: i + 1, reply: null }])),
      seenOrder,
      turns: DEDUPE_WINDOW,
    };
    delete v3.olderIds;
    const state = restoreState(v3, 'a', 'c1');
    expect(state).toMatchObject({ schemaVersion: 4, olderIds: null, turns: DEDUPE_WINDOW });
    expect(admit(state, { id: idOf(1), content: 'resent' })).toBe('duplicate');
    converse(state, DEDUPE_WINDOW + 1, DEDUPE_WINDOW + 1);
    expect(state.seen[idOf(1)]).toBeUndefined();
    expect(olderIdRefusal(state, { id: idOf(1) })).toBeDefined();
    expect(olderIdRefusal(state, { id: idOf(2) })).toBeUndefined(); // still in the window
  });
});

test('a handoff call is left for the workflow to carry out; other calls of the answer run as usual', () => {
  const handing: AgentSpec = {
    ...agent,
    handoffs: [{ agent: 'b', toolName: 'transfer_to_b', description: 'to b' }],
  };
  const state = started();
  applyModelAnswer(
    state,
    answer('', [call('t1', 'calc'), call('t2', 'transfer_to_b'), call('t3', 'transfer_to_b')]),
    now,
  );
  const step = nextStep(state, handing);
  expect(step).toMatchObject({
    kind: 'run_tools',
    calls: [{ id: 't1' }],
    handoff: { toolCall: { id: 't2' }, to: 'b' },
    settled: [{ toolCall: { id: 't3' }, result: { isError: true } }],
  });
  // An agent without handoffs finds no such tool, as before handoffs existed.
  expect(nextStep(state, agent)).toMatchObject({
    settled: [
      { toolCall: { id: 't2' }, result: { isError: true, content: expect.stringMatching(/unknown tool/) } },
      { toolCall: { id: 't3' }, result: { isError: true } },
    ],
  });
  expect(nextStep(state, agent)).not.toHaveProperty('handoff');
});

test('a handoff changes who answers, in the state, the view and the transcript, and survives a continue-as-new', () => {
  const state = started();
  expect(answeringAgent(state)).toBe('a');
  applyHandoff(state, 'b', now);
  expect(answeringAgent(state)).toBe('b');
  expect(view(state)).toMatchObject({ agent: 'a', currentAgent: 'b' });
  expect(state.transcript.at(-1)).toMatchObject({ role: 'notice', handoff: { from: 'a', to: 'b' } });
  const carried = restoreState(JSON.parse(JSON.stringify(carriedState(state))), 'a', 'c1');
  expect(answeringAgent(carried)).toBe('b');
  // Back to the conversation's own agent: nothing left to say in the state.
  applyHandoff(state, 'a', now);
  expect(state).not.toHaveProperty('currentAgent');
  expect(state.transcript.at(-1)).toMatchObject({ handoff: { from: 'b', to: 'a' } });
});
