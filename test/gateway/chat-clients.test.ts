/**
 * The chat clients of the field, pointed at the gateway as their users would point them: the Vercel AI SDK
 * (`@ai-sdk/openai-compatible`: generateText and streamText) and LangChain's ChatOpenAI. Each holds a
 * multi-turn conversation the way chat apps do, resending the history with every request, and the model
 * behind the agent sees the whole chat, with the app's system prompt after the agent's instructions.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { AIMessage, HumanMessage, SystemMessage, type BaseMessage } from '@langchain/core/messages';
import { ChatOpenAI } from '@langchain/openai';
import { generateText, type ModelMessage, streamText } from 'ai';
import { defineAgent } from '../../src/agents/define-agent';
import { useConversations } from '../helpers/conversation';
import { useGateway } from './gateway-fixture';

const TOKEN = 'chat-clients-token-0123456789';
const agent = defineAgent({ name: 'tester', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([agent]);
const gateway = useGateway(fx, { token: TOKEN, servedAgents: ['tester'] });

beforeEach(() => fx.model.reset());

const seen = () =>
  fx.model.requests
    .at(-1)
    ?.body.messages.map((m) => `${m.role}: ${typeof m.content === 'string' ? m.content : JSON.stringify(m.content)}`);

describe('the Vercel AI SDK', () => {
  const vigil = () =>
    createOpenAICompatible({ name: 'vigil', baseURL: `${gateway.url}/v1`, apiKey: TOKEN, includeUsage: true });

  test('streamText holds a multi-turn conversation', async () => {
    fx.model.script(
      { content: 'Paris, the capital.', usage: { prompt_tokens: 20, completion_tokens: 5 } },
      { content: 'About two million people.' },
    );
    const messages: ModelMessage[] = [{ role: 'user', content: 'What is the capital of France?' }];
    const first = streamText({ model: vigil()('tester'), system: 'Answer about geography.', messages });
    const pieces: string[] = [];
    for await (const piece of first.textStream) pieces.push(piece);
    expect(pieces.join('')).toBe('Paris, the capital.');
    expect(await first.finishReason).toBe('stop');
    expect((await first.usage).inputTokens).toBe(20);

    messages.push({ role: 'assistant', content: await first.text }, { role: 'user', content: 'How many live there?' });
    const second = streamText({ model: vigil()('tester'), system: 'Answer about geography.', messages });
    expect(await second.text).toBe('About two million people.');
    expect(seen()).toEqual([
      'system: Be brief.\n\nAnswer about geography.',
      'user: What is the capital of France?',
      'assistant: Paris, the capital.',
      'user: How many live there?',
    ]);
  });

  test('generateText answers, and an unknown agent is the model error it knows', async () => {
    fx.model.script({ content: 'Hello there.' });
    const { text } = await generateText({ model: vigil()('tester'), prompt: 'hi' });
    expect(text).toBe('Hello there.');
    await expect(generateText({ model: vigil()('nobody'), prompt: 'hi', maxRetries: 0 })).rejects.toMatchObject({
      statusCode: 404,
      message: expect.stringContaining('nobody'),
    });
  });

  test('aborting streamText cancels the turn: the model call is aborted', async () => {
    fx.model.script({ hang: true });
    const leaving = new AbortController();
    const result = streamText({
      model: vigil()('tester'),
      prompt: 'a long essay, please',
      abortSignal: leaving.signal,
    });
    const call = await fx.model.nextRequest();
    leaving.abort();
    await result.consumeStream();
    expect(await call.ended).toBe('aborted');
  });
});

describe("LangChain's ChatOpenAI", () => {
  const chat = (streaming: boolean) =>
    new ChatOpenAI({
      model: 'tester',
      apiKey: TOKEN,
      streaming,
      maxRetries: 0,
      configuration: { baseURL: `${gateway.url}/v1` },
    });

  test('invoke and stream hold a multi-turn conversation', async () => {
    fx.model.script({ content: 'Bonjour !' }, { content: 'Je vais bien, merci.' });
    const messages: BaseMessage[] = [new SystemMessage('Answer in French.'), new HumanMessage('Hello!')];
    const first = await chat(false).invoke(messages);
    expect(first.content).toBe('Bonjour !');

    messages.push(new AIMessage(first.text), new HumanMessage('How are you?'));
    let streamed = '';
    for await (const chunk of await chat(true).stream(messages)) streamed += chunk.text;
    expect(streamed).toBe('Je vais bien, merci.');
    expect(seen()).toEqual([
      'system: Be brief.\n\nAnswer in French.',
      'user: Hello!',
      'assistant: Bonjour !',
      'user: How are you?',
    ]);
  });
});
