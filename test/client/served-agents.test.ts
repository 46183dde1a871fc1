/**
 * `agents: 'from-workers'`: an AgentClient away from the workers learns their agents from the identities of the
 * workers polling the task queue, refuses a message for another agent before anything starts, and refuses
 * nothing while no worker polls (the message then waits for one).
 */
import { defineAgent } from '../../src/agents/define-agent';
import { AgentClient, ConversationNotFoundError } from '../../src/client';
import { UnknownAgentError } from '../../src/errors';
import { newId, useConversations } from '../helpers/conversation';

const fx = useConversations([
  defineAgent({ name: 'tester', instructions: 'Be brief.', model: 'test-model' }),
  defineAgent({ name: 'helper', instructions: 'Help.', model: 'test-model' }),
]);
const fromWorkers = (taskQueue = fx.taskQueue) =>
  new AgentClient({ client: fx.env.client, taskQueue, agents: 'from-workers' });

test("knows the polling workers' agents, sends to them and refuses another before it starts", async () => {
  // Answered once, the worker has polled.
  expect(await fx.client.send('tester', newId(), { id: 'm1', content: 'hi' })).toMatchObject({ status: 'completed' });
  const agents = fromWorkers();
  expect(await agents.servedAgents()).toEqual(['helper', 'tester']);
  expect(await agents.send('helper', newId(), { id: 'm1', content: 'hi' })).toMatchObject({ status: 'completed' });
  const stranger = newId();
  const refused = await agents.send('nobody', stranger, { id: 'm1', content: 'hi' }).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(UnknownAgentError);
  expect((refused as Error).message).toBe('no agent named "nobody" is served here; the agents are: helper, tester');
  await expect(fx.client.state('nobody', stranger)).rejects.toBeInstanceOf(ConversationNotFoundError);
});

test('with no worker polling, the agents are not known and nothing is refused', async () => {
  expect(await fromWorkers(`unpolled-${newId()}`).servedAgents()).toBeUndefined();
});
