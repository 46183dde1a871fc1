import OpenAI from 'openai';
import { startScriptedModel, type ScriptedModel } from './scripted-model';

const API_KEY = 'sk-scripted-test-key';

let model: ScriptedModel;
let openai: OpenAI;
beforeEach(async () => {
  model = await startScriptedModel();
  openai = new OpenAI({ baseURL: model.baseURL, apiKey: API_KEY, maxRetries: 0 });
});
afterEach(async () => {
  await model.close();
});

const hello = { model: 'gpt-test', messages: [{ role: 'user' as const, content: 'hello there' }] };

it('echoes the last user message when nothing is scripted', async () => {
  const completion = await openai.chat.completions.create({
    model: 'gpt-test',
    messages: [
      { role: 'user', content: 'first' },
      { role: 'assistant', content: 'ok' },
      { role: 'user', content: 'second' },
    ],
  });

  expect(completion).toMatchObject({
    object: 'chat.completion',
    model: 'gpt-test',
    choices: [{ index: 0, message: { role: 'assistant', content: 'echo: second' }, finish_reason: 'stop' }],
  });
  expect(completion.usage!.total_tokens).toBe(completion.usage!.prompt_tokens + completion.usage!.completion_tokens);
});

it('answers from the script in order, then from respondWith', async () => {
  model.script({ content: 'one' }, { toolCalls: [{ name: 'lookup', arguments: '{"q":' }], model: 'other-model' });
  model.respondWith((request) => ({ content: `fallback after ${request.body.messages.length} message(s)` }));

  const first = await openai.chat.completions.create(hello);
  const second = await openai.chat.completions.create(hello);
  const third = await openai.chat.completions.create(hello);

  expect(first.choices[0].message.content).toBe('one');
  expect(second.model).toBe('other-model');
  expect(second.choices[0]).toMatchObject({
    message: { content: null, tool_calls: [{ type: 'function', function: { name: 'lookup', arguments: '{"q":' } }] },
    finish_reason: 'tool_calls',
  });
  expect(third.choices[0].message.content).toBe('fallback after 1 message(s)');
});

it('streams text and tool calls as chunks the openai client assembles', async () => {
  model.script({
    content: 'Let me look that up.',
    toolCalls: [{ id: 'call_x', name: 'lookup', arguments: '{"query": "weather in Paris"}' }],
    usage: { prompt_tokens: 7, completion_tokens: 9 },
  });

  const stream = openai.chat.completions.stream({ ...hello, stream_options: { include_usage: true } });
  const deltas: string[] = [];
  stream.on('content', (delta) => deltas.push(delta));
  const completion = await stream.finalChatCompletion();

  expect(deltas.length).toBeGreaterThan(1);
  expect(deltas.join('')).toBe('Let me look that up.');
  expect(completion.choices[0].message.content).toBe('Let me look that up.');
  expect(completion.choices[0].message.tool_calls).toEqual([
    { id: 'call_x', type: 'function', function: { name: 'lookup', arguments: '{"query": "weather in Paris"}' } },
  ]);
  expect(completion.choices[0].finish_reason).toBe('tool_calls');
  expect(completion.usage).toEqual({ prompt_tokens: 7, completion_tokens: 9, total_tokens: 16 });
});

it('ends a stream with data: [DONE]', async () => {
  model.script({ content: 'hi' });

  const response = await fetch(`${model.baseURL}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...hello, stream: true }),
  });

  expect(response.headers.get('content-type')).toBe('text/event-stream');
  const events = (await response.text()).split('\n\n').filter((e) => e !== '');
  expect(events.at(-1)).toBe('data: [DONE]');
  expect(events.slice(0, -1).map((e) => JSON.parse(e.replace(/^data: /, ''))).at(-1)).toMatchObject({
    object: 'chat.completion.chunk',
    choices: [{ delta: {}, finish_reason: 'stop' }],
  });
});

it('answers faults in the OpenAI error shape, with retry-after', async () => {
  model.script({ status: 429, retryAfter: 3 });

  const error = await openai.chat.completions.create(hello).catch((err: unknown) => err);

  expect(error).toBeInstanceOf(OpenAI.RateLimitError);
  const rateLimit = error as InstanceType<typeof OpenAI.RateLimitError>;
  expect(rateLimit.headers.get('retry-after')).toBe('3');
  expect(rateLimit.error).toEqual({
    message: 'Rate limit reached for requests.',
    type: 'requests',
    code: 'rate_limit_exceeded',
    param: null,
  });
});

it('records requests without the API key, and hands them out in arrival order', async () => {
  await openai.chat.completions.create({ ...hello, messages: [{ role: 'user', content: 'a' }] });
  await openai.chat.completions.create({ ...hello, messages: [{ role: 'user', content: 'b' }] });

  expect((await model.nextRequest()).body.messages).toEqual([{ role: 'user', content: 'a' }]);
  const second = await model.nextRequest();
  expect(second.body.messages).toEqual([{ role: 'user', content: 'b' }]);
  expect(second.authorizedWith(API_KEY)).toBe(true);
  expect(JSON.stringify(model.requests)).not.toContain(API_KEY);
  await expect(second.ended).resolves.toBe('answered');
});

it('keeps a hanging request open until the client aborts it, and records the abort', async () => {
  model.script({ hang: true });
  const controller = new AbortController();

  const call = openai.chat.completions.create(hello, { signal: controller.signal });
  const request = await model.nextRequest();
  controller.abort();

  await expect(call).rejects.toBeInstanceOf(OpenAI.APIUserAbortError);
  await expect(request.ended).resolves.toBe('aborted');
  expect(request.aborted).toBe(true);
});

it('answers a delayed step after its delay', async () => {
  model.script({ content: 'late', delayMs: 20 });
  const started = Date.now();

  const completion = await openai.chat.completions.create(hello);

  expect(completion.choices[0].message.content).toBe('late');
  expect(Date.now() - started).toBeGreaterThanOrEqual(15);
});
