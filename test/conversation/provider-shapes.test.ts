/**
 * Any OpenAI-compatible provider (issue 10): real conversations through the real worker, the real openai client
 * and a scripted provider that answers as OpenAI, Azure, Groq, DeepSeek, OpenRouter, Gemini's and Mistral's compat
 * endpoints, proxies and self-hosted servers really do (see PROVIDER_SHAPES in the scripted model). Every readable
 * shape must give the same reply, the same tool calls and the same usage; an unreadable one must end the turn at
 * once with an error that says so, not be retried for half a minute as if the provider were down.
 */
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId, type InboundMessage } from '../../src/conversation/protocol';
import { calculator } from '../../src/tools';
import { newId, useConversations } from '../helpers/conversation';
import { PROVIDER_SHAPES, UNREADABLE_SHAPES, type ProviderShape } from '../../src/testing/scripted-model';

const agent = defineAgent({ name: 'compat', instructions: 'Be brief.', model: 'test-model', tools: [calculator] });
/** For a provider that cannot stream at all. */
const whole = defineAgent({
  name: 'whole',
  instructions: 'Be brief.',
  model: 'test-model',
  tools: [calculator],
  stream: false,
});
const fx = useConversations([agent, whole]);

beforeEach(() => fx.model.reset());

const message = (content: string): InboundMessage => ({ id: newId('m'), content });
const usage = { prompt_tokens: 30, completion_tokens: 7 };
/** Reasoning shapes count the scripted model's thinking (6 tokens) as output, as reasoning models do. */
const thinks = (shape: ProviderShape) => shape === 'reasoning-content' || shape === 'reasoning';

/** The activity types scheduled in the conversation's history, in order. */
async function activities(agentName: string, id: string): Promise<string[]> {
  const history = await fx.env.client.workflow.getHandle(conversationWorkflowId(agentName, id)).fetchHistory();
  return (history.events ?? []).flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
}

describe.each(PROVIDER_SHAPES)('a provider answering as %s', (shape) => {
  test('is understood: a tool call, its result back to the model, the reply, the usage; no thinking in the reply', async () => {
    const id = newId();
    fx.model.script(
      { toolCalls: [{ name: 'calculator', arguments: '{"expression":"6*7"}' }], usage, shape },
      { content: 'It is 42, "exactly" so.', usage, shape },
    );
    const reply = await fx.client.send('compat', id, message('what is 6*7?'));
    const output = (usage.completion_tokens + (thinks(shape) ? 6 : 0)) * 2;
    expect(reply).toMatchObject({
      status: 'completed',
      content: 'It is 42, "exactly" so.',
      usage: { inputTokens: 60, outputTokens: output },
    });

    const [first, second] = fx.model.requests.slice(-2);
    expect(first.body.stream).toBe(true);
    const toolMessage = second.body.messages.find((m) => m.role === 'tool');
    expect(JSON.parse(toolMessage?.content as string)).toEqual({ expression: '6*7', result: 42 });
    const assistantCall = second.body.messages.find((m) => m.role === 'assistant');
    expect(assistantCall).toMatchObject({
      tool_calls: [{ function: { name: 'calculator', arguments: '{"expression":"6*7"}' } }],
    });
    expect(await activities('compat', id)).toEqual(['callModel', 'runTool', 'callModel']);

    const transcript = (await fx.client.transcript('compat', id)).entries;
    expect(JSON.stringify(transcript)).not.toContain('think about');
  });
});

describe.each(UNREADABLE_SHAPES)('a provider answering as %s', (shape) => {
  test('ends the turn at once with an error naming the provider, without retries', async () => {
    const id = newId();
    fx.model.script({ content: 'never read', shape });
    const before = fx.model.requests.length;
    const reply = await fx.client.send('compat', id, message('hello'));
    expect(reply.status).toBe('error');
    expect(reply.content).toMatch(
      /^The model provider's answer could not be read: the provider at 127\.0\.0\.1:\d+\/v1 /,
    );
    expect(reply.content).not.toContain('sk-test-key');
    // One request: the same answer would come again, so Temporal does not retry it.
    expect(fx.model.requests.length - before).toBe(1);
    // The conversation goes on: the next message is answered.
    fx.model.script({ content: 'Back again.' });
    expect(await fx.client.send('compat', id, message('again'))).toMatchObject({
      status: 'completed',
      content: 'Back again.',
    });
  });
});

test('an answer with no usage at all is estimated from the words, and the reply is still priced by tokens', async () => {
  const id = newId();
  fx.model.script({ content: 'A reply whose usage nobody counted.', usage: null, shape: 'no-role' });
  const reply = await fx.client.send('compat', id, message('count for me'));
  expect(reply.status).toBe('completed');
  expect(reply.usage.inputTokens).toBeGreaterThan(0);
  expect(reply.usage.outputTokens).toBeGreaterThan(0);
  expect((await fx.client.state('compat', id)).usage.modelCalls).toBe(1);
});

test('an agent with stream: false asks for the whole answer, and reads tool calls and text from it', async () => {
  const id = newId();
  fx.model.script(
    { toolCalls: [{ name: 'calculator', arguments: '{"expression":"2+3"}' }], usage },
    { content: 'Five.', usage },
  );
  const reply = await fx.client.send('whole', id, message('2+3?'));
  expect(reply).toMatchObject({ status: 'completed', content: 'Five.', usage: { inputTokens: 60, outputTokens: 14 } });
  const [first, second] = fx.model.requests.slice(-2);
  expect(first.body.stream ?? false).toBe(false);
  expect(first.body.stream_options).toBeUndefined();
  expect(JSON.parse(second.body.messages.find((m) => m.role === 'tool')?.content as string)).toMatchObject({
    result: 5,
  });
});

describe('an error the provider reports inside a 200', () => {
  test('an upstream failure mid-stream is retried, and the retry answers', async () => {
    const id = newId();
    fx.model.script(
      { streamError: { message: 'Upstream provider overloaded', code: 502 }, textBefore: 'Half an ans' },
      { content: 'A whole answer.' },
    );
    const before = fx.model.requests.length;
    const reply = await fx.client.send('compat', id, message('hello'));
    expect(reply).toMatchObject({ status: 'completed', content: 'A whole answer.' });
    expect(fx.model.requests.length - before).toBe(2);
    // Only the answer that was read whole is in the transcript.
    expect(JSON.stringify((await fx.client.transcript('compat', id)).entries)).not.toContain('Half an ans');
  });

  test('a 4xx code is not retried: the reply names the provider’s message', async () => {
    const id = newId();
    fx.model.script({ streamError: { message: 'This model does not support tools', code: 400 } });
    const before = fx.model.requests.length;
    const reply = await fx.client.send('compat', id, message('hello'));
    expect(reply.status).toBe('error');
    expect(reply.content).toBe(
      'The model provider rejected the request: the model provider reported an error in its answer: This model does not support tools',
    );
    expect(fx.model.requests.length - before).toBe(1);
  });

  test('a non-streamed 200 whose body is an error is read as that error', async () => {
    const id = newId();
    fx.model.script({ streamError: { message: 'quota exceeded for this key', code: 403 } });
    const reply = await fx.client.send('whole', id, message('hello'));
    expect(reply).toMatchObject({ status: 'error' });
    expect(reply.content).toContain('quota exceeded for this key');
  });
});
