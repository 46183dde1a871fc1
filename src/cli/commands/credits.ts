/** `vigil credits`: the credits ledger that pays for messages to agents priced with the `credits` verifier. */
import type { Command } from 'commander';
import { ValidationError } from '../../errors';
import { createCreditsLedger, formatCredits, parseCredits, type CreditsLedger } from '../../payments';
import { accountProblem } from '../../payments/credits/ledger';
import { globalOptions, workerConfig, type Env } from '../settings';
import { CommandFailed } from '../exit-codes';

const STORE_VARIABLES = ['VIGIL_STORE', 'VIGIL_DATA_DIR', 'VIGIL_STORE_POSTGRES_URL'] as const;

/** The ledger of the configured store; only the store's variables are read (no model key is needed). */
function openLedger(command: Command, env: Env = process.env): CreditsLedger {
  const storeOnly: Env = Object.fromEntries(STORE_VARIABLES.map((name) => [name, env[name]]));
  // A placeholder for a model server that is never called, as for the other client commands.
  storeOnly.OPENAI_BASE_URL = 'http://model.invalid/v1';
  return createCreditsLedger(workerConfig(globalOptions(command), storeOnly).store);
}

function checkAccount(account: string): void {
  const problem = accountProblem(account);
  if (problem) throw new ValidationError(problem);
}

async function withLedger<T>(command: Command, work: (ledger: CreditsLedger) => Promise<T>): Promise<T> {
  const ledger = openLedger(command);
  try {
    return await work(ledger);
  } finally {
    await ledger.close();
  }
}

export function registerCredits(program: Command): void {
  const credits = program
    .command('credits')
    .description('the credits ledger that pays for messages (grant, balance)')
    .addHelpText(
      'after',
      `
An agent with pricing { pricePerMessageMicros, verifier: 'credits' } takes, for each message, the price from
the account its payment reference names: payment: { reference: "<account>:<unique id>" }. A reference is
spent once; resend it only to retry the same message. 1 credit = 1,000,000 microcredits.

The ledger lives where the content store does: <VIGIL_DATA_DIR>/credits (VIGIL_STORE=file, the default), or
the vigil_credit_* tables of VIGIL_STORE_POSTGRES_URL (VIGIL_STORE=postgres).

Examples:
  $ vigil credits grant alice 10          # 10 credits
  $ vigil credits grant alice 0.25
  $ vigil credits balance alice`,
    );

  credits
    .command('grant')
    .description('add credits to an account, opening it if it is new')
    .argument('<account>', 'account name: letters, digits and . _ @ -')
    .argument('<amount>', 'credits, up to 6 decimals, e.g. 10 or 0.25')
    .option('--json', 'print { account, grantedMicros, balanceMicros }')
    .action(async (account: string, amount: string, options: { json?: boolean }, command: Command) => {
      checkAccount(account);
      const micros = parseCredits(amount);
      if (micros === undefined || micros === 0) {
        throw new ValidationError(
          `amount must be a number of credits above 0 with up to 6 decimals, e.g. 10 or 0.25 (got "${amount.slice(0, 40)}")`,
        );
      }
      const { balanceMicros } = await withLedger(command, (ledger) => ledger.grant(account, micros));
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ account, grantedMicros: micros, balanceMicros })}\n`
          : `granted ${formatCredits(micros)} credits to ${account}; balance ${formatCredits(balanceMicros)}\n`,
      );
    });

  credits
    .command('balance')
    .description("print an account's balance")
    .argument('<account>', 'account name')
    .option('--json', 'print { account, balanceMicros }')
    .action(async (account: string, options: { json?: boolean }, command: Command) => {
      checkAccount(account);
      const balance = await withLedger(command, (ledger) => ledger.balance(account));
      if (balance === undefined) throw new CommandFailed(`there is no credits account "${account}"`);
      process.stdout.write(
        options.json
          ? `${JSON.stringify({ account, balanceMicros: balance })}\n`
          : `${account}: ${formatCredits(balance)} credits\n`,
      );
    });
}
