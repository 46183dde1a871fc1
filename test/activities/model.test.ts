import { CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { createModelActivity, createOpenAIClient } from '../../src/activities/model';
import { MODEL_UNAVAILABLE } from '../../src/activities/model-failure';
import { MISSING_TOOL_RESULT } from '../../src/memory/model-messages';
import { type ModelCallInput, type ModelCallResult } from '../../src/conversation/activity-contract';
import { FailureTypes } from '../../src/conversation/failure-types';
import type { TranscriptEntry } from '../../src/conversation/protocol';
import { startScriptedModel, type ScriptedModel } from '../../src/testing/scripted-model';
import { failureOf } from '../helpers/failure';

const API_KEY = 'sk-test-0123456789abcdef';
const at = '2025-01-01T00:00:00.000Z';
const usage = { inputTokens: 1, outputTokens: 1 };

let model: ScriptedModel;
beforeEach(async () => {
  model = await startScriptedModel();
});
afterEach(async () => {
  await model.close();
});

function input(overrides: Partial<ModelCallInput> = {}): ModelCallInput {
  return {
    agent: 'helper',
    conversationId: 'c1',
    turn: 1,
    step: 1,
    model: 'gpt-test',
    instructions: 'You are helpful.',
    transcript: [{ role: 'user', turn: 1, messageId: 'm1', content: 'hello', at }],
    tools: [],
    ...overrides,
  };
}

/** A fresh environment per call: its context is shared by every run, and a cancel sticks to it. */
function environment(info: ConstructorParameters<typeof MockActivityEnvironment>[0] = {}): MockActivityEnvironment {
  // The failures these tests provoke are expected; the worker logger would print each one as a warning.
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

function callModel(modelInput: ModelCallInput, env = environment(), baseURL = model.baseURL): Promise<ModelCallResult> {
  const activity = createModelActivity({ openai: createOpenAIClient({ baseURL, apiKey: API_KEY }) });
  return env.run(activity, modelInput);
}

describe('the request', () => {
  it('puts instructions, transcript and tools to the model as chat messages', async () => {
    const transcript: TranscriptEntry[] = [
      { role: 'user', turn: 1, messageId: 'm1', content: 'weather in Paris?', author: 'ana', at },
      {
        role: 'assistant',
        turn: 1,
        content: '',
        toolCalls: [
          { id: 'call_a', name: 'weather', arguments: '{"city":"Paris"}' },
          { id: 'call_b', name: 'news', arguments: '{}' },
        ],
        model: 'gpt-test',
        usage,
        at,
      },
      { role: 'tool', turn: 1, toolCallId: 'call_a', name: 'weather', content: '18C', isError: false, at },
      { role: 'tool', turn: 1, toolCallId: 'call_b', name: 'news', content: 'feed down', isError: true, at },
      { role: 'assistant', turn: 1, content: '18C, no news.', toolCalls: [], model: 'gpt-test', usage, at },
      { role: 'notice', turn: 1, content: 'step limit reached', at },
      { role: 'user', turn: 2, messageId: 'm2', content: 'thanks', at },
    ];
    const tools = [
      {
        name: 'weather',
        description: 'Current weather',
        parameters: { type: 'object', properties: { city: { type: 'string' } } },
      },
    ];

    await callModel(input({ transcript, tools }));

    const request = await model.nextRequest();
    expect(request.path).toBe('/v1/chat/completions');
    expect(request.authorizedWith(API_KEY)).toBe(true);
    expect(request.body).toEqual({
      model: 'gpt-test',
      messages: [
        { role: 'system', content: 'You are helpful.' },
        { role: 'user', content: 'weather in Paris?' },
        {
          role: 'assistant',
          content: null,
          tool_calls: [
            { id: 'call_a', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
            { id: 'call_b', type: 'function', function: { name: 'news', arguments: '{}' } },
          ],
        },
        { role: 'tool', tool_call_id: 'call_a', content: '18C' },
        { role: 'tool', tool_call_id: 'call_b', content: 'Error: feed down' },
        { role: 'assistant', content: '18C, no news.' },
        { role: 'user', content: 'thanks' },
      ],
      tools: [{ type: 'function', function: tools[0] }],
      // Streamed, with usage in the last chunk: watchers see the text as it comes.
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('leaves tools out when the agent has none', async () => {
    await callModel(input());
    const request = await model.nextRequest();
    expect(request.body).not.toHaveProperty('tools');
  });

  it('answers a tool call the transcript left without a result, so the provider accepts the request', async () => {
    const transcript: TranscriptEntry[] = [
      { role: 'user', turn: 1, messageId: 'm1', content: 'look it up', at },
      {
        role: 'assistant',
        turn: 1,
        content: 'Looking.',
        toolCalls: [{ id: 'call_a', name: 'lookup', arguments: '{}' }],
        model: 'gpt-test',
        usage,
        at,
      },
      { role: 'notice', turn: 1, content: 'turn cancelled', at },
      { role: 'user', turn: 2, messageId: 'm2', content: 'never mind', at },
    ];

    await callModel(input({ transcript }));

    const { body } = await model.nextRequest();
    expect(body.messages.slice(2)).toEqual([
      {
        role: 'assistant',
        content: 'Looking.',
        tool_calls: [{ id: 'call_a', type: 'function', function: { name: 'lookup', arguments: '{}' } }],
      },
      { role: 'tool', tool_call_id: 'call_a', content: MISSING_TOOL_RESULT },
      { role: 'user', content: 'never mind' },
    ]);
  });
});

describe('the result', () => {
  it('returns text, the answering model and token usage', async () => {
    model.script({
      content: 'Hi there.',
      model: 'gpt-test-2025-01-01',
      usage: { prompt_tokens: 12, completion_tokens: 3 },
    });

    await expect(callModel(input())).resolves.toEqual({
      content: 'Hi there.',
      toolCalls: [],
      model: 'gpt-test-2025-01-01',
      usage: { inputTokens: 12, outputTokens: 3 },
      finishReason: 'stop',
    });
  });

  it('returns tool calls with their arguments exactly as the model wrote them, malformed JSON included', async () => {
    model.script({
      toolCalls: [
        { id: 'call_1', name: 'weather', arguments: '{"city": "Paris"}' },
        { id: 'call_2', name: 'weather', arguments: '{"city": "Par' },
      ],
    });

    const result = await callModel(input());

    expect(result.content).toBe('');
    expect(result.finishReason).toBe('tool_calls');
    expect(result.toolCalls).toEqual([
      { id: 'call_1', name: 'weather', arguments: '{"city": "Paris"}' },
      { id: 'call_2', name: 'weather', arguments: '{"city": "Par' },
    ]);
  });

  it('passes the text to its delta sink as it streams, and closes the sink', async () => {
    model.script({ content: 'The answer is forty two, as always.' });
    const pushed: string[] = [];
    const opened: { turn: number; step: number }[] = [];
    let closed = 0;
    const activity = createModelActivity({
      openai: createOpenAIClient({ baseURL: model.baseURL, apiKey: API_KEY }),
      deltas: (at) => {
        opened.push(at);
        return { push: (text) => pushed.push(text), close: async () => void closed++ };
      },
    });

    const result = (await environment().run(activity, input({ turn: 3, step: 2 }))) as ModelCallResult;

    expect(opened).toEqual([{ turn: 3, step: 2 }]);
    expect(pushed.length).toBeGreaterThan(1); // in pieces, as the provider sent them
    expect(pushed.join('')).toBe(result.content);
    expect(closed).toBe(1);
  });

  it('closes its delta sink when the call fails', async () => {
    model.script({ status: 400, message: 'bad model' });
    let closed = 0;
    const activity = createModelActivity({
      openai: createOpenAIClient({ baseURL: model.baseURL, apiKey: API_KEY }),
      deltas: () => ({ push: () => undefined, close: async () => void closed++ }),
    });
    await failureOf(environment().run(activity, input()));
    expect(closed).toBe(1);
  });

  it('counts the tokens itself, and says so, when the provider reports no usage', async () => {
    model.script({ content: 'ok', usage: null });
    const result = await callModel(input());
    // Not zero, which would make the call free for budgets and prices; 'ok' is one token by the estimate.
    expect(result.usageEstimated).toBe(true);
    expect(result.usage.outputTokens).toBe(1);
    expect(result.usage.inputTokens).toBeGreaterThan(10);
  });

  it('takes the usage the provider reports, and does not call it estimated', async () => {
    model.script({ content: 'ok', usage: { prompt_tokens: 7, completion_tokens: 3 } });
    const result = await callModel(input());
    expect(result.usage).toEqual({ inputTokens: 7, outputTokens: 3 });
    expect(result.usageEstimated).toBeUndefined();
  });
});

describe('failures', () => {
  it('retries a rate limit after the delay the provider asked for', async () => {
    model.script({ status: 429, retryAfter: 3, message: 'Rate limit reached for gpt-test' });

    const failure = await failureOf(callModel(input()));

    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(MODEL_UNAVAILABLE);
    expect(failure.nextRetryDelay).toBe(3_000);
    expect(failure.message).toContain('429 Rate limit reached for gpt-test');
  });

  it('takes the retry delay from retry-after-ms, or from retry-after as an HTTP date', async () => {
    model.script(
      { status: 429, retryAfterMs: 1500 },
      { status: 503, retryAfter: new Date(Date.now() + 10_000).toUTCString() },
    );

    expect((await failureOf(callModel(input()))).nextRetryDelay).toBe(1500);
    // An HTTP date has whole seconds: the delay is a little under ten seconds.
    const fromDate = (await failureOf(callModel(input()))).nextRetryDelay as number;
    expect(fromDate).toBeGreaterThan(8_000);
    expect(fromDate).toBeLessThanOrEqual(10_000);
  });

  it.each([408, 409, 500, 503])('retries a %i by the retry policy', async (status) => {
    model.script({ status });

    const failure = await failureOf(callModel(input()));

    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(MODEL_UNAVAILABLE);
    expect(failure.nextRetryDelay).toBeUndefined();
    expect(failure.details).toEqual([{ status, requestId: null }]);
  });

  it('gives up on a request the provider rejects, with its reason', async () => {
    model.script({ status: 400, message: "Invalid schema for function 'weather'" });

    const failure = await failureOf(callModel(input()));

    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(FailureTypes.ModelRequestRejected);
    expect(failure.message).toBe("model provider answered 400 Invalid schema for function 'weather'");
  });

  it.each([401, 403, 404, 422])('gives up on a %i', async (status) => {
    model.script({ status });
    const failure = await failureOf(callModel(input()));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(FailureTypes.ModelRequestRejected);
  });

  it('never puts the API key in the failure, even when the provider echoes it', async () => {
    model.script({ status: 401, message: `Incorrect API key provided: ${API_KEY}.` });

    const failure = await failureOf(callModel(input()));

    expect(failure.message).toContain('401 Incorrect API key provided');
    for (const text of [failure.message, failure.stack ?? '', JSON.stringify(failure.details), String(failure.cause)]) {
      expect(text).not.toContain(API_KEY);
    }
  });

  it('retries when the provider cannot be reached', async () => {
    const closed = http.createServer();
    closed.listen(0, '127.0.0.1');
    await once(closed, 'listening');
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const failure = await failureOf(callModel(input(), environment(), `http://127.0.0.1:${port}/v1`));

    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(MODEL_UNAVAILABLE);
    expect(failure.message).toContain('ECONNREFUSED');
  });

  it('retries when the connection drops before the answer', async () => {
    model.script({ disconnect: true });
    const failure = await failureOf(callModel(input()));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(MODEL_UNAVAILABLE);
  });

  it('retries when the connection drops mid-stream, and says so', async () => {
    model.script({ content: 'one two three four', disconnectAfterChunks: 2 });
    const failure = await failureOf(callModel(input()));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(MODEL_UNAVAILABLE);
    // What a user reads if every attempt fails so: not the fetch's bare "terminated".
    expect(failure.message).toBe(
      'the connection to the model provider closed mid-answer: terminated: other side closed',
    );
  });
});

describe('while waiting', () => {
  it('aborts the HTTP request when the activity is cancelled, and reports the cancellation', async () => {
    model.script({ hang: true });
    const env = environment();

    const call = callModel(input(), env);
    const request = await model.nextRequest();
    env.cancel();

    await expect(call).rejects.toBeInstanceOf(CancelledFailure);
    await expect(request.ended).resolves.toBe('aborted');
    expect(request.aborted).toBe(true);
  });

  it('heartbeats until the answer comes', async () => {
    model.script({ hang: true });
    // A 30 ms heartbeat timeout makes the activity heartbeat every 10 ms.
    const env = environment({ heartbeatTimeoutMs: 30 });
    let heartbeats = 0;
    const threeHeartbeats = new Promise<void>((resolve) =>
      env.on('heartbeat', () => {
        if (++heartbeats === 3) resolve();
      }),
    );

    const call = callModel(input(), env);
    await threeHeartbeats;
    env.cancel();

    await expect(call).rejects.toBeInstanceOf(CancelledFailure);
  });
});

describe('a provider that sends nothing', () => {
  it('is given up on when no response headers come within the idle timeout: a retryable failure that says so', async () => {
    model.script({ hang: true });
    const started = Date.now();

    const failure = await failureOf(callModel(input({ idleTimeoutMs: 300 })));

    expect(failure.nonRetryable).toBe(false);
    expect(failure.type).toBe(MODEL_UNAVAILABLE);
    expect(failure.message).toBe('the model provider sent nothing for 300 ms');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    expect(Date.now() - started).toBeLessThan(5_000);
    // The request is aborted, not left open on the provider.
    await expect((await model.nextRequest()).ended).resolves.toBe('aborted');
  });

  it('is given up on when its stream stops between two chunks', async () => {
    model.script({ content: 'one two three four', stallAfterChunks: 2 });
    const seen: string[] = [];
    const deltas = () => ({ push: (text: string) => void seen.push(text), close: async () => {} });
    const activity = createModelActivity({
      openai: createOpenAIClient({ baseURL: model.baseURL, apiKey: API_KEY }),
      deltas,
    });

    const failure = await failureOf(environment().run(activity, input({ idleTimeoutMs: 300 })));

    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe('the model provider sent nothing for 300 ms');
    // It had started answering: the first word came, then nothing.
    expect(seen.join('')).toBe('one ');
    await expect((await model.nextRequest()).ended).resolves.toBe('aborted');
  });

  it('is not what a slow stream is: chunks that keep coming are never cut, however long they take together', async () => {
    // Six words 200 ms apart: over a second in all, five times the gap the idle timeout allows.
    model.script({ content: 'slow but steady and complete', chunkDelayMs: 200 });
    const started = Date.now();

    const result = await callModel(input({ idleTimeoutMs: 1_000 }));

    expect(result.content).toBe('slow but steady and complete');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('a cancel while waiting is still a cancel, not silence', async () => {
    model.script({ hang: true });
    const env = environment();

    const call = callModel(input({ idleTimeoutMs: 60_000 }), env);
    await model.nextRequest();
    env.cancel();

    await expect(call).rejects.toBeInstanceOf(CancelledFailure);
  });

  it('never retries inside the attempt, even with a client built to retry: Temporal retries, visibly', async () => {
    model.script({ status: 503 }, { content: 'the SDK retried' });
    const activity = createModelActivity({
      openai: new OpenAI({ baseURL: model.baseURL, apiKey: API_KEY, maxRetries: 3 }),
    });

    const failure = await failureOf(environment().run(activity, input()));

    expect(failure.details).toEqual([{ status: 503, requestId: null }]);
    expect(model.requests).toHaveLength(1);
  });
});
