/**
 * The CLI's exit codes, and which error gets which: 2 when the command line or the configuration is wrong
 * (nothing to retry until it is fixed), 1 when the work itself failed.
 */
import { CommanderError } from 'commander';
import { ConfigError, UnknownAgentError, ValidationError, VigilError } from '../errors';

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A mistake on the command line that the parser could not catch (say, two options that exclude each other). */
export class UsageError extends VigilError {}

/** The command ran and failed, for a reason already put in words; main prints the message and exits 1. */
export class CommandFailed extends VigilError {}

export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
  // An agent no worker serves is a wrong --agent: nothing to retry until the command line is fixed.
  if (
    error instanceof UsageError ||
    error instanceof ConfigError ||
    error instanceof ValidationError ||
    error instanceof UnknownAgentError
  ) {
    return EXIT_USAGE;
  }
  return EXIT_FAILURE;
}
