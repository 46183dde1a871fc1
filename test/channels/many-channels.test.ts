/**
 * Many inputs and outputs at once, against many conversations and within one: HTTP with the reply in the
 * response, OpenAI's chat completions, a signed inbound webhook answered on a webhook, the typed client posting
 * to the log channel, a schedule answering on its webhook, and an SSE watcher. Every reply goes to where its
 * message came from, and only there; watchers see every turn.
 */
import type { FastifyInstance } from 'fastify';
import OpenAI from 'openai';
import { createGateway } from '../../src/gateway';
import { defineAgent } from '../../src/agents/define-agent';
import { signWebhookBody } from '../../src/channels';
import { ScheduleClient } from '../../src/schedules';
import type { ConversationEvent } from '../../src/conversation/protocol';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { conversationPath, request } from '../gateway/gateway-fixture';

const AGENT = 'switchboard';
const INBOUND_SECRET = 'many-channels-inbound-secret';
const fx = useConversations([defineAgent({ name: AGENT, instructions: 'Echo.', model: 'test-model' })]);
const gateway = { url: '' } as { url: string; app: FastifyInstance };

beforeAll(async () => {
  gateway.app = createGateway({
    agents: fx.client,
    webhookIn: { secrets: [INBOUND_SECRET], agents: [AGENT] },
    schedules: new ScheduleClient({ client: fx.env.client, taskQueue: fx.taskQueue }),
  });
  gateway.url = await gateway.app.listen({ host: '127.0.0.1', port: 0 });
  // Each reply names the message it answers, so a reply that reached the wrong place is recognisable.
  fx.model.respondWith((req) => {
    const last = req.body.messages.at(-1)?.content;
    return { content: `re: ${typeof last === 'string' ? last : JSON.stringify(last)}`, chunkDelayMs: 5 };
  });
});
afterAll(async () => {
  await gateway.app?.close();
});

const webhookDeliveries = () =>
  [...fx.hook.applied.values()].map((d) => d.body as { conversationId: string; reply: { content: string } });
const logged = () => fx.logged as { conversationId?: string; content?: string }[];

it('runs every channel at once, and answers each message where it came from', async () => {
  const shared = newId('shared'); // one conversation fed by three channels
  const solo = {
    http: newId('http'),
    openai: newId('openai'),
    webhook: newId('hook'),
    log: newId('log'),
    schedule: newId('sched'),
  };

  // A watcher of the shared conversation, attached before anything is sent.
  await fx.client.open(AGENT, shared);
  const watched: ConversationEvent[] = [];
  const watching = new AbortController();
  const watcher = (async () => {
    for await (const { event } of fx.client.events(AGENT, shared, { signal: watching.signal })) watched.push(event);
  })();

  const openai = new OpenAI({ baseURL: `${gateway.url}/v1`, apiKey: 'unused', maxRetries: 0 });
  const signed = (conversationId: string, content: string, replyTo: string) => {
    const body = JSON.stringify({ id: newId('delivery'), agent: AGENT, conversationId, content, replyTo });
    return fetch(`${gateway.url}/v1/agents/${AGENT}/webhook`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'vigil-signature': signWebhookBody(INBOUND_SECRET, body) },
      body,
    });
  };
  const http = (conversationId: string, content: string) =>
    request<{ reply: { content: string } }>(
      gateway.url,
      'POST',
      `${conversationPath(AGENT, conversationId)}/messages`,
      { body: { content } },
    );
  const chat = (conversationId: string, content: string) =>
    openai.chat.completions.create(
      { model: AGENT, messages: [{ role: 'user', content }] },
      { headers: { 'X-Vigil-Conversation-Id': conversationId } },
    );

  // Everything in flight together.
  const [httpSolo, httpShared, chatSolo, chatShared, hookSolo, hookShared, , schedule] = await Promise.all([
    http(solo.http, 'http solo'),
    http(shared, 'http shared'),
    chat(solo.openai, 'openai solo'),
    chat(shared, 'openai shared'),
    signed(solo.webhook, 'webhook solo', `${fx.hook.url}`),
    signed(shared, 'webhook shared', `${fx.hook.url}`),
    fx.client.post(AGENT, solo.log, { id: newId('m'), content: 'log solo', channel: { type: 'log' } }),
    request<{ id: string }>(gateway.url, 'POST', `${conversationPath(AGENT, solo.schedule)}/schedules`, {
      body: { content: 'schedule solo', every: '1s', channel: { type: 'webhook', url: fx.hook.url }, name: 'once' },
    }),
  ]);

  // Replies that come back on the request that asked.
  expect(httpSolo.body.reply.content).toBe('re: http solo');
  expect(httpShared.body.reply.content).toBe('re: http shared');
  expect(chatSolo.choices[0].message.content).toBe('re: openai solo');
  expect(chatShared.choices[0].message.content).toBe('re: openai shared');
  expect([hookSolo.status, hookShared.status]).toEqual([202, 202]);
  expect(schedule.status).toBe(201);

  // Replies that go out on a channel: each to its own, once.
  await eventually(async () =>
    webhookDeliveries().some((d) => d.conversationId === solo.webhook) &&
    webhookDeliveries().some((d) => d.conversationId === shared) &&
    webhookDeliveries().some((d) => d.conversationId === solo.schedule) &&
    logged().some((l) => l.conversationId === solo.log)
      ? true
      : undefined,
  );
  await request(gateway.url, 'DELETE', `/v1/schedules/${encodeURIComponent(schedule.body.id)}`);

  const hooked = webhookDeliveries();
  expect(hooked.filter((d) => d.conversationId === solo.webhook).map((d) => d.reply.content)).toEqual([
    're: webhook solo',
  ]);
  // The shared conversation answered three messages; only the webhook's went to the webhook.
  expect(hooked.filter((d) => d.conversationId === shared).map((d) => d.reply.content)).toEqual(['re: webhook shared']);
  expect(
    hooked.filter((d) => d.conversationId === solo.schedule).every((d) => d.reply.content === 're: schedule solo'),
  ).toBe(true);
  for (const quiet of [solo.http, solo.openai, solo.log])
    expect(hooked.some((d) => d.conversationId === quiet)).toBe(false);

  const logs = logged().filter((l) => l.conversationId !== undefined);
  expect(logs.filter((l) => l.conversationId === solo.log).map((l) => l.content)).toEqual(['re: log solo']);
  for (const quiet of [shared, solo.http, solo.openai, solo.webhook, solo.schedule]) {
    expect(logs.some((l) => l.conversationId === quiet)).toBe(false);
  }

  // The watcher saw all three turns of the shared conversation, whatever channel each came from.
  await eventually(async () => (watched.filter((e) => e.type === 'reply').length === 3 ? true : undefined));
  watching.abort();
  await watcher;
  const replies = watched.flatMap((e) => (e.type === 'reply' ? [e.reply.content] : []));
  expect(replies.sort()).toEqual(['re: http shared', 're: openai shared', 're: webhook shared']);
});
