/**
 * Paying for messages: the PaymentVerifier interface, the credits ledger (files or PostgreSQL, wherever the
 * content store is) and the webhook verifier, and how a worker builds them from its configuration.
 *
 * @example
 * // in the worker
 * const payments = createPaymentVerifiers(config);
 * createActivities({ ...deps, paymentVerifiers: payments.verifiers });
 * // at shutdown
 * await payments.close();
 */
import type { Config, StoreSettings } from '../config';
import { FileCreditsLedger } from './credits/file-ledger';
import type { CreditsLedger } from './credits/ledger';
import { PostgresCreditsLedger } from './credits/postgres-ledger';
import { CreditsLedgerVerifier } from './credits/verifier';
import type { PaymentVerifier } from '../conversation/payment';
import { WebhookPaymentVerifier } from './webhook-verifier';

export type { PaymentCheckInput, PaymentOutcome, PaymentRequest, PaymentVerifier } from '../conversation/payment';
export { paymentRefusedReply, paymentRequiredReply } from '../conversation/payment';
export {
  formatCredits,
  parseCredits,
  type CreditsLedger,
  type LedgerConsumption,
  type PaymentConsumer,
} from './credits/ledger';
export { FileCreditsLedger, type FileCreditsLedgerOptions } from './credits/file-ledger';
export { PostgresCreditsLedger, type PostgresCreditsLedgerOptions } from './credits/postgres-ledger';
export { accountOf, CREDITS_VERIFIER, CreditsLedgerVerifier } from './credits/verifier';
export {
  PaymentServiceUnavailableError,
  WEBHOOK_VERIFIER,
  WebhookPaymentVerifier,
  type WebhookPaymentVerifierOptions,
} from './webhook-verifier';

/** The credits ledger beside the content store: `<dataDir>/credits/`, or tables in the same PostgreSQL. */
export function createCreditsLedger(store: StoreSettings): CreditsLedger {
  return store.kind === 'postgres'
    ? new PostgresCreditsLedger({ url: store.url })
    : new FileCreditsLedger({ dataDir: store.dataDir });
}

/**
 * The worker's payment verifiers: `credits` always (it touches the store only when a paid message comes), and
 * `webhook` when VIGIL_PAYMENT_WEBHOOK_URL and its secret are set.
 */
export function createPaymentVerifiers(config: Pick<Config, 'store' | 'paymentWebhook'>): {
  verifiers: PaymentVerifier[];
  close(): Promise<void>;
} {
  const ledger = createCreditsLedger(config.store);
  const verifiers: PaymentVerifier[] = [new CreditsLedgerVerifier(ledger)];
  if (config.paymentWebhook) verifiers.push(new WebhookPaymentVerifier(config.paymentWebhook));
  return { verifiers, close: () => ledger.close() };
}
