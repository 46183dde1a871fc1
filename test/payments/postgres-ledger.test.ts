import { PostgresCreditsLedger } from '../../src/payments/credits/postgres-ledger';
import { startPostgres, type TestPostgres } from '../helpers/postgres';
import { ledgerContract } from './ledger-contract';

let server: TestPostgres;
let url: string;
let databases = 0;

beforeAll(async () => {
  server = await startPostgres();
}, 120_000);
afterAll(async () => {
  await server?.stop();
});

ledgerContract('PostgreSQL', () => ({
  open: () => new PostgresCreditsLedger({ url }),
  reset: async () => {
    url = await server.createDatabase(`credits_${++databases}`);
  },
}));

describe('PostgreSQL credits ledger', () => {
  beforeEach(async () => {
    url = await server.createDatabase(`credits_${++databases}`);
  });

  test('payments survive a restart of the server', async () => {
    const ledger = new PostgresCreditsLedger({ url });
    await ledger.grant('alice', 1_000_000);
    await ledger.consume({
      account: 'alice',
      reference: 'alice:r1',
      amountMicros: 400_000,
      consumer: { agent: 'a', conversationId: 'c', messageId: 'm1' },
    });
    await ledger.close();
    await server.restart();
    const after = new PostgresCreditsLedger({ url });
    try {
      expect(await after.balance('alice')).toBe(600_000);
      const again = await after.consume({
        account: 'alice',
        reference: 'alice:r1',
        amountMicros: 400_000,
        consumer: { agent: 'a', conversationId: 'c', messageId: 'm2' },
      });
      expect(again.status).toBe('refused');
    } finally {
      await after.close();
    }
  }, 60_000);

  test('an unreachable database is an error without the password in it', async () => {
    const ledger = new PostgresCreditsLedger({ url: `postgres://vigil:${server.password}@127.0.0.1:1/none` });
    try {
      const error = await ledger.balance('alice').then(
        () => undefined,
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(Error);
      expect(String(error?.message)).not.toContain(server.password);
    } finally {
      await ledger.close();
    }
  });
});
