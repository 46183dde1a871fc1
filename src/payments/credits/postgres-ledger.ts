/**
 * The credits ledger in PostgreSQL, beside the content store (VIGIL_STORE=postgres): tables
 * `vigil_credit_accounts` (a balance that a CHECK keeps at zero or above), `vigil_credit_grants` (what operators
 * granted) and `vigil_credit_payments` (one row per consumed reference, the reference its primary key).
 *
 * A consumption is one transaction: insert the payment row (a concurrent insert of the same reference waits
 * for this one and then finds it), then take the amount from the balance only where the balance covers it. A
 * refusal rolls back, so a refused reference stays unused. Errors never carry the connection URL.
 */
import { Pool, type PoolClient } from 'pg';
import type { PaymentOutcome } from '../../conversation/payment';
import {
  accountProblem,
  alreadyUsed,
  amountProblem,
  insufficient,
  noAccount,
  sameConsumer,
  type CreditsLedger,
  type LedgerConsumption,
} from './ledger';

export interface PostgresCreditsLedgerOptions {
  /** `postgres://user:password@host:5432/database` (VIGIL_STORE_POSTGRES_URL); a secret, never logged. */
  url: string;
  /** Pool size; default 5. */
  maxConnections?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS vigil_credit_accounts (
  account text PRIMARY KEY,
  balance_micros bigint NOT NULL CHECK (balance_micros >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS vigil_credit_grants (
  id bigserial PRIMARY KEY,
  account text NOT NULL REFERENCES vigil_credit_accounts (account),
  amount_micros bigint NOT NULL CHECK (amount_micros > 0),
  granted_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS vigil_credit_payments (
  reference text PRIMARY KEY,
  account text NOT NULL REFERENCES vigil_credit_accounts (account),
  amount_micros bigint NOT NULL CHECK (amount_micros > 0),
  agent text NOT NULL,
  conversation_id text NOT NULL,
  message_id text NOT NULL,
  consumed_at timestamptz NOT NULL DEFAULT now()
);`;

const FOREIGN_KEY_VIOLATION = '23503';

export class PostgresCreditsLedger implements CreditsLedger {
  readonly name: string;
  private readonly pool: Pool;
  private readonly secrets: string[];
  private schema?: Promise<void>;

  constructor(options: PostgresCreditsLedgerOptions) {
    const url = new URL(options.url);
    this.name = `postgres:${url.host}${url.pathname}#vigil_credit_accounts`;
    this.secrets = [options.url, url.password, decodeURIComponent(url.password)].filter((value) => value !== '');
    this.pool = new Pool({
      connectionString: options.url,
      max: options.maxConnections ?? 5,
      connectionTimeoutMillis: 10_000,
      query_timeout: 30_000,
      application_name: 'vigil-credits',
    });
    // An idle connection dropped by the server must not crash the worker; the next query reconnects.
    this.pool.on('error', () => undefined);
  }

  async grant(account: string, amountMicros: number): Promise<{ balanceMicros: number }> {
    check(accountProblem(account) ?? amountProblem(amountMicros));
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ balance_micros: string }>(
        `INSERT INTO vigil_credit_accounts (account, balance_micros) VALUES ($1, $2)
         ON CONFLICT (account) DO UPDATE
           SET balance_micros = vigil_credit_accounts.balance_micros + EXCLUDED.balance_micros, updated_at = now()
         RETURNING balance_micros`,
        [account, amountMicros],
      );
      await client.query('INSERT INTO vigil_credit_grants (account, amount_micros) VALUES ($1, $2)', [
        account,
        amountMicros,
      ]);
      return { balanceMicros: toNumber(rows[0].balance_micros) };
    });
  }

  async balance(account: string): Promise<number | undefined> {
    check(accountProblem(account));
    return this.transaction(async (client) => {
      const { rows } = await client.query<{ balance_micros: string }>(
        'SELECT balance_micros FROM vigil_credit_accounts WHERE account = $1',
        [account],
      );
      return rows.length === 0 ? undefined : toNumber(rows[0].balance_micros);
    });
  }

  async consume({ account, reference, amountMicros, consumer }: LedgerConsumption): Promise<PaymentOutcome> {
    check(accountProblem(account) ?? amountProblem(amountMicros));
    return this.transaction(async (client) => {
      let inserted: number;
      try {
        await client.query('SAVEPOINT payment');
        const result = await client.query(
          `INSERT INTO vigil_credit_payments (reference, account, amount_micros, agent, conversation_id, message_id)
           VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (reference) DO NOTHING`,
          [reference, account, amountMicros, consumer.agent, consumer.conversationId, consumer.messageId],
        );
        inserted = result.rowCount ?? 0;
      } catch (error) {
        if ((error as { code?: string }).code !== FOREIGN_KEY_VIOLATION) throw error;
        await client.query('ROLLBACK TO SAVEPOINT payment');
        return noAccount(account);
      }
      if (inserted === 0) {
        const { rows } = await client.query<{
          amount_micros: string;
          agent: string;
          conversation_id: string;
          message_id: string;
        }>('SELECT amount_micros, agent, conversation_id, message_id FROM vigil_credit_payments WHERE reference = $1', [
          reference,
        ]);
        const row = rows[0];
        const earlier = { agent: row.agent, conversationId: row.conversation_id, messageId: row.message_id };
        return sameConsumer(earlier, consumer)
          ? { status: 'paid', reference, amountMicros: toNumber(row.amount_micros) }
          : alreadyUsed();
      }
      const spent = await client.query(
        `UPDATE vigil_credit_accounts SET balance_micros = balance_micros - $2, updated_at = now()
         WHERE account = $1 AND balance_micros >= $2`,
        [account, amountMicros],
      );
      if (spent.rowCount === 0) {
        const { rows } = await client.query<{ balance_micros: string }>(
          'SELECT balance_micros FROM vigil_credit_accounts WHERE account = $1',
          [account],
        );
        // Undo the payment row: a refused reference stays unused.
        await client.query('ROLLBACK TO SAVEPOINT payment');
        return insufficient(account, toNumber(rows[0]?.balance_micros ?? '0'), amountMicros);
      }
      return { status: 'paid', reference, amountMicros };
    });
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Runs `work` in one transaction, after creating the tables once per ledger. */
  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    try {
      this.schema ??= this.createSchema().catch((error: unknown) => {
        this.schema = undefined; // try again on the next call
        throw error;
      });
      await this.schema;
      const client = await this.pool.connect();
      try {
        await client.query('BEGIN');
        const result = await work(client);
        await client.query('COMMIT');
        return result;
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      } finally {
        client.release();
      }
    } catch (error) {
      throw this.redacted(error);
    }
  }

  private async createSchema(): Promise<void> {
    const client = await this.pool.connect();
    try {
      // Serialised: concurrent CREATE TABLE IF NOT EXISTS may still collide in the catalog.
      await client.query('BEGIN');
      await client.query("SELECT pg_advisory_xact_lock(hashtext('vigil_credit_schema'))");
      await client.query(SCHEMA);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** The driver's error with every form of the URL and password removed from its message. */
  private redacted(error: unknown): Error {
    if (!(error instanceof Error)) return new Error(`credits ledger ${this.name} failed`);
    let message = error.message;
    for (const secret of this.secrets) message = message.split(secret).join('***');
    if (message === error.message) return error;
    const clean = new Error(message);
    clean.name = error.name;
    return clean;
  }
}

function toNumber(value: string | number): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number)) throw new Error(`a ledger amount is out of range: ${String(value)}`);
  return number;
}

function check(problem: string | undefined): void {
  if (problem) throw new RangeError(problem);
}
