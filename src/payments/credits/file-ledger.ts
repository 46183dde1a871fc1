/**
 * The credits ledger in files, for the embedded default store: `<dataDir>/credits/`.
 *
 * Each account is a chain of numbered, immutable entries, `accounts/<hex of name>/<seq>.json`, each holding the
 * balance after it (a grant or a spend). An entry is written to a temporary file, fsynced, and then hard-linked
 * to its number: `link` fails if the number is taken, so it is an atomic compare-and-set between processes,
 * and an entry is whole before anyone can see it. Two writers that read the same head race for the next
 * number; the loser reads again. No locks, so a crashed process leaves nothing to clean up.
 *
 * Each spend also records its reference in `references/<sha256 of reference>.json` (created the same way),
 * after its entry. A crash between the two is repaired by the next writer of the account, which records the
 * head entry's reference before appending; so every entry below the head has its reference recorded, and a
 * writer that finds the reference unrecorded and then wins the next number knows it is the first to spend it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { link, mkdir, open, readdir, readFile, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
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
  type PaymentConsumer,
} from './ledger';

interface Entry {
  seq: number;
  type: 'grant' | 'spend';
  amountMicros: number;
  balanceMicros: number;
  at: string;
  reference?: string;
  consumer?: PaymentConsumer;
}

interface ReferenceRecord {
  reference: string;
  account: string;
  seq: number;
  amountMicros: number;
  consumer: PaymentConsumer;
  at: string;
}

export interface FileCreditsLedgerOptions {
  /** Vigil's data directory (VIGIL_DATA_DIR); the ledger lives in its `credits/` folder. */
  dataDir: string;
}

const SEQ_DIGITS = 12;

export class FileCreditsLedger implements CreditsLedger {
  readonly name: string;
  private readonly root: string;

  constructor(options: FileCreditsLedgerOptions) {
    this.root = join(resolve(options.dataDir), 'credits');
    this.name = `file:${this.root}`;
  }

  async grant(account: string, amountMicros: number): Promise<{ balanceMicros: number }> {
    check(accountProblem(account) ?? amountProblem(amountMicros));
    for (;;) {
      const head = await this.head(account);
      if (head) await this.recordReference(account, head);
      const balanceMicros = (head?.balanceMicros ?? 0) + amountMicros;
      if (!Number.isSafeInteger(balanceMicros)) throw new Error(`the balance of account "${account}" would overflow`);
      const entry: Entry = { seq: (head?.seq ?? 0) + 1, type: 'grant', amountMicros, balanceMicros, at: now() };
      if (await this.append(account, entry)) return { balanceMicros };
    }
  }

  async balance(account: string): Promise<number | undefined> {
    check(accountProblem(account));
    return (await this.head(account))?.balanceMicros;
  }

  async consume({ account, reference, amountMicros, consumer }: LedgerConsumption): Promise<PaymentOutcome> {
    check(accountProblem(account) ?? amountProblem(amountMicros));
    for (;;) {
      // Head first, then the reference: every entry up to the head has its reference recorded once the head's
      // is, so if the reference is unknown now and the next number is still free, nobody has spent it.
      const head = await this.head(account);
      if (head) await this.recordReference(account, head);
      const known = await this.readReference(reference);
      if (known) return outcomeOf(known, consumer);
      if (!head) return noAccount(account);
      if (head.balanceMicros < amountMicros) return insufficient(account, head.balanceMicros, amountMicros);
      const entry: Entry = {
        seq: head.seq + 1,
        type: 'spend',
        amountMicros,
        balanceMicros: head.balanceMicros - amountMicros,
        at: now(),
        reference,
        consumer,
      };
      if (!(await this.append(account, entry))) continue; // another writer took the number: read again
      await this.recordReference(account, entry);
      return { status: 'paid', reference, amountMicros };
    }
  }

  async close(): Promise<void> {}

  // ---- files -------------------------------------------------------------------------------------------------

  private accountDir(account: string): string {
    // Hex, so names that differ only in case stay apart on case-insensitive file systems.
    return join(this.root, 'accounts', Buffer.from(account, 'utf8').toString('hex'));
  }

  private referencePath(reference: string): string {
    return join(this.root, 'references', `${createHash('sha256').update(reference, 'utf8').digest('hex')}.json`);
  }

  /** The account's last entry, or undefined for an account never granted anything. */
  private async head(account: string): Promise<Entry | undefined> {
    let names: string[];
    try {
      names = await readdir(this.accountDir(account));
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return undefined;
      throw error;
    }
    const last = names
      .filter((name) => /^\d+\.json$/.test(name))
      .sort()
      .at(-1);
    if (last === undefined) return undefined;
    return JSON.parse(await readFile(join(this.accountDir(account), last), 'utf8')) as Entry;
  }

  /** Creates the entry's file; false when its number is taken. */
  private append(account: string, entry: Entry): Promise<boolean> {
    const name = `${String(entry.seq).padStart(SEQ_DIGITS, '0')}.json`;
    return this.createExclusive(join(this.accountDir(account), name), entry);
  }

  private async readReference(reference: string): Promise<ReferenceRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.referencePath(reference), 'utf8')) as ReferenceRecord;
    } catch (error) {
      if (codeOf(error) === 'ENOENT') return undefined;
      throw error;
    }
  }

  /** Records a spend entry's reference if it is not yet; true when this call recorded it. */
  private async recordReference(account: string, entry: Entry): Promise<boolean> {
    if (entry.type !== 'spend' || entry.reference === undefined || entry.consumer === undefined) return false;
    const record: ReferenceRecord = {
      reference: entry.reference,
      account,
      seq: entry.seq,
      amountMicros: entry.amountMicros,
      consumer: entry.consumer,
      at: entry.at,
    };
    return this.createExclusive(this.referencePath(entry.reference), record);
  }

  /**
   * Writes `value` as JSON to `path` only if `path` does not exist, durably: a temporary file is written and
   * fsynced, then linked to `path` (atomic, and failing with EEXIST when taken), then the directory is fsynced.
   */
  private async createExclusive(path: string, value: unknown): Promise<boolean> {
    const dir = join(path, '..');
    await mkdir(dir, { recursive: true });
    const temporary = join(dir, `.tmp-${randomUUID()}`);
    const file = await open(temporary, 'wx', 0o600);
    try {
      await file.writeFile(`${JSON.stringify(value)}\n`, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    try {
      await link(temporary, path);
    } catch (error) {
      if (codeOf(error) === 'EEXIST') return false;
      throw error;
    } finally {
      await unlink(temporary).catch(() => undefined);
    }
    await syncDirectory(dir);
    return true;
  }
}

function outcomeOf(record: ReferenceRecord, consumer: PaymentConsumer): PaymentOutcome {
  return sameConsumer(record.consumer, consumer)
    ? { status: 'paid', reference: record.reference, amountMicros: record.amountMicros }
    : alreadyUsed();
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory; the entry itself is already durable.
    if (!['EINVAL', 'EISDIR', 'EPERM', 'EBADF'].includes(codeOf(error) ?? '')) throw error;
  } finally {
    await handle.close();
  }
}

function check(problem: string | undefined): void {
  if (problem) throw new RangeError(problem);
}

function now(): string {
  return new Date().toISOString();
}

function codeOf(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
