/**
 * The credits ledger: accounts with balances in microcredits, granted by an operator (`vigil credits grant`)
 * and spent by paid messages. Two backends keep the same promises (test/payments/ledger-contract.ts):
 * a file ledger under the data directory and a PostgreSQL ledger beside the content store.
 *
 * Promises: a balance never goes below zero; a payment reference is consumed at most once, ever; consuming it
 * again for the same message answers the same `paid` outcome (a retried activity is not charged twice), and for
 * another message is refused as already used. Both hold across processes, restarts and concurrent callers.
 */
import type { PaymentOutcome } from '../../conversation/payment';

/** Which message a consumption paid for: a message id is unique within its conversation only. */
export interface PaymentConsumer {
  agent: string;
  conversationId: string;
  messageId: string;
}

export interface LedgerConsumption {
  account: string;
  reference: string;
  amountMicros: number;
  consumer: PaymentConsumer;
}

export interface CreditsLedger {
  /** e.g. `file:/var/lib/vigil/credits`; never a secret. */
  readonly name: string;
  /** Adds credits, opening the account when it is new; resolves to the new balance. */
  grant(account: string, amountMicros: number): Promise<{ balanceMicros: number }>;
  /** The account's balance, or undefined when it has never been granted anything. */
  balance(account: string): Promise<number | undefined>;
  /** Checks and spends in one step, keyed by the reference (see the module comment). */
  consume(consumption: LedgerConsumption): Promise<PaymentOutcome>;
  close(): Promise<void>;
}

/** Letters, digits and . _ @ - (up to 100): safe in a reference, a file name and a log line. */
export const ACCOUNT_PATTERN = /^[A-Za-z0-9._@-]{1,100}$/;

/** Why `account` is not a valid account name, or undefined. */
export function accountProblem(account: string): string | undefined {
  if (!ACCOUNT_PATTERN.test(account) || /^\.+$/.test(account)) {
    return `account "${account.slice(0, 100)}" must be 1 to 100 letters, digits and . _ @ - (not only dots)`;
  }
  return undefined;
}

/** Whole microcredits a ledger may hold or move: positive, and exact in a JS number. */
export function amountProblem(amountMicros: number): string | undefined {
  if (!Number.isSafeInteger(amountMicros) || amountMicros <= 0)
    return 'the amount must be a whole number of microcredits above 0';
  return undefined;
}

export function sameConsumer(a: PaymentConsumer, b: PaymentConsumer): boolean {
  return a.agent === b.agent && a.conversationId === b.conversationId && a.messageId === b.messageId;
}

export function alreadyUsed(): PaymentOutcome {
  return { status: 'refused', reason: 'this payment reference was already used for another message' };
}

export function insufficient(account: string, balanceMicros: number, amountMicros: number): PaymentOutcome {
  return {
    status: 'refused',
    reason: `account "${account}" has ${formatCredits(balanceMicros)} credits and this message costs ${formatCredits(amountMicros)}`,
  };
}

export function noAccount(account: string): PaymentOutcome {
  return { status: 'refused', reason: `there is no credits account "${account}"` };
}

/** Microcredits as credits: `2500000` -> `2.5`, `1` -> `0.000001`. */
export function formatCredits(micros: number): string {
  const whole = Math.floor(micros / 1_000_000);
  const fraction = String(micros % 1_000_000)
    .padStart(6, '0')
    .replace(/0+$/, '');
  return fraction ? `${whole}.${fraction}` : String(whole);
}

/** `"2.5"` -> `2500000`; exact (no floating point), at most 6 decimals; undefined when not an amount. */
export function parseCredits(text: string): number | undefined {
  const match = /^(\d{1,9})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!match) return undefined;
  return Number(match[1]) * 1_000_000 + Number((match[2] ?? '').padEnd(6, '0'));
}
