/**
 * Issue 16, delivery side, end to end: a reply whose webhook URL carries credentials used to be retried as a
 * network error 10 times over 243 s, holding the conversation's next message, and its notice wrote the whole
 * URL into the transcript, history and log. Now it fails at its first attempt, the notice names the origin
 * only, and the next message is answered at once.
 */
import { defineAgent } from '../../src/agents/define-agent';
import { ValidationError } from '../../src/errors';
import { conversationWorkflowId, type InboundMessage, messageSignal } from '../../src/conversation/protocol';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';

const agent = defineAgent({ name: 'tester', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([agent]);

test('a webhook URL with credentials fails at once, names the origin only, and holds nothing up', async () => {
  const id = newId();
  const { host } = new URL(fx.hook.url);
  const url = `http://alice:hunter2-s3cret@${host}/hooks/T0001/tok-s3cret?token=s3cret`;
  const first: InboundMessage = { id: newId('m'), content: 'reply to my hook', channel: { type: 'webhook', url } };
  const second: InboundMessage = { id: newId('m'), content: 'and then this', channel: { type: 'log' } };
  // Every boundary refuses such a URL, so its credentials never reach history.
  await expect(fx.client.post('tester', id, first)).rejects.toBeInstanceOf(ValidationError);
  await expect(fx.client.post('tester', id, first)).rejects.toThrow(/without credentials/);

  // A raw signal (or one recorded before that check) still gets through: its delivery must not hold anything up.
  fx.model.script({ content: 'hello' }, { content: 'first answer' }, { content: 'second answer' });
  await fx.client.send('tester', id, { id: newId('m'), content: 'hello' });
  const handle = fx.env.client.workflow.getHandle(conversationWorkflowId('tester', id));
  const started = Date.now();
  await handle.signal(messageSignal, first);
  await fx.client.post('tester', id, second);

  await eventually(async () => (fx.logged.some((line) => line.messageId === second.id) ? true : undefined), 30_000);
  expect(Date.now() - started).toBeLessThan(20_000);

  const { entries } = await fx.client.transcript('tester', id);
  const notices = entries.filter((e) => e.role === 'notice').map((e) => e.content);
  expect(notices).toEqual([
    expect.stringMatching(
      new RegExp(
        `^The reply could not be delivered to its webhook channel: webhook http://${host.replace(/\./g, '\\.')}: the URL carries credentials`,
      ),
    ),
  ]);
  expect(JSON.stringify(entries)).not.toMatch(/alice|hunter2|s3cret|T0001/);
  expect(fx.hook.requests).not.toContainEqual(
    expect.objectContaining({ idempotencyKey: expect.stringContaining(first.id) }),
  );

  // The delivery ran once, and its failure in history quotes no part of the URL past the origin. (The message's
  // own input event still holds the URL: only the boundaries' check of `channel` can keep that out.)
  const history = await handle.fetchHistory();
  const deliveries = history.events!.filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverReply',
  );
  expect(deliveries).toHaveLength(2); // the webhook's, then the log's
  const scheduledId = deliveries[0].eventId!.toString();
  const attempts = history.events!.filter(
    (e) => e.activityTaskStartedEventAttributes?.scheduledEventId?.toString() === scheduledId,
  );
  expect(attempts.map((e) => e.activityTaskStartedEventAttributes!.attempt)).toEqual([1]);
  const failed = history.events!.filter(
    (e) => e.activityTaskFailedEventAttributes?.scheduledEventId?.toString() === scheduledId,
  );
  expect(failed).toHaveLength(1);
  const failure = failed[0].activityTaskFailedEventAttributes!.failure!;
  expect(failure.applicationFailureInfo).toMatchObject({ type: 'DeliveryRejected', nonRetryable: true });
  expect(JSON.stringify(failure)).not.toMatch(/alice|hunter2|s3cret|T0001/);
});
