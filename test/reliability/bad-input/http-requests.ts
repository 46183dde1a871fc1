/**
 * Part 2's requests on the wire: a draft rendered to exactly the bytes generated (path, headers, body, signature)
 * and sent over raw node:http, so that nothing normalizes it on the way, with a bounded wait for each answer.
 */
import http from 'node:http';
import { SIGNATURE_HEADER, signWebhookBody } from '../../../src/channels/webhook-signature';
import { type Stack } from '../stack';
import type { Draft, Signing } from './drafts';

/** An answer not here by then counts as none: no route may keep a client waiting on bad input. */
const ANSWER_WAIT_MS = 30_000;
/** The gateway's body limit (VIGIL_GATEWAY_BODY_LIMIT, its default in the stack). */
const BODY_LIMIT = 1_048_576;
/** How much of an answer's body is kept for answers.log. */
const KEPT_BODY_CHARS = 16 * 1024;

/** A request ready to send. */
interface Shot {
  marker: string;
  route: string;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: string;
  faults: string[];
}

export function render(stack: Stack, d: Draft, marker: string): Shot {
  const body = d.text ?? (d.body === undefined ? undefined : JSON.stringify(d.body));
  const headers: Record<string, string | string[]> = { 'x-bad-input': marker, ...d.headers };
  if (body !== undefined && d.contentType !== null) headers['content-type'] = d.contentType ?? 'application/json';
  // Framed always: Node's client sends a DELETE's body without a length, which the server then reads as the start of
  // a request of its own, after a DELETE without a body (a valid one).
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const token = stack.secrets.VIGIL_GATEWAY_TOKEN;
  if (d.auth === 'token') headers.authorization = `Bearer ${token}`;
  if (d.auth === 'wrong') headers.authorization = `Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  if (d.auth === 'malformed') headers.authorization = `Basic ${Buffer.from(`vigil:${marker}`).toString('base64')}`;
  if (d.signing !== undefined && d.signing !== 'none') {
    const secret = stack.secrets.VIGIL_WEBHOOK_IN_SECRET;
    const signed = body ?? '';
    const now = Date.now();
    const signatures: Record<Exclude<Signing, 'none'>, () => string | string[]> = {
      good: () => signWebhookBody(secret, signed, now),
      'wrong-secret': () => signWebhookBody(`${secret}x`, signed, now),
      old: () => signWebhookBody(secret, signed, now - 3_600_000),
      future: () => signWebhookBody(secret, signed, now + 3_600_000),
      twice: () => [signWebhookBody(secret, signed, now), signWebhookBody(secret, signed, now - 1_000)],
      garbage: () => `t=${marker},v1=${'0'.repeat(64)}`,
    };
    headers[SIGNATURE_HEADER] = signatures[d.signing]();
  }
  return {
    marker,
    route: d.route,
    method: d.method,
    path: `/${d.segments.join('/')}${d.query}`,
    headers,
    body,
    faults: d.faults,
  };
}

interface Answer {
  status: number;
  text: string;
  /** Node's client would not send it (a path or a header it refuses to write). */
  unsendable?: string;
  /** No answer within ANSWER_WAIT_MS, or the connection dropped without one. */
  lost?: string;
  /** A body over the limit: the gateway closed the connection before reading it all, its 413 unread. */
  closedUnread?: boolean;
}

export function send(stack: Stack, agent: http.Agent, shot: Shot): Promise<Answer> {
  const url = new URL(stack.gatewayURL);
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      req = http.request({
        host: url.hostname,
        port: url.port,
        method: shot.method,
        path: shot.path,
        headers: shot.headers,
        agent,
      });
    } catch (error) {
      resolve({ status: 0, text: '', unsendable: error instanceof Error ? error.message : String(error) });
      return;
    }
    let answered: Answer | undefined;
    const done = (answer: Answer) => {
      if (answered) return;
      answered = answer;
      clearTimeout(timer);
      resolve(answer);
    };
    const timer = setTimeout(() => {
      done({ status: 0, text: '', lost: `no answer within ${ANSWER_WAIT_MS} ms` });
      req.destroy();
    }, ANSWER_WAIT_MS);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      // An event stream does not end by itself: its status and head are the answer.
      if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        done({ status, text: `(event stream, ${res.headers['content-type']})` });
        res.destroy();
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (text.length < KEPT_BODY_CHARS) text += chunk;
      });
      res.on('end', () => done({ status, text }));
      res.on('error', (error) => done({ status, text, lost: `answer cut off: ${error.message}` }));
    });
    // A server that refuses a body over its limit answers 413 and closes without reading the rest; the client,
    // still writing, may see the closed connection before it reads the answer. That is a refusal, not a lost
    // request. Any other request that got no answer is lost.
    req.on('error', (error: NodeJS.ErrnoException) => {
      const refusedUnread =
        (error.code === 'EPIPE' || error.code === 'ECONNRESET') && (shot.body?.length ?? 0) > BODY_LIMIT;
      done(
        refusedUnread
          ? { status: 0, text: '', closedUnread: true }
          : { status: 0, text: '', lost: `no answer: ${error.message}` },
      );
    });
    req.end(shot.body);
  });
}

export async function pool<T>(items: readonly T[], inFlight: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) await each(items[next++]);
    }),
  );
}
