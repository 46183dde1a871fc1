/** `vigil send`: one message to a conversation, printing the reply. */
import { type Command, Option } from 'commander';
import { randomUUID } from 'node:crypto';
import { ASSISTANT_NAME } from '../../agents/assistant';
import type { Reply } from '../../conversation/protocol';
import { checkConversationAddress } from '../conversation-address';
import { CommandFailed } from '../exit-codes';
import { parsePositiveNumber } from '../parse';
import { globalOptions, temporalSettings } from '../settings';
import { withTemporalClient } from '../temporal-client';

interface SendOptions {
  agent: string;
  id?: string;
  wait: boolean;
  json?: boolean;
  timeout?: number;
}

/** Turn outcomes that answered the message; the others (`error`, `cancelled`) make the command fail. */
const ANSWERED: Reply['status'][] = ['completed', 'step_limit'];

export function registerSend(program: Command): void {
  program
    .command('send')
    .description('send a message to a conversation (starting it if need be) and print the reply')
    .argument('<conversation>', 'conversation id, e.g. user-42')
    .argument('<text...>', 'the message; several words are joined with spaces')
    .option('-a, --agent <name>', 'the agent that runs the conversation', ASSISTANT_NAME)
    .option('--id <messageId>', 'message id; sending an id again returns its first reply (default: a random id)')
    .option('--no-wait', 'send without waiting; the reply goes to the log channel')
    .option('--json', 'print the whole reply as JSON')
    .addOption(
      new Option('--timeout <seconds>', 'stop waiting after this long (the turn goes on)').argParser(
        parsePositiveNumber,
      ),
    )
    .addHelpText(
      'after',
      `
Prints the reply's text on stdout, and its turn, status, models and token use on stderr.
Exit codes: 0 when the turn completed (or used its step limit), 1 when it ended in an error or was
cancelled, or Temporal could not be reached, 2 for a bad command line or setting (an agent that no running
worker serves included).

Examples:
  $ vigil send user-42 "what is 17*23"
  $ vigil send user-42 what time is it --agent assistant
  $ vigil send user-42 "hello again" --id msg-7 --json
  $ vigil send user-42 "no need to wait" --no-wait
  $ vigil send --address temporal.internal:7233 --namespace prod user-42 "hi"`,
    )
    .action(async (conversation: string, words: string[], options: SendOptions, command: Command) => {
      checkConversationAddress(options.agent, conversation);
      const settings = temporalSettings(globalOptions(command));
      const message = { id: options.id ?? randomUUID(), content: words.join(' ') };
      await withTemporalClient(settings, async ({ agents }) => {
        if (!options.wait) {
          await agents.post(options.agent, conversation, message);
          process.stderr.write(
            `sent message ${message.id} to conversation ${conversation} of agent ${options.agent}; ` +
              'the reply goes to its channel (the worker log)\n',
          );
          return;
        }
        const timeoutMs = options.timeout === undefined ? undefined : Math.ceil(options.timeout * 1000);
        const reply = await agents.send(options.agent, conversation, message, { timeoutMs });
        printReply(reply, options.json === true);
        if (!ANSWERED.includes(reply.status)) {
          throw new CommandFailed(`the turn ended ${reply.status}: message ${reply.messageId} was not answered`);
        }
      });
    });
}

function printReply(reply: Reply, json: boolean): void {
  if (json) {
    process.stdout.write(`${JSON.stringify(reply, null, 2)}\n`);
    return;
  }
  process.stdout.write(`${reply.content}\n`);
  const models = reply.models.length > 0 ? [...new Set(reply.models)].join(', ') : 'no model';
  process.stderr.write(
    `[turn ${reply.turn} · ${reply.status} · ${models} · ${reply.usage.inputTokens} in / ` +
      `${reply.usage.outputTokens} out tokens · message ${reply.messageId}]\n`,
  );
}
