/**
 * Issue 16, delivery side: message ids no HTTP header can carry, webhook URLs with credentials, and ids whose
 * idempotency keys collided. A delivery either succeeds or fails at once (non-retryable, with a clear message);
 * no message names more of a webhook URL than its origin.
 */
import { failureOf } from '../helpers/failure';
import { type DeliveryInput } from '../../src/conversation/activity-contract';
import { FailureTypes } from '../../src/conversation/failure-types';
import { createWebhookChannel, deliveryIdempotencyKey, verifyWebhookSignature } from '../../src/channels';
import { classifyFetchError } from '../../src/channels/fetch-errors';
import { redactWebhookUrl } from '../../src/channels/url-redaction';
import { startWebhookReceiver, type WebhookReceiver } from './webhook-receiver';

const SECRET = 'whsec_under-fire-0123456789';
const channel = createWebhookChannel({ secret: SECRET, timeoutMs: 2_000 });
const firstAttempt = () => ({ signal: new AbortController().signal, attempt: 1 });

let receiver: WebhookReceiver;
beforeEach(async () => {
  receiver = await startWebhookReceiver();
});
afterEach(() => receiver.close());

function delivery(
  url: string,
  ids: { agent?: string; conversationId?: string; messageId?: string } = {},
): DeliveryInput {
  return {
    agent: ids.agent ?? 'assistant',
    conversationId: ids.conversationId ?? 'conv-42',
    channel: { type: 'webhook', url },
    reply: {
      messageId: ids.messageId ?? 'msg-7',
      turn: 1,
      status: 'completed',
      content: 'hello',
      models: ['gpt-4o-mini'],
      usage: { inputTokens: 1, outputTokens: 1 },
    },
  };
}

/** Splits a key at its first and last `:` and decodes each part (percent-encoded WTF-8), as a receiver may. */
function decodeKey(key: string): [string, string, string] {
  const first = key.indexOf(':');
  const last = key.lastIndexOf(':');
  return [key.slice(0, first), key.slice(first + 1, last), key.slice(last + 1)].map(decodePart) as [
    string,
    string,
    string,
  ];
}

function decodePart(part: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < part.length;) {
    if (part[i] === '%') {
      if (!/^[0-9A-F]{2}$/.test(part.slice(i + 1, i + 3))) throw new Error(`bad escape in ${part}`);
      bytes.push(parseInt(part.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      bytes.push(part.charCodeAt(i));
      i++;
    }
  }
  let out = '';
  for (let i = 0; i < bytes.length;) {
    const lead = bytes[i];
    const length = lead < 0x80 ? 1 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
    let codePoint = length === 1 ? lead : lead & (0xff >> (length + 1));
    for (let k = 1; k < length; k++) codePoint = (codePoint << 6) | (bytes[i + k] & 0x3f);
    out += String.fromCodePoint(codePoint);
    i += length;
  }
  return out;
}

describe('message ids no HTTP header can carry as they are', () => {
  it.each([
    ['an emoji', 'ok-👍', 'assistant:conv-42:ok-%F0%9F%91%8D'],
    ['CR/LF (a header injection)', 'a\r\nx-injected: 1', 'assistant:conv-42:a%0D%0Ax-injected%3A%201'],
    ['NUL', 'a\u0000b', 'assistant:conv-42:a%00b'],
    ['a lone high surrogate', 'a\ud800b', 'assistant:conv-42:a%ED%A0%80b'],
    ['a lone low surrogate at the end', 'ab\udc00', 'assistant:conv-42:ab%ED%B0%80'],
    ['a character above U+00FF', '日本', 'assistant:conv-42:%E6%97%A5%E6%9C%AC'],
    ['latin-1', 'café', 'assistant:conv-42:caf%C3%A9'],
    ['spaces at its ends', ' padded ', 'assistant:conv-42:%20padded%20'],
    ['a percent sign', '100%', 'assistant:conv-42:100%25'],
  ])('are delivered (id with %s), at the first attempt, under a header-safe key', async (_, messageId, key) => {
    const input = delivery(receiver.url, { messageId });
    await expect(channel.deliver(input, firstAttempt())).resolves.toEqual({ detail: 'HTTP 204' });
    expect(receiver.received).toHaveLength(1);
    const [request] = receiver.received;
    expect(request.headers['idempotency-key']).toBe(key);
    expect(request.headers['x-injected']).toBeUndefined();
    expect(decodeKey(key)).toEqual(['assistant', 'conv-42', messageId]);
    // The body carries the id as it is (JSON escapes what it must), signed.
    expect((JSON.parse(request.body) as DeliveryInput).reply.messageId).toBe(messageId);
    expect(verifyWebhookSignature(SECRET, request.headers['vigil-signature'] as string, request.body, 60)).toBe(true);
  });

  it('keeps the key of ordinary ids as it was: <agent>:<conversationId>:<messageId>', () => {
    const key = (conversationId: string, messageId: string) =>
      deliveryIdempotencyKey(delivery('http://x.example', { conversationId, messageId }));
    expect(key('conv-42', 'msg-7')).toBe('assistant:conv-42:msg-7');
    expect(key('acct:42', 'msg-7')).toBe('assistant:acct:42:msg-7');
    expect(key('c', '!"#$&\'()*+,-./;<=>?@[\\]^_`{|}~')).toBe('assistant:c:!"#$&\'()*+,-./;<=>?@[\\]^_`{|}~');
  });
});

describe('idempotency keys', () => {
  it('differ for ids that used to collide (inv:42 in acct, 42 in acct:inv), and both replies are applied', async () => {
    const a = delivery(receiver.url, { conversationId: 'acct', messageId: 'inv:42' });
    const b = delivery(receiver.url, { conversationId: 'acct:inv', messageId: '42' });
    expect(deliveryIdempotencyKey(a)).toBe('assistant:acct:inv%3A42');
    expect(deliveryIdempotencyKey(b)).toBe('assistant:acct:inv:42');
    await channel.deliver(a, firstAttempt());
    await channel.deliver(b, firstAttempt());
    const keys = receiver.received.map((r) => r.headers['idempotency-key']);
    expect(new Set(keys).size).toBe(2);
  });

  it('are unambiguous: every triple of ids has its own key, which decodes back to it', () => {
    // Pieces chosen to confuse a naive encoding: separators, escapes, what the escapes spell, non-ASCII.
    const pieces = ['a', ':', '%', '3A', '👍', '\ud800', '\udc00', ' ', '\n'];
    const ids = [''];
    for (const p of pieces) ids.push(p);
    for (const p of pieces) for (const q of pieces) ids.push(p + q);
    const seen = new Map<string, string>();
    const problems: string[] = [];
    for (const agent of ['a', 'a:b', '%']) {
      for (const conversationId of ids) {
        for (const messageId of ids) {
          const key = deliveryIdempotencyKey(delivery('http://x.example', { agent, conversationId, messageId }));
          const triple = JSON.stringify([agent, conversationId, messageId]);
          if (seen.has(key)) problems.push(`${seen.get(key)} and ${triple} share ${key}`);
          if (!/^[\x21-\x7E]*$/.test(key)) problems.push(`${triple} has the key ${key}, not visible ASCII`);
          if (JSON.stringify(decodeKey(key)) !== triple) problems.push(`${key} does not decode to ${triple}`);
          seen.set(key, triple);
        }
      }
    }
    expect(problems).toEqual([]);
    expect(seen.size).toBe(3 * ids.length * ids.length);
  });

  it("of a busy refusal are never a reply's (its sender posts the id again, and that reply must be applied)", async () => {
    const ids = ['42', '42/busy', '42%2Fbusy', '42:busy', 'a:b', '%', '/', '👍', ' '];
    const replyKeys = new Set<string>();
    for (const conversationId of ['acct', 'acct:42']) {
      for (const messageId of ids) {
        replyKeys.add(deliveryIdempotencyKey(delivery('http://x.example', { conversationId, messageId })));
      }
    }
    const refusals = new Set<string>();
    for (const conversationId of ['acct', 'acct:42']) {
      for (const messageId of ids) {
        const refusal = { ...delivery('http://x.example', { conversationId, messageId }), refusal: 'busy' as const };
        const key = deliveryIdempotencyKey(refusal);
        expect(replyKeys.has(key)).toBe(false);
        expect(decodeKey(key)).toEqual(['assistant', conversationId, `${messageId}/busy`]);
        refusals.add(key);
      }
    }
    expect(refusals.size).toBe(2 * ids.length);
    expect(deliveryIdempotencyKey({ ...delivery(receiver.url, { conversationId: 'acct' }), refusal: 'busy' })).toBe(
      'assistant:acct:msg-7%2Fbusy',
    );

    // A receiver that dedupes applies the refusal and then the reply to the same message.
    const reply = delivery(receiver.url, { conversationId: 'acct', messageId: '42' });
    await channel.deliver({ ...reply, refusal: 'busy' }, firstAttempt());
    await channel.deliver(reply, firstAttempt());
    const keys = receiver.received.map((r) => r.headers['idempotency-key']);
    expect(keys).toEqual(['assistant:acct:42%2Fbusy', 'assistant:acct:42']);
  });
});

describe('webhook URLs no retry can fix fail at once, naming the origin only', () => {
  it.each([
    ['user and password', 'alice:pw-s3cret@'],
    ['a user (a token) only', 'tok-user-s3cret@'],
    ['a password only', ':pw-s3cret@'],
  ])('a URL with credentials (%s): DeliveryRejected, and the credentials appear nowhere', async (_, userinfo) => {
    const { host } = new URL(receiver.url);
    const url = `http://${userinfo}${host}/hooks/T0001/tok-path-s3cret?token=tok-query-s3cret`;
    const failure = await failureOf(channel.deliver(delivery(url), firstAttempt()));
    expect(failure).toMatchObject({ nonRetryable: true, type: FailureTypes.DeliveryRejected });
    expect(failure.message).toMatch(
      new RegExp(`^webhook http://${host.replace(/\./g, '\\.')}: the URL carries credentials`),
    );
    for (const text of [failure.message, failure.stack ?? '', JSON.stringify(failure)]) {
      expect(text).not.toMatch(/s3cret|T0001|hooks|alice|pw-/);
    }
    expect(receiver.received).toHaveLength(0);
  });

  it.each([
    ['not a URL', 'not a url'],
    ['a relative URL', '/hooks/tok-s3cret'],
    ['javascript:', 'javascript:alert(1)'],
    ['ftp:', 'ftp://user:s3cret@127.0.0.1/hook'],
    ['file:', 'file:///etc/passwd'],
  ])('a URL that is %s: DeliveryRejected, the URL not quoted', async (_, url) => {
    const failure = await failureOf(channel.deliver(delivery(url), firstAttempt()));
    expect(failure).toMatchObject({ nonRetryable: true, type: FailureTypes.DeliveryRejected });
    expect(failure.message).not.toContain(url);
    expect(failure.message).not.toMatch(/s3cret|passwd|alert/);
  });

  it('a port fetch refuses (a "bad port"): DeliveryRejected, not a network error retried 10 times', async () => {
    const failure = await failureOf(channel.deliver(delivery('http://127.0.0.1:1/hooks/tok-s3cret'), firstAttempt()));
    expect(failure).toMatchObject({ nonRetryable: true, type: FailureTypes.DeliveryRejected });
    expect(failure.message).toBe(
      'webhook http://127.0.0.1:1: the request cannot be sent, and no retry would change that: ' +
        'the port is one fetch refuses (a "bad port" of the Fetch standard)',
    );
  });

  it('a receiver that cannot be reached is still retried, naming the origin only', async () => {
    const gone = await startWebhookReceiver();
    await gone.close();
    const failure = await failureOf(channel.deliver(delivery(`${gone.url}/tok-s3cret?k=s3cret`), firstAttempt()));
    expect(failure.nonRetryable).toBe(false);
    expect(failure.message).toBe(`webhook ${new URL(gone.url).origin} could not be reached: ECONNREFUSED`);
  });
});

describe("a receiver's answer that echoes the URL", () => {
  it('is quoted with the path, query and tokens redacted, even across the excerpt cut', async () => {
    const url = `${receiver.url}/T0001/tok-abcdef123?token=tok-query-456`;
    const path = new URL(url).pathname + new URL(url).search;
    receiver.answer(
      { status: 404, body: `Cannot POST ${path}` },
      { status: 400, body: `${'x'.repeat(280)} see ${path}` },
      { status: 500, body: `unknown token tok-abcdef123 (from ${url})` },
    );
    const messages: string[] = [];
    for (let i = 0; i < 3; i++)
      messages.push((await failureOf(channel.deliver(delivery(url), firstAttempt()))).message);
    const origin = new URL(receiver.url).origin;
    expect(messages[0]).toBe(`webhook ${origin} answered HTTP 404: Cannot POST /[redacted]`);
    expect(messages[2]).toBe(`webhook ${origin} answered HTTP 500: unknown token [redacted] (from ${origin})`);
    for (const message of messages) expect(message).not.toMatch(/T0001|tok-|query|abcdef|hooks\/vigil/);
  });
});

describe('fetch errors', () => {
  const caught = (promise: Promise<unknown>) =>
    promise.then(
      () => {
        throw new Error('expected fetch to fail');
      },
      (error: unknown) => error,
    );

  it('in the request itself (headers, URL) are final; network errors are retryable', async () => {
    const gone = await startWebhookReceiver();
    await gone.close();
    const post = (url: string, headers: Record<string, string> = {}) => caught(fetch(url, { method: 'POST', headers }));
    const verdicts = {
      crlf: classifyFetchError(await post(receiver.url, { k: 'a\r\nb' })),
      nul: classifyFetchError(await post(receiver.url, { k: 'a\u0000b' })),
      emoji: classifyFetchError(await post(receiver.url, { k: 'ok-👍' })),
      surrogate: classifyFetchError(await post(receiver.url, { k: 'a\ud800' })),
      credentials: classifyFetchError(await post('http://user:pw@127.0.0.1:1/x')),
      badUrl: classifyFetchError(await post('http://[::1/x')),
      badPort: classifyFetchError(await post('http://127.0.0.1:1/x')),
      refused: classifyFetchError(await post(gone.url)),
    };
    expect(verdicts).toEqual({
      crlf: { retryable: false, reason: 'a header value cannot be sent in HTTP' },
      nul: { retryable: false, reason: 'a header value cannot be sent in HTTP' },
      emoji: { retryable: false, reason: 'a header value cannot be sent in HTTP' },
      surrogate: { retryable: false, reason: 'a header value cannot be sent in HTTP' },
      credentials: { retryable: false, reason: 'the URL carries credentials' },
      badUrl: { retryable: false, reason: 'the URL is not valid' },
      badPort: { retryable: false, reason: 'the port is one fetch refuses (a "bad port" of the Fetch standard)' },
      refused: { retryable: true, reason: 'ECONNREFUSED' },
    });
  });
});

describe('redactWebhookUrl', () => {
  const url = 'https://user:pa55word@hooks.example.com:8443/T0001/B0002/tok-xyz123?sig=abc%2Fdef#frag';

  it('leaves the origin and removes credentials, path, query and fragment in every form', () => {
    expect(redactWebhookUrl(`POST ${url} failed`, url)).toBe('POST https://hooks.example.com:8443 failed');
    expect(redactWebhookUrl('to https://user:pa55word@hooks.example.com:8443', url)).toBe(
      'to https://hooks.example.com:8443',
    );
    expect(redactWebhookUrl('Cannot POST /T0001/B0002/tok-xyz123?sig=abc/def', url)).toBe('Cannot POST /[redacted]');
    expect(redactWebhookUrl('webhook https://hooks.example.com:8443 answered', url)).toBe(
      'webhook https://hooks.example.com:8443 answered',
    );
    expect(redactWebhookUrl('bad token tok-xyz123', url, { pieces: true })).toBe('bad token [redacted]');
    expect(redactWebhookUrl('password pa55word', url, { pieces: true })).toBe('password [redacted]');
  });

  it('leaves the origin and host whole when the path also occurs in them', () => {
    const api = 'https://api.example.com/api';
    const said = 'webhook https://api.example.com answered HTTP 404: Cannot POST /api (api.example.com)';
    expect(redactWebhookUrl(said, api)).toBe(
      'webhook https://api.example.com answered HTTP 404: Cannot POST /[redacted] (api.example.com)',
    );
    const nested = 'https://api.example.com/forward/api.example.com/tok-s3cret';
    expect(redactWebhookUrl('POST /forward/api.example.com/tok-s3cret failed', nested)).toBe('POST /[redacted] failed');
  });
});
