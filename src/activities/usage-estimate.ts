/**
 * Usage for a provider that reports none (many proxies and local servers send no `usage`, even when asked).
 * Counted rather than left at zero, so budgets and prices still hold: the request's messages and tools, and the
 * answer's text, reasoning and tool calls, by the model's tokenizer (exact for OpenAI's, an estimate otherwise;
 * see src/memory/tokenizer.ts). The result says it is estimated (`usageEstimated`).
 */
import type { ChatCompletionMessageParam, ChatCompletionTool } from 'openai/resources/chat/completions';
import type { TokenUsage } from '../conversation/protocol';
import { countMessageTokens, countTokens, countToolTokens } from '../memory/tokenizer';
import type { AssembledCompletion } from './completion-assembly';

export interface UsageEstimateInput {
  model: string;
  messages: ChatCompletionMessageParam[];
  tools?: ChatCompletionTool[] | undefined;
}

export function estimateUsage(request: UsageEstimateInput, answer: AssembledCompletion): TokenUsage {
  const { model } = request;
  const calls = answer.toolCalls.reduce(
    (tokens, call) => tokens + countTokens(model, call.name) + countTokens(model, call.arguments),
    0,
  );
  return {
    inputTokens: countMessageTokens(model, request.messages) + countToolTokens(model, request.tools ?? []),
    outputTokens: countTokens(model, answer.content) + countTokens(model, answer.reasoning) + calls,
  };
}
