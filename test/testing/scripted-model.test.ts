import OpenAI from 'openai';
import {
  PROVIDER_SHAPES,
  startScriptedModel,
  UNREADABLE_SHAPES,
  type ScriptedModel,
} from '../../src/testing/scripted-model';

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
  expect(
    events
      .slice(0, -1)
      .map((e) => JSON.parse(e.replace(/^data: /, '')))
      .at(-1),
  ).toMatchObject({
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

describe('provider shapes', () => {
  /** Tool-call arguments whose 3-character cuts fall inside strings and escapes. */
  const ARGS = '{"query": "it \\"hi\\"\\n", "n": 2}';
  const TEXT = 'Let me look that up.';
  const TOOL_CALL = { id: 'call_x', name: 'lookup_weather', arguments: ARGS };
  const USAGE = { prompt_tokens: 7, completion_tokens: 9 };

  interface WireDelta {
    role?: string;
    content?: string | null;
    reasoning_content?: string;
    reasoning?: string;
    tool_calls?: { index?: number; id?: string; type?: string; function?: { name?: string; arguments?: string } }[];
  }
  interface WireChoice {
    delta?: WireDelta;
    message?: WireDelta;
    finish_reason?: string | null;
    [key: string]: unknown;
  }
  /** A chunk or a whole completion, as far as these tests read it. */
  interface WirePart {
    choices?: WireChoice[];
    usage?: Record<string, unknown> | null;
    x_groq?: { usage?: Record<string, unknown> };
    [key: string]: unknown;
  }

  const ask = (extra: Record<string, unknown> = {}) =>
    fetch(`${model.baseURL}/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...hello, ...extra }),
    });
  const askStreamed = (extra: Record<string, unknown> = {}) =>
    ask({ stream: true, stream_options: { include_usage: true }, ...extra });

  /** The events of a stream body, comments included, whatever its line ends. */
  const eventsOf = (text: string) => text.split(/\r?\n\r?\n/).filter((event) => event !== '');
  /** The chunks of a stream body: its data lines but `[DONE]`, parsed. */
  const chunksOf = (text: string) =>
    eventsOf(text)
      .filter((event) => event.startsWith('data: ') && event !== 'data: [DONE]')
      .map((event) => JSON.parse(event.slice('data: '.length)) as WirePart);
  /** The parts of an answer: the stream's chunks, or the one completion of a JSON answer. */
  const partsOf = async (response: Response): Promise<WirePart[]> =>
    response.headers.get('content-type') === 'application/json'
      ? [(await response.json()) as WirePart]
      : chunksOf(await response.text());
  const fragmentsOf = (parts: WirePart[]) =>
    parts.flatMap((part) => part.choices ?? []).flatMap((choice) => choice.delta?.tool_calls ?? []);

  /**
   * What a tolerant client makes of the parts: every dialect read at once (delta or message, usage anywhere, tool
   * calls keyed by index or else by id). Just enough to show a shape loses nothing of the answer.
   */
  function assemble(parts: WirePart[]) {
    let content = '';
    let reasoning = '';
    let finishReason: string | null = null;
    let usage: Record<string, unknown> | undefined;
    const calls = new Map<number | string, { id?: string; name: string; arguments: string }>();
    for (const part of parts) {
      usage = part.usage ?? part.x_groq?.usage ?? usage;
      for (const choice of part.choices ?? []) {
        const delta = choice.delta ?? choice.message ?? {};
        content += delta.content ?? '';
        reasoning += delta.reasoning_content ?? delta.reasoning ?? '';
        finishReason = choice.finish_reason ?? finishReason;
        for (const fragment of delta.tool_calls ?? []) {
          const key = fragment.index ?? fragment.id ?? calls.size;
          const call = calls.get(key) ?? { name: '', arguments: '' };
          calls.set(key, {
            id: call.id ?? fragment.id,
            name: call.name + (fragment.function?.name ?? ''),
            arguments: call.arguments + (fragment.function?.arguments ?? ''),
          });
        }
      }
    }
    return { content, reasoning, finishReason, usage, toolCalls: [...calls.values()] };
  }

  it('lists every readable shape, OpenAI first, and the unreadable ones apart', () => {
    expect(PROVIDER_SHAPES[0]).toBe('openai');
    expect(PROVIDER_SHAPES).toHaveLength(15);
    expect(UNREADABLE_SHAPES).toEqual(['not-json', 'html', 'choices-not-array']);
    expect(PROVIDER_SHAPES.filter((shape) => UNREADABLE_SHAPES.includes(shape))).toEqual([]);
  });

  describe.each(PROVIDER_SHAPES)('%s carries the whole answer', (shape) => {
    const finishReason = (reason: string) => (shape === 'no-finish-reason' ? null : reason);

    it('streamed text', async () => {
      model.script({ shape, content: TEXT, usage: USAGE });

      const answer = assemble(await partsOf(await askStreamed()));

      expect(answer).toMatchObject({ content: TEXT, finishReason: finishReason('stop'), toolCalls: [] });
      expect(answer.usage).toMatchObject({ prompt_tokens: 7 });
    });

    it('streamed tool calls, with text alongside', async () => {
      model.script({ shape, content: TEXT, toolCalls: [TOOL_CALL, { name: 'second', arguments: '{}' }], usage: USAGE });

      const answer = assemble(await partsOf(await askStreamed()));

      expect(answer).toMatchObject({ content: TEXT, finishReason: finishReason('tool_calls') });
      expect(answer.toolCalls).toEqual([TOOL_CALL, { id: 'call_1_2', name: 'second', arguments: '{}' }]);
    });

    it('not streamed', async () => {
      model.script({ shape, toolCalls: [TOOL_CALL], usage: USAGE });

      const response = await ask();

      expect(response.headers.get('content-type')).toBe('application/json');
      const answer = assemble([(await response.json()) as WirePart]);
      expect(answer).toMatchObject({ content: '', finishReason: finishReason('tool_calls'), toolCalls: [TOOL_CALL] });
      expect(answer.usage).toEqual({ ...USAGE, total_tokens: 16 });
    });
  });

  it('openai: the role first, usage: null on each chunk, usage last in a chunk without choices, [DONE]', async () => {
    model.script({ content: TEXT, usage: USAGE });

    const text = await (await askStreamed()).text();

    const chunks = chunksOf(text);
    expect(chunks[0].choices![0].delta).toEqual({ role: 'assistant', content: '', refusal: null });
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { ...USAGE, total_tokens: 16 } });
    expect(eventsOf(text).at(-1)).toBe('data: [DONE]');
  });

  it.each([
    ['text', { content: TEXT }],
    ['tool calls', { toolCalls: [TOOL_CALL] }],
  ])('no-role: no "role" anywhere, streamed or not (%s)', async (_kind, step) => {
    model.script({ shape: 'no-role', ...step }, { shape: 'no-role', ...step });

    const streamed = await (await askStreamed()).text();
    const whole = await (await ask()).text();

    expect(chunksOf(streamed).length).toBeGreaterThan(2);
    expect(streamed).not.toContain('"role"');
    expect(JSON.parse(whole)).toMatchObject({ object: 'chat.completion' });
    expect(whole).not.toContain('"role"');
  });

  it('no-finish-reason: every finish_reason is null, streamed or not', async () => {
    model.script({ shape: 'no-finish-reason', content: TEXT }, { shape: 'no-finish-reason', content: TEXT });

    const chunks = chunksOf(await (await askStreamed()).text());
    const whole = (await (await ask()).json()) as WirePart;

    const choices = chunks.flatMap((chunk) => chunk.choices!);
    expect(choices.length).toBeGreaterThan(2);
    expect(choices.every((choice) => choice.finish_reason === null)).toBe(true);
    expect(whole.choices![0].finish_reason).toBeNull();
  });

  it('azure: a prompt-filter chunk first, content filters on each choice, no usage: null', async () => {
    model.script({ shape: 'azure', content: TEXT, usage: USAGE });

    const text = await (await askStreamed()).text();

    const [first, ...rest] = chunksOf(text);
    expect(first).toEqual({
      choices: [],
      created: 0,
      id: '',
      model: '',
      object: '',
      prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }],
    });
    const choices = rest.flatMap((chunk) => chunk.choices!);
    expect(choices.length).toBeGreaterThan(2);
    expect(choices.every((choice) => JSON.stringify(choice.content_filter_results) === '{}')).toBe(true);
    expect(text).not.toContain('"usage":null');
    expect(rest.at(-1)).toMatchObject({ choices: [], usage: { ...USAGE, total_tokens: 16 } });
  });

  it('usage-in-final-choice: usage rides on the finish chunk, though not asked for', async () => {
    model.script({ shape: 'usage-in-final-choice', content: TEXT, usage: USAGE });

    const chunks = chunksOf(await (await ask({ stream: true })).text());

    const usage = { ...USAGE, total_tokens: 16 };
    expect(chunks.at(-1)).toMatchObject({ choices: [{ finish_reason: 'stop' }], usage });
    expect(chunks.slice(0, -1).some((chunk) => 'usage' in chunk)).toBe(false);
    expect(chunks.some((chunk) => chunk.choices!.length === 0)).toBe(false);
  });

  it('groq: usage under x_groq on the finish chunk, and no top-level usage at all', async () => {
    model.script({ shape: 'groq', content: TEXT, usage: USAGE });

    const chunks = chunksOf(await (await askStreamed()).text());

    expect(chunks.at(-1)).toMatchObject({
      choices: [{ finish_reason: 'stop' }],
      x_groq: { usage: { ...USAGE, total_tokens: 16 } },
    });
    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false);
  });

  it('keep-alive-comments: a comment before the first chunk and between every two events', async () => {
    model.script({ shape: 'keep-alive-comments', content: TEXT });

    const text = await (await askStreamed()).text();

    expect(text.startsWith(': OPENROUTER PROCESSING\n\n')).toBe(true);
    const events = eventsOf(text);
    expect(events.length).toBeGreaterThan(6);
    const kinds = events.map((event) => (event === ': OPENROUTER PROCESSING' ? 'comment' : event.slice(0, 6)));
    expect(kinds).toEqual(events.map((_, i) => (i % 2 === 0 ? 'comment' : 'data: ')));
    expect(events.at(-1)).toBe('data: [DONE]');
  });

  it('crlf: every line ends with \\r\\n', async () => {
    model.script({ shape: 'crlf', content: TEXT });

    const text = await (await askStreamed()).text();

    expect(text).toContain('\r\n\r\n');
    expect(text.replaceAll('\r\n', '')).not.toMatch(/[\r\n]/);
    expect(text.endsWith('data: [DONE]\r\n\r\n')).toBe(true);
  });

  it('no-done: the stream ends after the last chunk, without [DONE]', async () => {
    model.script({ shape: 'no-done', content: TEXT, usage: USAGE });

    const text = await (await askStreamed()).text();

    expect(text).not.toContain('[DONE]');
    expect(eventsOf(text).at(-1)).toMatch(/^data: \{.*"usage":\{/);
  });

  it('tool-calls-whole: each call whole in one chunk without index; the text in pieces as usual', async () => {
    const second = { id: 'call_y', name: 'b', arguments: '{}' };
    model.script({ shape: 'tool-calls-whole', content: TEXT, toolCalls: [TOOL_CALL, second] });

    const chunks = chunksOf(await (await askStreamed()).text());

    expect(fragmentsOf(chunks)).toEqual([
      { id: 'call_x', type: 'function', function: { name: 'lookup_weather', arguments: ARGS } },
      { id: 'call_y', type: 'function', function: { name: 'b', arguments: '{}' } },
    ]);
    const contents = chunks.map((chunk) => chunk.choices![0]?.delta?.content).filter((c) => c);
    expect(contents).toEqual(['Let ', 'me ', 'look ', 'that ', 'up.']);
  });

  it('tool-calls-split-anywhere: name, then arguments, in 3-character fragments that name their call', async () => {
    model.script({ shape: 'tool-calls-split-anywhere', content: TEXT, toolCalls: [TOOL_CALL] });

    const chunks = chunksOf(await (await askStreamed()).text());

    const fragments = fragmentsOf(chunks);
    expect(fragments.every((f) => f.id === 'call_x' && f.index === 0)).toBe(true);
    const names = fragments.map((f) => f.function?.name).filter((name) => name !== undefined);
    const args = fragments.map((f) => f.function?.arguments).filter((piece) => piece !== undefined);
    expect(names).toEqual(['loo', 'kup', '_we', 'ath', 'er']);
    expect(args.join('')).toBe(ARGS);
    expect(args.every((piece) => piece.length <= 3)).toBe(true);
    // A cut inside an escape: a fragment ends with the backslash.
    expect(args.some((piece) => piece.endsWith('\\'))).toBe(true);
    // Names first: no name comes after the first arguments fragment.
    const firstArgs = fragments.findIndex((f) => f.function?.arguments !== undefined);
    expect(fragments.slice(firstArgs).some((f) => f.function?.name !== undefined)).toBe(false);
    const contents = chunks.map((chunk) => chunk.choices![0]?.delta?.content).filter((c) => c);
    expect(contents).toEqual(['Let', ' me', ' lo', 'ok ', 'tha', 't u', 'p.']);
  });

  it.each([
    ['reasoning-content' as const, 'reasoning_content'],
    ['reasoning' as const, 'reasoning'],
  ])('%s: thinking in %s before the content, counted in usage', async (shape, field) => {
    model.script({ shape, content: TEXT, usage: USAGE });

    const chunks = chunksOf(await (await askStreamed()).text());

    const deltas = chunks.map((chunk) => chunk.choices![0]?.delta ?? {}) as Record<string, unknown>[];
    const thinking = deltas.filter((delta) => field in delta);
    expect(thinking.length).toBeGreaterThan(2);
    expect(thinking.every((delta) => delta.content === null)).toBe(true);
    expect(thinking.map((delta) => delta[field]).join('')).toBe('Let me think about this.');
    const lastThought = deltas.lastIndexOf(thinking.at(-1)!);
    const firstContent = deltas.findIndex((delta) => typeof delta.content === 'string' && delta.content !== '');
    expect(lastThought).toBeLessThan(firstContent);
    expect(chunks.at(-1)!.usage).toEqual({
      prompt_tokens: 7,
      completion_tokens: 15,
      total_tokens: 22,
      completion_tokens_details: { reasoning_tokens: 6 },
    });
  });

  it('message-not-delta: choices carry message, never delta', async () => {
    model.script({ shape: 'message-not-delta', content: TEXT, toolCalls: [TOOL_CALL] });

    const text = await (await askStreamed()).text();

    expect(text).not.toContain('"delta"');
    const choices = chunksOf(text).flatMap((chunk) => chunk.choices!);
    expect(choices.length).toBeGreaterThan(2);
    expect(choices.every((choice) => typeof choice.message === 'object')).toBe(true);
  });

  it('ignores-stream: a streamed request gets the whole completion as JSON', async () => {
    model.script({ shape: 'ignores-stream', content: TEXT });

    const response = await askStreamed();

    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toMatchObject({
      object: 'chat.completion',
      choices: [{ message: { role: 'assistant', content: TEXT }, finish_reason: 'stop' }],
    });
  });

  describe('unreadable shapes', () => {
    it('not-json: an event stream whose data is not JSON; a JSON body that is not JSON', async () => {
      model.script({ shape: 'not-json', content: TEXT }, { shape: 'not-json', content: TEXT });

      const streamed = await askStreamed();
      const whole = await ask();

      expect(streamed.status).toBe(200);
      expect(streamed.headers.get('content-type')).toBe('text/event-stream');
      const data = eventsOf(await streamed.text()).filter((event) => event !== 'data: [DONE]');
      expect(data).toEqual(['data: {oops']);
      expect(() => JSON.parse(data[0].slice('data: '.length))).toThrow(SyntaxError);
      expect(whole.headers.get('content-type')).toBe('application/json');
      expect(await whole.text()).toBe('{oops');
    });

    it.each([
      ['streamed', { stream: true }],
      ['not streamed', {}],
    ])('html: a 200 HTML page (%s)', async (_kind, extra) => {
      model.script({ shape: 'html', content: TEXT });

      const response = await ask(extra);

      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toMatch(/^<!DOCTYPE html>/);
    });

    it('choices-not-array: chunks whose choices is an object; a completion whose choices is a string', async () => {
      model.script({ shape: 'choices-not-array', content: TEXT }, { shape: 'choices-not-array', content: TEXT });

      const chunks = chunksOf(await (await askStreamed()).text());
      const whole = (await (await ask()).json()) as { choices: unknown };

      expect(chunks.length).toBeGreaterThan(2);
      expect(chunks.every((chunk) => typeof chunk.choices === 'object' && !Array.isArray(chunk.choices))).toBe(true);
      expect(chunks[1].choices).toMatchObject({ index: 0, delta: { content: 'Let ' } });
      expect(typeof whole.choices).toBe('string');
    });
  });

  describe('pacing, with the default shape', () => {
    it('chunkDelayMs: each piece of text waits its turn', async () => {
      model.script({ content: 'one two three', chunkDelayMs: 30 });
      const started = Date.now();

      const chunks = chunksOf(await (await ask({ stream: true })).text());

      expect(assemble(chunks).content).toBe('one two three');
      expect(Date.now() - started).toBeGreaterThanOrEqual(80);
    });

    it('stallAfterChunks: the chunks so far, then nothing, with the connection left open', async () => {
      model.script({ content: 'one two three four', stallAfterChunks: 2 });

      const response = await ask({ stream: true });
      const reader = response.body!.getReader();
      let text = '';
      while (eventsOf(text).length < 2) text += new TextDecoder().decode((await reader.read()).value);
      const quiet = new Promise((resolve) => setTimeout(() => resolve('quiet'), 100));
      const next = await Promise.race([reader.read(), quiet]);
      await reader.cancel();

      expect(next).toBe('quiet');
      expect(chunksOf(text).map((chunk) => chunk.choices![0].delta)).toEqual([
        { role: 'assistant', content: '', refusal: null },
        { content: 'one ' },
      ]);
      await expect((await model.nextRequest()).ended).resolves.toBe('aborted');
    });

    it('disconnectAfterChunks: the chunks so far, then the connection dropped mid-stream', async () => {
      model.script({ content: 'one two three four', disconnectAfterChunks: 2 });

      const response = await ask({ stream: true });
      let text = '';
      const failure = await (async () => {
        try {
          for await (const piece of response.body!) text += new TextDecoder().decode(piece as Uint8Array);
        } catch (error) {
          return error;
        }
      })();

      // undici's words for a body cut short (an Error of another realm under jest).
      expect((failure as Error).message).toBe('terminated');
      expect(chunksOf(text).map((chunk) => chunk.choices![0].delta)).toEqual([
        { role: 'assistant', content: '', refusal: null },
        { content: 'one ' },
      ]);
      await expect((await model.nextRequest()).ended).resolves.toBe('aborted');
    });
  });
});
