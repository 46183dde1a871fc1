/**
 * Usage, cost, budgets and paid messages in real conversations (issue 5): the real worker via the harness, a
 * scripted model, and the real payment verifiers: the credits verifier over a file ledger in a temporary folder,
 * and the webhook verifier against a local payment service that checks each request's signature.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineAgent } from '../../src/agents/define-agent';
import { CreditsLedgerVerifier, FileCreditsLedger, WebhookPaymentVerifier } from '../../src/payments';
import {
  conversationWorkflowId,
  type InboundMessage,
  type Reply,
  type TranscriptEntry,
} from '../../src/conversation/protocol';
import { eventTypes, eventually } from '../helpers/conformance';
import { newId, startConversationHarness, type ConversationFixture } from '../helpers/conversation';
import { startPaymentService } from '../helpers/payment-service';

/** USD per million tokens: 1,000 input + 500 output tokens cost 2,000 + 5,000 = 7,000 micro-USD. */
const PRICES = { 'test-model': { inputPerMillionTokens: 2, outputPerMillionTokens: 10 } };
const PRICE = 250_000; // per paid message: 0.25 credits
const PAYMENT_SECRET = `payment-secret-${randomUUID()}`;
/** A token in the payment service's path: only the host may ever be shown. */
const PAYMENT_PATH = `/payments/verify-${randomUUID()}`;

const metered = defineAgent({ name: 'metered', instructions: 'Be brief.', model: 'test-model' });
const unpriced = defineAgent({ name: 'unpriced', instructions: 'Be brief.', model: 'house-model' });
const capped = defineAgent({
  name: 'capped',
  instructions: 'Be brief.',
  model: 'test-model',
  budget: { conversation: { maxTokens: 150 } },
});
const costCapped = defineAgent({
  name: 'cost-capped',
  instructions: 'Be brief.',
  model: 'test-model',
  budget: { conversation: { maxCostMicros: 10_000 } },
});
const perAuthor = defineAgent({
  name: 'per-author',
  instructions: 'Be brief.',
  model: 'test-model',
  budget: { perAuthor: { maxTokens: 100 } },
});
const paid = defineAgent({
  name: 'paid',
  instructions: 'Be brief.',
  model: 'test-model',
  pricing: { pricePerMessageMicros: PRICE, verifier: 'credits' },
});
const hooked = defineAgent({
  name: 'hooked',
  instructions: 'Be brief.',
  model: 'test-model',
  pricing: { pricePerMessageMicros: PRICE, verifier: 'webhook' },
});

const creditsDir = mkdtempSync(join(tmpdir(), 'vigil-credits-'));
const ledger = new FileCreditsLedger({ dataDir: creditsDir });
let service: Awaited<ReturnType<typeof startPaymentService>>;
const fx = {} as ConversationFixture;
let closeHarness: (() => Promise<void>) | undefined;

beforeAll(async () => {
  // The webhook verifier needs the service's address, so the service starts first.
  service = await startPaymentService(PAYMENT_SECRET, PAYMENT_PATH);
  const harness = await startConversationHarness([metered, unpriced, capped, costCapped, perAuthor, paid, hooked], {
    prices: PRICES,
    paymentVerifiers: [
      new CreditsLedgerVerifier(ledger),
      new WebhookPaymentVerifier({ url: service.url, secret: PAYMENT_SECRET }),
    ],
  });
  closeHarness = harness.close;
  Object.assign(fx, harness);
});

afterAll(async () => {
  await closeHarness?.();
  await service?.close();
  await ledger.close();
  rmSync(creditsDir, { recursive: true, force: true });
});

beforeEach(() => fx.model.reset());

const message = (content: string, extra: Partial<InboundMessage> = {}): InboundMessage => ({
  id: newId('m'),
  content,
  ...extra,
});
const usage = (prompt_tokens: number, completion_tokens: number) => ({ usage: { prompt_tokens, completion_tokens } });
/** A new account with a unique name, so tests never share a balance. */
const newAccount = (name: string) => `${name}-${randomUUID().slice(0, 8)}`;
const reference = (account: string) => `${account}:${randomUUID()}`;
const handleOf = (agent: string, id: string) => fx.env.client.workflow.getHandle(conversationWorkflowId(agent, id));
const entries = async (agent: string, id: string): Promise<TranscriptEntry[]> =>
  (await fx.client.transcript(agent, id)).entries;
const roles = async (agent: string, id: string) => (await entries(agent, id)).map((e) => e.role);

/** Sends `m` and expects a reply made without the model: no request, no models, no tokens. */
async function sendWithoutModel(agent: string, id: string, m: InboundMessage): Promise<Reply> {
  const before = fx.model.requests.length;
  const reply = await fx.client.send(agent, id, m);
  expect(fx.model.requests.length).toBe(before);
  expect(reply).toMatchObject({ models: [], usage: { inputTokens: 0, outputTokens: 0 } });
  return reply;
}

/**
 * The whole history as text, payloads decoded (fetchHistory gives their bytes as base64), so a search finds a
 * value wherever it was recorded: inputs, results, failures, search attributes, memos.
 */
async function historyText(agent: string, id: string): Promise<string> {
  const history = await handleOf(agent, id).fetchHistory();
  return JSON.stringify(history, (key, value: unknown) => {
    if (key !== 'data') return value;
    if (typeof value === 'string') return Buffer.from(value, 'base64').toString('utf8');
    if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
    return value;
  });
}

/** How many times an activity type was scheduled, and how many of those completed, in the workflow's history. */
async function activityRuns(
  agent: string,
  id: string,
  type: string,
): Promise<{ scheduled: number; completed: number }> {
  const events = (await handleOf(agent, id).fetchHistory()).events ?? [];
  const scheduledIds = new Set(
    events
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === type)
      .map((e) => String(e.eventId)),
  );
  const completed = events.filter(
    (e) =>
      e.activityTaskCompletedEventAttributes &&
      scheduledIds.has(String(e.activityTaskCompletedEventAttributes.scheduledEventId)),
  ).length;
  return { scheduled: scheduledIds.size, completed };
}

describe('cost', () => {
  test('a turn is priced; the conversation keeps totals, per model and per author, and shows its cost as VigilCostMicros', async () => {
    const id = newId();
    fx.model.script({ content: 'Hello Alice.', ...usage(1_000, 500) }, { content: 'Hello Bob.', ...usage(2_000, 100) });
    const first = await fx.client.send('metered', id, message('hi', { author: 'alice' }));
    expect(first).toMatchObject({
      status: 'completed',
      content: 'Hello Alice.',
      usage: { inputTokens: 1_000, outputTokens: 500, costMicros: 7_000 },
    });
    const second = await fx.client.send('metered', id, message('hi too', { author: 'bob' }));
    // 2,000 x 2 + 100 x 10 = 5,000 micro-USD
    expect(second).toMatchObject({
      status: 'completed',
      content: 'Hello Bob.',
      usage: { inputTokens: 2_000, outputTokens: 100, costMicros: 5_000 },
    });

    const state = await fx.client.state('metered', id);
    const totals = (inputTokens: number, outputTokens: number, costMicros: number, modelCalls: number) => ({
      inputTokens,
      outputTokens,
      costMicros,
      modelCalls,
      unpricedCalls: 0,
    });
    expect(state.usage).toEqual({
      ...totals(3_000, 600, 12_000, 2),
      byModel: { 'test-model': totals(3_000, 600, 12_000, 2) },
      byAuthor: { alice: totals(1_000, 500, 7_000, 1), bob: totals(2_000, 100, 5_000, 1) },
      otherModels: null,
      otherAuthors: null,
    });
    // The search attribute is upserted when the conversation goes idle, just after the reply.
    const attributes = await eventually(async () => {
      const { searchAttributes } = await handleOf('metered', id).describe();
      return searchAttributes.VigilCostMicros?.[0] === 12_000 ? searchAttributes : undefined;
    });
    expect(attributes.VigilCostMicros).toEqual([12_000]);
    expect(attributes.VigilTokensUsed).toEqual([3_600]);
  });

  test('a model without a price costs nothing and is counted as unpriced', async () => {
    const id = newId();
    fx.model.script({ content: 'On the house.', ...usage(1_000, 500) });
    const reply = await fx.client.send('unpriced', id, message('hi', { author: 'alice' }));
    expect(reply.status).toBe('completed');
    expect(reply.usage).toEqual({ inputTokens: 1_000, outputTokens: 500 });
    const state = await fx.client.state('unpriced', id);
    expect(state.usage).toMatchObject({ costMicros: 0, modelCalls: 1, unpricedCalls: 1 });
    expect(state.usage.byModel['house-model']).toMatchObject({ costMicros: 0, unpricedCalls: 1 });
  });
});

describe('budgets', () => {
  test('a conversation at its token budget refuses the next message, naming the limit, without a model call', async () => {
    const id = newId();
    fx.model.script({ content: 'one', ...usage(60, 40) }, { content: 'two', ...usage(60, 40) });
    expect(await fx.client.send('capped', id, message('first'))).toMatchObject({ status: 'completed', content: 'one' });
    // 100 of 150 tokens used: the second turn may start, and it crosses the limit.
    expect(await fx.client.send('capped', id, message('second'))).toMatchObject({
      status: 'completed',
      content: 'two',
    });

    const refused = await sendWithoutModel('capped', id, message('third'));
    expect(refused.status).toBe('budget_exceeded');
    expect(refused.content).toContain('200 tokens of 150 allowed');
    expect(refused.content).toMatch(/This conversation has reached its budget/);
    // Still refused afterwards: nothing was spent.
    expect((await sendWithoutModel('capped', id, message('fourth'))).status).toBe('budget_exceeded');

    expect(await roles('capped', id)).toEqual([
      'user',
      'assistant',
      'user',
      'assistant',
      'user',
      'notice',
      'user',
      'notice',
    ]);
    const notice = (await entries('capped', id))[5];
    expect(notice).toMatchObject({ role: 'notice', content: refused.content });
    expect((await fx.client.state('capped', id)).usage).toMatchObject({
      inputTokens: 120,
      outputTokens: 80,
      modelCalls: 2,
    });
  });

  test('a conversation at its cost budget refuses the next message, naming the amounts', async () => {
    const id = newId();
    fx.model.script({ content: 'one', ...usage(1_000, 500) }, { content: 'two', ...usage(1_000, 500) });
    await fx.client.send('cost-capped', id, message('first'));
    await fx.client.send('cost-capped', id, message('second'));
    const refused = await sendWithoutModel('cost-capped', id, message('third'));
    expect(refused.status).toBe('budget_exceeded');
    expect(refused.content).toContain('$0.014 of $0.01 allowed');
  });

  test('a per-author budget blocks the author who reached it; another author is still answered', async () => {
    const id = newId();
    fx.model.script({ content: 'for alice', ...usage(60, 40) }, { content: 'for bob', ...usage(10, 5) });
    expect(await fx.client.send('per-author', id, message('hi', { author: 'alice' }))).toMatchObject({
      status: 'completed',
    });

    const blocked = await sendWithoutModel('per-author', id, message('again', { author: 'alice' }));
    expect(blocked.status).toBe('budget_exceeded');
    expect(blocked.content).toContain('You ("alice") have reached your budget');
    expect(blocked.content).toContain('100 tokens of 100 allowed');

    expect(await fx.client.send('per-author', id, message('hello', { author: 'bob' }))).toMatchObject({
      status: 'completed',
      content: 'for bob',
    });
    const state = await fx.client.state('per-author', id);
    expect(state.usage.byAuthor).toMatchObject({
      alice: { inputTokens: 60, outputTokens: 40 },
      bob: { inputTokens: 10, outputTokens: 5 },
    });
  });
});

describe('paid messages (credits)', () => {
  test('a message without a payment is not answered, and the model is not called', async () => {
    const id = newId();
    const reply = await sendWithoutModel('paid', id, message('free ride?'));
    expect(reply.status).toBe('payment_required');
    expect(reply.content).toContain('This agent charges $0.25 per message and this message carries no payment');
    expect(await roles('paid', id)).toEqual(['user', 'notice']);
    // No activity at all: no payment check, no model call, no summary.
    expect(await eventTypes(handleOf('paid', id))).not.toContain('ACTIVITY_TASK_SCHEDULED');
  });

  test('a refused payment names the reason and leaves the reference unspent: topped up, the same reference pays', async () => {
    const id = newId();
    const account = newAccount('carol');
    const ref = reference(account);

    const noAccount = await sendWithoutModel('paid', id, message('hello', { payment: { reference: ref } }));
    expect(noAccount.status).toBe('payment_required');
    expect(noAccount.content).toContain(`there is no credits account "${account}"`);

    await ledger.grant(account, 100_000);
    const tooLittle = await sendWithoutModel('paid', id, message('hello again', { payment: { reference: ref } }));
    expect(tooLittle.status).toBe('payment_required');
    expect(tooLittle.content).toContain(`account "${account}" has 0.1 credits and this message costs 0.25`);
    expect(await ledger.balance(account)).toBe(100_000);

    await ledger.grant(account, 1_000_000);
    fx.model.script({ content: 'Paid and answered.' });
    const answered = await fx.client.send('paid', id, message('third time', { payment: { reference: ref } }));
    expect(answered).toMatchObject({ status: 'completed', content: 'Paid and answered.' });
    expect(await ledger.balance(account)).toBe(1_100_000 - PRICE);
    expect(await roles('paid', id)).toEqual(['user', 'notice', 'user', 'notice', 'user', 'assistant']);
  });

  test('a paid message is charged exactly its price, once; a resend is free; its reference pays for nothing else', async () => {
    const id = newId();
    const account = newAccount('dave');
    await ledger.grant(account, 1_000_000);
    const ref = reference(account);
    const m = message('worth it', { author: 'dave', payment: { reference: ref } });

    fx.model.script({ content: 'Here you go.' });
    const before = fx.model.requests.length;
    const reply = await fx.client.send('paid', id, m);
    expect(reply).toMatchObject({ status: 'completed', content: 'Here you go.' });
    expect(await ledger.balance(account)).toBe(1_000_000 - PRICE);

    // The same message again (a client retry): the same reply, no model call, no second charge.
    expect(await fx.client.send('paid', id, m)).toEqual(reply);
    expect(fx.model.requests.length - before).toBe(1);
    expect(await ledger.balance(account)).toBe(1_000_000 - PRICE);

    // The same reference on another message: refused as used.
    const reused = await sendWithoutModel('paid', id, message('once more', { payment: { reference: ref } }));
    expect(reused.status).toBe('payment_required');
    expect(reused.content).toContain('this payment reference was already used for another message');
    // ... and in another conversation, even under the same message id.
    const elsewhere = await sendWithoutModel('paid', newId(), { ...m });
    expect(elsewhere.status).toBe('payment_required');
    expect(elsewhere.content).toContain('already used for another message');
    expect(await ledger.balance(account)).toBe(1_000_000 - PRICE);
    expect((await fx.client.state('paid', id)).turns).toBe(2);
  });

  test('a worker restarted after the payment was recorded: the turn completes, charged once, and the reference stays spent', async () => {
    const id = newId();
    const account = newAccount('erin');
    await ledger.grant(account, 1_000_000);
    const ref = reference(account);

    fx.model.script({ hang: true }, { content: 'Answered by the next worker.' });
    const reply = fx.client.send('paid', id, message('survive a restart', { payment: { reference: ref } }));
    const first = await fx.model.nextRequest();
    // The model is called only after the payment's outcome is in history; check it there before the restart.
    await eventually(async () =>
      (await activityRuns('paid', id, 'verifyPayment')).completed === 1 ? true : undefined,
    );
    expect(await ledger.balance(account)).toBe(1_000_000 - PRICE);

    await fx.restartWorker();
    expect(await first.ended).toBe('aborted');
    expect(await reply).toMatchObject({ status: 'completed', content: 'Answered by the next worker.' });
    expect(await ledger.balance(account)).toBe(1_000_000 - PRICE);
    expect(await activityRuns('paid', id, 'verifyPayment')).toEqual({ scheduled: 1, completed: 1 });
    expect(await roles('paid', id)).toEqual(['user', 'assistant']);

    const reused = await sendWithoutModel('paid', id, message('again', { payment: { reference: ref } }));
    expect(reused.status).toBe('payment_required');
    expect(reused.content).toContain('already used for another message');
    expect(await ledger.balance(account)).toBe(1_000_000 - PRICE);
  });
});

describe('paid messages (webhook)', () => {
  test('a payment service that fails a few times is retried; the turn completes, and the requests were signed', async () => {
    const id = newId();
    const ref = `order-${randomUUID()}`;
    service.issue(ref, PRICE);
    service.failNext(2);
    fx.model.script({ content: 'Worth the wait.' });
    const reply = await fx.client.send(
      'hooked',
      id,
      message('pay by webhook', { author: 'frank', payment: { reference: ref } }),
    );
    expect(reply).toMatchObject({ status: 'completed', content: 'Worth the wait.' });

    const mine = service.requests.filter((r) => r.reference === ref);
    expect(mine.map((r) => r.status)).toEqual([500, 500, 200]);
    expect(mine.every((r) => r.signatureValid && r.idempotencyKey === ref)).toBe(true);
    expect(mine[2].body).toEqual({
      reference: ref,
      amountMicros: PRICE,
      agent: 'hooked',
      conversationId: id,
      messageId: reply.messageId,
      author: 'frank',
    });
    expect(service.consumed.get(ref)).toEqual({ agent: 'hooked', conversationId: id, messageId: reply.messageId });
    // One activity, retried: the outcome recorded once.
    expect(await activityRuns('hooked', id, 'verifyPayment')).toEqual({ scheduled: 1, completed: 1 });
  });

  test('a worker that dies after the service took the payment but before it heard back: retried, charged once', async () => {
    const id = newId();
    const ref = `order-${randomUUID()}`;
    service.issue(ref, PRICE);
    const stalled = service.stallNext();
    fx.model.script({ content: 'Paid once.' });
    const before = fx.model.requests.length;
    const m = message('pay and crash', { payment: { reference: ref } });
    const reply = fx.client.send('hooked', id, m);
    await stalled.arrived;
    expect(service.consumed.has(ref)).toBe(true);
    await fx.restartWorker();
    stalled.release();

    expect(await reply).toMatchObject({ status: 'completed', content: 'Paid once.' });
    // Asked again for the same message, the service answered valid again: one payment, one model call.
    const mine = service.requests.filter((r) => r.reference === ref);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    expect(mine.every((r) => r.status === 200 && r.body?.messageId === m.id && r.idempotencyKey === ref)).toBe(true);
    expect(service.consumed.get(ref)).toEqual({ agent: 'hooked', conversationId: id, messageId: m.id });
    expect(fx.model.requests.length - before).toBe(1);
    expect(await activityRuns('hooked', id, 'verifyPayment')).toEqual({ scheduled: 1, completed: 1 });

    const reused = await sendWithoutModel('hooked', id, message('again', { payment: { reference: ref } }));
    expect(reused.content).toContain('payment already used for another message');
  });

  test('a payment the service does not accept: payment_required with its reason, no model call', async () => {
    const id = newId();
    const unknown = `order-${randomUUID()}`;
    const refused = await sendWithoutModel('hooked', id, message('pay me', { payment: { reference: unknown } }));
    expect(refused.status).toBe('payment_required');
    expect(refused.content).toContain(`no payment ${unknown} on record`);

    const small = `order-${randomUUID()}`;
    service.issue(small, PRICE - 1);
    const tooSmall = await sendWithoutModel('hooked', id, message('pay me less', { payment: { reference: small } }));
    expect(tooSmall.content).toContain(`covers ${PRICE - 1} micro-USD, not ${PRICE}`);
    expect(await roles('hooked', id)).toEqual(['user', 'notice', 'user', 'notice']);
  });

  test("the service's secret and URL path appear in no reply, transcript or history", async () => {
    const id = newId();
    const ref = `order-${randomUUID()}`;
    service.issue(ref, PRICE);
    service.failNext(1); // a retried attempt leaves its failure in history
    fx.model.script({ content: 'Secretly fine.' });
    const replies = [
      await fx.client.send('hooked', id, message('paid', { payment: { reference: ref } })),
      await fx.client.send('hooked', id, message('reused', { payment: { reference: ref } })),
      await fx.client.send('hooked', id, message('unpaid')),
    ];
    expect(replies.map((r) => r.status)).toEqual(['completed', 'payment_required', 'payment_required']);

    const history = await historyText('hooked', id);
    // The search sees payloads: the reference and the retried attempt's failure are there.
    expect(history).toContain(ref);
    expect(history).toContain('answered HTTP 500');
    const places = {
      replies: JSON.stringify(replies),
      transcript: JSON.stringify(await entries('hooked', id)),
      state: JSON.stringify(await fx.client.state('hooked', id)),
      history,
    };
    for (const [place, text] of Object.entries(places)) {
      expect({ place, hasSecret: text.includes(PAYMENT_SECRET) }).toEqual({ place, hasSecret: false });
      expect({ place, hasPath: text.includes(PAYMENT_PATH) }).toEqual({ place, hasPath: false });
    }
  });
});
