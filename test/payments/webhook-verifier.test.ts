import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../src/channels/webhook-signature';
import type { PaymentRequest } from '../../src/conversation/payment';
import { PaymentServiceUnavailableError, WebhookPaymentVerifier } from '../../src/payments/webhook-verifier';

const SECRET = 'whsec-payments-0123456789';

type Answer = { status: number; body?: unknown } | 'hang';

/** A payment service on 127.0.0.1 that checks each request's signature (401 when bad) and answers as scripted. */
async function startPaymentService() {
  const requests: { headers: http.IncomingHttpHeaders; body: Record<string, unknown>; url: string }[] = [];
  const answers: Answer[] = [];
  const hanging: http.ServerResponse[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      if (!verifyWebhookSignature(SECRET, req.headers['vigil-signature'] as string, raw, 300)) {
        res.writeHead(401, { 'content-type': 'application/json' }).end('{"valid":false,"reason":"bad signature"}');
        return;
      }
      requests.push({
        headers: req.headers,
        body: JSON.parse(raw.toString('utf8')) as Record<string, unknown>,
        url: req.url ?? '',
      });
      const answer = answers.shift() ?? { status: 200, body: { valid: true } };
      if (answer === 'hang') {
        hanging.push(res);
        return;
      }
      res
        .writeHead(answer.status, { 'content-type': 'application/json' })
        .end(answer.body === undefined ? '' : JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/pay?token=path-secret-abc`,
    requests,
    answer: (...next: Answer[]) => answers.push(...next),
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let service: Awaited<ReturnType<typeof startPaymentService>>;
beforeEach(async () => {
  service = await startPaymentService();
});
afterEach(async () => {
  await service.close();
});

const request: PaymentRequest = {
  reference: 'pay_123',
  amountMicros: 250_000,
  agent: 'paid',
  conversationId: 'c1',
  messageId: 'm1',
  author: 'alice',
};

const verifier = (options: Partial<ConstructorParameters<typeof WebhookPaymentVerifier>[0]> = {}) =>
  new WebhookPaymentVerifier({ url: service.url, secret: SECRET, ...options });

async function failure(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error('expected a failure');
    },
    (error: unknown) => error as Error,
  );
}

test('a valid payment is paid; the request is signed, keyed by the reference and says what it pays for', async () => {
  expect(await verifier().consume(request)).toEqual({ status: 'paid', reference: 'pay_123', amountMicros: 250_000 });
  expect(service.requests).toHaveLength(1);
  const [received] = service.requests;
  expect(received.headers['idempotency-key']).toBe('pay_123');
  expect(received.headers['content-type']).toBe('application/json');
  expect(received.body).toEqual({
    reference: 'pay_123',
    amountMicros: 250_000,
    agent: 'paid',
    conversationId: 'c1',
    messageId: 'm1',
    author: 'alice',
  });
});

test("valid: false is refused with the service's reason", async () => {
  service.answer({ status: 200, body: { valid: false, reason: 'reference already spent' } });
  expect(await verifier().consume(request)).toEqual({ status: 'refused', reason: 'reference already spent' });
});

test('a 4xx is refused, with the reason when the service gives one', async () => {
  service.answer({ status: 402, body: { valid: false, reason: 'insufficient funds' } }, { status: 404 });
  expect(await verifier().consume(request)).toEqual({ status: 'refused', reason: 'insufficient funds' });
  expect(await verifier().consume(request)).toEqual({
    status: 'refused',
    reason: 'the payment service refused it (HTTP 404)',
  });
});

test('a request signed with another secret is refused by the service', async () => {
  const outcome = await verifier({ secret: 'whsec-not-the-right-one-000' }).consume(request);
  expect(outcome).toEqual({ status: 'refused', reason: 'bad signature' });
  expect(service.requests).toHaveLength(0);
});

test('an answer Vigil cannot read is a refusal', async () => {
  service.answer({ status: 200, body: { ok: true } });
  expect(await verifier().consume(request)).toEqual({
    status: 'refused',
    reason: 'the payment service gave an answer Vigil cannot read',
  });
});

test('a 5xx, 408 or 429 fails to be retried, and the retry (same reference, same message) is paid', async () => {
  service.answer({ status: 503 }, { status: 429 }, { status: 408 });
  for (const status of [503, 429, 408]) {
    const error = await failure(verifier().consume(request));
    expect(error).toBeInstanceOf(PaymentServiceUnavailableError);
    expect(error.message).toBe(`the payment service at ${new URL(service.url).host} answered HTTP ${status}`);
  }
  expect(await verifier().consume(request)).toMatchObject({ status: 'paid' });
  expect(service.requests.map((r) => r.headers['idempotency-key'])).toEqual(Array(4).fill('pay_123'));
});

test('a service that does not answer in time fails to be retried', async () => {
  service.answer('hang');
  const error = await failure(verifier({ timeoutMs: 150 }).consume(request));
  expect(error).toBeInstanceOf(PaymentServiceUnavailableError);
  expect(error.message).toMatch(/did not answer within 150 ms$/);
});

test("an unreachable service fails to be retried, and neither the URL's token nor the secret is in the error", async () => {
  await service.close();
  const error = await failure(verifier().consume(request));
  expect(error).toBeInstanceOf(PaymentServiceUnavailableError);
  expect(error.message).toMatch(/could not be reached \(ECONNREFUSED\)/);
  expect(error.message).not.toContain('path-secret-abc');
  expect(error.message).not.toContain(SECRET);
  service = await startPaymentService(); // for afterEach
});

test('a cancelled activity stops waiting for the service', async () => {
  service.answer('hang');
  const controller = new AbortController();
  const pending = failure(verifier().consume(request, { signal: controller.signal }));
  controller.abort(new Error('activity cancelled'));
  expect((await pending).message).toBe('activity cancelled');
});
