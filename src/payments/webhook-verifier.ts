/**
 * The `webhook` payment verifier: asks your payment service whether a reference pays for a message.
 *
 * `POST <url>` with JSON `{ reference, amountMicros, agent, conversationId, messageId, author }`, headers
 * `idempotency-key: <reference>` and `vigil-signature` (the same HMAC scheme as reply webhooks: verify it with
 * `verifyWebhookSignature` from src/channels and your secret). The service answers 2xx with
 * `{ "valid": true }` or `{ "valid": false, "reason": "..." }`, and must keep the ledger's promise: a reference
 * is consumed once; asked again for the same agent, conversation and message id it answers `valid: true` again
 * (Vigil retries after a crash); for another message it answers `valid: false`.
 *
 * 408, 429, 5xx, timeouts and network errors throw (the activity is retried); any other 4xx, a `valid: false`
 * and a malformed answer are refusals. The URL and the secret never appear in an error or a log.
 */
import { z } from 'zod';
import { signWebhookBody, SIGNATURE_HEADER } from '../channels/webhook-signature';
import type { PaymentOutcome, PaymentRequest, PaymentVerifier } from '../conversation/payment';

export const WEBHOOK_VERIFIER = 'webhook';
export const DEFAULT_PAYMENT_WEBHOOK_TIMEOUT_MS = 10_000;

export interface WebhookPaymentVerifierOptions {
  url: string;
  /** Signs each request (VIGIL_PAYMENT_WEBHOOK_SECRET). */
  secret: string;
  /** One request's time limit; default 10 s. */
  timeoutMs?: number;
  /** Default `webhook`. */
  name?: string;
  /** Default globalThis.fetch; tests may pass their own. */
  fetch?: typeof globalThis.fetch;
}

/** A failure that may pass: the activity throws it and Temporal retries. */
export class PaymentServiceUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = new.target.name;
  }
}

const Answer = z.object({ valid: z.boolean(), reason: z.string().optional() });
const MAX_REASON_LENGTH = 300;

export class WebhookPaymentVerifier implements PaymentVerifier {
  readonly name: string;
  private readonly url: string;
  private readonly secret: string;
  private readonly timeoutMs: number;
  private readonly fetch: typeof globalThis.fetch;
  /** What errors call the service: its host only (the URL's path or query may hold a token). */
  private readonly label: string;

  constructor(options: WebhookPaymentVerifierOptions) {
    this.url = options.url;
    this.secret = options.secret;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_PAYMENT_WEBHOOK_TIMEOUT_MS;
    this.name = options.name ?? WEBHOOK_VERIFIER;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.label = `the payment service at ${new URL(options.url).host}`;
  }

  async consume(request: PaymentRequest, options: { signal?: AbortSignal } = {}): Promise<PaymentOutcome> {
    const { reference, amountMicros, agent, conversationId, messageId, author } = request;
    const body = JSON.stringify({ reference, amountMicros, agent, conversationId, messageId, author: author ?? null });
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let response: Response;
    try {
      response = await this.fetch(this.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'idempotency-key': reference,
          [SIGNATURE_HEADER]: signWebhookBody(this.secret, body),
        },
        body,
        signal,
        redirect: 'error',
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason ?? error;
      const why = timeout.aborted
        ? `did not answer within ${this.timeoutMs} ms`
        : `could not be reached (${causeOf(error)})`;
      throw new PaymentServiceUnavailableError(`${this.label} ${why}`);
    }
    const text = await response.text().catch(() => '');
    if (response.status === 408 || response.status === 429 || response.status >= 500) {
      throw new PaymentServiceUnavailableError(`${this.label} answered HTTP ${response.status}`);
    }
    if (response.status < 200 || response.status >= 300) {
      const reason = answerOf(text)?.reason;
      return {
        status: 'refused',
        reason: reason ? clip(reason) : `the payment service refused it (HTTP ${response.status})`,
      };
    }
    const answer = answerOf(text);
    if (!answer) return { status: 'refused', reason: 'the payment service gave an answer Vigil cannot read' };
    if (!answer.valid)
      return { status: 'refused', reason: clip(answer.reason || 'the payment service did not accept it') };
    return { status: 'paid', reference, amountMicros };
  }
}

function answerOf(text: string): z.infer<typeof Answer> | undefined {
  try {
    const parsed = Answer.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

function clip(reason: string): string {
  return reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}…` : reason;
}

/** A network error's code (ECONNREFUSED...) or name, never its message: undici's may quote the URL. */
function causeOf(error: unknown): string {
  const cause = (error as { cause?: { code?: string } })?.cause;
  return cause?.code ?? (error instanceof Error ? error.name : 'unknown error');
}
