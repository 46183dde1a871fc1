/**
 * A conversation whose workflow task failed or timed out twice in a row (workers that died holding it) is refused
 * updates and queries by the server until a worker completes its task (WorkflowNotReady). Found by the reliability
 * suite's kill storm on the real server: sends answered 502 through the gateway. Now a send, decision or cancel
 * waits it out and is answered once a worker is back; a read says the conversation is recovering, and the gateway
 * answers it 503 with `retry-after`, a passing condition, not a 502.
 */
import { temporal } from '@temporalio/proto';
import { defineAgent } from '../../src/agents/define-agent';
import { SystemError } from '../../src/errors';
import { longPoll } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { conversationPath, request, useGateway } from '../gateway/gateway-fixture';

const agent = defineAgent({ name: 'assistant', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([agent]);
const gateway = useGateway(fx);

/** A worker that takes the conversation's workflow task and fails it, as one that crashed mid-task looks. */
async function failWorkflowTask(): Promise<void> {
  const svc = fx.env.client.workflowService;
  const task = await longPoll(fx.env.connection, () =>
    svc.pollWorkflowTaskQueue({ namespace: fx.env.namespace, taskQueue: { name: fx.taskQueue }, identity: 'crashing' }),
  );
  await svc.respondWorkflowTaskFailed({
    namespace: fx.env.namespace,
    taskToken: task.taskToken,
    cause: temporal.api.enums.v1.WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_WORKFLOW_WORKER_UNHANDLED_FAILURE,
    failure: { message: 'the worker crashed' },
  });
}

/** Whether the test stopped the harness's worker and has not started it again. */
let stopped = false;
afterEach(async () => {
  if (stopped) await fx.startWorker();
  stopped = false;
});

test('a send to a conversation whose workflow task keeps failing is answered once a worker runs it', async () => {
  const id = newId();
  await fx.stopWorker();
  stopped = true;
  await fx.client.open('assistant', id);
  await failWorkflowTask();
  await failWorkflowTask();

  const state = await fx.client.state('assistant', id).catch((error: unknown) => error);
  expect(state).toBeInstanceOf(SystemError);
  expect((state as Error).message).toContain(`conversation ${id} of agent assistant is recovering`);
  const answer = await request<{ error: { code: string; message: string } }>(
    gateway.url,
    'GET',
    conversationPath('assistant', id),
  );
  expect(answer.status).toBe(503);
  expect(answer.headers.get('retry-after')).toBe('2');
  expect(answer.body.error.message).toMatch(/^the conversation is recovering from failed workflow tasks/);

  fx.model.script({ content: 'back again' });
  const reply = fx.client.send('assistant', id, { id: newId('m'), content: 'are you there?' });
  await fx.startWorker();
  stopped = false;
  expect(await reply).toMatchObject({ status: 'completed', content: 'back again' });
});
