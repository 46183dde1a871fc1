import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifyWebhookSignature } from '../../src/channels';
import { createStall, type Stall } from './stall';

export interface ReceivedDelivery {
  idempotencyKey: string;
  body: {
    agent: string;
    conversationId: string;
    reply: { messageId: string; content: string; status: string; turn: number };
  };
}

/**
 * A webhook endpoint as a careful receiver writes one: it checks the signature and handles each idempotency
 * key once, so retried deliveries of the same reply are acknowledged but not applied twice.
 */
export async function startWebhookReceiver(secret: string) {
  const applied = new Map<string, ReceivedDelivery>();
  const requests: { idempotencyKey: string; signatureValid: boolean }[] = [];
  const waiters: { key: string; resolve: (d: ReceivedDelivery) => void }[] = [];
  let failNext = 0;
  let stall: Stall | undefined;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString();
      const key = String(req.headers['idempotency-key'] ?? '');
      const signatureValid = verifyWebhookSignature(secret, String(req.headers['vigil-signature'] ?? ''), raw, 300);
      requests.push({ idempotencyKey: key, signatureValid });
      if (!signatureValid) {
        res.writeHead(401).end();
        return;
      }
      if (failNext > 0) {
        failNext--;
        res.writeHead(503).end();
        return;
      }
      if (!applied.has(key)) {
        const delivery = { idempotencyKey: key, body: JSON.parse(raw) as ReceivedDelivery['body'] };
        applied.set(key, delivery);
        for (const w of waiters.filter((w) => w.key === key || w.key === '*')) w.resolve(delivery);
      }
      const answer = () => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
      if (stall) {
        const { arrived, released } = stall;
        stall = undefined;
        arrived();
        void released.then(() => !res.destroyed && answer());
        return;
      }
      answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return {
    url,
    applied,
    requests,
    /** Answers the next `n` deliveries with 503, as a receiver that is briefly down. */
    failNext(n: number) {
      failNext = n;
    },
    /**
     * The next delivery is applied, but its answer waits for `release()`: the sender cannot know it landed,
     * as when a worker dies between sending and recording.
     */
    stallNext() {
      const held = createStall();
      stall = held.stall;
      return { arrived: held.arrived, release: held.release };
    },
    /** Resolves with the delivery for a message id's reply (any key ending with it). */
    delivery(messageId: string): Promise<ReceivedDelivery> {
      const found = [...applied.values()].find((d) => d.body.reply.messageId === messageId);
      if (found) return Promise.resolve(found);
      return new Promise((resolve) =>
        waiters.push({ key: '*', resolve: (d) => d.body.reply.messageId === messageId && resolve(d) }),
      );
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
