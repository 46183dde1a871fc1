/** Checks an agent name and conversation id from the command line before any connection is made. */
import { StartConversation } from '../conversation/protocol';
import { UsageError } from './exit-codes';

const Address = StartConversation.pick({ agent: true, conversationId: true });

/** @throws UsageError saying what is wrong with them. */
export function checkConversationAddress(agent: string, conversationId: string): void {
  const parsed = Address.safeParse({ agent, conversationId });
  if (parsed.success) return;
  const problems = parsed.error.issues.map((issue) =>
    issue.path[0] === 'agent'
      ? `agent name ${JSON.stringify(agent)}: ${issue.message}`
      : `conversation id ${JSON.stringify(conversationId)}: ${issue.message}`,
  );
  throw new UsageError(`invalid ${problems.join('; ')}`);
}
