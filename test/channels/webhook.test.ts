import { ApplicationFailure } from '@temporalio/common';
import { failureOf as rejectionOf } from '../helpers/failure';
import { type DeliveryInput } from '../../src/conversation/activity-contract';
import { FailureTypes } from '../../src/conversation/failure-types';
import { createWebhookChannel, MAX_RETRY_AFTER_MS, retryAfterMs } from '../../src/channels/webhook';
import { signWebhookBody, verifyWebhookSignature } from '../../src/channels/webhook-signature';
import { ConfigError } from '../../src/errors';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver';

const SECRET = 'whsec_0123456789abcdef-do-not-leak';

let receiver: WebhookReceiver;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
});
afterEach(() => receiver.close());

function delivery(url = receiver.url): DeliveryInput {
  return {
    agent: 'assistant',
    conversationId: 'conv-42',
    channel: { type: 'webhook', url },
    reply: {
      messageId: 'msg-7',
      turn: 2,
      status: 'completed',
      content: 'It is 14:05 in Paris.',
      models: ['gpt-4o-mini'],
      usage: { inputTokens: 120, outputTokens: 9 },
    },
  };
}

const channel = createWebhookChannel({ secret: SECRET, timeoutMs: 2_000 });
const firstAttempt = () => ({ signal: new AbortController().signal, attempt: 1 });

/** Every failure message the tests saw; none may contain the secret. */
const messages: string[] = [];
async function failureOf(promise: Promise<unknown>): Promise<ApplicationFailure> {
  const failure = await rejectionOf(promise);
  messages.push(failure.message);
  return failure;
}

afterAll(() => {
  expect(messages.length).toBeGreaterThan(0);
  for (const message of messages) expect(message).not.toContain(SECRET);
});

describe('webhook channel', () => {
  it('POSTs the reply as JSON with its idempotency key, signature and attempt number', async () => {
    const result = await channel.deliver(delivery(), { signal: new AbortController().signal, attempt: 1 });
    expect(result).toEqual({ detail: 'HTTP 204' });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request.method).toBe('POST');
    expect(request.path).toBe('/hooks/vigil');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['idempotency-key']).toBe('assistant:conv-42:msg-7');
    expect(request.headers['vigil-attempt']).toBe('1');
    expect(JSON.parse(request.body)).toEqual({
      agent: 'assistant',
      conversationId: 'conv-42',
      reply: delivery().reply,
    });
  });

  it('signs the body so the receiver can verify it with the shared secret', async () => {
    await channel.deliver(delivery(), firstAttempt());
    const [{ headers, body }] = receiver.received;
    const signature = headers['vigil-signature'] as string;
    expect(signature).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(verifyWebhookSignature(SECRET, signature, body, 300)).toBe(true);
    expect(verifyWebhookSignature(SECRET, signature, Buffer.from(body), 300)).toBe(true);
    expect(verifyWebhookSignature('a-different-secret-entirely', signature, body, 300)).toBe(false);
    expect(verifyWebhookSignature(SECRET, signature, body.replace('14:05', '15:05'), 300)).toBe(false);
  });

  it('keeps the idempotency key across attempts of the same reply', async () => {
    receiver.answer({ status: 500 });
    await failureOf(channel.deliver(delivery(), { signal: new AbortController().signal, attempt: 1 }));
    await channel.deliver(delivery(), { signal: new AbortController().signal, attempt: 2 });
    const [first, second] = receiver.received;
    expect(first.headers['idempotency-key']).toBe('assistant:conv-42:msg-7');
    expect(second.headers['idempotency-key']).toBe(first.headers['idempotency-key']);
    expect([first.headers['vigil-attempt'], second.headers['vigil-attempt']]).toEqual(['1', '2']);
    expect(second.body).toBe(first.body);
  });

  it('fails retryably on a 5xx, quoting the start of the response', async () => {
    receiver.answer({ status: 503, body: 'upstream   down\n' });
    const failure = await failureOf(channel.deliver(delivery(), firstAttempt()));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe(`webhook ${new URL(receiver.url).origin} answered HTTP 503: upstream down`);
  });

  it('fails retryably on 408 and 429, waiting as long as retry-after asks', async () => {
    receiver.answer({ status: 408 }, { status: 429, headers: { 'retry-after': '7' } });
    const timeout = await failureOf(channel.deliver(delivery(), firstAttempt()));
    expect(timeout.nonRetryable).toBe(false);
    expect(timeout.nextRetryDelay).toBeUndefined();
    const throttled = await failureOf(channel.deliver(delivery(), firstAttempt()));
    expect(throttled.nonRetryable).toBe(false);
    expect(throttled.nextRetryDelay).toBe(7_000);
  });

  it('fails for good with DeliveryRejected on other 4xx statuses', async () => {
    receiver.answer({ status: 410, body: 'this hook was removed' });
    const failure = await failureOf(channel.deliver(delivery(), firstAttempt()));
    expect(failure.nonRetryable).toBe(true);
    expect(failure.type).toBe(FailureTypes.DeliveryRejected);
    expect(failure.message).toMatch(/answered HTTP 410: this hook was removed$/);
  });

  it('does not follow redirects: the signed reply goes only where it was configured', async () => {
    receiver.answer({ status: 307, headers: { location: 'http://127.0.0.1:1/elsewhere' } });
    const failure = await failureOf(channel.deliver(delivery(), firstAttempt()));
    expect(failure).toMatchObject({ nonRetryable: true, type: FailureTypes.DeliveryRejected });
    expect(failure.message).toMatch(/HTTP 307 \(webhooks do not follow redirects\)$/);
    expect(receiver.received).toHaveLength(1);
  });

  it('fails retryably when the receiver cannot be reached', async () => {
    const gone = await startWebhookReceiver();
    await gone.close();
    const failure = await failureOf(channel.deliver(delivery(gone.url), firstAttempt()));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe(`webhook ${new URL(gone.url).origin} could not be reached: ECONNREFUSED`);
  });

  it('fails retryably when the receiver does not answer in time', async () => {
    receiver.answer('hang');
    const quick = createWebhookChannel({ secret: SECRET, timeoutMs: 200 });
    const failure = await failureOf(quick.deliver(delivery(), firstAttempt()));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe(`webhook ${new URL(receiver.url).origin} did not answer within 200 ms`);
  });

  it('stops when the delivery is cancelled, with the cancellation as the reason', async () => {
    receiver.answer('hang');
    const controller = new AbortController();
    const attempt = channel.deliver(delivery(), { signal: controller.signal, attempt: 1 });
    await receiver.waitFor(1);
    const reason = new Error('activity cancelled');
    controller.abort(reason);
    await expect(attempt).rejects.toBe(reason);
  });

  it('refuses URLs that are not http(s) for good', async () => {
    const failure = await failureOf(channel.deliver(delivery('ftp://127.0.0.1/hook'), firstAttempt()));
    expect(failure).toMatchObject({ nonRetryable: true, type: FailureTypes.DeliveryRejected });
    expect(failure.message).toBe('webhook URLs must be http or https, not ftp:');
  });

  it('names the origin only, since webhook paths often carry tokens', async () => {
    receiver.answer({ status: 500 });
    const failure = await failureOf(channel.deliver(delivery(`${receiver.url}/T0001/token-abc`), firstAttempt()));
    expect(failure.message).not.toContain('token-abc');
  });

  it('rejects an empty secret without echoing any secret', () => {
    expect(() => createWebhookChannel({ secret: '' })).toThrow(ConfigError);
    expect(() => createWebhookChannel({ secret: SECRET, timeoutMs: 0 })).toThrow(
      /timeoutMs must be a positive integer/,
    );
    try {
      createWebhookChannel({ secret: SECRET, timeoutMs: -5 });
    } catch (error) {
      expect((error as Error).message).not.toContain(SECRET);
    }
  });
});

describe('verifyWebhookSignature', () => {
  const body = '{"hello":"world"}';
  const signedAt = Date.parse('2025-05-01T12:00:00Z');

  it('accepts a signature within the tolerance and refuses an older one', () => {
    const header = signWebhookBody(SECRET, body, signedAt);
    expect(verifyWebhookSignature(SECRET, header, body, 300, signedAt + 299_000)).toBe(true);
    expect(verifyWebhookSignature(SECRET, header, body, 300, signedAt + 301_000)).toBe(false);
  });

  it('accepts any matching v1 entry, for secret rotation', () => {
    const header = signWebhookBody(SECRET, body, signedAt);
    const other = signWebhookBody('the-previous-secret-value', body, signedAt).split(',')[1];
    expect(verifyWebhookSignature(SECRET, `${header},${other}`, body, 300, signedAt)).toBe(true);
  });

  it.each([undefined, '', 'garbage', 't=abc,v1=00', 'v1=' + '0'.repeat(64), 't=1,t=2,v1=' + '0'.repeat(64)])(
    'refuses the malformed header %j',
    (header) => {
      expect(verifyWebhookSignature(SECRET, header, body, 300, signedAt)).toBe(false);
    },
  );
});

describe('retryAfterMs', () => {
  const now = Date.parse('2025-05-01T12:00:00Z');

  it('reads seconds and HTTP dates, and caps long waits', () => {
    expect(retryAfterMs('30', now)).toBe(30_000);
    expect(retryAfterMs('Thu, 01 May 2025 12:01:00 GMT', now)).toBe(60_000);
    expect(retryAfterMs('Thu, 01 May 2025 11:00:00 GMT', now)).toBe(0);
    expect(retryAfterMs('86400', now)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('ignores a missing or unreadable header', () => {
    expect(retryAfterMs(null, now)).toBeUndefined();
    expect(retryAfterMs('soon', now)).toBeUndefined();
  });
});

describe('webhook host allow-list', () => {
  it('refuses, for good, a URL whose host the worker does not allow, and never sends it', async () => {
    const channel = createWebhookChannel({ secret: 'a-long-enough-secret', allowHosts: ['hooks.example.com'] });
    const input = {
      agent: 'assistant',
      conversationId: 'c',
      channel: { type: 'webhook' as const, url: 'http://127.0.0.1:9/hook' },
      reply: {
        messageId: 'm',
        turn: 1,
        status: 'completed' as const,
        content: 'x',
        models: [],
        usage: { inputTokens: 0, outputTokens: 0 },
      },
    };
    const err = await channel
      .deliver(input, { signal: new AbortController().signal, attempt: 1 })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'DeliveryRejected', nonRetryable: true });
    expect((err as Error).message).toMatch(/127\.0\.0\.1 is not in the worker's allow-list/);
  });

  it('rejects a malformed allow-list at construction', () => {
    expect(() =>
      createWebhookChannel({ secret: 'a-long-enough-secret', allowHosts: ['https://x.example.com/path'] }),
    ).toThrow(ConfigError);
  });
});
