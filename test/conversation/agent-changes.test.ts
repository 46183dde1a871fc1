/**
 * A deploy that changes an agent: the conversation takes the new definition from the next model step, and an
 * unchanged definition is not written to history again with every model answer (issue 10: a lean history).
 */
import { defineAgent } from '../../src/agents/define-agent';
import type { ModelCallResult } from '../../src/conversation/activity-contract';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { newId, useConversations } from '../helpers/conversation';

const before = defineAgent({ name: 'changing', instructions: 'Be brief.', model: 'model-before' });
const after = defineAgent({ name: 'changing', instructions: 'Be very brief.', model: 'model-after' });
const fx = useConversations([before]);

/** Every callModel result recorded in the conversation's history, in order. */
async function modelResults(id: string): Promise<ModelCallResult[]> {
  const history = await fx.env.client.workflow.getHandle(conversationWorkflowId('changing', id)).fetchHistory();
  const events = history.events ?? [];
  const callModel = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'callModel')
      .map((e) => String(e.eventId)),
  );
  return events.flatMap((e) => {
    const completed = e.activityTaskCompletedEventAttributes;
    if (!completed || !callModel.has(String(completed.scheduledEventId))) return [];
    return [JSON.parse(Buffer.from(completed.result!.payloads![0].data!).toString()) as ModelCallResult];
  });
}

test('the spec comes back once per run and when it changed; a changed agent applies from the next step', async () => {
  const id = newId();
  await fx.client.send('changing', id, { id: 'm1', content: 'one' });
  await fx.client.send('changing', id, { id: 'm2', content: 'two' });
  let results = await modelResults(id);
  expect(results.map((r) => r.agent?.model)).toEqual(['model-before', undefined]);
  expect(results[0].agentVersion).toBe(before.version);

  await fx.restartWorker([after]);
  await fx.client.send('changing', id, { id: 'm3', content: 'three' });
  await fx.client.send('changing', id, { id: 'm4', content: 'four' });
  // The call already decided on the old definition goes out with it; its answer brings the new one.
  expect(fx.model.requests.slice(-2).map((r) => r.body.model)).toEqual(['model-before', 'model-after']);
  expect(fx.model.requests.at(-1)!.body.messages[0]).toEqual({ role: 'system', content: 'Be very brief.' });
  results = await modelResults(id);
  expect(results.map((r) => r.agent?.model)).toEqual(['model-before', undefined, 'model-after', undefined]);
  expect(results[2].agentVersion).toBe(after.version);
  expect(after.version).not.toBe(before.version);
});
