/**
 * An agent's `onBusy` policy, end to end on the real worker: what becomes of a message that arrives while a turn
 * runs. `reject` refuses a send in its validator (TurnInProgressError, the gateway's 409 `turn_in_progress`) with
 * no trace in history, and drops a post with an `error` reply on its channel; `interrupt` cancels the turn in
 * flight (a send's or a post's, running or waiting for an approval) and runs the new message. `queue`, the default, is what test/gateway/concurrent-sends.test.ts and the
 * rest of the suite run.
 */
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { TurnInProgressError, ValidationError } from '../../src/errors';
import { conversationPath, request, useGateway } from '../gateway/gateway-fixture';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { historyText as historyTextOf } from '../helpers/history-text';
import { lookup, lookups } from '../helpers/test-agents';

const rejecting = defineAgent({ name: 'rejecting', instructions: 'Be brief.', model: 'test-model', onBusy: 'reject' });
const interrupting = defineAgent({
  name: 'interrupting',
  instructions: 'Be brief.',
  model: 'test-model',
  onBusy: 'interrupt',
  tools: [lookup],
});
const fx = useConversations([rejecting, interrupting]);
const gateway = useGateway(fx);

afterEach(() => fx.model.reset());

/** Every payload of the conversation's history, as text: a message that left a trace has its id in there. */
async function historyText(agent: string, conversationId: string): Promise<string> {
  return historyTextOf(
    await fx.env.client.workflow.getHandle(conversationWorkflowId(agent, conversationId)).fetchHistory(),
  );
}

test('reject: a send while a turn runs is refused with no trace in history, a post is refused on its channel, and the conversation goes on', async () => {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let holding!: () => void;
  const held = new Promise<void>((resolve) => (holding = resolve));
  fx.model.respondWith(async (req) => {
    const { content } = req.body.messages[req.body.messages.length - 1];
    if (content === 'first') {
      holding();
      await released;
    }
    return { content: `echo: ${typeof content === 'string' ? content : JSON.stringify(content)}` };
  });
  const id = newId();
  const [first, second, viaGateway, posted, after] = ['first', 'second', 'gateway', 'posted', 'after'].map((p) =>
    newId(p),
  );

  const firstReply = fx.client.send('rejecting', id, { id: first, content: 'first' });
  await held;

  const refused = await fx.client.send('rejecting', id, { id: second, content: 'second' }).catch((e: unknown) => e);
  expect(refused).toBeInstanceOf(TurnInProgressError);
  expect(refused).toMatchObject({ agent: 'rejecting', conversationId: id });
  expect((refused as Error).message).toMatch(
    new RegExp(
      `refused the message: the conversation is busy: turn 1 \\(message ${first}\\) is running.*onBusy: 'reject'`,
    ),
  );

  const answer = await request<{ error: { code: string; message: string } }>(
    gateway.url,
    'POST',
    `${conversationPath('rejecting', id)}/messages`,
    { body: { id: viaGateway, content: 'through the gateway' } },
  );
  expect(answer).toMatchObject({ status: 409, body: { error: { code: 'turn_in_progress' } } });
  expect(answer.body.error.message).toMatch(/onBusy: 'reject'/);

  // A post cannot be refused: it is dropped, and its channel (the log) gets an error reply saying why.
  await fx.client.post('rejecting', id, { id: posted, content: 'posted', channel: { type: 'log' } });
  const told = await eventually(async () => fx.logged.find((line) => line.messageId === posted));
  expect(told).toMatchObject({ status: 'error', content: expect.stringMatching(/the conversation is busy/) });
  // To a webhook, the same: the refusal comes under a key of its own, so that the real reply to the id posted
  // again later (as the refusal says) is not dropped by a receiver that dedupes.
  const hooked = { id: newId('hooked'), content: 'hooked', channel: { type: 'webhook' as const, url: fx.hook.url } };
  await fx.client.post('rejecting', id, hooked);
  const hookRefusal = await fx.hook.delivery(hooked.id);
  expect(hookRefusal.body.reply).toMatchObject({ status: 'error', content: expect.stringMatching(/busy/) });

  release();
  expect(await firstReply).toMatchObject({ messageId: first, status: 'completed', content: 'echo: first' });
  expect(await fx.client.send('rejecting', id, { id: after, content: 'after' })).toMatchObject({
    status: 'completed',
    content: 'echo: after',
  });

  const text = await historyText('rejecting', id);
  expect(text).toContain(first);
  expect(text).not.toContain(second);
  expect(text).not.toContain(viaGateway);
  const transcript = await fx.client.transcript('rejecting', id);
  expect(transcript.entries.flatMap((e) => (e.role === 'user' ? [e.messageId] : []))).toEqual([first, after]);
  // The refused send may be sent again, under the same id, once the conversation is idle.
  expect(await fx.client.send('rejecting', id, { id: second, content: 'second' })).toMatchObject({
    status: 'completed',
    content: 'echo: second',
  });
  // And the refused post posted again: its reply reaches the receiver, which applied the refusal before it.
  await fx.client.post('rejecting', id, hooked);
  const hookReply = await eventually(async () =>
    [...fx.hook.applied.values()].find((d) => d.body.reply.messageId === hooked.id && d !== hookRefusal),
  );
  expect(hookReply.body.reply).toMatchObject({ status: 'completed', content: 'echo: hooked' });
  expect(hookReply.idempotencyKey).not.toBe(hookRefusal.idempotencyKey);
}, 60_000);

test('interrupt: a send while a turn runs cancels that turn, whose caller gets status cancelled, and is answered', async () => {
  fx.model.script({ hang: true }, { content: 'the second answer' });
  const id = newId();
  const [first, second] = [newId('first'), newId('second')];

  const firstReply = fx.client.send('interrupting', id, { id: first, content: 'first' });
  const held = await fx.model.nextRequest();
  const secondReply = fx.client.send('interrupting', id, { id: second, content: 'second' });

  expect(await firstReply).toMatchObject({
    messageId: first,
    turn: 1,
    status: 'cancelled',
    content: `The turn was cancelled: interrupted by message ${second}`,
  });
  expect(await held.ended).toBe('aborted');
  expect(await secondReply).toMatchObject({
    messageId: second,
    turn: 2,
    status: 'completed',
    content: 'the second answer',
  });
  const transcript = await fx.client.transcript('interrupting', id);
  expect(transcript.entries.map((e) => e.role)).toEqual(['user', 'notice', 'user', 'assistant']);
  expect((await fx.client.state('interrupting', id)).status).toBe('idle');
}, 60_000);

test('interrupt: a post while a turn waits for approval cancels the turn, the call never runs, and the post is answered on its channel', async () => {
  fx.model.script(
    { toolCalls: [{ name: 'lookup', arguments: '{"q":"while waiting"}' }] },
    { content: 'posted answer' },
  );
  const id = newId();
  const [first, posted] = [newId('first'), newId('posted')];

  const firstReply = fx.client.send('interrupting', id, { id: first, content: 'look it up' });
  const pending = await eventually(async () => {
    const state = await fx.client.state('interrupting', id).catch(() => undefined);
    return state?.status === 'awaiting_approval' ? state.pendingApprovals[0] : undefined;
  });
  expect(pending).toMatchObject({ tool: 'lookup' });

  await fx.client.post('interrupting', id, { id: posted, content: 'never mind', channel: { type: 'log' } });
  expect(await firstReply).toMatchObject({
    messageId: first,
    status: 'cancelled',
    content: `The turn was cancelled: interrupted by message ${posted}`,
  });
  const answered = await eventually(async () => fx.logged.find((line) => line.messageId === posted));
  expect(answered).toMatchObject({ status: 'completed', content: 'posted answer' });

  // The approval asked for is gone with its turn: deciding it now is refused, and the tool never ran.
  const state = await fx.client.state('interrupting', id);
  expect(state).toMatchObject({ status: 'idle', pendingApprovals: [] });
  const late = await fx.client
    .decide('interrupting', id, { toolCallId: pending.toolCallId, decision: 'approve' })
    .catch((e: unknown) => e);
  expect(late).toBeInstanceOf(ValidationError);
  expect((late as Error).message).toMatch(`no tool call ${pending.toolCallId} is waiting for approval`);
  expect(lookups).not.toContain('while waiting');
  const transcript = await fx.client.transcript('interrupting', id);
  expect(transcript.entries.flatMap((e) => (e.role === 'user' ? [e.messageId] : []))).toEqual([first, posted]);
}, 60_000);
