/**
 * The demo model that `vigil dev` runs without a real one: OpenAI's wire format (the real `openai` client reads
 * it, streamed or not), and the same answer for the same conversation.
 */
import OpenAI from 'openai';
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import { findArithmetic, startDemoModel, type DemoModel } from '../../src/demo-model';

const tools: ChatCompletionTool[] = ['calculator', 'current_time'].map((name) => ({
  type: 'function',
  function: { name, description: name, parameters: { type: 'object', properties: {} } },
}));

let demo: DemoModel;
let openai: OpenAI;
beforeAll(async () => {
  demo = await startDemoModel();
  openai = new OpenAI({ baseURL: demo.baseURL, apiKey: 'unused', maxRetries: 0 });
});
afterAll(() => demo.close());

const ask = (messages: ChatCompletionMessageParam[], withTools = true) =>
  openai.chat.completions.create({ model: 'anything', messages, ...(withTools ? { tools } : {}) });

test('arithmetic becomes a calculator call, and the tool result a sentence', async () => {
  const question: ChatCompletionMessageParam = { role: 'user', content: 'what is 17*23?' };
  const first = await ask([question]);
  expect(first.model).toBe('vigil-demo');
  const [call] = first.choices[0].message.tool_calls ?? [];
  expect(first.choices[0].finish_reason).toBe('tool_calls');
  expect(call).toMatchObject({
    type: 'function',
    function: { name: 'calculator', arguments: '{"expression":"17*23"}' },
  });

  const second = await ask([
    question,
    first.choices[0].message,
    { role: 'tool', tool_call_id: call.id, content: '{"expression":"17*23","result":391}' },
  ]);
  expect(second.choices[0].message.content).toBe('The calculator says 391.');
  expect(second.usage?.total_tokens).toBeGreaterThan(0);
});

test('a question about the time becomes a current_time call', async () => {
  const reply = await ask([{ role: 'user', content: 'What time is it in Tokyo?' }]);
  expect(reply.choices[0].message.tool_calls?.[0]).toMatchObject({ function: { name: 'current_time' } });
});

test('anything else, or a tool that is not offered, gets the labelled echo', async () => {
  const reply = await ask([{ role: 'user', content: 'what is 2+2' }], false);
  expect(reply.choices[0].message.content).toBe(
    'Demo model (offline): you said "what is 2+2". Set OPENAI_API_KEY or OPENAI_BASE_URL for a real model.',
  );
});

test('the same conversation gets the same answer', async () => {
  const messages: ChatCompletionMessageParam[] = [{ role: 'user', content: '(1 + 2) ^ 3' }];
  const [a, b] = [await ask(messages), await ask(messages)];
  expect(b.id).toBe(a.id);
  expect(b.choices).toEqual(a.choices);
});

test('streams as OpenAI does when asked to', async () => {
  const stream = await openai.chat.completions.create({
    model: 'anything',
    messages: [{ role: 'user', content: 'hello there' }],
    stream: true,
    stream_options: { include_usage: true },
  });
  let text = '';
  let usage: unknown;
  for await (const chunk of stream) {
    text += chunk.choices[0]?.delta.content ?? '';
    usage ??= chunk.usage ?? undefined;
    expect(chunk.model).toBe('vigil-demo');
  }
  expect(text).toContain('Demo model (offline): you said "hello there"');
  expect(usage).toMatchObject({ prompt_tokens: expect.any(Number) });
});

test.each([
  ['what is 17*23', '17*23'],
  ['compute (2 + 3) * 4.', '(2 + 3) * 4'],
  ['(see 2+2)', '2+2'],
  ['2^10 please', '2^10'],
  ['I have 3 apples', undefined],
  ['hello', undefined],
])('finds the arithmetic in %j', (text, expected) => {
  expect(findArithmetic(text)).toBe(expected);
});
