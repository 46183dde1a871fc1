import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { FileCreditsLedger } from '../../src/payments/credits/file-ledger';
import type { PaymentOutcome } from '../../src/conversation/payment';
import { ledgerContract } from './ledger-contract';

let dataDir = mkdtempSync(join(tmpdir(), 'vigil-credits-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

ledgerContract('file', () => ({
  open: () => new FileCreditsLedger({ dataDir }),
  reset: async () => {
    rmSync(dataDir, { recursive: true, force: true });
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-credits-'));
  },
}));

describe('file credits ledger on disk', () => {
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'vigil-credits-'));
  });

  test('one reference consumed by several processes at once is paid exactly once', async () => {
    const ledger = new FileCreditsLedger({ dataDir });
    await ledger.grant('alice', 10_000_000);
    const children = Array.from({ length: 4 }, (_, i) =>
      spawn(
        process.execPath,
        ['--import', 'tsx', join(__dirname, 'consume-child.ts'), dataDir, 'alice:race', `m${i}`],
        {
          stdio: ['pipe', 'pipe', 'inherit'],
        },
      ),
    );
    const lines = children.map((child) => createInterface({ input: child.stdout })[Symbol.asyncIterator]());
    // Every process is loaded and waiting before any consumes.
    for (const line of lines) expect((await line.next()).value).toBe('ready');
    for (const child of children) child.stdin.write('go\n');
    const outcomes = await Promise.all(
      lines.map(async (line) => JSON.parse((await line.next()).value as string) as PaymentOutcome),
    );
    await Promise.all(children.filter((child) => child.exitCode === null).map((child) => once(child, 'exit')));

    expect(outcomes.filter((o) => o.status === 'paid')).toHaveLength(1);
    expect(outcomes.filter((o) => o.status === 'refused').map((o) => o.status === 'refused' && o.reason)).toEqual(
      Array(3).fill('this payment reference was already used for another message'),
    );
    expect(await ledger.balance('alice')).toBe(9_000_000);
  });

  test('a spend whose reference record was lost in a crash is still never spent twice', async () => {
    const ledger = new FileCreditsLedger({ dataDir });
    await ledger.grant('alice', 3_000_000);
    await ledger.consume({
      account: 'alice',
      reference: 'alice:r1',
      amountMicros: 1_000_000,
      consumer: { agent: 'a', conversationId: 'c', messageId: 'm1' },
    });
    // The process died after writing the account entry and before recording the reference.
    const references = join(dataDir, 'credits', 'references');
    for (const name of readdirSync(references)) rmSync(join(references, name));

    const again = await new FileCreditsLedger({ dataDir }).consume({
      account: 'alice',
      reference: 'alice:r1',
      amountMicros: 1_000_000,
      consumer: { agent: 'a', conversationId: 'c', messageId: 'm2' },
    });
    expect(again.status).toBe('refused');
    expect(await ledger.balance('alice')).toBe(2_000_000);
  });

  test('a stray temporary file from a crash is ignored', async () => {
    const ledger = new FileCreditsLedger({ dataDir });
    await ledger.grant('alice', 1_000_000);
    const account = join(dataDir, 'credits', 'accounts', Buffer.from('alice').toString('hex'));
    writeFileSync(join(account, '.tmp-crashed'), '{"half":');
    expect(await ledger.balance('alice')).toBe(1_000_000);
    expect((await ledger.grant('alice', 1)).balanceMicros).toBe(1_000_001);
  });
});
