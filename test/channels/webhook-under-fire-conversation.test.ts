/**
 * Issue 16, delivery side, end to end: a reply whose webhook URL carries credentials used to be retried as a
 * network error 10 times over 243 s, holding the conversation's next message, and its notice wrote the whole
 * URL into the transcript, history and log. Every boundary refuses such a URL; a raw signal that carries one is
 * dropped by runs recorded since the vigil-post-grammar-1 patch, and the next message is answered at once. (In runs
 * recorded before it, the delivery fails at its first attempt and its notice names the origin only: the channel's
 * check, tested in webhook-under-fire.test.ts.)
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

  // A raw signal still reaches the conversation; it must not hold anything up.
  fx.model.script({ content: 'hello' }, { content: 'first answer' }, { content: 'second answer' });
  await fx.client.send('tester', id, { id: newId('m'), content: 'hello' });
  const handle = fx.env.client.workflow.getHandle(conversationWorkflowId('tester', id));
  const started = Date.now();
  await handle.signal(messageSignal, first);
  await fx.client.post('tester', id, second);

  await eventually(async () => (fx.logged.some((line) => line.messageId === second.id) ? true : undefined), 30_000);
  expect(Date.now() - started).toBeLessThan(20_000);

  // Runs recorded since the vigil-post-grammar-1 patch drop such a signal, as the boundaries refuse it: it is never
  // a turn, so nothing is delivered to the URL and no notice quotes it.
  const { entries } = await fx.client.transcript('tester', id);
  expect(entries.filter((e) => e.role === 'user').map((e) => e.messageId)).not.toContain(first.id);
  expect(entries.filter((e) => e.role === 'notice')).toEqual([]);
  expect(JSON.stringify(entries)).not.toMatch(/alice|hunter2|s3cret|T0001/);
  expect(fx.hook.requests).not.toContainEqual(
    expect.objectContaining({ idempotencyKey: expect.stringContaining(first.id) }),
  );
  // One delivery, the second message's to the log. (The signal's own event still holds the URL: only the
  // boundaries' check of `channel` can keep that out of history.)
  const history = await handle.fetchHistory();
  const deliveries = history.events!.filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'deliverReply',
  );
  expect(deliveries).toHaveLength(1);
});
