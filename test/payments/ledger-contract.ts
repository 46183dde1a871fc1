/**
 * What every credits ledger backend promises (src/payments/credits/ledger.ts), as one suite run against each:
 * test/payments/file-ledger.test.ts and test/payments/postgres-ledger.test.ts.
 */
import type { CreditsLedger, PaymentConsumer } from '../../src/payments/credits/ledger';

export interface LedgerFixture {
  /** A ledger over the test's store; every call in one test sees the same store. */
  open(): CreditsLedger;
  /** A fresh, empty store for each test. */
  reset(): Promise<void>;
}

const message = (messageId: string, conversationId = 'c1'): PaymentConsumer => ({
  agent: 'paid',
  conversationId,
  messageId,
});

export function ledgerContract(name: string, fixture: () => LedgerFixture): void {
  describe(`${name} credits ledger`, () => {
    const opened: CreditsLedger[] = [];
    const open = (): CreditsLedger => {
      const ledger = fixture().open();
      opened.push(ledger);
      return ledger;
    };

    beforeEach(async () => {
      await fixture().reset();
    });
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((ledger) => ledger.close()));
    });

    test('grants open an account and add up', async () => {
      const ledger = open();
      expect(await ledger.balance('alice')).toBeUndefined();
      expect(await ledger.grant('alice', 2_000_000)).toEqual({ balanceMicros: 2_000_000 });
      expect(await ledger.grant('alice', 500_000)).toEqual({ balanceMicros: 2_500_000 });
      expect(await ledger.balance('alice')).toBe(2_500_000);
    });

    test('a payment takes the amount from the balance', async () => {
      const ledger = open();
      await ledger.grant('alice', 1_000_000);
      expect(
        await ledger.consume({
          account: 'alice',
          reference: 'alice:r1',
          amountMicros: 300_000,
          consumer: message('m1'),
        }),
      ).toEqual({
        status: 'paid',
        reference: 'alice:r1',
        amountMicros: 300_000,
      });
      expect(await ledger.balance('alice')).toBe(700_000);
    });

    test('a payment the balance does not cover is refused, takes nothing, and leaves the reference unused', async () => {
      const ledger = open();
      await ledger.grant('alice', 100_000);
      const refused = await ledger.consume({
        account: 'alice',
        reference: 'alice:r1',
        amountMicros: 300_000,
        consumer: message('m1'),
      });
      expect(refused).toEqual({
        status: 'refused',
        reason: 'account "alice" has 0.1 credits and this message costs 0.3',
      });
      expect(await ledger.balance('alice')).toBe(100_000);
      await ledger.grant('alice', 200_000);
      const paid = await ledger.consume({
        account: 'alice',
        reference: 'alice:r1',
        amountMicros: 300_000,
        consumer: message('m2'),
      });
      expect(paid.status).toBe('paid');
      expect(await ledger.balance('alice')).toBe(0);
    });

    test('an account never granted anything refuses payments', async () => {
      const ledger = open();
      expect(
        await ledger.consume({ account: 'nobody', reference: 'nobody:r1', amountMicros: 1, consumer: message('m1') }),
      ).toEqual({
        status: 'refused',
        reason: 'there is no credits account "nobody"',
      });
    });

    test('a reference used for one message is refused for another, and nothing more is taken', async () => {
      const ledger = open();
      await ledger.grant('alice', 1_000_000);
      await ledger.consume({ account: 'alice', reference: 'alice:r1', amountMicros: 100_000, consumer: message('m1') });
      expect(
        await ledger.consume({
          account: 'alice',
          reference: 'alice:r1',
          amountMicros: 100_000,
          consumer: message('m2'),
        }),
      ).toEqual({
        status: 'refused',
        reason: 'this payment reference was already used for another message',
      });
      // The same message id in another conversation is another message.
      const elsewhere = await ledger.consume({
        account: 'alice',
        reference: 'alice:r1',
        amountMicros: 100_000,
        consumer: message('m1', 'c2'),
      });
      expect(elsewhere.status).toBe('refused');
      expect(await ledger.balance('alice')).toBe(900_000);
    });

    test('the same reference for the same message (a retried activity) answers paid again and is charged once', async () => {
      const ledger = open();
      await ledger.grant('alice', 1_000_000);
      const first = await ledger.consume({
        account: 'alice',
        reference: 'alice:r1',
        amountMicros: 100_000,
        consumer: message('m1'),
      });
      const retry = await ledger.consume({
        account: 'alice',
        reference: 'alice:r1',
        amountMicros: 100_000,
        consumer: message('m1'),
      });
      expect(retry).toEqual(first);
      expect(await ledger.balance('alice')).toBe(900_000);
    });

    test('payments and used references survive a restart (a new ledger over the same store)', async () => {
      const before = open();
      await before.grant('alice', 1_000_000);
      await before.consume({ account: 'alice', reference: 'alice:r1', amountMicros: 250_000, consumer: message('m1') });
      await before.close();
      opened.splice(opened.indexOf(before), 1);

      const after = open();
      expect(await after.balance('alice')).toBe(750_000);
      expect(
        (
          await after.consume({
            account: 'alice',
            reference: 'alice:r1',
            amountMicros: 250_000,
            consumer: message('m2'),
          })
        ).status,
      ).toBe('refused');
      expect(
        (
          await after.consume({
            account: 'alice',
            reference: 'alice:r1',
            amountMicros: 250_000,
            consumer: message('m1'),
          })
        ).status,
      ).toBe('paid');
      expect(await after.balance('alice')).toBe(750_000);
    });

    test('one reference consumed at once by many ledgers for different messages is paid exactly once', async () => {
      await open().grant('alice', 10_000_000);
      const ledgers = Array.from({ length: 8 }, open);
      const outcomes = await Promise.all(
        ledgers.map((ledger, i) =>
          ledger.consume({
            account: 'alice',
            reference: 'alice:race',
            amountMicros: 1_000_000,
            consumer: message(`m${i}`),
          }),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'paid')).toHaveLength(1);
      expect(await ledgers[0].balance('alice')).toBe(9_000_000);
    });

    test('concurrent payments with different references never overdraw the account', async () => {
      await open().grant('alice', 3_000_000);
      const ledgers = Array.from({ length: 8 }, open);
      const outcomes = await Promise.all(
        ledgers.map((ledger, i) =>
          ledger.consume({
            account: 'alice',
            reference: `alice:r${i}`,
            amountMicros: 1_000_000,
            consumer: message(`m${i}`),
          }),
        ),
      );
      expect(outcomes.filter((o) => o.status === 'paid')).toHaveLength(3);
      expect(await ledgers[0].balance('alice')).toBe(0);
    });

    test('a grant concurrent with payments is never lost', async () => {
      const ledger = open();
      await ledger.grant('alice', 5_000_000);
      await Promise.all([
        ...Array.from({ length: 4 }, (_, i) =>
          open().consume({
            account: 'alice',
            reference: `alice:g${i}`,
            amountMicros: 1_000_000,
            consumer: message(`m${i}`),
          }),
        ),
        open().grant('alice', 1_000_000),
        open().grant('alice', 1_000_000),
      ]);
      expect(await ledger.balance('alice')).toBe(3_000_000);
    });

    test('bad account names and amounts are errors, not payments', async () => {
      const ledger = open();
      await expect(ledger.grant('../etc', 1)).rejects.toThrow(RangeError);
      await expect(ledger.grant('alice', 0)).rejects.toThrow(RangeError);
      await expect(ledger.grant('alice', 1.5)).rejects.toThrow(RangeError);
    });
  });
}
