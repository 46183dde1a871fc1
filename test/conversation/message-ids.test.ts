/**
 * A message id is answered once for the life of a conversation, not only while it is among the last 10,000: an id
 * that has left the dedupe window is refused (`send` by its validator, `post` with an error reply on its channel),
 * in the run where it left and after continue-as-new, and never starts a second turn. The real worker, the offline
 * Temporal and a scripted model. The conversation starts from the state a conversation 10,000 messages old carried
 * under schema 3 (10,000 real turns would take minutes), which is also the upgrade path from that schema.
 */
import { Worker } from '@temporalio/worker';
import { defineAgent } from '../../src/agents/define-agent';
import { ValidationError } from '../../src/errors';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { vigilDataConverter } from '../../src/store/data-converter';
import { DEDUPE_WINDOW, initialState } from '../../src/conversation/state';
import { newId, useConversations } from '../helpers/conversation';

/** Switches runs every few turns. */
const agent = defineAgent({
  name: 'ids',
  instructions: 'Be brief.',
  model: 'test-model',
  limits: { continueAsNewAfterEvents: 100, continueAsNewWhenSuggested: false },
});
const fx = useConversations([agent]);

const idOf = (i: number) => `m-${String(i).padStart(5, '0')}`;

/** As schema 3 carried a conversation of 10,000 answered messages: a full window, and nothing older. */
function carriedBySchema3(conversationId: string) {
  const { olderIds: _none, ...fresh } = initialState('ids', conversationId);
  const seenOrder = Array.from({ length: DEDUPE_WINDOW }, (_, i) => idOf(i + 1));
  const seen = Object.fromEntries(seenOrder.map((id, i) => [id, { turn: i + 1, reply: null }]));
  return { ...fresh, schemaVersion: 3, seen, seenOrder, turns: DEDUPE_WINDOW };
}

test('an id used more than 10,000 messages ago is refused by send and post, also after continue-as-new: never a second turn', async () => {
  const id = newId('ids');
  const workflowId = conversationWorkflowId('ids', id);
  fx.model.respondWith(() => ({ content: 'answered' }));
  await fx.env.client.workflow.start('conversation', {
    workflowId,
    taskQueue: fx.taskQueue,
    args: [{ agent: 'ids', conversationId: id, state: carriedBySchema3(id) }],
  });
  const modelCalls = () => fx.model.requests.length;
  const calls = modelCalls();
  // Each id is sent again at most once: a server may answer a retry of a refused update with the same refusal
  // (the in-process one did until recently), and the conversation must be the one that answers here.
  const resend = (n: number) => fx.client.send('ids', id, { id: idOf(n), content: 'the same id again' });

  // In the window, its reply long forgotten: refused, as before.
  await expect(resend(5_000)).rejects.toThrow(
    `message ${idOf(5_000)} was answered too long ago for its reply to be kept`,
  );
  // A new message pushes the oldest id out of the window: from then on it is refused as used before.
  expect(await fx.client.send('ids', id, { id: 'new-1', content: 'hello' })).toMatchObject({ turn: DEDUPE_WINDOW + 1 });
  const refused = await resend(1).catch((error: unknown) => error);
  expect(refused).toBeInstanceOf(ValidationError);
  expect((refused as Error).message).toMatch(
    /^message id m-00001 was used in this conversation before, and its reply is no longer kept.* new id/,
  );

  // A post cannot be refused: it is dropped, and its channel hears why.
  await fx.client.post('ids', id, {
    id: idOf(1),
    content: 'the same id again',
    channel: { type: 'webhook', url: fx.hook.url },
  });
  const heard = await fx.hook.delivery(idOf(1));
  expect(heard.body.reply).toMatchObject({
    messageId: idOf(1),
    status: 'error',
    content: expect.stringMatching(/was used in this conversation before/),
  });

  // New messages until the run continues as new; each pushes one more old id out.
  const handle = fx.env.client.workflow.getHandle(workflowId);
  const firstRunId = (await handle.describe()).runId;
  let sent = 1;
  while ((await handle.describe()).runId === firstRunId) {
    expect(sent).toBeLessThan(30);
    await fx.client.send('ids', id, { id: `new-${++sent}`, content: 'hello' });
  }
  // The older ids came along: the last to leave is refused by the next run, the first ones too.
  expect(sent).toBeGreaterThanOrEqual(3);
  await expect(resend(sent)).rejects.toThrow(`message id ${idOf(sent)} was used in this conversation before`);
  await expect(resend(3)).rejects.toThrow(`message id ${idOf(3)} was used in this conversation before`);
  await fx.client.post('ids', id, {
    id: idOf(2),
    content: 'the same id again',
    channel: { type: 'webhook', url: fx.hook.url },
  });
  expect((await fx.hook.delivery(idOf(2))).body.reply).toMatchObject({
    status: 'error',
    content: expect.stringMatching(/used in this conversation before/),
  });
  // ...while the window still answers its own: the next id is a known one, not a used-before one.
  await expect(resend(sent + 1)).rejects.toThrow('answered too long ago');

  // One turn for each new message, none for the refused ones.
  expect(await fx.client.send('ids', id, { id: 'new-last', content: 'hello' })).toMatchObject({
    turn: DEDUPE_WINDOW + sent + 1,
  });
  expect(modelCalls() - calls).toBe(sent + 1);
  expect((await fx.client.state('ids', id)).turns).toBe(DEDUPE_WINDOW + sent + 1);

  // The run that refused a post (a patch marker and a delivery) replays against the code that recorded it.
  const history = await fx.env.client.workflow.getHandle(workflowId, firstRunId).fetchHistory();
  await Worker.runReplayHistory(
    { workflowBundle: { codePath: process.env.VIGIL_WORKFLOW_BUNDLE! }, dataConverter: vigilDataConverter(fx.store) },
    history,
  );
});
