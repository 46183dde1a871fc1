/** `vigil fork`: a new conversation from the first turns of another (AgentClient.fork). */
import { type Command, Option } from 'commander';
import { ASSISTANT_NAME } from '../../agents/assistant';
import { checkConversationAddress } from '../conversation-address';
import { parseTurnNumber } from '../parse';
import { globalOptions, temporalSettings } from '../settings';
import { withTemporalClient } from '../temporal-client';

interface ForkCommandOptions {
  agent: string;
  atTurn: number;
  to?: string;
  instructions?: string;
  json?: boolean;
}

export function registerFork(program: Command): void {
  program
    .command('fork')
    .description(
      "start a new conversation from another's first turns, to retry from there; the original stays as it is",
    )
    .argument('<conversation>', 'the conversation to fork, e.g. user-42')
    .addOption(
      new Option('--at-turn <n>', 'the last turn of the original the fork keeps')
        .argParser(parseTurnNumber)
        .makeOptionMandatory(),
    )
    .option('--to <conversation>', "the new conversation's id (default: <conversation>.fork-<8 hex digits>)")
    .option('--instructions <text>', "instructions of the fork's own, in place of the original's (its seed's)")
    .option('-a, --agent <name>', 'the agent that runs the conversation', ASSISTANT_NAME)
    .option('--json', 'print the fork as JSON: { agent, conversationId, forkedFrom, turns }')
    .addHelpText(
      'after',
      `
Prints the new conversation's id on stdout, and where it came from on stderr. The fork has the original's
transcript up to the end of that turn (its stored entries shared, not copied) and its instructions; its usage,
message ids, queue, approvals and remembered tool approvals start anew. Chat with it by its id.
Exit codes: 0 when the fork was made; 1 when the id is taken, the turn is still running, or Temporal could not
be reached; 2 for a bad command line, a turn beyond the original's finished ones, or an agent no worker serves.

Examples:
  $ vigil fork user-42 --at-turn 2
  $ vigil fork user-42 --at-turn 2 --to user-42-retry --instructions "Answer in French."
  $ vigil chat user-42-retry`,
    )
    .action(async (conversation: string, options: ForkCommandOptions, command: Command) => {
      checkConversationAddress(options.agent, conversation);
      if (options.to !== undefined) checkConversationAddress(options.agent, options.to);
      const settings = temporalSettings(globalOptions(command));
      await withTemporalClient(settings, async ({ agents }) => {
        const fork = await agents.fork(options.agent, conversation, {
          atTurn: options.atTurn,
          ...(options.to !== undefined ? { to: options.to } : {}),
          ...(options.instructions !== undefined ? { instructions: options.instructions } : {}),
        });
        if (options.json) {
          process.stdout.write(`${JSON.stringify(fork, null, 2)}\n`);
          return;
        }
        process.stdout.write(`${fork.conversationId}\n`);
        process.stderr.write(
          `forked conversation ${conversation} of agent ${fork.agent} at turn ${fork.forkedFrom.turn}: ` +
            `${fork.conversationId} goes on from there (vigil chat ${fork.conversationId} --agent ${fork.agent})\n`,
        );
      });
    });
}
