/**
 * The `webhook` channel: POSTs each reply as JSON to the URL in the message's `ChannelRef`.
 *
 * Request: `{ agent, conversationId, reply }` with headers
 * - `idempotency-key: <agent>:<conversationId>:<messageId>`, each part percent-encoded so that any ids give a
 *   sendable, unambiguous key (see `delivery-key.ts`): the same on every attempt. A worker can die after the
 *   receiver got the reply but before Temporal recorded the delivery; the retry then repeats the POST, and the
 *   receiver, deduplicating on this key, still acts on the reply once. The ids themselves, as they are, are in
 *   the JSON body.
 * - `vigil-signature`: see `webhook-signature.ts`.
 * - `vigil-attempt: <n>`: 1 on the first try, for the receiver's logs.
 *
 * Outcome: 2xx delivers. 408, 429, 5xx, network errors and timeouts are retried by Temporal with backoff
 * (sooner or later as a `retry-after` asks). Everything that no retry can change fails at once, non-retryable
 * with type `DeliveryRejected`: other statuses (redirects included), a URL that is not a valid absolute http(s)
 * URL, a URL with credentials (`user:password@`, which fetch refuses to send), a port fetch blocks, a host off
 * the allow-list, a request fetch cannot build (see `fetch-errors.ts`).
 *
 * Error messages name the URL's origin (`scheme://host:port`) only, since webhook paths and queries often carry
 * tokens and a URL may carry credentials; text Vigil does not write (a receiver's answer, a network error) is
 * redacted of the URL's other parts (`url-redaction.ts`). These messages become the transcript's notice, the
 * activity's failure in history and the worker's log lines.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes } from '../conversation/failure-types';
import { compileHostAllowList, type HostAllowList } from '../tools/builtin/http-fetch/host-allow-list';
import { ConfigError } from '../errors';
import type { OutputChannel } from './output-channel';
import { deliveryIdempotencyKey } from './delivery-key';
import { classifyFetchError } from './fetch-errors';
import { redactWebhookUrl, webhookOrigin } from './url-redaction';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook-signature';

export { deliveryIdempotencyKey } from './delivery-key';

export interface WebhookChannelOptions {
  /** The HMAC key shared with receivers; from worker config, never from a message. */
  secret: string;
  /** One attempt's deadline; default 10 s. */
  timeoutMs?: number;
  /**
   * Hosts replies may be posted to (`hooks.example.com`, `*.example.com`). Webhook URLs arrive in messages, so
   * without a list anyone who can send a message can make the worker post signed requests anywhere.
   * Undefined allows every host.
   */
  allowHosts?: readonly string[];
}

/** A receiver asking to wait longer than this is waited on this long: a retry-after should not park a reply. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;
const RETRYABLE_STATUSES = new Set([408, 429]);
const RESPONSE_EXCERPT_BYTES = 300;
/**
 * How much of an error response is read to find the URL's path in it before the excerpt is cut: a path echoed
 * across the cut is still found whole (webhook URLs are at most 2,000 characters, see `ChannelRef`).
 */
const RESPONSE_SCAN_BYTES = 16 * 1024;

/** @throws ConfigError for an empty secret or a bad timeout (the message never contains the secret). */
export function createWebhookChannel(options: WebhookChannelOptions): OutputChannel {
  const timeoutMs = options.timeoutMs ?? 10_000;
  const problems: string[] = [];
  if (typeof options.secret !== 'string' || options.secret === '') {
    problems.push('webhook secret must be a non-empty string');
  }
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) problems.push('webhook timeoutMs must be a positive integer');
  let allowed: HostAllowList | undefined;
  if (options.allowHosts !== undefined) {
    try {
      allowed = compileHostAllowList(options.allowHosts);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems.map((p) => `webhook ${p}`));
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const { secret } = options;

  return {
    type: 'webhook',
    async deliver(input, ctx) {
      if (input.channel.type !== 'webhook') {
        throw rejected(`the webhook channel cannot deliver to ${input.channel.type}`);
      }
      const url = parseWebhookUrl(input.channel.url);
      const origin = webhookOrigin(url);
      if (allowed && !allowed(url.hostname)) {
        throw rejected(`webhook host ${url.hostname} is not in the worker's allow-list (VIGIL_WEBHOOK_ALLOW_HOSTS)`);
      }
      const body = JSON.stringify({ agent: input.agent, conversationId: input.conversationId, reply: input.reply });
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'idempotency-key': deliveryIdempotencyKey(input),
        [SIGNATURE_HEADER]: signWebhookBody(secret, body),
        'vigil-attempt': String(ctx.attempt),
      };
      const deadline = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers,
          body,
          // A redirected POST would carry the signed reply to a host nobody configured.
          redirect: 'manual',
          signal: AbortSignal.any([ctx.signal, deadline]),
        });
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (deadline.aborted) throw retryable(`webhook ${origin} did not answer within ${timeoutMs} ms`);
        const verdict = classifyFetchError(error);
        const reason = verdict.quoted
          ? redactWebhookUrl(verdict.reason, input.channel.url, { pieces: true })
          : verdict.reason;
        if (verdict.retryable) throw retryable(`webhook ${origin} could not be reached: ${reason}`);
        throw rejected(`webhook ${origin}: the request cannot be sent, and no retry would change that: ${reason}`);
      }

      const status = response.status;
      if (status >= 200 && status < 300) {
        await response.body?.cancel();
        return { detail: `HTTP ${status}` };
      }
      const excerpt = await readExcerpt(response, input.channel.url);
      const said = `webhook ${origin} answered HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`;
      if (RETRYABLE_STATUSES.has(status) || status >= 500) {
        throw retryable(said, retryAfterMs(response.headers.get('retry-after')));
      }
      throw rejected(status >= 300 && status < 400 ? `${said} (webhooks do not follow redirects)` : said);
    },
  };
}

function parseWebhookUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw rejected('the webhook URL is not a valid absolute URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw rejected(`webhook URLs must be http or https, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    // fetch refuses such URLs (and its error quotes the whole URL). The credentials are not shown here.
    throw rejected(
      `webhook ${url.origin}: the URL carries credentials (user:password@), which webhook deliveries do not send; ` +
        'remove them (receivers authenticate deliveries by their vigil-signature)',
    );
  }
  return url;
}

/** `retry-after` in seconds or as an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, nowMs: number = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const value = header.trim();
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - nowMs;
  if (Number.isNaN(ms)) return undefined;
  return Math.min(Math.max(ms, 0), MAX_RETRY_AFTER_MS);
}

function retryable(message: string, nextRetryDelayMs?: number): ApplicationFailure {
  return ApplicationFailure.create({ message, type: 'DeliveryFailed', nextRetryDelay: nextRetryDelayMs });
}

function rejected(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureTypes.DeliveryRejected);
}

/**
 * The start of an error response's body, for the failure message, with the webhook URL's path, query and
 * credentials redacted (receivers' error pages often echo the path: `Cannot POST /hooks/<token>`). Only the
 * first RESPONSE_SCAN_BYTES are read.
 */
async function readExcerpt(response: Response, rawUrl: string): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_SCAN_BYTES) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // A body that fails mid-read still leaves the status to report.
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  const text = Buffer.concat(chunks).subarray(0, RESPONSE_SCAN_BYTES).toString('utf8');
  const redacted = redactWebhookUrl(text.replace(/\s+/g, ' '), rawUrl, { pieces: true });
  return cutAtBytes(redacted, RESPONSE_EXCERPT_BYTES).trim();
}

/** The longest start of `text` that is at most `bytes` bytes of UTF-8, cut between characters. */
function cutAtBytes(text: string, bytes: number): string {
  const cut = Buffer.from(text, 'utf8').subarray(0, bytes).toString('utf8');
  return cut.endsWith('\uFFFD') && !text.startsWith(cut) ? cut.slice(0, -1) : cut;
}
