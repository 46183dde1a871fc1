/**
 * `GET .../events` over real HTTP with a real SSE client (the `eventsource` package, which reconnects with
 * Last-Event-ID as browsers do), the real gateway and worker, the offline Temporal and a scripted model.
 */
import { EventSource } from 'eventsource';
import { z } from 'zod';
import { defineAgent } from '../../src/agents/define-agent';
import { ConversationEvent } from '../../src/conversation/protocol';
import { calculator, defineTool } from '../../src/tools';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { conversationPath, request, useGateway } from './gateway-fixture';

const TOKEN = 'events-test-token';

/** A tool that finishes when the test says so, to hold a turn open while the connection is cut. */
const gate = { release: [] as (() => void)[] };
const held = defineTool({
  name: 'held',
  description: 'waits for the test',
  parameters: z.object({}),
  execute: () => new Promise<string>((resolve) => gate.release.push(() => resolve('released'))),
});
const agent = defineAgent({
  name: 'streamer',
  instructions: 'Be brief.',
  model: 'test-model',
  tools: [calculator, held],
});
const fx = useConversations([agent]);
const gateway = useGateway(fx, { token: TOKEN });

beforeEach(() => {
  fx.model.reset();
  gate.release = [];
});

interface Received {
  id: string;
  type: string;
  event: ConversationEvent;
}

/** Every event type, so one listener per type hears them all (SSE delivers named events only to listeners). */
const EVENT_TYPES = ConversationEvent.options.map((o) => o.shape.type.value);

/** An EventSource on a conversation's events, with the token, recording what it gets. */
function watch(conversationId: string, init: { lastEventId?: string; query?: string } = {}) {
  const received: Received[] = [];
  let connections = 0;
  const source = new EventSource(
    `${gateway.url}${conversationPath('streamer', conversationId)}/events${init.query ?? ''}`,
    {
      fetch: (input, options) => {
        connections++;
        const headers: Record<string, string> = {
          ...(options?.headers as Record<string, string>),
          authorization: `Bearer ${TOKEN}`,
        };
        if (init.lastEventId !== undefined && connections === 1) headers['last-event-id'] = init.lastEventId;
        return fetch(input, { ...options, headers });
      },
    },
  );
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message) => {
      received.push({
        id: message.lastEventId,
        type: message.type,
        event: ConversationEvent.parse(JSON.parse(message.data as string)),
      });
    });
  }
  return {
    received,
    connections: () => connections,
    until: (check: (events: Received[]) => boolean) => eventually(async () => (check(received) ? received : undefined)),
    close: () => source.close(),
  };
}

const hasReply = (events: Received[], turn = 1) =>
  events.some((e) => e.event.type === 'reply' && e.event.reply.turn === turn);
const post = (conversationId: string, content: string, id = newId('m')) =>
  request(gateway.url, 'POST', `${conversationPath('streamer', conversationId)}/messages?wait=false`, {
    token: TOKEN,
    body: { id, content },
  });

it('streams a turn as it happens: start, tool call and result, model text, reply', async () => {
  const id = newId();
  fx.model.script(
    { toolCalls: [{ id: 'call_1', name: 'calculator', arguments: '{"expression":"6*7"}' }] },
    { content: 'Six times seven is 42, the answer.', chunkDelayMs: 60 },
  );
  expect((await post(id, 'what is 6*7', 'm1')).status).toBe(202);
  const watcher = watch(id);
  const events = await watcher.until((e) => hasReply(e));
  watcher.close();

  expect(events.map((e) => e.type).filter((t) => t !== 'model.delta')).toEqual([
    'turn.started',
    'tool.requested',
    'tool.finished',
    'reply',
  ]);
  expect(events.map((e) => e.id)).toEqual(events.map((_, i) => String(i)));
  const text = events
    .flatMap((e) => (e.event.type === 'model.delta' && e.event.step === 2 ? [e.event.text] : []))
    .join('');
  expect(text).toBe('Six times seven is 42, the answer.');
  expect(events.at(-1)!.event).toMatchObject({
    type: 'reply',
    reply: { messageId: 'm1', content: text, status: 'completed' },
  });
});

it('after a dropped connection, the client reconnects with Last-Event-ID and misses nothing, twice nothing', async () => {
  const id = newId();
  fx.model.script({ toolCalls: [{ id: 'call_h', name: 'held', arguments: '{}' }] }, { content: 'Released, and done.' });
  await post(id, 'hold on');
  const watcher = watch(id);
  await watcher.until((events) => events.some((e) => e.type === 'tool.requested'));

  // The gateway drops every connection (a deploy, a proxy timeout); the turn goes on meanwhile.
  gateway.app.server.closeAllConnections();
  gate.release.forEach((release) => release());
  const events = await watcher.until((e) => hasReply(e));
  watcher.close();

  expect(watcher.connections()).toBe(2);
  const reference = watch(id, { query: '?fromOffset=0' });
  await reference.until((e) => hasReply(e));
  reference.close();
  expect(events.map((e) => e.id)).toEqual(reference.received.map((e) => e.id));
  expect(events).toEqual(reference.received);
});

it('starts after the Last-Event-ID or at ?fromOffset a client gives', async () => {
  const id = newId();
  fx.model.script({ content: 'one' }, { content: 'two' });
  await fx.client.send('streamer', id, { id: 'm1', content: 'first' });
  await fx.client.send('streamer', id, { id: 'm2', content: 'second' });
  const all = watch(id);
  const everything = await all.until((e) => hasReply(e, 2));
  all.close();
  const firstReply = everything.findIndex((e) => e.type === 'reply');

  const resumed = watch(id, { lastEventId: everything[firstReply].id });
  await resumed.until((e) => hasReply(e, 2));
  resumed.close();
  expect(resumed.received).toEqual(everything.slice(firstReply + 1));

  const fromOffset = watch(id, { query: `?fromOffset=${firstReply + 1}` });
  await fromOffset.until((e) => hasReply(e, 2));
  fromOffset.close();
  expect(fromOffset.received).toEqual(everything.slice(firstReply + 1));
});

it('ends with conversation.ended, and then answers 204 so clients stop reconnecting', async () => {
  const id = newId();
  fx.model.script({ content: 'bye' });
  await fx.client.send('streamer', id, { id: 'm1', content: 'hi' });
  const watcher = watch(id);
  await watcher.until((e) => hasReply(e));
  await request(gateway.url, 'DELETE', conversationPath('streamer', id), { token: TOKEN });
  const events = await watcher.until((e) => e.some((x) => x.type === 'conversation.ended'));
  expect(events.at(-1)!.event).toEqual({ type: 'conversation.ended', turns: 1 });

  await eventually(async () =>
    (await fx.client.handle('streamer', id).describe()).status.name === 'COMPLETED' ? true : undefined,
  );
  const after = await request(gateway.url, 'GET', `${conversationPath('streamer', id)}/events`, { token: TOKEN });
  expect(after.status).toBe(204);
  watcher.close();
});

describe('refusals', () => {
  it('404 for a conversation that does not exist, as JSON, before any stream', async () => {
    const answer = await request(gateway.url, 'GET', `${conversationPath('streamer', newId())}/events`, {
      token: TOKEN,
    });
    expect(answer.status).toBe(404);
    expect(answer.body).toMatchObject({ error: { code: 'not_found', message: expect.stringContaining('streamer') } });
  });

  it('401 without the token', async () => {
    const id = newId();
    await fx.client.open('streamer', id);
    const answer = await request(gateway.url, 'GET', `${conversationPath('streamer', id)}/events`);
    expect(answer.status).toBe(401);
  });

  it('400 for a Last-Event-ID or fromOffset that is not an offset', async () => {
    const id = newId();
    await fx.client.open('streamer', id);
    const badHeader = await request(gateway.url, 'GET', `${conversationPath('streamer', id)}/events`, {
      token: TOKEN,
      headers: { 'last-event-id': 'abc' },
    });
    expect(badHeader.status).toBe(400);
    expect(JSON.stringify(badHeader.body)).toContain('headers.last-event-id');
    const badQuery = await request(gateway.url, 'GET', `${conversationPath('streamer', id)}/events?fromOffset=-1`, {
      token: TOKEN,
    });
    expect(badQuery.status).toBe(400);
  });

  it('406 for a client that only takes JSON', async () => {
    const id = newId();
    await fx.client.open('streamer', id);
    const answer = await request(gateway.url, 'GET', `${conversationPath('streamer', id)}/events`, {
      token: TOKEN,
      headers: { accept: 'application/json' },
    });
    expect(answer.status).toBe(406);
  });
});
