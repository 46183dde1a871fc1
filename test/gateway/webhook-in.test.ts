/**
 * Signed inbound webhooks: `POST /v1/agents/:agent/webhook`, over real HTTP, the real worker and a scripted
 * model. Requests are signed with the same `signWebhookBody` Vigil signs its own deliveries with.
 */
import { defineAgent } from '../../src/agents/define-agent';
import { signWebhookBody } from '../../src/channels';
import { describeGateway, loadGatewayConfig } from '../../src/config';
import { ConfigError } from '../../src/errors';
import { createGateway } from '../../src/gateway';
import { createLogger } from '../../src/logger';
import { conversationWorkflowId, messageSignal } from '../../src/conversation/protocol';
import { checkSignature } from '../../src/gateway/routes/webhooks';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { historyText as historyTextOf } from '../helpers/history-text';
import { conversationPath, request, useGateway, type HttpAnswer } from './gateway-fixture';

const SECRET = 'inbound-secret-0123456789';
const NEXT_SECRET = 'inbound-secret-rotated-9876';
const TOKEN = 'gw-token-0123456789abcdef';
const agent = defineAgent({ name: 'tester', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([agent]);
const logLines: string[] = [];
const gateway = useGateway(fx, {
  token: TOKEN,
  webhookIn: { secrets: [SECRET, NEXT_SECRET], agents: ['tester'] },
  logger: createLogger({ level: 'trace', destination: { write: (line: string) => void logLines.push(line) } }),
});
const disabled = useGateway(fx, { token: TOKEN });

const WEBHOOK_PATH = '/v1/agents/tester/webhook';

interface ErrorBody {
  error: { code: string; message: string; issues?: { path: string; message: string }[] };
}

/** A delivery body as a sender serializes it: the exact bytes that get signed, naming the agent they are for. */
function deliveryBody(fields: Record<string, unknown>): string {
  return JSON.stringify({
    id: newId('delivery'),
    agent: 'tester',
    conversationId: newId(),
    content: 'build 42 failed',
    ...fields,
  });
}

/** POSTs `body` as is, with `signature` (none when undefined) and no bearer token. */
async function deliver<T = Record<string, unknown>>(
  body: string,
  signature: string | undefined,
  url = gateway.url,
): Promise<HttpAnswer<T> & { text: string }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signature !== undefined) headers['vigil-signature'] = signature;
  const response = await fetch(`${url}${WEBHOOK_PATH}`, { method: 'POST', headers, body });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text) as T, text };
}

const keyOf = (conversationId: string, messageId: string) => `tester:${conversationId}:${messageId}`;

async function conversationExists(conversationId: string): Promise<boolean> {
  const answer = await request(gateway.url, 'GET', conversationPath('tester', conversationId), { token: TOKEN });
  expect([200, 404]).toContain(answer.status);
  return answer.status === 200;
}

/** Every payload of a workflow's history as text. */
async function historyText(conversationId: string): Promise<string> {
  return historyTextOf(
    await fx.env.client.workflow.getHandle(conversationWorkflowId('tester', conversationId)).fetchHistory(),
  );
}

test('a signed delivery gets a turn, and its reply arrives, signed, at replyTo and nowhere else', async () => {
  const conversationId = newId();
  const id = newId('delivery');
  const body = deliveryBody({ id, conversationId, content: 'hello from ci', author: 'ci-bot', replyTo: fx.hook.url });

  const answer = await deliver(body, signWebhookBody(SECRET, body));
  expect(answer.status).toBe(202);
  expect(answer.body).toEqual({ messageId: id, conversationId });
  expect(answer.headers.get('x-vigil-message-id')).toBe(id);

  const delivered = await fx.hook.delivery(id);
  expect(delivered.body).toMatchObject({
    agent: 'tester',
    conversationId,
    reply: { messageId: id, content: 'echo: hello from ci' },
  });
  expect(fx.hook.requests.filter((r) => r.idempotencyKey === keyOf(conversationId, id))).toEqual([
    { idempotencyKey: keyOf(conversationId, id), signatureValid: true },
  ]);
  expect(fx.logged.filter((line) => line.messageId === id)).toEqual([]);
  const transcript = await fx.client.transcript('tester', conversationId);
  expect(transcript.entries[0]).toMatchObject({
    role: 'user',
    messageId: id,
    content: 'hello from ci',
    author: 'ci-bot',
  });
  // The secret signed the request; it is nowhere in what the conversation keeps.
  const history = await historyText(conversationId);
  expect(history).toContain('hello from ci');
  expect(history).not.toContain(SECRET);
});

test('without replyTo the reply goes to the log channel', async () => {
  const conversationId = newId();
  const id = newId('delivery');
  const body = deliveryBody({ id, conversationId, content: 'no reply address' });
  expect((await deliver(body, signWebhookBody(SECRET, body))).status).toBe(202);
  const [logged] = await eventuallyLogged(id);
  expect(logged).toMatchObject({ conversationId, content: 'echo: no reply address' });
  expect(fx.hook.requests.filter((r) => r.idempotencyKey === keyOf(conversationId, id))).toEqual([]);
});

async function eventuallyLogged(messageId: string) {
  return eventually(async () => {
    const lines = fx.logged.filter((line) => line.messageId === messageId);
    return lines.length > 0 ? lines : undefined;
  });
}

test('a replayed delivery, as captured or re-signed later, runs no second turn and sends no second reply', async () => {
  const conversationId = newId();
  const id = newId('delivery');
  const body = deliveryBody({ id, conversationId, content: 'deploy finished', replyTo: fx.hook.url });
  const signature = signWebhookBody(SECRET, body);
  expect((await deliver(body, signature)).status).toBe(202);
  await fx.hook.delivery(id);

  // The captured request, byte for byte; then the same delivery signed anew, as a sender's retry would be.
  expect(await deliver(body, signature)).toMatchObject({ status: 202, body: { messageId: id } });
  expect((await deliver(body, signWebhookBody(SECRET, body, Date.now() + 1000))).status).toBe(202);

  // Turns run in arrival order: once a later delivery's reply is out, the replays have been handled.
  const later = newId('delivery');
  const laterBody = deliveryBody({ id: later, conversationId, content: 'and then', replyTo: fx.hook.url });
  expect((await deliver(laterBody, signWebhookBody(SECRET, laterBody))).status).toBe(202);
  await fx.hook.delivery(later);

  const transcript = await fx.client.transcript('tester', conversationId);
  expect(transcript.entries.filter((e) => e.role === 'user').map((e) => e.role === 'user' && e.messageId)).toEqual([
    id,
    later,
  ]);
  expect(transcript.entries.filter((e) => e.role === 'assistant')).toHaveLength(2);
  expect(fx.hook.requests.filter((r) => r.idempotencyKey === keyOf(conversationId, id))).toHaveLength(1);
  // The replays did reach the conversation, which ignored them: its dedupe is durable, not the gateway's memory.
  const history = await fx.env.client.workflow
    .getHandle(conversationWorkflowId('tester', conversationId))
    .fetchHistory();
  const signals = (history.events ?? [])
    .map((e) => e.workflowExecutionSignaledEventAttributes?.signalName)
    .filter(Boolean);
  expect(signals.filter((name) => name === messageSignal.name)).toHaveLength(4);
  expect((await fx.client.state('tester', conversationId)).status).toBe('idle');
});

test('a delivery replayed after the worker and the gateway restart is still ignored', async () => {
  const conversationId = newId();
  const id = newId('delivery');
  const later = newId('delivery');
  const body = deliveryBody({ id, conversationId, content: 'nightly report', replyTo: fx.hook.url });
  const signature = signWebhookBody(SECRET, body);
  expect((await deliver(body, signature)).status).toBe(202);
  await fx.hook.delivery(id);

  // A new worker has no cached state, and a new gateway no memory: only the conversation's history knows the id.
  await fx.restartWorker();
  const fresh = createGateway({ agents: fx.client, webhookIn: { secrets: [SECRET], agents: ['tester'] } });
  const url = await fresh.listen({ host: '127.0.0.1', port: 0 });
  try {
    expect((await deliver(body, signature, url)).status).toBe(202);
    const laterBody = deliveryBody({ id: later, conversationId, content: 'after the restart', replyTo: fx.hook.url });
    expect((await deliver(laterBody, signWebhookBody(SECRET, laterBody), url)).status).toBe(202);
    await fx.hook.delivery(later);
  } finally {
    await fresh.close();
  }
  const transcript = await fx.client.transcript('tester', conversationId);
  expect(transcript.entries.filter((e) => e.role === 'user')).toHaveLength(2);
  // One reply per message. The worker restart may redeliver the first reply (its activity's completion can be
  // lost with the old worker): the same idempotency key, which the receiver applies once.
  const applied = [...fx.hook.applied.values()].filter((d) => d.body.conversationId === conversationId);
  expect(applied.map((d) => [d.idempotencyKey, d.body.reply.turn])).toEqual([
    [keyOf(conversationId, id), 1],
    [keyOf(conversationId, later), 2],
  ]);
});

describe('refused with 401, reaching no conversation', () => {
  async function expectRefused(body: string, signature: string | undefined, message: RegExp) {
    const answer = await deliver<ErrorBody>(body, signature);
    expect(answer.status).toBe(401);
    expect(answer.body.error.code).toBe('unauthorized');
    expect(answer.body.error.message).toMatch(message);
    expect(await conversationExists(JSON.parse(body).conversationId)).toBe(false);
    return answer;
  }

  test('a tampered body', async () => {
    const body = deliveryBody({ content: 'pay 10' });
    await expectRefused(
      body.replace('pay 10', 'pay 99'),
      signWebhookBody(SECRET, body),
      /does not match the request body/,
    );
  });

  test('a body re-serialized after signing (whitespace differs)', async () => {
    const body = deliveryBody({});
    const reformatted = JSON.stringify(JSON.parse(body), null, 2);
    await expectRefused(reformatted, signWebhookBody(SECRET, body), /sign the raw body bytes exactly as sent/);
  });

  test('a wrong secret', async () => {
    const body = deliveryBody({});
    await expectRefused(body, signWebhookBody('not-the-secret-0123456789', body), /under any configured secret/);
  });

  test('a missing or malformed signature', async () => {
    const body = deliveryBody({});
    await expectRefused(body, undefined, /^sign the request: send vigil-signature: t=<unix seconds>,v1=/);
    await expectRefused(body, 'v1=abc', /header is malformed/);
    await expectRefused(body, 't=now,v1=abc', /header is malformed/);
    const [, v1] = signWebhookBody(SECRET, body).split(',');
    await expectRefused(body, `t=1,t=2,${v1}`, /header is malformed/);
  });

  test('a stale timestamp, saying it is too old; one from the future too', async () => {
    const body = deliveryBody({});
    // Well past the 300 s either way: the header carries whole seconds, so a time 301 s ahead can be signed as 300.
    await expectRefused(
      body,
      signWebhookBody(SECRET, body, Date.now() - 305_000),
      /timestamp is too old \(more than 300 s\)/,
    );
    await expectRefused(body, signWebhookBody(SECRET, body, Date.now() + 305_000), /ahead of the gateway's clock/);
  });
});

test('either of two rotated secrets signs, and one matching v1 entry among several is enough', async () => {
  const body = deliveryBody({});
  expect((await deliver(body, signWebhookBody(NEXT_SECRET, body))).status).toBe(202);

  const other = deliveryBody({});
  const [t, oldV1] = signWebhookBody('retired-secret-0123456789', other).split(',');
  const [, newV1] = signWebhookBody(SECRET, other).split(',');
  expect((await deliver(other, `${t},${oldV1},${newV1}`)).status).toBe(202);
});

describe('a signed but invalid delivery is 400 and leaves nothing in any history', () => {
  const cases: [string, (conversationId: string) => string, string][] = [
    ['without an id', (c) => JSON.stringify({ agent: 'tester', conversationId: c, content: 'x' }), 'body.id'],
    ['with an agent that is not text', (c) => deliveryBody({ conversationId: c, agent: 5 }), 'body.agent'],
    ['with an unknown field', (c) => deliveryBody({ conversationId: c, channel: { type: 'log' } }), 'body'],
    ['with empty content', (c) => deliveryBody({ conversationId: c, content: '' }), 'body.content'],
    [
      'with a replyTo that is not http(s)',
      (c) => deliveryBody({ conversationId: c, replyTo: 'ftp://example.com/x' }),
      'body.replyTo',
    ],
  ];
  test.each(cases)('%s', async (_name, build, path) => {
    const conversationId = newId();
    const body = build(conversationId);
    const answer = await deliver<ErrorBody>(body, signWebhookBody(SECRET, body));
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    expect(answer.body.error.issues?.map((issue) => issue.path)).toContain(path);
    expect(await conversationExists(conversationId)).toBe(false);
  });

  test('a body that is not JSON', async () => {
    const body = '{"id": "d-1", "conversationId": ';
    const answer = await deliver<ErrorBody>(body, signWebhookBody(SECRET, body));
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({
      code: 'invalid_request',
      message: 'invalid request: the body is not JSON',
    });
  });

  test('an unknown query option (there is no ?wait)', async () => {
    const body = deliveryBody({});
    const response = await fetch(`${gateway.url}${WEBHOOK_PATH}?wait=true`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'vigil-signature': signWebhookBody(SECRET, body) },
      body,
    });
    expect(response.status).toBe(400);
    expect(await conversationExists(JSON.parse(body).conversationId)).toBe(false);
  });
});

test('the webhook route needs no bearer token, while the other /v1 routes still do and still parse JSON', async () => {
  const conversationId = newId();
  const messages = `${conversationPath('tester', conversationId)}/messages`;
  expect((await request(gateway.url, 'POST', messages, { body: { content: 'hi' } })).status).toBe(401);
  const answer = await request<{ reply: { content: string } }>(gateway.url, 'POST', messages, {
    token: TOKEN,
    body: { content: 'hi' },
  });
  expect(answer.status).toBe(200);
  expect(answer.body.reply.content).toBe('echo: hi');

  // A signed delivery to the same conversation, with no token at all (the deliver helper sends none).
  const body = deliveryBody({ conversationId });
  expect((await deliver(body, signWebhookBody(SECRET, body))).status).toBe(202);
});

test('without a configured secret the route answers 404 saying how to enable it', async () => {
  const body = deliveryBody({});
  const answer = await deliver<ErrorBody>(body, signWebhookBody(SECRET, body), disabled.url);
  expect(answer.status).toBe(404);
  expect(answer.body.error).toEqual({
    code: 'not_found',
    message: 'inbound webhooks are not enabled on this gateway; set VIGIL_WEBHOOK_IN_SECRET to enable them',
  });
});

test('no secret ever reaches an answer or the log', async () => {
  const body = deliveryBody({});
  const answers = [
    await deliver(body, signWebhookBody('wrong-secret-0123456789', body)),
    await deliver(body, signWebhookBody(SECRET, body, Date.now() - 3_600_000)),
    await deliver(body, undefined),
    await deliver(body.replace('build', 'BUILD'), signWebhookBody(SECRET, body)),
  ];
  expect(answers.map((a) => a.status)).toEqual([401, 401, 401, 401]);
  expect(logLines.length).toBeGreaterThan(0);
  for (const text of [...answers.map((a) => a.text), logLines.join('')]) {
    expect(text).not.toContain(SECRET);
    expect(text).not.toContain(NEXT_SECRET);
  }
});

describe('checkSignature', () => {
  const body = Buffer.from('{"id":"d"}');
  const now = 1_700_000_000_000;
  const check = (signature: string, toleranceSeconds: number) => () =>
    checkSignature(signature, body, [SECRET], toleranceSeconds, now);

  test('the tolerance is configurable, and holds in both directions', () => {
    const twentyMinutesOld = signWebhookBody(SECRET, body.toString(), now - 20 * 60_000);
    expect(check(twentyMinutesOld, 300)).toThrow(/too old \(more than 300 s\)/);
    expect(check(twentyMinutesOld, 3600)).not.toThrow();
    expect(check(signWebhookBody(SECRET, body.toString(), now + 299_000), 300)).not.toThrow();
    expect(check(signWebhookBody(SECRET, body.toString(), now - 299_000), 300)).not.toThrow();
  });

  test('several headers of the same name are refused', () => {
    const signature = signWebhookBody(SECRET, body.toString(), now);
    expect(() => checkSignature([signature, signature], body, [SECRET], 300, now)).toThrow(
      /send one vigil-signature header/,
    );
  });
});

describe('configuration', () => {
  const env = (vars: Record<string, string>) => ({ VIGIL_GATEWAY_PORT: '0', ...vars });

  test('VIGIL_WEBHOOK_IN_SECRET holds one or more comma-separated secrets; the tolerance defaults to 300 s', () => {
    expect(loadGatewayConfig(env({})).gateway.webhookIn).toBeUndefined();
    expect(loadGatewayConfig(env({ VIGIL_WEBHOOK_IN_SECRET: `${SECRET},${NEXT_SECRET}` })).gateway.webhookIn).toEqual({
      secrets: [SECRET, NEXT_SECRET],
      toleranceSeconds: 300,
    });
    const config = loadGatewayConfig(
      env({ VIGIL_WEBHOOK_IN_SECRET: SECRET, VIGIL_WEBHOOK_IN_TOLERANCE_SECONDS: '60' }),
    );
    expect(config.gateway.webhookIn?.toleranceSeconds).toBe(60);
    const described = JSON.stringify(describeGateway(config.gateway));
    expect(described).toContain('"webhookIn":{"secrets":1,"toleranceSeconds":60,"agents":"default"}');
    expect(described).not.toContain(SECRET);
  });

  test('a bad secret or tolerance is refused, naming the entry and never quoting a secret', () => {
    let error: unknown;
    try {
      loadGatewayConfig(
        env({ VIGIL_WEBHOOK_IN_SECRET: `${SECRET},short-secret,`, VIGIL_WEBHOOK_IN_TOLERANCE_SECONDS: '0' }),
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems).toEqual([
      'VIGIL_WEBHOOK_IN_SECRET is set but shorter than 16 characters (secret 2 of 3)',
      'VIGIL_WEBHOOK_IN_SECRET has an empty entry (secret 3 of 3)',
      'VIGIL_WEBHOOK_IN_TOLERANCE_SECONDS must be a number of seconds from 1 to 86400 (got "0")',
    ]);
    expect((error as Error).message).not.toContain('short-secret');
    expect((error as Error).message).not.toContain(SECRET);
  });
});
