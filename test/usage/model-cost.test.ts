import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { createActivities } from '../../src/activities';
import { createOpenAIClient } from '../../src/activities/model';
import type { ModelCallInput } from '../../src/conversation/activity-contract';
import { AgentRegistry } from '../../src/agents/registry';
import { startScriptedModel, type ScriptedModel } from '../../src/testing/scripted-model';

let model: ScriptedModel;
beforeAll(async () => {
  model = await startScriptedModel();
});
afterAll(async () => {
  await model.close();
});

const input: ModelCallInput = {
  agent: 'nobody',
  conversationId: 'c1',
  turn: 1,
  step: 1,
  model: 'gpt-4o-mini',
  instructions: 'Be brief.',
  transcript: [{ role: 'user', turn: 1, messageId: 'm1', content: 'hi', at: '2025-01-01T00:00:00.000Z' }],
  tools: [],
};

function callModel(prices?: Parameters<typeof createActivities>[0]['prices'], requested = input.model) {
  const activities = createActivities({
    agents: new AgentRegistry(),
    openai: createOpenAIClient({ baseURL: model.baseURL, apiKey: 'sk-test-0123456789abcdef' }),
    channels: [],
    streamDeltas: false,
    prices,
  });
  return new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(activities.callModel, {
    ...input,
    model: requested,
  });
}

test('the model activity prices its answer by the model that answered, with the built-in table by default', async () => {
  model.script({
    content: 'hello',
    model: 'gpt-4o-mini-2024-07-18',
    usage: { prompt_tokens: 1000, completion_tokens: 500 },
  });
  expect(await callModel()).toMatchObject({ model: 'gpt-4o-mini-2024-07-18', costMicros: 450, priced: true });
});

test('a configured table prices models the built-in one does not know', async () => {
  model.script({ content: 'hello', model: 'local-llm', usage: { prompt_tokens: 1000, completion_tokens: 1000 } });
  const result = await callModel({ 'local-llm': { inputPerMillionTokens: 1, outputPerMillionTokens: 2 } });
  expect(result).toMatchObject({ costMicros: 3000, priced: true });
});

test('an answer from an unknown model is priced by the requested model, else reported unpriced', async () => {
  model.script(
    { content: 'a', model: 'some-alias', usage: { prompt_tokens: 1000, completion_tokens: 0 } },
    { content: 'b', model: 'some-alias', usage: { prompt_tokens: 1000, completion_tokens: 0 } },
  );
  expect(await callModel()).toMatchObject({ costMicros: 150, priced: true });
  expect(await callModel(undefined, 'my-own-model')).toMatchObject({
    costMicros: 0,
    priced: false,
    usage: { inputTokens: 1000, outputTokens: 0 },
  });
});
