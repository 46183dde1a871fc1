/** `vigil chat`: an interactive conversation in the terminal (the session itself is in ../chat). */
import type { Command } from 'commander';
import { ASSISTANT_NAME } from '../../agents/assistant';
import { UnknownAgentError } from '../../errors';
import { runChatSession } from '../chat/chat-session';
import { checkConversationAddress } from '../conversation-address';
import { globalOptions, temporalSettings } from '../settings';
import { withTemporalClient } from '../temporal-client';

interface ChatOptions {
  agent: string;
}

export function registerChat(program: Command): void {
  program
    .command('chat')
    .description('chat with a conversation in the terminal: streamed replies, tool approvals, Ctrl-C cancels')
    .argument('<conversation>', 'conversation id, e.g. user-42 (a new id starts a new conversation)')
    .option('-a, --agent <name>', 'the agent that runs the conversation', ASSISTANT_NAME)
    .addHelpText(
      'after',
      `
Each line you type is sent to the conversation; the reply streams in as the model writes it, and each tool
call shows as a dim line. A tool that needs approval asks "Allow <tool>(<arguments>)?": press y to approve,
n to reject, a to approve it for the rest of the conversation.

Keys and commands:
  Ctrl-C        cancel the running turn; at the prompt, or a second time in one turn, leave (exit code 130)
  Ctrl-D        leave (exit code 0); so does /exit
  /help         the commands
  /state        the conversation's status, usage and pending approvals

Input from a pipe or file works too: each line is a message, sent when the one before has its reply, and
an approval's answer is a line (y, n or a); the end of the input leaves.

The conversation lives in Temporal: leaving the chat ends nothing, and \`vigil chat\` with the same id picks it
up again (showing its last entries). A worker must be running (\`vigil dev\`, or \`vigil worker\`).
Exit codes: 0 after Ctrl-D or /exit, 130 after Ctrl-C, 1 when Temporal could not be reached, 2 for a bad
command line or setting (an agent that no running worker serves included).

Examples:
  $ vigil chat user-42
  $ vigil chat support-7 --agent support
  $ printf 'what is 17*23\nthanks\n' | vigil chat user-42
  $ vigil chat --address temporal.internal:7233 --namespace prod user-42`,
    )
    .action(async (conversation: string, options: ChatOptions, command: Command) => {
      checkConversationAddress(options.agent, conversation);
      const settings = temporalSettings(globalOptions(command));
      await withTemporalClient(settings, async ({ agents }) => {
        // A misspelt --agent is said at once, not after the first message.
        UnknownAgentError.check(options.agent, await agents.servedAgents());
        const code = await runChatSession({ agents, agent: options.agent, conversation });
        if (code !== 0) process.exitCode = code;
      });
    });
}
