/**
 * Forking a conversation at a past turn, end to end on the real worker with the scripted model: the fork's model
 * sees exactly the original's first turns and its own message, the fork's transcript and usage are its own, the
 * stored entries are shared by reference (never written into the fork's history as text), and the original is
 * left exactly as it was. Also the gateway's `POST .../fork` over real HTTP, and every refusal.
 */
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId, type ForkResult } from '../../src/conversation/protocol';
import {
  ConversationExistsError,
  ConversationNotFoundError,
  TurnInProgressError,
  ValidationError,
} from '../../src/errors';
import type { RecordedRequest } from '../../src/testing/scripted-model';
import { conversationPath, request, useGateway } from '../gateway/gateway-fixture';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { lookup } from '../helpers/test-agents';

const forking = defineAgent({ name: 'forking', instructions: 'Be brief.', model: 'test-model', tools: [lookup] });
const fx = useConversations([forking]);
const gateway = useGateway(fx);

afterEach(() => fx.model.reset());

/** What the model was sent, as (role, text) pairs: the system message first. */
function seen(req: RecordedRequest): { role: string; content: string }[] {
  return req.body.messages.map((m) => ({
    role: m.role,
    content: typeof m.content === 'string' ? m.content : JSON.stringify(m.content),
  }));
}

/** A conversation of three turns, `one`/`two`/`three` answered `answer one`/... */
async function threeTurns(id: string): Promise<void> {
  fx.model.script({ content: 'answer one' }, { content: 'answer two' }, { content: 'answer three' });
  for (const word of ['one', 'two', 'three'])
    await fx.client.send('forking', id, { id: `${id}-${word}`, content: word });
}

async function historyOf(conversationId: string) {
  return fx.env.client.workflow.getHandle(conversationWorkflowId('forking', conversationId)).fetchHistory();
}

test('a fork at turn 2 of 3 goes on from turns 1-2 with usage of its own; the original is left as it was', async () => {
  const original = newId('original');
  await threeTurns(original);
  const transcriptBefore = await fx.client.transcript('forking', original);
  const stateBefore = await fx.client.state('forking', original);
  const eventsBefore = (await historyOf(original)).events!.length;

  const to = newId('fork');
  const fork = await fx.client.fork('forking', original, { atTurn: 2, to });
  expect(fork).toEqual<ForkResult>({
    agent: 'forking',
    conversationId: to,
    forkedFrom: { conversationId: original, turn: 2 },
    turns: 2,
  });
  fx.model.reset();
  fx.model.script({ content: 'a different answer' });
  const reply = await fx.client.send('forking', to, { id: `${to}-new`, content: 'try again' });
  expect(reply).toMatchObject({ turn: 3, status: 'completed', content: 'a different answer' });

  // The model saw exactly turns 1-2 and the new message.
  const request = await fx.model.nextRequest();
  expect(seen(request)).toEqual([
    { role: 'system', content: expect.stringContaining('Be brief.') },
    { role: 'user', content: 'one' },
    { role: 'assistant', content: 'answer one' },
    { role: 'user', content: 'two' },
    { role: 'assistant', content: 'answer two' },
    { role: 'user', content: 'try again' },
  ]);

  // Its transcript: the original's first four entries as they were, then its own turn.
  const forked = await fx.client.transcript('forking', to);
  expect(forked.entries.slice(0, 4)).toEqual(transcriptBefore.entries.slice(0, 4));
  expect(forked.entries.slice(4).map((e) => [e.role, e.turn, 'content' in e ? e.content : ''])).toEqual([
    ['user', 3, 'try again'],
    ['assistant', 3, 'a different answer'],
  ]);
  // Its usage: its own model call only.
  const forkState = await fx.client.state('forking', to);
  expect(forkState).toMatchObject({ turns: 3, status: 'idle', forkedFrom: { conversationId: original, turn: 2 } });
  expect(forkState.usage.modelCalls).toBe(1);
  expect(forkState.usage.inputTokens).toBe(reply.usage.inputTokens);
  expect(forkState.usage.outputTokens).toBe(reply.usage.outputTokens);

  // Shared, not copied: the fork's start holds the original's entries as references to their stored records.
  const started = (await historyOf(to)).events![0].workflowExecutionStartedEventAttributes!.input!.payloads!;
  const startText = started.map((p) => Buffer.from(p.data!).toString('utf8')).join('\n');
  expect(startText.match(/"stored":"sha256:[0-9a-f]{64}"/g)).toHaveLength(4);
  expect(startText).not.toContain('answer one');
  expect(startText).not.toContain('answer two');

  // The original: same transcript, usage, turns and history.
  expect(await fx.client.transcript('forking', original)).toEqual(transcriptBefore);
  const stateAfter = await fx.client.state('forking', original);
  expect(stateAfter.usage).toEqual(stateBefore.usage);
  expect(stateAfter.turns).toBe(3);
  expect(stateAfter.forkedFrom).toBeUndefined();
  expect((await historyOf(original)).events!.length).toBe(eventsBefore);
});

test("a fork of a fork shares both conversations' records: the model sees each one's turns up to the point", async () => {
  const original = newId('original');
  await threeTurns(original);
  const first = newId('fork');
  await fx.client.fork('forking', original, { atTurn: 2, to: first });
  fx.model.reset();
  fx.model.script({ content: 'answer of the fork' });
  await fx.client.send('forking', first, 'fork turn');
  const second = newId('fork');
  await fx.client.fork('forking', first, { atTurn: 3, to: second });
  const started = (await historyOf(second)).events![0].workflowExecutionStartedEventAttributes!.input!.payloads!;
  expect(started.map((p) => Buffer.from(p.data!).toString('utf8')).join('\n')).not.toContain('answer of the fork');

  fx.model.reset();
  fx.model.script({ content: 'answer of the second fork' });
  await fx.client.send('forking', second, 'second fork turn');
  expect(seen(await fx.model.nextRequest()).map((m) => m.content)).toEqual([
    expect.stringContaining('Be brief.'),
    'one',
    'answer one',
    'two',
    'answer two',
    'fork turn',
    'answer of the fork',
    'second fork turn',
  ]);
  expect((await fx.client.state('forking', second)).forkedFrom).toEqual({ conversationId: first, turn: 3 });
});

test('a fork without an id gets a generated one, and may bring instructions of its own', async () => {
  const original = newId('original');
  await threeTurns(original);
  const fork = await fx.client.fork('forking', original, { atTurn: 1, instructions: 'Answer in French.' });
  expect(fork.conversationId).toMatch(new RegExp(`^${original}\\.fork-[0-9a-f]{8}$`));
  fx.model.reset();
  fx.model.script({ content: 'bonjour' });
  await fx.client.send('forking', fork.conversationId, 'hello');
  const request = await fx.model.nextRequest();
  const messages = seen(request);
  expect(messages[0].content).toContain('Be brief.');
  expect(messages[0].content).toContain('Answer in French.');
  expect(messages.slice(1).map((m) => m.content)).toEqual(['one', 'answer one', 'hello']);
  // The message ids of the original are not the fork's: one of them starts a new turn there.
  const again = await fx.client.send('forking', fork.conversationId, { id: `${original}-two`, content: 'two again' });
  expect(again.turn).toBe(3);
});

test('an ended conversation forks too, and the fork takes messages', async () => {
  const original = newId('original');
  await threeTurns(original);
  await fx.client.end('forking', original);
  await fx.env.client.workflow.getHandle(conversationWorkflowId('forking', original)).result();
  const fork = await fx.client.fork('forking', original, { atTurn: 3 });
  fx.model.reset();
  fx.model.script({ content: 'still talking' });
  expect(await fx.client.send('forking', fork.conversationId, 'more')).toMatchObject({
    turn: 4,
    content: 'still talking',
  });
});

test('refusals: a taken id, a turn beyond the finished ones, a running turn, bad options, no original', async () => {
  const original = newId('original');
  fx.model.script({ content: 'answer one' }, { toolCalls: [{ name: 'lookup', arguments: '{"q":"x"}' }] });
  await fx.client.send('forking', original, 'one');
  // Turn 2 waits for an approval, and a message is queued behind it.
  const second = fx.client.send('forking', original, 'two');
  await eventually(async () =>
    (await fx.client.state('forking', original)).status === 'awaiting_approval' ? true : undefined,
  );
  await fx.client.post('forking', original, { id: newId('queued'), content: 'three' });
  await eventually(async () => ((await fx.client.state('forking', original)).queued.length === 1 ? true : undefined));

  await expect(fx.client.fork('forking', original, { atTurn: 2 })).rejects.toThrow(TurnInProgressError);
  await expect(fx.client.fork('forking', original, { atTurn: 2 })).rejects.toThrow(/turn 2 .* is still running/);
  await expect(fx.client.fork('forking', original, { atTurn: 3 })).rejects.toThrow(ValidationError);
  await expect(fx.client.fork('forking', original, { atTurn: 3 })).rejects.toThrow(
    /has 1 finished turn\(s\); atTurn 3 is beyond them/,
  );
  await expect(fx.client.fork('forking', original, { atTurn: 0 })).rejects.toThrow(/atTurn/);
  await expect(fx.client.fork('forking', original, { atTurn: 1, to: 'no spaces' })).rejects.toThrow(ValidationError);
  await expect(fx.client.fork('forking', original, { atTurn: 1, to: original })).rejects.toThrow(
    ConversationExistsError,
  );
  await expect(fx.client.fork('forking', newId('nobody'), { atTurn: 1 })).rejects.toThrow(ConversationNotFoundError);

  // A fork at the finished turn carries none of the approval, the queue or the running turn.
  const to = newId('fork');
  await fx.client.fork('forking', original, { atTurn: 1, to });
  expect(await fx.client.state('forking', to)).toMatchObject({
    status: 'idle',
    turns: 1,
    currentTurn: null,
    pendingApprovals: [],
    queued: [],
  });
  await expect(fx.client.fork('forking', original, { atTurn: 1, to })).rejects.toThrow(ConversationExistsError);
  expect(await fx.client.state('forking', original)).toMatchObject({ status: 'awaiting_approval', queued: [{}] });

  // The original goes on as it would have.
  const [approval] = (await fx.client.state('forking', original)).pendingApprovals;
  fx.model.script({ content: 'rejected' }, { content: 'answer three' });
  await fx.client.decide('forking', original, { toolCallId: approval.toolCallId, decision: 'reject' });
  expect(await second).toMatchObject({ turn: 2, content: 'rejected' });
  // Its queued message too, before the next test scripts the model.
  await eventually(async () => ((await fx.client.state('forking', original)).turns === 3 ? true : undefined));
});

describe('the gateway', () => {
  test('POST .../fork answers 201 with the fork, which is then a conversation like any other', async () => {
    const original = newId('original');
    await threeTurns(original);
    const to = newId('fork');
    const created = await request(gateway.url, 'POST', `${conversationPath('forking', original)}/fork`, {
      body: { atTurn: 2, to },
    });
    expect(created).toMatchObject({
      status: 201,
      body: { agent: 'forking', conversationId: to, forkedFrom: { conversationId: original, turn: 2 }, turns: 2 },
    });
    const state = await request(gateway.url, 'GET', conversationPath('forking', to));
    expect(state).toMatchObject({ status: 200, body: { turns: 2, forkedFrom: { conversationId: original, turn: 2 } } });
    const transcript = await request<{ entries: { content: string }[] }>(
      gateway.url,
      'GET',
      `${conversationPath('forking', to)}/messages`,
    );
    expect(transcript.body.entries.map((e) => e.content)).toEqual(['one', 'answer one', 'two', 'answer two']);
  });

  test('refusals: 409 conversation_exists, 400 beyond the turns or a bad body, 404 no original', async () => {
    const original = newId('original');
    await threeTurns(original);
    const fork = (body: unknown, id = original) =>
      request(gateway.url, 'POST', `${conversationPath('forking', id)}/fork`, { body });

    expect(await fork({ atTurn: 1, to: original })).toMatchObject({
      status: 409,
      body: { error: { code: 'conversation_exists' } },
    });
    expect(await fork({ atTurn: 4 })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', message: expect.stringContaining('3 finished turn(s)') } },
    });
    const bad = await fork({ atTurn: 'two', extra: true });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('body.atTurn');
    expect(JSON.stringify(bad.body)).toContain('extra');
    expect(await fork({ atTurn: 1 }, newId('nobody'))).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
  });
});
