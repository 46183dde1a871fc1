/**
 * One process of the cross-process test: waits for "go" on stdin (so every process is loaded before any
 * starts), consumes one reference from the file ledger, prints the outcome as JSON.
 * Args: <dataDir> <reference> <messageId>
 */
import { FileCreditsLedger } from '../../src/payments/credits/file-ledger';
import { CreditsLedgerVerifier } from '../../src/payments/credits/verifier';

const [dataDir, reference, messageId] = process.argv.slice(2);
const verifier = new CreditsLedgerVerifier(new FileCreditsLedger({ dataDir }));
process.stdout.write('ready\n');
process.stdin.once('data', () => {
  verifier
    .consume({ reference, amountMicros: 1_000_000, agent: 'paid', conversationId: 'c1', messageId })
    .then((outcome) => {
      process.stdout.write(`${JSON.stringify(outcome)}\n`);
      process.exit(0);
    })
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
});
