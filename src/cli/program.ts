/**
 * The `vigil` command line: global options and one subcommand per file in ./commands. Errors are thrown rather
 * than exiting, so `runCli` decides every exit code in one place (see exit-codes.ts).
 */
import { ServiceError } from '@temporalio/client';
import { Command, CommanderError } from 'commander';
import { ValidationError, VigilError } from '../errors';
import { registerChat } from './commands/chat';
import { registerCredits } from './commands/credits';
import { registerDev } from './commands/dev';
import { registerFork } from './commands/fork';
import { registerGateway } from './commands/gateway';
import { registerInit } from './commands/init';
import { registerInspect } from './commands/inspect';
import { registerList } from './commands/list';
import { registerReplay } from './commands/replay';
import { registerSchedule } from './commands/schedule';
import { registerSend } from './commands/send';
import { registerTestServer } from './commands/test-server';
import { registerWorker } from './commands/worker';
import { temporalSaid } from './temporal-client';
import { EXIT_OK, exitCodeFor, UsageError } from './exit-codes';

export function createProgram(): Command {
  const program = new Command('vigil')
    .description('Vigil: durable agent conversations on Temporal')
    .option('--address <host:port>', 'Temporal frontend address (overrides TEMPORAL_ADDRESS; default 127.0.0.1:7233)')
    .option('--namespace <name>', 'Temporal namespace (overrides TEMPORAL_NAMESPACE; default "default")')
    .option('--task-queue <name>', 'task queue of Vigil workers (overrides VIGIL_TASK_QUEUE; default "vigil")')
    .helpCommand(true)
    .showHelpAfterError('(run with --help for usage)')
    .showSuggestionAfterError()
    // Throw instead of exiting, in every subcommand too (they inherit it): runCli maps errors to exit codes.
    .exitOverride()
    .addHelpText(
      'after',
      `
Global options may come before or after the command. Other settings come from the environment; see
docs/07-operating.md.

Examples:
  $ vigil init my-agents                       # a new app with an agent, a tool and a test
  $ vigil dev                                  # Temporal, a worker and (without a model key) the demo model
  $ vigil send user-42 "what is 17*23"         # in another terminal
  $ vigil inspect user-42
  $ vigil fork user-42 --at-turn 2             # a new conversation from its first 2 turns
  $ vigil list --status awaiting_approval
  $ vigil replay test/replay/histories         # before deploying a workflow change
  $ OPENAI_API_KEY=sk-... vigil worker --address temporal.internal:7233`,
    );

  registerInit(program);
  registerDev(program);
  registerWorker(program);
  registerGateway(program);
  registerSend(program);
  registerChat(program);
  registerFork(program);
  registerInspect(program);
  registerList(program);
  registerReplay(program);
  registerSchedule(program);
  registerCredits(program);
  registerTestServer(program);
  return program;
}

/** Parses and runs one command line (without `node` and the script); resolves to the exit code. */
export async function runCli(argv: string[]): Promise<number> {
  const program = createProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT_OK;
  } catch (error) {
    // Commander has already printed its own errors (and help, with the hint) to stderr.
    if (!(error instanceof CommanderError)) {
      process.stderr.write(`vigil: ${describe(error)}\n`);
      if (error instanceof UsageError || error instanceof ValidationError) {
        process.stderr.write('(run with --help for usage)\n');
      }
    }
    return exitCodeFor(error);
  }
}

/**
 * One sentence, never a stack trace. Vigil's own errors are written for people: the message alone. Temporal's
 * refusals say what the server said (an invalid query, say). Anything else is a bug in Vigil: its message,
 * and its stack when the log level is `debug` or `trace`.
 */
function describe(error: unknown): string {
  if (error instanceof VigilError) return error.message;
  if (error instanceof ServiceError) {
    return `Temporal refused the request: ${error.message.replace(/^\w/, (c) => c.toLowerCase())}: ${temporalSaid(error)}`;
  }
  const message = error instanceof Error ? error.message : String(error);
  const debug = ['debug', 'trace'].includes(process.env.VIGIL_LOG_LEVEL ?? '');
  if (debug && error instanceof Error && error.stack) return `unexpected error: ${error.stack}`;
  return `unexpected error (a bug in Vigil: please report it; VIGIL_LOG_LEVEL=debug shows where it happened): ${message}`;
}
