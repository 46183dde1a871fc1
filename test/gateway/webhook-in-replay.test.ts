/**
 * Issue 16 ("found under fire"), part 2: a signed inbound webhook could be replayed into another agent's
 * conversation, or to an unknown agent (which started a workflow), because its signature did not cover the agent
 * in the URL. Now the signed body names its agent and the route must match it, only the configured agents take
 * deliveries (404 before Temporal for any other), and a delivery id runs one turn per (agent, conversation),
 * however often and through however many gateways it arrives. Over real HTTP, the real worker and a scripted model.
 */
import { defineAgent } from '../../src/agents/define-agent';
import { signWebhookBody } from '../../src/channels';
import { ConfigError } from '../../src/errors';
import { createGateway } from '../../src/gateway';
import { checkDeliveryAgent } from '../../src/gateway/routes/webhooks';
import { conversationStarted, newId, useConversations } from '../helpers/conversation';
import { useGateway } from './gateway-fixture';

const SECRET = 'inbound-secret-0123456789';
const tester = defineAgent({ name: 'tester', instructions: 'Be brief.', model: 'test-model' });
const other = defineAgent({ name: 'other', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([tester, other]);
const WEBHOOK_IN = { secrets: [SECRET], agents: ['tester', 'other'] };
const gateway = useGateway(fx, { webhookIn: WEBHOOK_IN });

interface Answer {
  status: number;
  body: { messageId?: string; conversationId?: string; error?: { code: string; message: string } };
  messageIdHeader: string | null;
}

/** POSTs `body` as is to `agent`'s webhook route, signed with `signature`, with no bearer token. */
async function deliver(agent: string, body: string, signature: string, url = gateway.url): Promise<Answer> {
  const response = await fetch(`${url}/v1/agents/${encodeURIComponent(agent)}/webhook`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'vigil-signature': signature },
    body,
  });
  return {
    status: response.status,
    body: (await response.json()) as Answer['body'],
    messageIdHeader: response.headers.get('x-vigil-message-id'),
  };
}

/** A delivery as a sender serializes and signs it: `agent` in the signed body. */
function signedDelivery(fields: {
  agent?: string;
  id?: string;
  conversationId?: string;
  content?: string;
  replyTo?: string;
}) {
  const body = JSON.stringify({
    id: newId('delivery'),
    agent: 'tester',
    conversationId: newId(),
    content: 'build 42 failed',
    replyTo: fx.hook.url,
    ...fields,
  });
  return { body, signature: signWebhookBody(SECRET, body) };
}

const workflowExists = (agent: string, conversationId: string) => conversationStarted(fx, agent, conversationId);

const keyOf = (conversationId: string, messageId: string) => `tester:${conversationId}:${messageId}`;

/**
 * The ids of the conversation's user turns, once a later delivery's reply is out: turns run in arrival order,
 * so every replay sent before it has been handled (ignored, or run) by then.
 */
async function userTurnsAfterLater(conversationId: string, url = gateway.url): Promise<string[]> {
  const later = signedDelivery({ conversationId, content: 'and then' });
  const laterId = JSON.parse(later.body).id as string;
  expect((await deliver('tester', later.body, later.signature, url)).status).toBe(202);
  await fx.hook.delivery(laterId);
  const transcript = await fx.client.transcript('tester', conversationId);
  const users = transcript.entries.flatMap((e) => (e.role === 'user' ? [e.messageId] : []));
  expect(users.at(-1)).toBe(laterId);
  expect(transcript.entries.filter((e) => e.role === 'assistant')).toHaveLength(users.length);
  return users.slice(0, -1);
}

test("a captured delivery replayed to another agent's route is 401 and reaches none of that agent's conversations", async () => {
  const conversationId = newId();
  const { body, signature } = signedDelivery({ conversationId, content: 'deploy finished' });
  const id = JSON.parse(body).id as string;
  expect(await deliver('tester', body, signature)).toMatchObject({
    status: 202,
    body: { messageId: id, conversationId },
  });
  await fx.hook.delivery(id);

  // Byte for byte, within the tolerance, to a real agent the worker serves, and to a name that would put the
  // turn in tester's conversation `x:<id>` (workflow id conversation:tester:x:<id>).
  for (const route of ['other', 'tester:x']) {
    const replay = await deliver(route, body, signature);
    expect(replay.status).toBe(401);
    expect(replay.body.error).toEqual({
      code: 'unauthorized',
      message: `the delivery is signed for agent "tester", not for the agent in the URL (${JSON.stringify(route)}); post it to its own agent's webhook route`,
    });
  }
  expect(await workflowExists('other', conversationId)).toBe(false);
  expect(await workflowExists('tester', `x:${conversationId}`)).toBe(false);
  expect(await userTurnsAfterLater(conversationId)).toEqual([id]);
  expect(fx.hook.requests.filter((r) => r.idempotencyKey === keyOf(conversationId, id))).toHaveLength(1);
});

test('a delivery in the old format (no agent in the signed body) is 401 saying what to sign, and starts nothing', async () => {
  const conversationId = newId();
  const body = JSON.stringify({ id: newId('delivery'), conversationId, content: 'old sender' });
  for (const route of ['tester', 'other', 'nope']) {
    const answer = await deliver(route, body, signWebhookBody(SECRET, body));
    expect(answer.status).toBe(401);
    expect(answer.body.error).toEqual({
      code: 'unauthorized',
      message:
        `the signed body names no agent; a signature must cover the agent it is for: add "agent": ${JSON.stringify(route)} ` +
        'to the JSON body (beside id and conversationId), then sign the body as before',
    });
    expect(await workflowExists(route, conversationId)).toBe(false);
  }
});

describe('an unknown agent never starts a workflow', () => {
  test("a captured delivery replayed to an unknown agent's route is 401", async () => {
    const conversationId = newId();
    const { body, signature } = signedDelivery({ conversationId });
    const id = JSON.parse(body).id as string;
    expect((await deliver('tester', body, signature)).status).toBe(202);
    await fx.hook.delivery(id);

    expect(await deliver('nope', body, signature)).toMatchObject({
      status: 401,
      body: { error: { code: 'unauthorized' } },
    });
    expect(await workflowExists('nope', conversationId)).toBe(false);
  });

  test('a delivery signed for an agent the gateway does not serve is 404, before anything reaches Temporal', async () => {
    const conversationId = newId();
    const { body, signature } = signedDelivery({ agent: 'nope', conversationId });
    const answer = await deliver('nope', body, signature);
    expect(answer.status).toBe(404);
    expect(answer.body.error).toEqual({
      code: 'not_found',
      message: 'agent "nope" does not take inbound webhooks on this gateway (it takes them for tester, other)',
    });
    expect(await workflowExists('nope', conversationId)).toBe(false);
  });

  test('an unsigned or wrongly signed delivery to an unknown agent is 401: no agent names are told before the signature holds', async () => {
    const { body } = signedDelivery({ agent: 'nope' });
    const answer = await deliver('nope', body, signWebhookBody('not-the-secret-0123456789', body));
    expect(answer.status).toBe(401);
    expect(answer.body.error?.message).not.toContain('tester');
  });

  test("without a list of agents, a gateway takes webhooks for the shipped worker's agent (assistant) alone", async () => {
    const fresh = createGateway({ agents: fx.client, webhookIn: { secrets: [SECRET] } });
    const url = await fresh.listen({ host: '127.0.0.1', port: 0 });
    try {
      const conversationId = newId();
      const { body, signature } = signedDelivery({ conversationId });
      expect((await deliver('tester', body, signature, url)).body.error).toEqual({
        code: 'not_found',
        message: 'agent "tester" does not take inbound webhooks on this gateway (it takes them for assistant)',
      });
      expect(await workflowExists('tester', conversationId)).toBe(false);
    } finally {
      await fresh.close();
    }
  });

  test('a configured entry that is not an agent name stops the gateway from starting', async () => {
    const bad = createGateway({ agents: fx.client, webhookIn: { secrets: [SECRET], agents: ['tester', 'a:b'] } });
    await expect(bad.ready()).rejects.toBeInstanceOf(ConfigError);
    await bad.close().catch(() => undefined);
  });
});

test('the same delivery, twice at once and again later, runs one turn and sends one reply, each answered the same', async () => {
  const conversationId = newId();
  const { body, signature } = signedDelivery({ conversationId, content: 'nightly report' });
  const id = JSON.parse(body).id as string;
  const expected = { status: 202, body: { messageId: id, conversationId }, messageIdHeader: id };

  // Both at once, to a conversation that does not exist yet: two signal-with-starts of the one id.
  const [first, second] = await Promise.all([deliver('tester', body, signature), deliver('tester', body, signature)]);
  expect([first, second]).toEqual([expected, expected]);
  await fx.hook.delivery(id);
  // The captured request again, then the same delivery signed anew (a sender's retry).
  expect(await deliver('tester', body, signature)).toEqual(expected);
  expect(await deliver('tester', body, signWebhookBody(SECRET, body, Date.now() + 1000))).toEqual(expected);

  expect(await userTurnsAfterLater(conversationId)).toEqual([id]);
  expect(fx.hook.requests.filter((r) => r.idempotencyKey === keyOf(conversationId, id))).toHaveLength(1);
});

test('across a gateway (and worker) restart, the same delivery runs no second turn and still reaches no other agent', async () => {
  const conversationId = newId();
  const { body, signature } = signedDelivery({ conversationId, content: 'before the restart' });
  const id = JSON.parse(body).id as string;

  const before = createGateway({ agents: fx.client, webhookIn: WEBHOOK_IN });
  const beforeUrl = await before.listen({ host: '127.0.0.1', port: 0 });
  try {
    expect((await deliver('tester', body, signature, beforeUrl)).status).toBe(202);
    await fx.hook.delivery(id);
  } finally {
    await before.close();
  }

  // A new gateway remembers nothing and a new worker has no cache: only the conversation's history knows the id.
  await fx.restartWorker();
  const after = createGateway({ agents: fx.client, webhookIn: WEBHOOK_IN });
  const afterUrl = await after.listen({ host: '127.0.0.1', port: 0 });
  try {
    expect(await deliver('tester', body, signature, afterUrl)).toEqual({
      status: 202,
      body: { messageId: id, conversationId },
      messageIdHeader: id,
    });
    expect((await deliver('other', body, signature, afterUrl)).status).toBe(401);
    expect((await deliver('nope', body, signature, afterUrl)).status).toBe(401);
    expect(await userTurnsAfterLater(conversationId, afterUrl)).toEqual([id]);
  } finally {
    await after.close();
  }
  expect(await workflowExists('other', conversationId)).toBe(false);
  expect(await workflowExists('nope', conversationId)).toBe(false);
  // One reply for the delivery. The worker restart may send it again (its activity's completion can be lost with
  // the old worker): the same idempotency key, which the receiver applies once.
  const applied = [...fx.hook.applied.values()].filter((d) => d.body.conversationId === conversationId);
  expect(applied.map((d) => [d.idempotencyKey, d.body.reply.turn])).toEqual([
    [keyOf(conversationId, id), 1],
    [expect.stringMatching(/^tester:/), 2],
  ]);
});

describe('checkDeliveryAgent', () => {
  test('passes the agent the body names when it is the route', () => {
    expect(() => checkDeliveryAgent({ agent: 'tester', id: 'd' }, 'tester')).not.toThrow();
  });

  test('refuses another agent, and a body naming none, with 401', () => {
    expect(() => checkDeliveryAgent({ agent: 'tester' }, 'other')).toThrow(expect.objectContaining({ status: 401 }));
    expect(() => checkDeliveryAgent({ id: 'd' }, 'tester')).toThrow(/names no agent/);
    // The route's agent is compared exactly: no prefix, case or ':' tricks.
    expect(() => checkDeliveryAgent({ agent: 'tester' }, 'tester:x')).toThrow(/signed for agent "tester"/);
    expect(() => checkDeliveryAgent({ agent: 'tester' }, 'Tester')).toThrow(/signed for agent "tester"/);
  });

  test("leaves a body that is not an object, or an agent that is not text, to the body's schema (400)", () => {
    for (const body of [null, [], 'x', 5, { agent: 5 }]) expect(() => checkDeliveryAgent(body, 'tester')).not.toThrow();
  });
});
