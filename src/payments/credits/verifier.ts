/**
 * The `credits` payment verifier: a message pays from a credits account named in its payment reference,
 * `<account>:<unique id>` (e.g. `alice:8f14e45f-ceea-467f`). The unique id is the payer's own: the same
 * reference is never accepted twice, so a client makes a new one per message (a UUID) and reuses it only to
 * retry that same message.
 *
 * Trust: whoever may send messages to the agent (the gateway's token holder, or an app with a Temporal client)
 * may spend any account they can name. Put the account in the reference on your server, from your own login,
 * never from what an end user typed.
 */
import type { PaymentOutcome, PaymentRequest, PaymentVerifier } from '../../conversation/payment';
import { accountProblem, type CreditsLedger } from './ledger';

export const CREDITS_VERIFIER = 'credits';

/** The account a reference pays from, or the reason the reference is not a credits reference. */
export function accountOf(reference: string): { account: string } | { problem: string } {
  const colon = reference.indexOf(':');
  if (colon <= 0 || colon === reference.length - 1) {
    return { problem: 'a credits payment reference reads <account>:<unique id>, e.g. alice:8f14e45f-ceea-467f' };
  }
  const account = reference.slice(0, colon);
  const problem = accountProblem(account);
  return problem ? { problem: `the payment reference names an invalid ${problem}` } : { account };
}

export class CreditsLedgerVerifier implements PaymentVerifier {
  readonly name: string;

  constructor(
    private readonly ledger: CreditsLedger,
    options: { name?: string } = {},
  ) {
    this.name = options.name ?? CREDITS_VERIFIER;
  }

  async consume(request: PaymentRequest): Promise<PaymentOutcome> {
    const parsed = accountOf(request.reference);
    if ('problem' in parsed) return { status: 'refused', reason: parsed.problem };
    const { agent, conversationId, messageId } = request;
    return this.ledger.consume({
      account: parsed.account,
      reference: request.reference,
      amountMicros: request.amountMicros,
      consumer: { agent, conversationId, messageId },
    });
  }
}
