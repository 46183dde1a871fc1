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
const answered = (status: number) =>
  impatientLog.filter((line) => line.msg === 'request completed' && line.res?.statusCode === status).length;

const client = (url = gateway.url, options: ConstructorParameters<typeof OpenAI>[0] = {}) =>
  new OpenAI({ baseURL: `${url}/v1`, apiKey: TOKEN, ...options });
const turns = async (conversationId: string) => (await fx.client.state('tester', conversationId)).turns;

beforeEach(() => fx.model.reset());

/** A chat client that names its conversation, as a durable chat does. */
const named = (conversationId: string, url = gateway.url) =>
  client(url, { defaultHeaders: { 'X-Vigil-Conversation-Id': conversationId } });

describe('a stateless request, as chat tools send them', () => {
  test('gets a conversation of its own, started from the messages it sent', async () => {
    fx.model.script({ content: 'Bonjour.', usage: { prompt_tokens: 12, completion_tokens: 4 } });
    const { data: completion, response } = await client()
      .chat.completions.create({
        model: 'tester',
        user: 'Ada Lovelace',
        messages: [
          { role: 'system', content: 'Answer in French.' },
          { role: 'user', content: 'hi' },
          { role: 'assistant', content: 'Hello.' },
          { role: 'user', content: 'and now?' },
        ],
      })
      .withResponse();
    expect(completion).toMatchObject({
      object: 'chat.completion',
      model: 'tester',
      choices: [{ index: 0, message: { role: 'assistant', content: 'Bonjour.' }, finish_reason: 'stop' }],
      usage: { prompt_tokens: 12, completion_tokens: 4, total_tokens: 16 },
    });
    expect(completion.id).toMatch(/^chatcmpl-[0-9a-f]{24}$/);
    // The model saw the agent's instructions with the client's system prompt after them, then the whole chat.
    expect(fx.model.requests.at(-1)?.body.messages).toEqual([
      { role: 'system', content: 'Be brief.\n\nAnswer in French.' },
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'Hello.' },
      { role: 'user', content: 'and now?' },
    ]);
    const id = response.headers.get('x-vigil-conversation-id')!;
    expect(id).toMatch(/^chat-[0-9a-f]{32}$/);
    expect(await fx.client.transcript('tester', id)).toMatchObject({
      entries: [
        { role: 'user', turn: 1, content: 'hi', author: 'Ada Lovelace' },
        { role: 'assistant', turn: 1, content: 'Hello.', model: 'seed' },
        { role: 'user', turn: 2, content: 'and now?', author: 'Ada Lovelace' },
        { role: 'assistant', turn: 2, content: 'Bonjour.' },
      ],
    });
    expect(await fx.client.state('tester', id)).toMatchObject({
      turns: 2,
      usage: { inputTokens: 12, outputTokens: 4 },
    });
  });

  test('the same words twice are two turns, and regenerate is a new answer', async () => {
    fx.model.script({ content: 'It is noon.' }, { content: "It is one o'clock." }, { content: 'It is five past one.' });
    const openai = client();
    const ask = [{ role: 'user' as const, content: 'what time is it?' }];
    const first = await openai.chat.completions.create({ model: 'tester', messages: ask });
    const regenerated = await openai.chat.completions.create({ model: 'tester', messages: ask });
    const again = await openai.chat.completions.create({
      model: 'tester',
      messages: [...ask, { role: 'assistant', content: regenerated.choices[0].message.content }, ...ask],
    });
    expect([first, regenerated, again].map((c) => c.choices[0].message.content)).toEqual([
      'It is noon.',
      "It is one o'clock.",
      'It is five past one.',
    ]);
    expect(new Set([first.id, regenerated.id, again.id]).size).toBe(3);
  });

  test('an Idempotency-Key makes a retry reach the same turn', async () => {
    fx.model.script({ content: 'charged once' });
    const before = fx.model.requests.length;
    const body = { model: 'tester', messages: [{ role: 'user' as const, content: 'charge my card' }] };
    const options = { headers: { 'Idempotency-Key': `key-${newId()}` } };
    const first = await client().chat.completions.create(body, options);
    const retry = await client().chat.completions.create(body, options);
    expect(retry.choices[0].message.content).toBe('charged once');
    expect(retry.id).toBe(first.id);
    expect(fx.model.requests.length - before).toBe(1);
  });

  test("a 504 names the conversation where the turn goes on, and OpenAI's client does not retry it", async () => {
    fx.model.script({ content: 'late', delayMs: 1_000 });
    const before = fx.model.requests.length;
    const error = await client(impatient.url, { maxRetries: 5 })
      .chat.completions.create({ model: 'tester', messages: [{ role: 'user', content: 'slow one' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toMatchObject({ status: 504, code: 'timeout', type: 'timeout_error' });
    const id = /in conversation (chat-[0-9a-f]{32})/.exec((error as Error).message)?.[1];
    expect(id).toBeDefined();
    await fx.client.send('tester', id!, { id: 'after-the-timeout', content: 'still there?' });
    expect(fx.model.requests.length - before).toBe(2); // the slow turn once, then the next message: no retried turn
    expect((await fx.client.transcript('tester', id!)).entries.map((e) => e.content)).toEqual([
      'slow one',
      'late',
      'still there?',
      expect.any(String),
    ]);
  });
});

describe('a named conversation (X-Vigil-Conversation-Id)', () => {
  test("starts from its first request's messages, then holds its own history: only the last user message is new", async () => {
    const id = newId();
    const openai = named(id);
    fx.model.script({ content: 'It is 4.' }, { content: 'It is 6.' });
    const first = await openai.chat.completions.create({
      model: 'tester',
      messages: [
        { role: 'developer', content: 'Use digits.' },
        { role: 'user', content: 'I will ask sums.' },
        { role: 'assistant', content: 'Go on.' },
        { role: 'user', content: '2+2?' },
      ],
    });
    const second = await openai.chat.completions.create({
      model: 'tester',
      messages: [
        { role: 'system', content: 'a later system prompt: the conversation keeps the one it started with' },
        { role: 'user', content: 'I will ask sums.' },
        { role: 'assistant', content: 'Go on.' },
        { role: 'user', content: '2+2?' },
        { role: 'assistant', content: first.choices[0].message.content },
        { role: 'user', content: [{ type: 'text', text: 'and 3+3?' }] },
      ],
    });
    expect(second.choices[0].message.content).toBe('It is 6.');
    expect(fx.model.requests.at(-1)?.body.messages.map((m) => m.content)).toEqual([
      'Be brief.\n\nUse digits.',
      'I will ask sums.',
      'Go on.',
      '2+2?',
      'It is 4.',
      'and 3+3?',
    ]);
    expect(await turns(id)).toBe(3);
  });

  test('`user` is the author, in any form', async () => {
    const id = newId();
    await named(id).chat.completions.create({
      model: 'tester',
      user: 'Ada Lovelace',
      messages: [{ role: 'user', content: 'hello' }],
    });
    expect((await fx.client.transcript('tester', id)).entries[0]).toMatchObject({
      role: 'user',
      author: 'Ada Lovelace',
    });
  });
});

test('stream: true sends the text while the model is still writing it, then usage, then [DONE]', async () => {
  fx.model.script({
    content: 'A durable reply, split into chunks.',
    usage: { prompt_tokens: 5, completion_tokens: 7 },
    chunkDelayMs: 200,
  });
  const requestsBefore = fx.model.requests.length;
  const stream = await client().chat.completions.create({
    model: 'tester',
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
  expect(chunks.at(-1)).toMatchObject({
    choices: [],
    usage: { prompt_tokens: 5, completion_tokens: 7, total_tokens: 12 },
  });
});

test('an answer the model cut at its output limit finishes with `length`, whole or streamed, and Vigil says so', async () => {
  fx.model.script(
    { content: 'Cut off mid', finishReason: 'length' },
    { content: 'Cut off mid', finishReason: 'length' },
  );
  const completion = await client().chat.completions.create({
    model: 'tester',
    messages: [{ role: 'user', content: 'a long essay, please' }],
  });
  expect(completion.choices[0]).toMatchObject({ message: { content: 'Cut off mid' }, finish_reason: 'length' });
  expect(completion).toMatchObject({ vigil: { status: 'completed', cut: { answer: 'output_limit' } } });

  const stream = await client().chat.completions.create({
    model: 'tester',
    messages: [{ role: 'user', content: 'another long essay' }],
    stream: true,
  });
  const chunks = [];
  for await (const chunk of stream) chunks.push(chunk);
  expect(chunks.map((chunk) => chunk.choices[0]?.delta.content ?? '').join('')).toBe('Cut off mid');
  expect(chunks.at(-1)).toMatchObject({
    choices: [{ finish_reason: 'length' }],
    vigil: { cut: { answer: 'output_limit' } },
  });
});

test('the stream on the wire is server-sent events ending with data: [DONE]', async () => {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'tester', stream: true, messages: [{ role: 'user', content: 'raw' }] }),
  });
  expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
  const events = (await response.text()).split('\n\n').filter((event) => event !== '');
  expect(events.every((event) => event.startsWith('data: '))).toBe(true);
  expect(events.at(-1)).toBe('data: [DONE]');
  expect(JSON.parse(events.at(-2)!.slice('data: '.length))).toMatchObject({ choices: [{ finish_reason: 'stop' }] });
});

describe("a turn that ends without an answer ends as OpenAI's requests do", () => {
  test("a failed turn is an error status, and an error event in a stream; OpenAI's client does not retry it", async () => {
    fx.model.script(
      { status: 400, message: 'this model does not exist' },
      { status: 400, message: 'this model does not exist' },
    );
    const before = fx.model.requests.length;
    const failed = await client(gateway.url, { maxRetries: 3 })
      .chat.completions.create({ model: 'tester', messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(failed).toMatchObject({ status: 502, code: 'turn_failed', type: 'server_error' });
    const stream = await client().chat.completions.create({
      model: 'tester',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
    });
    const streamed = await (async () => {
      for await (const _chunk of stream);
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(streamed).toBeInstanceOf(OpenAI.APIError);
    expect(streamed).toMatchObject({ code: 'turn_failed', type: 'server_error' });
    expect(fx.model.requests.length - before).toBe(2);
  });

  test('a client that leaves mid-stream cancels its turn: the model call is aborted', async () => {
    fx.model.script({ hang: true });
    const leaving = new AbortController();
    const { data: stream, response } = await client()
      .chat.completions.create(
        { model: 'tester', messages: [{ role: 'user', content: 'never mind' }], stream: true },
        { signal: leaving.signal },
      )
      .withResponse();
    const id = response.headers.get('x-vigil-conversation-id')!;
    const left = (async () => {
      for await (const _chunk of stream) leaving.abort(); // the turn has begun: the first chunk is its role
    })().catch(() => undefined);
    await left;
    const call = await fx.model.nextRequest();
    expect(await call.ended).toBe('aborted');
    // The next message runs after the cancelled turn, which the transcript shows as such.
    await fx.client.send('tester', id, { id: 'next', content: 'hello again' });
    expect((await fx.client.transcript('tester', id)).entries.map((e) => e.role)).toEqual([
      'user',
      'notice',
      'user',
      'assistant',
    ]);
  });

  test('a client that leaves before a complete answer cancels its turn', async () => {
    const id = newId();
    fx.model.script({ hang: true });
    const leaving = new AbortController();
    const asked = named(id).chat.completions.create(
      { model: 'tester', messages: [{ role: 'user', content: 'forget it' }] },
      { signal: leaving.signal },
    );
    asked.catch(() => undefined);
    const call = await fx.model.nextRequest();
    leaving.abort();
    expect(await call.ended).toBe('aborted');
    expect((await fx.client.send('tester', id, { id: 'next', content: 'still here?' })).turn).toBe(2);
    expect((await fx.client.transcript('tester', id)).entries[1]).toMatchObject({ role: 'notice', turn: 1 });
  });

  test('a turn cancelled by someone else ends the stream with an error event', async () => {
    const id = newId();
    fx.model.script({ hang: true });
    const stream = await named(id).chat.completions.create({
      model: 'tester',
      messages: [{ role: 'user', content: 'wait' }],
      stream: true,
    });
    const ended = (async () => {
      for await (const _chunk of stream) await fx.client.cancelTurn('tester', id, { reason: 'an operator stopped it' });
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(await ended).toMatchObject({ code: 'turn_cancelled' });
    expect(((await ended) as Error).message).toContain('an operator stopped it');
  });
});

describe('retries in a named conversation', () => {
  test('sending the same request again answers from the conversation: one turn, one model call', async () => {
    const id = newId();
    fx.model.script({ content: 'only once' });
    const before = fx.model.requests.length;
    const body = { model: 'tester', messages: [{ role: 'user' as const, content: 'charge my card' }] };
    const first = await named(id).chat.completions.create(body);
    const retry = await named(id).chat.completions.create(body);
    expect(retry.choices[0].message.content).toBe('only once');
    expect(retry.id).toBe(first.id);
    expect(fx.model.requests.length - before).toBe(1);
    expect(await turns(id)).toBe(1);
  });

  test("OpenAI's client retrying after a 504 gets the reply of the one turn that ran", async () => {
    const id = newId();
    fx.model.script({ content: 'worth the wait', delayMs: 1_000 });
    const before = fx.model.requests.length;
    const timeoutsBefore = answered(504);
    const completion = await named(id, impatient.url)
      .withOptions({ maxRetries: 10 })
      .chat.completions.create({
        model: 'tester',
        messages: [{ role: 'user', content: 'slow one' }],
      });
    expect(completion.choices[0].message.content).toBe('worth the wait');
    expect(answered(504) - timeoutsBefore).toBeGreaterThan(0);
    expect(fx.model.requests.length - before).toBe(1);
    expect(await turns(id)).toBe(1);
  });

  test("the 504 says the turn goes on, in OpenAI's shape", async () => {
    const id = newId();
    fx.model.script({ hang: true });
    const error = await named(id, impatient.url)
      .withOptions({ maxRetries: 0 })
      .chat.completions.create({ model: 'tester', messages: [{ role: 'user', content: 'hang' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error).toMatchObject({ status: 504, code: 'timeout', type: 'timeout_error' });
    expect((error as Error).message).toMatch(/the turn goes on\. Send the same request again to get its reply/);
    await fx.client.cancelTurn('tester', id);
  });

  test('the same words sent again as a new message start a new turn', async () => {
    const id = newId();
    const openai = named(id);
    const history = [{ role: 'user' as const, content: 'again' }];
    await openai.chat.completions.create({ model: 'tester', messages: history });
    await openai.chat.completions.create({
      model: 'tester',
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
    expect(answer.body).toMatchObject({
      vigil: { conversationId: id, messageId: 'client-chosen-1', turn: 1, status: 'completed' },
    });
    const unnamed = await request(gateway.url, 'POST', '/v1/chat/completions', {
      token: TOKEN,
      headers: { 'x-vigil-conversation-id': id },
      body: { model: 'tester', messages: [{ role: 'user', content: 'unnamed' }] },
    });
    expect(unnamed.headers.get('x-vigil-message-id')).toBe(chatMessageId('tester', id, 1, 'unnamed'));
  });
});

describe("bad requests are 400 in OpenAI's shape", () => {
  const badRequest = async (body: Record<string, unknown>, defaultHeaders: Record<string, string> = {}) => {
    const error = await client(gateway.url, { maxRetries: 0, defaultHeaders })
      .chat.completions.create(body as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    return error as InstanceType<typeof OpenAI.BadRequestError>;
  };

  test('that does not end with a user message, or sends tool calls and results', async () => {
    const endsWithAssistant = await badRequest({
      model: 'tester',
      messages: [
        { role: 'user', content: 'hi' },
        { role: 'assistant', content: 'Hel' },
      ],
    });
    expect(endsWithAssistant).toMatchObject({ param: 'body.messages.1.role' });
    expect(endsWithAssistant.message).toContain("the last message must be the user's new message");
    const toolResult = await badRequest({
      model: 'tester',
      messages: [
        { role: 'user', content: 'weather?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [{ id: 'c1', type: 'function', function: { name: 'weather', arguments: '{}' } }],
        },
        { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
        { role: 'user', content: 'thanks' },
      ],
    });
    expect(toolResult).toMatchObject({ param: 'body.messages.1' });
    expect(toolResult.message).toContain("the agent's tools are defined in Vigil");
  });

  test('with more history than a conversation can start from', async () => {
    const messages = Array.from({ length: 1001 }, (_, k) => ({
      role: k % 2 ? 'assistant' : 'user',
      content: `message ${k}`,
    }));
    const error = await badRequest({ model: 'tester', messages: [...messages, { role: 'user', content: 'and?' }] });
    expect(error).toMatchObject({ param: 'body.messages' });
    expect(error.message).toMatch(/1000/);
  });

  test('without a user message, with a bad agent name, or with client-side tools', async () => {
    expect(await badRequest({ model: 'tester', messages: [{ role: 'system', content: 'only this' }] })).toMatchObject({
      param: 'body.messages.0.role',
    });
    expect(await badRequest({ model: 'no such agent', messages: [{ role: 'user', content: 'hi' }] })).toMatchObject({
      param: 'body.model',
    });
    const tools = [{ type: 'function', function: { name: 'f', parameters: {} } }];
    const error = await badRequest({ model: 'tester', messages: [{ role: 'user', content: 'hi' }], tools });
    expect(error).toMatchObject({ param: 'body.tools' });
    expect(error.message).toContain("the agent's tools are defined in Vigil");
  });

  test('a refused request leaves no conversation behind', async () => {
    const id = newId();
    const image = [{ type: 'image_url', image_url: { url: 'https://example.com/x.png' } }];
    await badRequest(
      { model: 'tester', messages: [{ role: 'user', content: image }] },
      { 'X-Vigil-Conversation-Id': id },
    );
    expect((await request(gateway.url, 'GET', conversationPath('tester', id), { token: TOKEN })).status).toBe(404);
  });
});
