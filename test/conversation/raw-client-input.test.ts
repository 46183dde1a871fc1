/**
 * What a raw Temporal client may send a conversation, which the gateway and AgentClient would have refused before
 * sending: the conversation drops or refuses it and goes on. Found by the reliability suite's bad input part
 * (issue 14): a `message` signal whose payload no converter could read failed the conversation's workflow task for
 * good; a signal outside the protocol's grammar started a turn; ten watchers, or ten that left, took every update
 * slot Temporal gives a workflow, so sends, decisions and cancels were refused until the next event.
 */
import { WorkflowUpdateFailedError } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { MAX_WAITING_POLLS } from '../../src/workflows/conversation-events';
import { newId, useConversations } from '../helpers/conversation';

const agent = defineAgent({ name: 'raw', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([agent]);

const utf8 = (text: string) => new TextEncoder().encode(text);
const POLL = '__temporal_workflow_stream_poll';
const ACCEPTED =
  temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;

/** A conversation with one turn answered. */
async function conversation(): Promise<{ id: string; workflowId: string }> {
  const id = newId();
  await fx.client.send('raw', id, { id: 'm1', content: 'hello' });
  return { id, workflowId: conversationWorkflowId('raw', id) };
}

async function failedTasks(workflowId: string): Promise<number> {
  const history = await fx.env.client.workflow.getHandle(workflowId).fetchHistory();
  return (history.events ?? []).filter(
    (e) => e.eventType === temporal.api.enums.v1.EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
  ).length;
}

/** Payloads in encodings no converter of Vigil's writes, or cut short. */
const UNREADABLE: [string, temporal.api.common.v1.IPayload][] = [
  ['JSON cut short', { metadata: { encoding: utf8('json/plain') }, data: utf8('{"id":"x1","content":') }],
  ['an unknown encoding', { metadata: { encoding: utf8('application/x-pickle') }, data: utf8('{}') }],
  ['no encoding', { metadata: {}, data: utf8('{"id":"x2","content":"hi"}') }],
  [
    "another SDK's protobuf",
    { metadata: { encoding: utf8('json/protobuf'), messageType: utf8('acme.Message') }, data: utf8('{}') },
  ],
];

test('a message signal no converter can read is dropped; the conversation answers the next message', async () => {
  const { id, workflowId } = await conversation();
  for (const [, payload] of UNREADABLE) {
    await fx.env.client.workflowService.signalWorkflowExecution({
      namespace: fx.env.namespace,
      workflowExecution: { workflowId },
      signalName: 'message',
      input: { payloads: [payload] },
      identity: 'raw-client-test',
    });
  }
  // Before: every attempt of the next workflow task failed decoding the signal, and this send timed out.
  const reply = await fx.client.send('raw', id, { id: 'm2', content: 'still there?' }, { timeoutMs: 20_000 });
  expect(reply).toMatchObject({ turn: 2, content: 'echo: still there?' });
  expect(await failedTasks(workflowId)).toBe(0);
});

test('a send update no converter can read is refused, and leaves no trace', async () => {
  const { workflowId } = await conversation();
  for (const [name, payload] of UNREADABLE) {
    const response = await fx.env.client.workflowService.updateWorkflowExecution({
      namespace: fx.env.namespace,
      workflowExecution: { workflowId },
      request: {
        meta: { updateId: `raw-${name}`, identity: 'raw-client-test' },
        input: { name: 'send', args: { payloads: [payload] } },
      },
      waitPolicy: {
        lifecycleStage:
          temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage
            .UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED,
      },
    });
    expect({ name, refused: response.outcome?.failure != null }).toEqual({ name, refused: true });
  }
  const history = await fx.env.client.workflow.getHandle(workflowId).fetchHistory();
  expect(JSON.stringify(history.events)).not.toContain('unreadable-');
});

test("a message signal outside the protocol's grammar is dropped, as send refuses it", async () => {
  const { id, workflowId } = await conversation();
  const handle = fx.env.client.workflow.getHandle(workflowId);
  const outside: [string, unknown[]][] = [
    ['an id with a space', [{ id: 'a b', content: 'x' }]],
    ['an id with a line break', [{ id: 'a\r\nx-injected: 1', content: 'x' }]],
    ['an id of other text', [{ id: 'café', content: 'x' }]],
    [
      'metadata 40 levels deep',
      [{ id: 'deep', content: 'x', metadata: JSON.parse(`${'{"a":'.repeat(40)}1${'}'.repeat(40)}`) }],
    ],
    ['metadata over 16 KiB', [{ id: 'big', content: 'x', metadata: { big: 'm'.repeat(20_000) } }]],
    [
      'a webhook URL with credentials',
      [{ id: 'creds', content: 'x', channel: { type: 'webhook', url: 'http://u:p@127.0.0.1:1/x' } }],
    ],
    [
      'two arguments',
      [
        { id: 'two', content: 'x' },
        { id: 'three', content: 'y' },
      ],
    ],
  ];
  for (const [name, args] of outside) {
    await handle.signal('message', ...args);
    // The same message as a send is refused by its validator: the signal must not take what the update refuses.
    if (args.length === 1) {
      const refused = await handle.executeUpdate('send', { args: args as [unknown] }).then(
        () => false,
        (error: unknown) => error instanceof WorkflowUpdateFailedError,
      );
      expect({ name, refused }).toEqual({ name, refused: true });
    }
  }
  const reply = await fx.client.send('raw', id, { id: 'm2', content: 'next' });
  expect(reply.turn).toBe(2);
  const transcript = await fx.client.transcript('raw', id);
  expect(transcript.entries.filter((e) => e.role === 'user').map((e) => e.role === 'user' && e.messageId)).toEqual([
    'm1',
    'm2',
  ]);
});

test('watchers cannot take the updates a conversation needs: past the limit their polls are refused', async () => {
  const { id, workflowId } = await conversation();
  const end = await fx.client.eventOffset('raw', id);
  let polls = 0;
  /** A poll as a subscriber makes one, answered once the conversation has accepted or refused it. */
  const poll = async (input: unknown) => {
    const updateId = `poll-${++polls}`;
    const response = await fx.env.client.workflowService.updateWorkflowExecution({
      namespace: fx.env.namespace,
      workflowExecution: { workflowId },
      request: {
        meta: { updateId, identity: 'raw-client-test' },
        input: {
          name: POLL,
          args: { payloads: [fx.env.client.options.loadedDataConverter.payloadConverter.toPayload(input)] },
        },
      },
      waitPolicy: { lifecycleStage: ACCEPTED },
    });
    return response.outcome?.failure ? 'refused' : updateId;
  };

  // Polls that could never be answered are refused: not a poll, or an offset no event has reached.
  for (const input of [{ topics: [], from_offset: end + 1_000 }, { topics: 'all', from_offset: 0 }, 'nonsense']) {
    expect({ input, outcome: await poll(input) }).toEqual({ input, outcome: 'refused' });
  }
  // Ten watchers that left (their polls wait for the next event, for nobody): the limit's worth wait, the rest are
  // refused. Before, all ten waited, and Temporal refused every further update to the conversation.
  const outcomes: string[] = [];
  for (let i = 0; i < 10; i++) outcomes.push(await poll({ topics: [], from_offset: end }));
  const waiting = outcomes.filter((outcome) => outcome !== 'refused');
  expect(waiting).toHaveLength(MAX_WAITING_POLLS);

  const reply = await fx.client.send('raw', id, { id: 'm2', content: 'heard?' }, { timeoutMs: 20_000 });
  expect(reply).toMatchObject({ turn: 2, content: 'echo: heard?' });
  // The turn's events answered the polls that waited.
  const handle = fx.env.client.workflow.getHandle(workflowId);
  for (const updateId of waiting) {
    const result = (await handle.getUpdateHandle(updateId).result()) as { items: unknown[] };
    expect(result.items.length).toBeGreaterThan(0);
  }
  expect(await failedTasks(workflowId)).toBe(0);
});
