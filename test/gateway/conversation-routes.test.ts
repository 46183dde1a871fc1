/**
 * The gateway's conversation routes over real HTTP, against the real worker, the offline Temporal and the
 * scripted model: messages (waiting and not), state, transcript, approvals, cancel, end, and their errors.
 */
import { defineAgent } from '../../src/agents/define-agent';
import {
  conversationWorkflowId,
  type ConversationView,
  type Reply,
  type TranscriptPage,
} from '../../src/conversation/protocol';
import { calculator } from '../../src/tools';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { lookup, lookups } from '../helpers/test-agents';
import { conversationPath, request, useGateway } from './gateway-fixture';

const agent = defineAgent({
  name: 'tester',
  instructions: 'Be brief.',
  model: 'test-model',
  tools: [calculator, lookup],
});
const fx = useConversations([agent]);
const gateway = useGateway(fx);

interface ErrorBody {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

const call = <T = Record<string, unknown>>(
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
) => request<T>(gateway.url, method, path, { body, headers });
const path = (conversationId: string, rest = '') => conversationPath('tester', conversationId) + rest;
const post = (conversationId: string, body: unknown, query = '', headers?: Record<string, string>) =>
  call<{ reply: Reply } & { messageId: string } & ErrorBody>(
    'POST',
    path(conversationId, `/messages${query}`),
    body,
    headers,
  );
const transcript = async (conversationId: string, query = '') =>
  (await call<TranscriptPage>('GET', path(conversationId, `/messages${query}`))).body;
const state = async (conversationId: string) => (await call<ConversationView>('GET', path(conversationId))).body;
/** The pending approval of the conversation, once its turn waits for one. */
const waitForApproval = (id: string) =>
  eventually(async () => {
    const answer = await call<ConversationView>('GET', path(id));
    return answer.status === 200 && answer.body.status === 'awaiting_approval'
      ? answer.body.pendingApprovals[0]
      : undefined;
  });

beforeEach(() => fx.model.reset());

describe('messages', () => {
  test('posting a message waits for the turn and answers 200 with the reply', async () => {
    const id = newId();
    fx.model.script({ content: 'Hello!', usage: { prompt_tokens: 10, completion_tokens: 2 } });
    const answer = await post(id, { id: 'm-1', content: 'hi', author: 'ada', metadata: { source: 'test' } });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-vigil-message-id')).toBe('m-1');
    expect(answer.body).toEqual({
      reply: {
        messageId: 'm-1',
        turn: 1,
        status: 'completed',
        content: 'Hello!',
        models: ['test-model'],
        usage: { inputTokens: 10, outputTokens: 2 },
      },
    });
    expect(await state(id)).toMatchObject({ agent: 'tester', conversationId: id, status: 'idle', turns: 1 });
    expect((await transcript(id)).entries).toMatchObject([
      { role: 'user', messageId: 'm-1', content: 'hi', author: 'ada' },
      { role: 'assistant', content: 'Hello!' },
    ]);
  });

  test('a retry with the same Idempotency-Key gets the first reply and starts no second turn', async () => {
    const id = newId();
    fx.model.script({ content: 'once' });
    const before = fx.model.requests.length;
    const first = await post(id, { content: 'do it once' }, '', { 'idempotency-key': 'key-1' });
    const retry = await post(id, { content: 'do it once' }, '', { 'idempotency-key': 'key-1' });
    expect(first.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect(first.body.reply).toMatchObject({ messageId: 'key-1', content: 'once' });
    expect(fx.model.requests.length - before).toBe(1);
    expect((await state(id)).turns).toBe(1);
  });

  test('a message without an id or key gets a generated one, named in the answer', async () => {
    const id = newId();
    const answer = await post(id, { content: 'echo this' });
    expect(answer.status).toBe(200);
    const messageId = answer.headers.get('x-vigil-message-id');
    expect(messageId).toMatch(/^[0-9a-f-]{36}$/);
    expect(answer.body.reply).toMatchObject({ messageId, content: 'echo: echo this' });
  });

  test('?wait=false answers 202 at once; the reply then shows in the transcript', async () => {
    const id = newId();
    fx.model.script({ content: 'later' });
    const answer = await post(id, { id: 'async-1', content: 'no rush' }, '?wait=false');
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ messageId: 'async-1' });
    const reply = await eventually(async () => {
      const page = await transcript(id).catch(() => undefined);
      return page?.entries.find((entry) => entry.role === 'assistant');
    });
    expect(reply).toMatchObject({ role: 'assistant', content: 'later', turn: 1 });
    // Without a channel in the message, the reply also goes to the log channel.
    await eventually(async () => fx.logged.find((line) => line.conversationId === id && line.messageId === 'async-1'));
  });

  test('a reply slower than ?timeoutMs is 504 saying how to get it; the turn goes on and can be cancelled', async () => {
    const id = newId();
    fx.model.script({ hang: true });
    const pending = post(id, { id: 'slow-1', content: 'take your time' }, '?timeoutMs=1000');
    const modelCall = await fx.model.nextRequest();
    const answer = await pending;
    expect(answer.status).toBe(504);
    expect(answer.headers.get('x-vigil-message-id')).toBe('slow-1');
    expect(answer.body.error).toEqual({
      code: 'timeout',
      message: expect.stringMatching(
        /^no reply within 1000 ms; the turn goes on\. Post message slow-1 again .*GET \/v1\/agents\/tester\/conversations\/.*\/messages$/,
      ),
    });
    expect(await state(id)).toMatchObject({ status: 'running', currentTurn: { messageId: 'slow-1' } });

    const cancel = await call('POST', path(id, '/cancel'), { reason: 'user pressed stop' });
    expect(cancel).toMatchObject({ status: 200, body: { cancelled: true, turn: 1 } });
    expect(await modelCall.ended).toBe('aborted');
    const again = await post(id, { id: 'slow-1', content: 'take your time' });
    expect(again.status).toBe(200);
    expect(again.body.reply).toMatchObject({
      messageId: 'slow-1',
      status: 'cancelled',
      content: 'The turn was cancelled: user pressed stop',
    });
  });

  test('an invalid message is 400 listing every problem, and starts no conversation', async () => {
    const id = newId();
    const answer = await call<ErrorBody>('POST', conversationPath('no spaces', id) + '/messages?wait=maybe', {
      content: '',
      channel: { type: 'carrier-pigeon' },
      extra: true,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    expect(answer.body.error.issues?.map((issue) => issue.path).sort()).toEqual(
      ['body', 'body.channel.type', 'body.content', 'params.agent', 'query.wait'].sort(),
    );
    expect((await call('GET', path(id))).status).toBe(404);
  });

  test('timeoutMs is bounded, and a body id that differs from Idempotency-Key is refused', async () => {
    const id = newId();
    const tooLong = await post(id, { content: 'x' }, '?timeoutMs=600001');
    expect(tooLong.body.error.issues).toEqual([{ path: 'query.timeoutMs', message: expect.any(String) }]);
    const mismatch = await post(id, { id: 'a', content: 'x' }, '', { 'idempotency-key': 'b' });
    expect(mismatch.status).toBe(400);
    expect(mismatch.body.error.issues).toEqual([
      { path: 'headers.idempotency-key', message: 'differs from body.id; send one, or the same' },
    ]);
  });

  test('a body that is not JSON is 400; one in another media type is 415', async () => {
    const broken = await request<ErrorBody>(gateway.url, 'POST', path(newId(), '/messages'), {
      rawBody: '{"content": ',
      headers: { 'content-type': 'application/json' },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error.code).toBe('invalid_request');
    const xml = await request<ErrorBody>(gateway.url, 'POST', path(newId(), '/messages'), {
      rawBody: '<content>hi</content>',
      headers: { 'content-type': 'application/xml' },
    });
    expect(xml.status).toBe(415);
    expect(xml.body.error.code).toBe('unsupported_media_type');
  });
});

describe('reading a conversation', () => {
  test('the transcript pages by offset and limit', async () => {
    const id = newId();
    await post(id, { content: 'one' });
    await post(id, { content: 'two' });
    const page = await transcript(id, '?offset=1&limit=2');
    expect(page).toMatchObject({ offset: 1, total: 4, nextOffset: 3 });
    expect(page.entries.map((entry) => entry.role)).toEqual(['assistant', 'user']);
  });

  test('a bad page request is 400 naming the parameter', async () => {
    const id = newId();
    await post(id, { content: 'hi' });
    const answer = await call<ErrorBody>('GET', path(id, '/messages?limit=0&offset=first&page=2'));
    expect(answer.status).toBe(400);
    expect(answer.body.error.issues?.map((issue) => issue.path).sort()).toEqual([
      'query',
      'query.limit',
      'query.offset',
    ]);
  });

  test('a conversation that does not exist is 404 on every route', async () => {
    const id = newId();
    const answers = await Promise.all([
      call<ErrorBody>('GET', path(id)),
      call<ErrorBody>('GET', path(id, '/messages')),
      call<ErrorBody>('POST', path(id, '/approvals/call-1'), { decision: 'approve' }),
      call<ErrorBody>('POST', path(id, '/cancel')),
      call<ErrorBody>('DELETE', path(id)),
    ]);
    for (const answer of answers) {
      expect(answer.status).toBe(404);
      expect(answer.body).toEqual({
        error: { code: 'not_found', message: `conversation ${id} of agent tester was not found` },
      });
    }
  });

  test('an unknown route is 404 in the same error format', async () => {
    const answer = await call<ErrorBody>('GET', '/v1/nothing/here?x=1');
    expect(answer).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found', message: 'no route GET /v1/nothing/here' } },
    });
  });
});

describe('approvals', () => {
  test('an approved call runs; deciding it again is 409; a malformed decision is 400', async () => {
    const id = newId();
    fx.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"gateway weather"}' }] }, { content: 'Sunny.' });
    const reply = post(id, { id: 'ask-1', content: 'weather?' });
    const pending = await waitForApproval(id);
    expect(pending).toMatchObject({ tool: 'lookup', arguments: '{"q":"gateway weather"}' });

    const malformed = await call<ErrorBody>('POST', path(id, `/approvals/${pending.toolCallId}`), {
      decision: 'maybe',
      toolCallId: 'x',
    });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.issues?.map((issue) => issue.path).sort()).toEqual(['body', 'body.decision']);

    const decided = await call('POST', path(id, `/approvals/${pending.toolCallId}`), {
      decision: 'approve',
      remember: true,
    });
    expect(decided).toMatchObject({ status: 200, body: { accepted: true } });
    expect((await reply).body.reply).toMatchObject({ status: 'completed', content: 'Sunny.' });
    expect(lookups).toContain('gateway weather');
    expect((await state(id)).rememberedTools).toEqual(['lookup']);

    const again = await call<ErrorBody>('POST', path(id, `/approvals/${pending.toolCallId}`), { decision: 'reject' });
    expect(again.status).toBe(409);
    expect(again.body.error).toEqual({
      code: 'conflict',
      message: `no tool call ${pending.toolCallId} is waiting for approval`,
    });
  });

  test('a rejection goes back to the model with its reason', async () => {
    const id = newId();
    fx.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"secrets"}' }] }, { content: 'Understood.' });
    const reply = post(id, { content: 'find secrets' });
    const pending = await waitForApproval(id);
    const decided = await call('POST', path(id, `/approvals/${pending.toolCallId}`), {
      decision: 'reject',
      reason: 'not here',
    });
    expect(decided.status).toBe(200);
    expect((await reply).body.reply.content).toBe('Understood.');
    const toolEntry = (await transcript(id)).entries.find((entry) => entry.role === 'tool');
    expect(toolEntry).toMatchObject({ isError: expect.any(Boolean), content: expect.stringContaining('not here') });
  });
});

describe('cancel and end', () => {
  test('cancel with no turn running answers cancelled: false; a bad reason is 400', async () => {
    const id = newId();
    await post(id, { content: 'hi' });
    expect(await call('POST', path(id, '/cancel'))).toMatchObject({
      status: 200,
      body: { cancelled: false, turn: null },
    });
    const bad = await call<ErrorBody>('POST', path(id, '/cancel'), { reason: 42 });
    expect(bad.status).toBe(400);
    expect(bad.body.error.issues?.[0].path).toBe('body.reason');
  });

  test('DELETE ends the conversation after its turn; a new message meanwhile is 409; state stays readable', async () => {
    const id = newId();
    fx.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"last"}' }] }, { content: 'Goodbye.' });
    const first = post(id, { id: 'last-1', content: 'last words' });
    const pending = await waitForApproval(id);

    expect(await call('DELETE', path(id))).toMatchObject({ status: 202, body: { ending: true } });
    await eventually(async () => ((await state(id)).ending ? true : undefined));
    const refused = await post(id, { id: 'late-1', content: 'one more thing' });
    expect(refused.status).toBe(409);
    expect(refused.body.error).toEqual({
      code: 'conflict',
      message: 'the conversation is ending and takes no new messages',
    });

    await call('POST', path(id, `/approvals/${pending.toolCallId}`), { decision: 'reject' });
    expect((await first).body.reply).toMatchObject({ status: 'completed', content: 'Goodbye.' });
    expect(await eventually(async () => ((await state(id)).status === 'ended' ? state(id) : undefined))).toMatchObject({
      turns: 1,
    });

    // Once the run has closed, a message is 409 conversation_ended, and starts no new conversation.
    await fx.env.client.workflow.getHandle(conversationWorkflowId('tester', id)).result();
    const after = await post(id, { id: 'after-1', content: 'hello again?' });
    expect(after.status).toBe(409);
    expect(after.body.error).toEqual({
      code: 'conversation_ended',
      message: `conversation ${id} of agent tester has ended and takes no more messages; use a new conversation id`,
    });
    expect(await state(id)).toMatchObject({ status: 'ended', turns: 1 });
  });
});
