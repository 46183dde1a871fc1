/** The rules of `vigil chat`'s keyboard, without a terminal: what each key, line and event does in each state. */
import {
  EXIT_CHAT_DONE,
  EXIT_INTERRUPTED,
  INITIAL_STATE,
  step,
  type ChatEffect,
  type ChatInput,
  type ChatState,
} from '../../src/cli/chat/chat-state';
import type { PendingApproval } from '../../src/conversation/protocol';

const approval = (toolCallId: string, tool = 'lookup'): PendingApproval => ({
  toolCallId,
  tool,
  arguments: '{"q":"x"}',
  requestedAt: '2025-01-01T00:00:00.000Z',
});

/** Feeds the inputs in order; returns the last state and every effect, in order. */
function run(inputs: ChatInput[], from: ChatState = INITIAL_STATE): { state: ChatState; effects: ChatEffect[] } {
  let state = from;
  const effects: ChatEffect[] = [];
  for (const input of inputs) {
    const next = step(state, input);
    state = next.state;
    effects.push(...next.effects);
  }
  return { state, effects };
}

const line = (text: string): ChatInput => ({ type: 'line', text });
const key = (k: string): ChatInput => ({ type: 'key', key: k });
const interrupt: ChatInput = { type: 'interrupt' };
const eof: ChatInput = { type: 'eof' };
const requested = (a: PendingApproval): ChatInput => ({ type: 'approval.requested', approval: a });
const turnEnded: ChatInput = { type: 'turn.ended' };

describe('at the prompt', () => {
  test('a line is sent, trimmed, and a turn starts', () => {
    expect(run([line('  what is 2+2  ')])).toEqual({
      state: { mode: 'turn', cancelling: false, approvals: [], settled: [] },
      effects: [{ type: 'send', content: 'what is 2+2' }],
    });
  });

  test('an empty line just prompts again', () => {
    expect(run([line('   ')])).toEqual({ state: INITIAL_STATE, effects: [{ type: 'prompt' }] });
  });

  test('Ctrl-C exits 130 and Ctrl-D exits 0', () => {
    expect(run([interrupt]).effects).toEqual([{ type: 'exit', code: EXIT_INTERRUPTED }]);
    expect(run([eof]).effects).toEqual([{ type: 'exit', code: EXIT_CHAT_DONE }]);
  });

  test('/exit leaves like Ctrl-D; /help and /state show, then prompt again; other commands are named', () => {
    expect(run([line('/exit')]).effects).toEqual([{ type: 'exit', code: 0 }]);
    expect(run([line('/help')]).effects).toEqual([{ type: 'help' }, { type: 'prompt' }]);
    expect(run([line('/STATE')]).effects).toEqual([{ type: 'show-state' }, { type: 'prompt' }]);
    const unknown = run([line('/frobnicate now')]);
    expect(unknown.state).toEqual(INITIAL_STATE);
    expect(unknown.effects).toEqual([
      { type: 'say', text: 'unknown command /frobnicate; /help lists the commands' },
      { type: 'prompt' },
    ]);
  });

  test('keys and approvals of turns that are not ours mean nothing', () => {
    expect(run([key('y'), requested(approval('t1')), turnEnded])).toEqual({ state: INITIAL_STATE, effects: [] });
  });
});

describe('while a turn runs', () => {
  const inTurn = run([line('hello')]).state;

  test('the first Ctrl-C cancels the turn; the second exits 130', () => {
    const once = run([interrupt], inTurn);
    expect(once.state).toMatchObject({ mode: 'turn', cancelling: true });
    expect(once.effects).toEqual([
      { type: 'cancel' },
      { type: 'say', text: 'cancelling the turn… (Ctrl-C again exits)' },
    ]);
    expect(run([interrupt, interrupt], inTurn).effects.at(-1)).toEqual({ type: 'exit', code: EXIT_INTERRUPTED });
  });

  test('the turn ending brings the prompt back, and Ctrl-C there exits again', () => {
    const ended = run([interrupt, turnEnded], inTurn);
    expect(ended.state).toEqual(INITIAL_STATE);
    expect(ended.effects.at(-1)).toEqual({ type: 'prompt' });
    // A new turn starts with a fresh Ctrl-C: it cancels, it does not exit.
    expect(run([line('again'), interrupt], ended.state).effects).toContainEqual({ type: 'cancel' });
  });

  test('Ctrl-D and keys with no question asked are ignored', () => {
    expect(run([eof, key('y'), line('typed ahead')], inTurn)).toEqual({ state: inTurn, effects: [] });
  });

  test('an approval is asked; y approves, n rejects, a approves and remembers', () => {
    const a1 = approval('t1');
    const asked = run([requested(a1)], inTurn);
    expect(asked.effects).toEqual([{ type: 'ask', approval: a1 }]);
    expect(run([key('y')], asked.state).effects).toEqual([
      { type: 'decide', approval: a1, decision: 'approve', remember: false },
    ]);
    expect(run([key('N')], asked.state).effects).toEqual([
      { type: 'decide', approval: a1, decision: 'reject', remember: false },
    ]);
    expect(run([key('a')], asked.state).effects).toEqual([
      { type: 'decide', approval: a1, decision: 'approve', remember: true },
    ]);
    // From a pipe, the answer is a line.
    expect(run([line('always')], asked.state).effects).toEqual([
      { type: 'decide', approval: a1, decision: 'approve', remember: true },
    ]);
  });

  test('any other key explains the answers and asks again', () => {
    const a1 = approval('t1');
    const { state, effects } = run([requested(a1), key('x')], inTurn);
    expect(effects.slice(1)).toEqual([
      { type: 'say', text: 'answer y (yes), n (no) or a (always); Ctrl-C cancels the turn' },
      { type: 'ask', approval: a1 },
    ]);
    expect(state).toMatchObject({ approvals: [a1] });
  });

  test('several approvals are asked one after another, each once', () => {
    const [a1, a2, a3] = [approval('t1'), approval('t2', 'http_fetch'), approval('t3')];
    const { effects, state } = run(
      [requested(a1), requested(a2), requested(a1), key('y'), requested(a3), key('n'), key('a')],
      inTurn,
    );
    expect(effects).toEqual([
      { type: 'ask', approval: a1 },
      { type: 'decide', approval: a1, decision: 'approve', remember: false },
      { type: 'ask', approval: a2 },
      { type: 'decide', approval: a2, decision: 'reject', remember: false },
      { type: 'ask', approval: a3 },
      { type: 'decide', approval: a3, decision: 'approve', remember: true },
    ]);
    expect(state).toMatchObject({ approvals: [], settled: ['t1', 't2', 't3'] });
    // A repeated request for an answered call (a resumed stream) is not asked again.
    expect(run([requested(a2)], state).effects).toEqual([]);
  });

  test('a question answered elsewhere moves on to the next one; one further back just leaves the queue', () => {
    const [a1, a2, a3] = [approval('t1'), approval('t2'), approval('t3')];
    const asked = run([requested(a1), requested(a2), requested(a3)], inTurn).state;
    const behind = run([{ type: 'approval.settled', toolCallId: 't3', decision: 'approve' }], asked);
    expect(behind.effects).toEqual([]);
    expect(behind.state).toMatchObject({ approvals: [a1, a2] });
    const head = run([{ type: 'approval.settled', toolCallId: 't1', decision: 'expired' }], behind.state);
    expect(head.effects).toEqual([
      { type: 'say', text: '(the approval request expired)' },
      { type: 'ask', approval: a2 },
    ]);
    // Our own decision coming back as an event changes nothing.
    const ours = run([key('y'), { type: 'approval.settled', toolCallId: 't2', decision: 'approve' }], head.state);
    expect(ours.effects).toEqual([{ type: 'decide', approval: a2, decision: 'approve', remember: false }]);
  });

  test("a sub-agent's calls are asked as ours are, answered on its conversation, and settled when it stops waiting", () => {
    const on = { agent: 'researcher', conversationId: 'writer:c1:t1:call_1' };
    const sub = (...pending: PendingApproval[]): ChatInput => ({ type: 'sub.approvals', on, pending });
    const [ours, theirs, next] = [approval('t1'), approval('t1', 'archive'), approval('t2', 'archive')];
    // The same tool call id as ours, of another conversation: a question of its own, asked after ours.
    const asked = run([requested(ours), sub(theirs)], inTurn);
    expect(asked.effects).toEqual([{ type: 'ask', approval: ours }]);
    // A repeated report asks nothing again.
    expect(run([sub(theirs)], asked.state).effects).toEqual([]);
    const answered = run([key('y'), key('n')], asked.state);
    expect(answered.effects).toEqual([
      { type: 'decide', approval: ours, decision: 'approve', remember: false },
      { type: 'ask', approval: { ...theirs, on } },
      { type: 'decide', approval: { ...theirs, on }, decision: 'reject', remember: false },
    ]);
    // Its report that it goes on (our answer taken) changes nothing; a new call is asked.
    const later = run([sub(), sub(next)], answered.state);
    expect(later.effects).toEqual([{ type: 'ask', approval: { ...next, on } }]);
    // Answered elsewhere (the gateway, another chat): the question on screen moves on.
    expect(run([sub()], later.state)).toMatchObject({
      state: { approvals: [] },
      effects: [{ type: 'say', text: '(answered elsewhere)' }],
    });
  });

  test('Ctrl-C during a question cancels the turn and drops the questions', () => {
    const { state, effects } = run(
      [requested(approval('t1')), requested(approval('t2')), interrupt, key('y'), requested(approval('t3'))],
      inTurn,
    );
    expect(effects.filter((e) => e.type !== 'ask')).toEqual([
      { type: 'cancel' },
      { type: 'say', text: 'cancelling the turn… (Ctrl-C again exits)' },
    ]);
    expect(state).toMatchObject({ cancelling: true, approvals: [] });
  });
});

test('after exit nothing happens', () => {
  const { state } = run([eof]);
  expect(run([line('hello'), interrupt, turnEnded], state)).toEqual({
    state: { mode: 'exited', code: 0 },
    effects: [],
  });
});
