/**
 * The OpenAI-compatible endpoint through the real `openai` client: a chat request becomes a message to a
 * durable conversation, answered as a chat completion or a stream of chunks; a retried request is answered
 * from the conversation instead of starting a second turn.
 */
import OpenAI from 'openai';
import { defineAgent } from '../../src/agents/define-agent';
import { chatMessageId } from '../../src/gateway/openai/chat-request';
import { createLogger } from '../../src/logger';
import { newId, useConversations } from '../helpers/conversation';
import { conversationPath, request, useGateway } from './gateway-fixture';

const TOKEN = 'chat-token-0123456789abcdef';
const agent = defineAgent({ name: 'tester', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([agent]);
const gateway = useGateway(fx, { token: TOKEN });
/** A gateway that waits only briefly for replies, to make OpenAI's client retry. */
const impatientLog: { msg?: string; res?: { statusCode: number } }[] = [];
const impatient = useGateway(fx, {
  token: TOKEN,
  replyTimeoutMs: 300,
  logger: createLogger({ destination: { write: (line: string) => void impatientLog.push(JSON.parse(line)) } }),
});
const answered = (status: number) => impatientLog.filter((line) => line.msg === 'request completed' && line.res?.statusCode === status).length;

const client = (url = gateway.url, options: ConstructorParameters<typeof OpenAI>[0] = {}) =>
  new OpenAI({ baseURL: `${url}/v1`, apiKey: TOKEN, ...options });
const turns = async (conversationId: string) =>
  (await fx.client.state('tester', conversationId)).turns;

beforeEach(() => fx.model.reset());

test('a chat completion is a turn of the conversation named by `user`', async () => {
  const id = newId();
  fx.model.script({ content: 'Hello from Vigil.', usage: { prompt_tokens: 12, completion_tokens: 4 } });
  const completion = await client().chat.completions.create({
    model: 'tester',
    user: id,
    messages: [
      { role: 'system', content: 'ignored: the agent has its instructions' },
      { role: 'user', content: 'hi' },
    ],
  });
  expect(completion).toMatchObject({
    object: 'chat.completion',
    model: 'tester',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello from Vigil.' }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
  });
  expect(completion.id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
  // The model saw the agent's instructions and the new message, not the client's system prompt.
  expect(fx.model.requests.at(-1)?.body.messages).toEqual([
    { role: 'system', content: 'Be brief.' },
    { role: 'user', content: 'hi' },
  ]);
  expect(await fx.client.transcript('tester', id)).toMatchObject({
    entries: [{ role: 'user', content: 'hi', author: id }, { role: 'assistant', content: 'Hello from Vigil.' }],
  });
});

test('the next request carries the history; only its last user message is new', async () => {
  const id = newId();
  const openai = client(gateway.url, { defaultHeaders: { 'X-Vigil-Conversation-Id': id } });
  fx.model.script({ content: 'It is 4.' }, { content: 'It is 6.' });
  const first = await openai.chat.completions.create({ model: 'tester', messages: [{ role: 'user', content: '2+2?' }] });
  const second = await openai.chat.completions.create({
    model: 'tester',
    messages: [
      { role: 'user', content: '2+2?' },
      { role: 'assistant', content: first.choices[0].message.content },
      { role: 'user', content: [{ type: 'text', text: 'and 3+3?' }] },
    ],
  });
  expect(second.choices[0].message.content).toBe('It is 6.');
  expect(fx.model.requests.at(-1)?.body.messages.map((m) => m.content)).toEqual(['Be brief.', '2+2?', 'It is 4.', 'and 3+3?']);
  expect(await turns(id)).toBe(2);
});

test('with the conversation in X-Vigil-Conversation-Id, `user` is only the author, in any form', async () => {
  const id = newId();
  const openai = client(gateway.url, { defaultHeaders: { 'X-Vigil-Conversation-Id': id } });
  await openai.chat.completions.create({ model: 'tester', user: 'Ada Lovelace', messages: [{ role: 'user', content: 'hello' }] });
  expect((await fx.client.transcript('tester', id)).entries[0]).toMatchObject({ role: 'user', author: 'Ada Lovelace' });
});

test('stream: true sends the text while the model is still writing it, then usage, then [DONE]', async () => {
  const id = newId();
  fx.model.script({ content: 'A durable reply, split into chunks.', usage: { prompt_tokens: 5, completion_tokens: 7 }, chunkDelayMs: 200 });
  const requestsBefore = fx.model.requests.length;
  const stream = await client().chat.completions.create({
    model: 'tester',
    user: id,
    messages: [{ role: 'user', content: 'stream please' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  const chunks = [];
  let modelFinishedBeforeFirstText: boolean | undefined;
  let modelFinished = false;
  for await (const chunk of stream) {
    chunks.push(chunk);
    if (modelFinishedBeforeFirstText === undefined && chunk.choices[0]?.delta.content) {
      void fx.model.requests[requestsBefore].ended.then(() => (modelFinished = true));
      await new Promise((resolve) => setImmediate(resolve)); // lets an already settled `ended` say so
      modelFinishedBeforeFirstText = modelFinished;
    }
  }
  // The first words reached the client while the model was still answering.
  expect(modelFinishedBeforeFirstText).toBe(false);

  expect(chunks.every((chunk) => chunk.object === 'chat.completion.chunk' && chunk.model === 'tester')).toBe(true);
  expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  expect(chunks[0].choices[0].delta.role).toBe('assistant');
  const pieces = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta.content ?? ''));
  expect(pieces.filter((piece) => piece !== '').length).toBeGreaterThan(1);
  expect(pieces.join('')).toBe('A durable reply, split into chunks.');
  expect(chunks.at(-2)?.choices[0].finish_reason).toBe('stop');
  expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 } });
});

test('the stream on the wire is server-sent events ending with data: [DONE]', async () => {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tester', user: newId(), stream: true, messages: [{ role: 'user', content: 'raw' }] }),
  });
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const events = (await response.text()).split('\n\n').filter((event) => event !== '');
  expect(events.every((event) => event.startsWith('data: '))).toBe(true);
  expect(events.at(-1)).toBe('data: [DONE]');
  expect(JSON.parse(events.at(-2)!.slice('data: '.length))).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
});

describe('retries', () => {
  test('sending the same request again answers from the conversation: one turn, one model call', async () => {
    const id = newId();
    fx.model.script({ content: 'only once' });
    const before = fx.model.requests.length;
    const body = { model: 'tester', user: id, messages: [{ role: 'user' as const, content: 'charge my card' }] };
    const first = await client().chat.completions.create(body);
    const retry = await client().chat.completions.create(body);
    expect(retry.choices[0].message.content).toBe('only once');
    expect(retry.id).toBe(first.id);
    expect(fx.model.requests.length - before).toBe(1);
    expect(await turns(id)).toBe(1);
  });

  test('OpenAI\'s client retrying after a 504 gets the reply of the one turn that ran', async () => {
    const id = newId();
    fx.model.script({ content: 'worth the wait', delayMs: 1_000 });
    const before = fx.model.requests.length;
    const timeoutsBefore = answered(504);
    const completion = await client(impatient.url, { maxRetries: 10 }).chat.completions.create({
      model: 'tester',
      user: id,
      messages: [{ role: 'user', content: 'slow one' }],
    });
    expect(completion.choices[0].message.content).toBe('worth the wait');
    expect(answered(504) - timeoutsBefore).toBeGreaterThan(0);
    expect(fx.model.requests.length - before).toBe(1);
    expect(await turns(id)).toBe(1);
  });

  test('the 504 says the turn goes on, in OpenAI\'s shape', async () => {
    const id = newId();
    fx.model.script({ hang: true });
    const error = await client(impatient.url, { maxRetries: 0 })
      .chat.completions.create({ model: 'tester', user: id, messages: [{ role: 'user', content: 'hang' }] })
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ status: 504, code: 'timeout', type: 'timeout_error' });
    expect((error as Error).message).toMatch(/the turn goes on\. Send the same request again to get its reply/);
    await fx.client.cancelTurn('tester', id);
  });

  test('the same words sent again as a new message start a new turn', async () => {
    const id = newId();
    const openai = client();
    const history = [{ role: 'user' as const, content: 'again' }];
    await openai.chat.completions.create({ model: 'tester', user: id, messages: history });
    await openai.chat.completions.create({
      model: 'tester',
      user: id,
      messages: [...history, { role: 'assistant', content: 'echo: again' }, { role: 'user', content: 'again' }],
    });
    expect(await turns(id)).toBe(2);
  });

  test('X-Vigil-Message-Id names the message; the answer says which it was', async () => {
    const id = newId();
    const answer = await request(gateway.url, 'POST', '/v1/chat/completions', {
      token: TOKEN,
      headers: { 'x-vigil-message-id': 'client-chosen-1', 'x-vigil-conversation-id': id },
      body: { model: 'tester', messages: [{ role: 'user', content: 'named' }] },
    });
    expect(answer.status).toBe(200);
    expect(answer.headers.get('x-vigil-message-id')).toBe('client-chosen-1');
    expect(answer.body).toMatchObject({ vigil: { conversationId: id, messageId: 'client-chosen-1', turn: 1, status: 'completed' } });
    const unnamed = await request(gateway.url, 'POST', '/v1/chat/completions', {
      token: TOKEN,
      body: { model: 'tester', user: id, messages: [{ role: 'user', content: 'unnamed' }] },
    });
    expect(unnamed.headers.get('x-vigil-message-id')).toBe(chatMessageId('tester', id, 1, 'unnamed'));
  });
});

describe('bad requests are 400 in OpenAI\'s shape', () => {
  const badRequest = async (body: Record<string, unknown>) => {
    const error = await client(gateway.url, { maxRetries: 0 })
      .chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    return error as InstanceType<typeof OpenAI.BadRequestError>;
  };

  test('without a conversation id', async () => {
    const error = await badRequest({ model: 'tester', messages: [{ role: 'user', content: 'who am I?' }] });
    expect(error).toMatchObject({ code: 'invalid_request', type: 'invalid_request_error', param: 'body.user' });
    expect(error.message).toContain('set the x-vigil-conversation-id header or the user field');
  });

  test('with a `user` that cannot name a conversation, and no header', async () => {
    const error = await badRequest({ model: 'tester', user: 'Ada Lovelace', messages: [{ role: 'user', content: 'hi' }] });
    expect(error).toMatchObject({ code: 'invalid_request', param: 'body.user' });
  });

  test('without a user message, with a bad agent name, or with client-side tools', async () => {
    expect(await badRequest({ model: 'tester', user: newId(), messages: [{ role: 'system', content: 'only this' }] })).toMatchObject({
      param: 'body.messages',
    });
    expect(await badRequest({ model: 'no such agent', user: newId(), messages: [{ role: 'user', content: 'hi' }] })).toMatchObject({
      param: 'body.model',
    });
    const tools = [{ type: 'function', function: { name: 'f', parameters: {} } }];
    const error = await badRequest({ model: 'tester', user: newId(), messages: [{ role: 'user', content: 'hi' }], tools });
    expect(error).toMatchObject({ param: 'body.tools' });
    expect(error.message).toContain("the agent's tools are defined in Vigil");
  });

  test('a refused request leaves no conversation behind', async () => {
    const id = newId();
    await badRequest({ model: 'tester', user: id, messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/x.png' } }] }] });
    expect((await request(gateway.url, 'GET', conversationPath('tester', id), { token: TOKEN })).status).toBe(404);
  });
});
