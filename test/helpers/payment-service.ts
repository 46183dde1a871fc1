/**
 * A payment service for the `webhook` payment verifier, written as a real one would be: it checks the
 * `vigil-signature` of each request over the raw body (401 when it does not match), knows the payments it
 * issued (reference -> amount), and consumes each reference once, keyed by (agent, conversation, message):
 * asked again for the same message it answers `valid: true` again, for another message `valid: false`.
 *
 * Tests can make it fail (`failNext`: 500s, as a service that is briefly down) and see every request.
 *
 * @example
 * const service = await startPaymentService(SECRET);
 * service.issue('order-1', 250_000);
 * new WebhookPaymentVerifier({ url: service.url, secret: SECRET });
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../src/channels';
import { createStall, type Stall } from './stall';

export interface PaymentServiceRequest {
  reference: string;
  idempotencyKey: string;
  signatureValid: boolean;
  /** The parsed body, when the signature was valid. */
  body?: {
    reference: string;
    amountMicros: number;
    agent: string;
    conversationId: string;
    messageId: string;
    author: string | null;
  };
  /** What the service answered (or decided, for a stalled answer the caller may never have received). */
  status: number;
  answer?: { valid: boolean; reason?: string };
}

interface Consumer {
  agent: string;
  conversationId: string;
  messageId: string;
}

export async function startPaymentService(secret: string, path = '/payments/verify') {
  /** Payments issued and not yet consumed or consumed: reference -> amount in micro-USD. */
  const issued = new Map<string, number>();
  const consumed = new Map<string, Consumer>();
  const requests: PaymentServiceRequest[] = [];
  let failures = 0;
  let stall: Stall | undefined;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const idempotencyKey = String(req.headers['idempotency-key'] ?? '');
      const signatureValid = verifyWebhookSignature(
        secret,
        req.headers['vigil-signature'] as string | undefined,
        raw,
        300,
      );
      const record: PaymentServiceRequest = { reference: '', idempotencyKey, signatureValid, status: 0 };
      requests.push(record);
      const send = (status: number, body?: { valid: boolean; reason?: string }) => {
        record.status = status;
        if (body) record.answer = body;
        res
          .writeHead(status, { 'content-type': 'application/json' })
          .end(body ? JSON.stringify(body) : '{"error":"unavailable"}');
      };
      const answer = (status: number, body?: { valid: boolean; reason?: string }) => {
        if (!stall || status !== 200) return send(status, body);
        // Decided (and applied) now, answered later: the caller cannot know the outcome meanwhile.
        record.status = status;
        record.answer = body;
        const { arrived, released } = stall;
        stall = undefined;
        arrived();
        void released.then(() => !res.destroyed && send(status, body));
      };
      if (req.method !== 'POST' || req.url !== path) return answer(404, { valid: false, reason: 'no such endpoint' });
      if (!signatureValid) return answer(401, { valid: false, reason: 'bad signature' });
      const body = JSON.parse(raw) as NonNullable<PaymentServiceRequest['body']>;
      record.body = body;
      record.reference = body.reference;
      if (failures > 0) {
        failures--;
        return answer(500);
      }
      const consumer: Consumer = { agent: body.agent, conversationId: body.conversationId, messageId: body.messageId };
      const previous = consumed.get(body.reference);
      if (previous) {
        const same =
          previous.agent === consumer.agent &&
          previous.conversationId === consumer.conversationId &&
          previous.messageId === consumer.messageId;
        return answer(
          200,
          same ? { valid: true } : { valid: false, reason: 'payment already used for another message' },
        );
      }
      const amount = issued.get(body.reference);
      if (amount === undefined) return answer(200, { valid: false, reason: `no payment ${body.reference} on record` });
      if (amount < body.amountMicros)
        return answer(200, {
          valid: false,
          reason: `payment ${body.reference} covers ${amount} micro-USD, not ${body.amountMicros}`,
        });
      consumed.set(body.reference, consumer);
      return answer(200, { valid: true });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}${path}`,
    requests,
    consumed,
    /** A payment the service will accept once, for up to `amountMicros`. */
    issue(reference: string, amountMicros: number) {
      issued.set(reference, amountMicros);
    },
    /** The next `n` verified requests are answered with HTTP 500. */
    failNext(n: number) {
      failures = n;
    },
    /**
     * The next request that reaches a decision is decided and applied (a payment consumed), but its answer waits
     * for `release()`, as when the caller dies before it hears back.
     */
    stallNext() {
      const held = createStall();
      stall = held.stall;
      return { arrived: held.arrived, release: held.release };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
