/** Where a fork starts (src/conversation/fork.ts), without Temporal: what it keeps, shares, and leaves behind. */
import { forkedState, forkPoint } from '../../src/conversation/fork';
import { ForkPoint, StartConversation, type TranscriptEntry } from '../../src/conversation/protocol';
import {
  carriedState,
  type ConversationState,
  initialState,
  restoreState,
  storedReference,
} from '../../src/conversation/state';

const at = '2026-01-01T00:00:00.000Z';
const ref = (n: number) => `sha256:${n.toString(16).padStart(64, '0')}`;
const user = (turn: number, content: string): TranscriptEntry => ({
  role: 'user',
  turn,
  messageId: `m${turn}`,
  content,
  at,
});
const assistant = (turn: number, content: string): TranscriptEntry => ({
  role: 'assistant',
  turn,
  content,
  toolCalls: [],
  model: 'm1',
  usage: { inputTokens: 10, outputTokens: 7 },
  at,
});
const notice = (turn: number, content: string): TranscriptEntry => ({ role: 'notice', turn, content, at });

/** Three finished turns, the first `stored` entries of them in the content store. */
function threeTurns(stored: number): ConversationState {
  const state = initialState('a', 'original');
  state.transcript = [
    user(1, 'one'),
    assistant(1, 'answer one'),
    user(2, 'two'),
    assistant(2, 'answer two'),
    user(3, 'three'),
    assistant(3, 'answer three'),
  ];
  state.turns = 3;
  state.entryRefs = Array.from({ length: stored }, (_, i) => ref(i + 1));
  state.chain = { head: state.entryRefs.at(-1) ?? null, length: stored };
  state.instructions = 'Answer in French.';
  state.rememberedTools = ['lookup'];
  state.usage.modelCalls = 3;
  state.seen = { m1: { turn: 1, reply: null } };
  state.seenOrder = ['m1'];
  return state;
}

function point(state: ConversationState, atTurn: number): ForkPoint {
  const answer = forkPoint(state, atTurn);
  if (answer.kind !== 'point') throw new Error(answer.message);
  // What the workflow's input schema takes: the client starts the fork with exactly this.
  return ForkPoint.parse(answer.point);
}

test("stored entries go as references to the original's records: the fork's chain is a prefix of the original's", () => {
  const original = threeTurns(6);
  const before = structuredClone(original);
  const p = point(original, 2);
  expect(p.transcript).toHaveLength(4);
  expect(p.transcript.map((e) => ('stored' in e ? e.stored : null))).toEqual([ref(1), ref(2), ref(3), ref(4)]);
  // The answer counts its output tokens, as the window rules do.
  expect(p.transcript[1]).toMatchObject({ role: 'assistant', turn: 1, tokens: 7 });
  expect(p.chain).toEqual({ head: ref(4), length: 4 });
  expect(p.entryRefs).toEqual([ref(1), ref(2), ref(3), ref(4)]);
  expect(p).toMatchObject({
    from: { conversationId: 'original', turn: 2 },
    turns: 2,
    instructions: 'Answer in French.',
  });
  expect(original).toEqual(before);
});

test('entries an original carries as references already (after a continue-as-new) go as they are', () => {
  const original = threeTurns(6);
  original.transcript[0] = storedReference(original.transcript[0] as TranscriptEntry, ref(1));
  original.transcript[1] = storedReference(original.transcript[1] as TranscriptEntry, ref(2));
  expect(point(original, 2).transcript.slice(0, 2)).toEqual(original.transcript.slice(0, 2));
  expect(point(original, 2).transcript.slice(0, 2)).toEqual(point(threeTurns(6), 2).transcript.slice(0, 2));
});

test('entries not stored yet go whole, and the fork stores them on its own chain', () => {
  const p = point(threeTurns(3), 2);
  expect(p.transcript.slice(0, 3).every((e) => 'stored' in e)).toBe(true);
  expect(p.transcript[3]).toEqual(assistant(2, 'answer two'));
  expect(p.chain).toEqual({ head: ref(3), length: 3 });
  const nothingStored = point(threeTurns(0), 1);
  expect(nothingStored.transcript).toEqual([user(1, 'one'), assistant(1, 'answer one')]);
  expect(nothingStored.chain).toEqual({ head: null, length: 0 });
});

test('a notice of an earlier turn recorded after a later turn began stays with the original', () => {
  const state = threeTurns(6);
  state.transcript.splice(5, 0, notice(2, 'The reply could not be delivered'));
  expect(point(state, 2).transcript).toHaveLength(4);
  expect(point(state, 3).transcript).toHaveLength(7);
});

test('the rolling summary goes along only when it covers no entry after the fork point', () => {
  const state = threeTurns(6);
  state.summary = { text: 'they counted', tokens: 3, coversThrough: 1, model: 'm1' };
  // Through entry 1: the end of turn 1, kept by a fork at turn 1 or later.
  expect(point(state, 1).summary).toEqual(state.summary);
  expect(point(state, 2).summary).toEqual(state.summary);
  state.summary.coversThrough = 2;
  expect(point(state, 1).summary).toBeUndefined();
  state.summary.coversThrough = 4;
  expect(point(state, 2).summary).toBeUndefined();
  expect(point(state, 3).summary).toEqual(state.summary);
});

test('a running turn, or one beyond the finished ones, is refused with words that say which', () => {
  const state = threeTurns(6);
  expect(forkPoint(state, 4)).toEqual({
    kind: 'refused',
    reason: 'beyond',
    message: 'conversation original has 3 finished turn(s); atTurn 4 is beyond them (fork at a turn from 1 to 3)',
  });
  state.turn = {
    turn: 4,
    message: { id: 'm4', content: 'four' },
    startedAt: at,
    step: 0,
    models: [],
    usage: { inputTokens: 0, outputTokens: 0 },
    lastAnswer: null,
    pendingToolCalls: [],
    approvals: [],
    decisions: {},
    cancelled: null,
  };
  state.transcript.push(user(4, 'four'));
  expect(forkPoint(state, 4)).toMatchObject({ kind: 'refused', reason: 'running' });
  expect(forkPoint(state, 5)).toMatchObject({ kind: 'refused', reason: 'beyond' });
  // A finished turn forks while a later one runs; the running turn's entries stay behind.
  expect(point(state, 3).transcript).toHaveLength(6);
});

test("the fork's state: the original's first turns and instructions, and nothing else of it", () => {
  const p = point(threeTurns(6), 2);
  const fork = forkedState('a', 'fork', p);
  expect(fork).toMatchObject({
    conversationId: 'fork',
    turns: 2,
    queue: [],
    seen: {},
    turn: null,
    rememberedTools: [],
    instructions: 'Answer in French.',
    forkedFrom: { conversationId: 'original', turn: 2 },
    chain: { head: ref(4), length: 4 },
  });
  expect(fork.usage.modelCalls).toBe(0);
  // Carried by continue-as-new and read back as it was.
  expect(restoreState(JSON.parse(JSON.stringify(carriedState(fork))), 'a', 'fork')).toMatchObject({
    forkedFrom: { conversationId: 'original', turn: 2 },
    transcript: p.transcript,
  });
});

test('the workflow refuses a fork point that does not hang together', () => {
  const p = point(threeTurns(6), 2);
  const start = (fork: unknown) => StartConversation.safeParse({ agent: 'a', conversationId: 'fork', fork });
  expect(start(p).success).toBe(true);
  expect(start({ ...p, entryRefs: p.entryRefs.slice(1) }).success).toBe(false);
  expect(start({ ...p, chain: { head: ref(9), length: 4 } }).success).toBe(false);
  const swapped = [...p.transcript];
  [swapped[0], swapped[1]] = [swapped[1], swapped[0]];
  expect(start({ ...p, transcript: swapped }).success).toBe(false);
  expect(start({ ...p, transcript: [...p.transcript, user(3, 'later')] }).success).toBe(false);
  expect(start({ ...p, entryRefs: ['../../etc/passwd', ...p.entryRefs.slice(1)] }).success).toBe(false);
});
