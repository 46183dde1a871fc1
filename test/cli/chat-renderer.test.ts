/** What `vigil chat` prints for a turn's events, without a terminal (no colours: the output is not a TTY). */
import { ChatRenderer } from '../../src/cli/chat/chat-renderer';
import type { Reply } from '../../src/conversation/protocol';

function renderer(): { chat: ChatRenderer; text: () => string } {
  let text = '';
  const chat = new ChatRenderer({ write: (s: string) => (text += s) }, 'bot', {});
  return { chat, text: () => text };
}

const reply = (content: string, status: Reply['status'] = 'completed'): Reply => ({
  messageId: 'm1',
  turn: 1,
  status,
  content,
  models: ['test-model'],
  usage: { inputTokens: 1, outputTokens: 1 },
});
const delta = (text: string, attempt = 1, step = 1) => ({ type: 'model.delta' as const, turn: 1, step, attempt, text });

test('streamed text is shown as it comes, and the reply ends its line instead of repeating it', () => {
  const { chat, text } = renderer();
  chat.event(delta('Hello '));
  chat.event(delta('there.'));
  expect(text()).toBe('bot> Hello there.');
  chat.reply(reply('Hello there.'));
  expect(text()).toBe('bot> Hello there.\n');
});

test('an answer cut at its output limit is shown once, with the notice that says so below it', () => {
  const { chat, text } = renderer();
  chat.event(delta('The reasons are: first, the'));
  chat.event({ type: 'notice', turn: 1, content: 'The answer was cut short.' });
  chat.reply({ ...reply('The reasons are: first, the'), cut: { answer: 'output_limit' } });
  expect(text()).toBe('bot> The reasons are: first, the\n  notice: The answer was cut short.\n');
});

test('a retried model call starts a new line, marked, and the reply is the authority', () => {
  const { chat, text } = renderer();
  chat.event(delta('Hel'));
  chat.event(delta('Hello again', 2));
  chat.reply(reply('Hello again!'));
  expect(text()).toBe('bot> Hel\n  (the model call failed; attempt 2:)\nbot> Hello again\nbot> Hello again!\n');
});

test('tool calls and results are one line each; a turn that did not complete says how it ended', () => {
  const { chat, text } = renderer();
  chat.event(delta('Let me check.'));
  chat.event({ type: 'tool.requested', turn: 1, toolCall: { id: 't1', name: 'lookup', arguments: '{\n "q": "x"\n}' } });
  chat.event({ type: 'tool.finished', turn: 1, toolCallId: 't1', name: 'lookup', isError: false, content: 'found x' });
  chat.event(delta('Found', 1, 2));
  chat.reply(reply('Found', 'cancelled'));
  expect(text()).toBe(
    'bot> Let me check.\n  -> lookup({ "q": "x" })\n  <- lookup: found x\nbot> Found\n[turn 1 cancelled]\n',
  );
});

test('a line printed while an approval question is open goes above it, and the question is asked again', () => {
  const { chat, text } = renderer();
  const approval = { toolCallId: 't1', tool: 'lookup', arguments: '{"q":"x"}', requestedAt: '' };
  chat.ask(approval);
  chat.say('answer y (yes), n (no) or a (always)');
  chat.answered('yes');
  expect(text()).toBe(
    'Allow lookup({"q":"x"})? [y]es / [n]o / [a]lways: \n' +
      'answer y (yes), n (no) or a (always)\n' +
      'Allow lookup({"q":"x"})? [y]es / [n]o / [a]lways: yes\n',
  );
});

test("a sub-agent's approval is asked naming the agent and the conversation that asks; /state lists it", () => {
  const { chat, text } = renderer();
  const sub = { toolCallId: 'call_1', agent: 'researcher', conversationId: 'writer:c1:t1:call_1' };
  chat.event({
    type: 'sub_conversation',
    turn: 1,
    subConversation: { ...sub, status: 'running', pendingApprovals: [] },
  });
  expect(text()).toBe('');
  const approval = {
    toolCallId: 'call_9',
    tool: 'archive',
    arguments: '{"q":"x"}',
    requestedAt: '2026-01-01T00:00:00Z',
  };
  chat.event({
    type: 'sub_conversation',
    turn: 1,
    subConversation: { ...sub, status: 'awaiting_approval', pendingApprovals: [approval] },
  });
  // The session asks it (the event itself prints nothing), on the sub-agent's conversation.
  expect(text()).toBe('');
  chat.ask({ ...approval, on: { agent: sub.agent, conversationId: sub.conversationId } });
  expect(text()).toBe(
    'agent researcher (conversation writer:c1:t1:call_1) asks: Allow archive({"q":"x"})? [y]es / [n]o / [a]lways: ',
  );
  chat.answered('yes');
  const totals = { inputTokens: 0, outputTokens: 0, costMicros: 0, modelCalls: 0, unpricedCalls: 0 };
  chat.state({
    agent: 'writer',
    conversationId: 'c1',
    status: 'running',
    currentTurn: null,
    queued: [],
    pendingApprovals: [],
    rememberedTools: [],
    usage: { ...totals, byModel: {}, byAuthor: {}, otherModels: null, otherAuthors: null },
    memory: null,
    turns: 0,
    ending: false,
    subConversations: [{ ...sub, status: 'awaiting_approval', pendingApprovals: [approval] }],
  });
  expect(text()).toContain(
    'awaiting approval on agent researcher (conversation writer:c1:t1:call_1): archive({"q":"x"})\n',
  );
});
