import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPaymentActivity } from '../../src/activities/payment';
import { FailureTypes } from '../../src/conversation/failure-types';
import { FileCreditsLedger } from '../../src/payments/credits/file-ledger';
import { CreditsLedgerVerifier } from '../../src/payments/credits/verifier';
import type { PaymentCheckInput, PaymentOutcome } from '../../src/conversation/payment';
import { WebhookPaymentVerifier } from '../../src/payments/webhook-verifier';

type VerifyPayment = ReturnType<typeof createPaymentActivity>;

let dataDir: string;
let ledger: FileCreditsLedger;
beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'vigil-pay-'));
  ledger = new FileCreditsLedger({ dataDir });
  await ledger.grant('alice', 1_000_000);
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

/** A fresh environment per attempt, as each activity attempt gets its own context. */
function attempt(activity: VerifyPayment, input: PaymentCheckInput): Promise<PaymentOutcome> {
  return new MockActivityEnvironment({}, { logger: new DefaultLogger('ERROR') }).run(activity, input);
}

const input = (overrides: Partial<PaymentCheckInput> = {}): PaymentCheckInput => ({
  verifier: 'credits',
  reference: 'alice:7f3c',
  amountMicros: 400_000,
  agent: 'paid',
  conversationId: 'c1',
  messageId: 'm1',
  ...overrides,
});

async function applicationFailure(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const error = await promise.then(
    () => {
      throw new Error('expected the activity to fail');
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ApplicationFailure);
  return error as ApplicationFailure;
}

test('pays from the credits ledger once; a retried attempt for the same message is paid without a second charge', async () => {
  const activity = createPaymentActivity({ verifiers: [new CreditsLedgerVerifier(ledger)] });
  const first = await attempt(activity, input());
  expect(first).toEqual({ status: 'paid', reference: 'alice:7f3c', amountMicros: 400_000 });
  // The worker died before reporting the result: Temporal runs the activity again, on a new worker.
  const restarted = createPaymentActivity({
    verifiers: [new CreditsLedgerVerifier(new FileCreditsLedger({ dataDir }))],
  });
  expect(await attempt(restarted, input())).toEqual(first);
  expect(await ledger.balance('alice')).toBe(600_000);
});

test('a reference spent on one message is refused for another (a double spend), also after a restart', async () => {
  const activity = createPaymentActivity({ verifiers: [new CreditsLedgerVerifier(ledger)] });
  await attempt(activity, input());
  const restarted = createPaymentActivity({
    verifiers: [new CreditsLedgerVerifier(new FileCreditsLedger({ dataDir }))],
  });
  expect(await attempt(restarted, input({ messageId: 'm2' }))).toEqual({
    status: 'refused',
    reason: 'this payment reference was already used for another message',
  });
  expect(await ledger.balance('alice')).toBe(600_000);
});

test('not enough credits, an unknown account or a malformed reference is refused with a reason', async () => {
  const activity = createPaymentActivity({ verifiers: [new CreditsLedgerVerifier(ledger)] });
  expect(await attempt(activity, input({ amountMicros: 2_000_000 }))).toEqual({
    status: 'refused',
    reason: 'account "alice" has 1 credits and this message costs 2',
  });
  expect(await attempt(activity, input({ reference: 'bob:1' }))).toEqual({
    status: 'refused',
    reason: 'there is no credits account "bob"',
  });
  expect(await attempt(activity, input({ reference: 'no-account-here' }))).toMatchObject({
    status: 'refused',
    reason: expect.stringContaining('<account>:<unique id>'),
  });
});

test('a verifier the worker does not have fails for good, naming those it has', async () => {
  const activity = createPaymentActivity({ verifiers: [new CreditsLedgerVerifier(ledger)] });
  const failure = await applicationFailure(attempt(activity, input({ verifier: 'stripe' })));
  expect(failure.type).toBe(FailureTypes.PaymentVerifierMissing);
  expect(failure.nonRetryable).toBe(true);
  expect(failure.message).toBe('payment verifier "stripe" is not configured on this worker (configured: credits)');
});

test('a payment service that fails with a 5xx is retried, and the retry is paid', async () => {
  const answers = [500, 200];
  const server = http.createServer((req, res) => {
    req.resume().on('end', () => {
      const status = answers.shift() ?? 200;
      res.writeHead(status, { 'content-type': 'application/json' }).end(status === 200 ? '{"valid":true}' : '{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/pay`;
    const activity = createPaymentActivity({
      verifiers: [new WebhookPaymentVerifier({ url, secret: 'whsec-0123456789abcdef' })],
    });
    const failure = await applicationFailure(attempt(activity, input({ verifier: 'webhook', reference: 'pay_1' })));
    expect(failure.type).toBe(FailureTypes.PaymentServiceUnavailable);
    expect(failure.nonRetryable).toBe(false);
    expect(await attempt(activity, input({ verifier: 'webhook', reference: 'pay_1' }))).toEqual({
      status: 'paid',
      reference: 'pay_1',
      amountMicros: 400_000,
    });
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('two verifiers with one name are a configuration error', () => {
  expect(() =>
    createPaymentActivity({ verifiers: [new CreditsLedgerVerifier(ledger), new CreditsLedgerVerifier(ledger)] }),
  ).toThrow('two payment verifiers are named "credits"');
});
