/**
 * The `webhook` channel: POSTs each reply as JSON to the URL in the message's `ChannelRef`.
 *
 * Request: `{ agent, conversationId, reply }` with headers
 * - `idempotency-key: <conversationId>:<reply.messageId>`: the same on every attempt. A worker can die after the
 *   receiver got the reply but before Temporal recorded the delivery; the retry then repeats the POST, and the
 *   receiver, deduplicating on this key, still acts on the reply once.
 * - `vigil-signature`: see `webhook-signature.ts`.
 * - `vigil-attempt: <n>`: 1 on the first try, for the receiver's logs.
 *
 * Outcome: 2xx delivers. 408, 429, 5xx, network errors and timeouts are retried by Temporal with backoff
 * (sooner or later as a `retry-after` asks). Other statuses, redirects included, are a refusal: the failure is
 * non-retryable with type `DeliveryRejected`. Error messages name the URL's origin only, since webhook paths
 * often carry tokens.
 */
import { ApplicationFailure } from '@temporalio/common';
import { FailureTypes, type DeliveryInput } from '../activities/types';
import { compileHostAllowList, type HostAllowList } from '../tools/builtin/http-fetch/host-allow-list';
import { ConfigError } from '../errors';
import type { OutputChannel } from './output-channel';
import { SIGNATURE_HEADER, signWebhookBody } from './webhook-signature';

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
 * The `idempotency-key` of a delivery: stable across attempts of the same reply, and unique across agents
 * (two agents may share a conversation id and message ids).
 */
export function deliveryIdempotencyKey(input: Pick<DeliveryInput, 'agent' | 'conversationId' | 'reply'>): string {
  return `${input.agent}:${input.conversationId}:${input.reply.messageId}`;
}

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
      if (allowed && !allowed(url.hostname)) {
        throw rejected(`webhook host ${url.hostname} is not in the worker's allow-list (VIGIL_WEBHOOK_ALLOW_HOSTS)`);
      }
      const body = JSON.stringify({ agent: input.agent, conversationId: input.conversationId, reply: input.reply });
      const deadline = AbortSignal.timeout(timeoutMs);
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'idempotency-key': deliveryIdempotencyKey(input),
            [SIGNATURE_HEADER]: signWebhookBody(secret, body),
            'vigil-attempt': String(ctx.attempt),
          },
          body,
          // A redirected POST would carry the signed reply to a host nobody configured.
          redirect: 'manual',
          signal: AbortSignal.any([ctx.signal, deadline]),
        });
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (deadline.aborted) throw retryable(`webhook ${url.origin} did not answer within ${timeoutMs} ms`);
        throw retryable(`webhook ${url.origin} could not be reached: ${networkReason(error)}`);
      }

      const status = response.status;
      if (status >= 200 && status < 300) {
        await response.body?.cancel();
        return { detail: `HTTP ${status}` };
      }
      const excerpt = await readExcerpt(response);
      const said = `webhook ${url.origin} answered HTTP ${status}${excerpt ? `: ${excerpt}` : ''}`;
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
 * undici reports `fetch failed` with the reason (ECONNREFUSED, a TLS error, ...) in `cause`. Read by shape, not
 * `instanceof`: the error may come from another realm (jest, vm contexts).
 */
function networkReason(error: unknown): string {
  const { cause, message } = (error ?? {}) as { cause?: { code?: unknown; message?: unknown }; message?: unknown };
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return typeof message === 'string' ? message : 'unknown error';
}

/** The start of an error response's body, for the failure message; the rest is not read. */
async function readExcerpt(response: Response): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < RESPONSE_EXCERPT_BYTES) {
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
  const text = Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8');
  return text.replace(/\s+/g, ' ').trim();
}
