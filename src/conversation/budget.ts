/**
 * Budget rules, pure and sandbox-safe: before a turn starts, the conversation asks whether the agent's budget
 * allows it. A limit is reached when what was used is at or over it; the check is made before each turn, so
 * the turn that crosses a limit finishes and the next one is refused, with no model call.
 */
import type { AgentBudget, UsageLimits } from './agent-spec';
import { authorUsage, formatCount, formatMicros, totalTokens, type ConversationUsage, type UsageTotals } from './usage';

/**
 * Why a new turn for a message by `author` may not start, as the reply the user sees; undefined when the
 * budget allows it (or the agent has none). The conversation's limits are checked first, then the author's.
 *
 * @example
 * budgetRefusal(state.usage, agent.budget, message.author)
 *   // 'This conversation has reached its budget: it has used 10,250 tokens of its 10,000. ...'
 */
export function budgetRefusal(
  usage: ConversationUsage,
  budget: AgentBudget | undefined,
  author?: string,
): string | undefined {
  if (!budget) return undefined;
  const over = budget.conversation && exceeded(usage, budget.conversation);
  if (over) {
    return (
      `This conversation has reached its budget: it has used ${over}. ` +
      'No more messages are answered here; start a new conversation, or ask the operator to raise the limit.'
    );
  }
  if (author === undefined || !budget.perAuthor) return undefined;
  const { totals, shared } = authorUsage(usage, author);
  const overAuthor = exceeded(totals, budget.perAuthor);
  if (!overAuthor) return undefined;
  const whose = shared
    ? `The authors of this conversation beyond the first ones tracked by name, "${author}" among them, share a budget and have used ${overAuthor}.`
    : `You ("${author}") have reached your budget in this conversation: you have used ${overAuthor}.`;
  return `${whose} No more of your messages are answered here; ask the operator to raise the limit.`;
}

/** "10,250 tokens of its 10,000" for the first limit reached, or undefined. */
function exceeded(totals: UsageTotals, limits: UsageLimits): string | undefined {
  const tokens = totalTokens(totals);
  if (limits.maxTokens !== undefined && tokens >= limits.maxTokens) {
    return `${formatCount(tokens)} tokens of ${formatCount(limits.maxTokens)} allowed`;
  }
  if (limits.maxCostMicros !== undefined && totals.costMicros >= limits.maxCostMicros) {
    return `${formatMicros(totals.costMicros)} of ${formatMicros(limits.maxCostMicros)} allowed`;
  }
  return undefined;
}
