/**
 * How a conversation is put to an OpenAI-compatible model: the agent's instructions, the transcript and the
 * tools, as a chat completions request. Pure, so the mapping is tested without a server.
 */
import type {
  ChatCompletionFunctionTool,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions';
import type { ToolCall } from '../conversation/protocol';
import type { ModelCallInput } from '../conversation/activity-contract';

/** Shown to the model in place of a tool result the transcript lacks (say, the turn was cancelled mid-tool). */
export const MISSING_TOOL_RESULT = 'Error: no result: the tool call did not complete.';

/**
 * The messages for one model call.
 *
 * Notices are left out: they are the runtime speaking to the user (limits reached, cancellations), not part of
 * the dialogue, and several OpenAI-compatible providers reject or mishandle system messages after the first.
 *
 * Every assistant tool call is answered before the next non-tool message: providers reject a request with an
 * unanswered tool call, and one in the transcript (a turn cancelled while its tools ran) would otherwise fail
 * every later call of the conversation.
 */
export function toChatMessages(
  input: Pick<ModelCallInput, 'instructions' | 'transcript'>,
): ChatCompletionMessageParam[] {
  const messages: ChatCompletionMessageParam[] = [];
  if (input.instructions !== '') messages.push({ role: 'system', content: input.instructions });
  let unanswered: ToolCall[] = [];
  const answerTheRest = () => {
    for (const call of unanswered) messages.push({ role: 'tool', tool_call_id: call.id, content: MISSING_TOOL_RESULT });
    unanswered = [];
  };

  for (const entry of input.transcript) {
    switch (entry.role) {
      case 'user':
        answerTheRest();
        messages.push({ role: 'user', content: entry.content });
        break;
      case 'assistant':
        answerTheRest();
        if (entry.toolCalls.length === 0) {
          messages.push({ role: 'assistant', content: entry.content });
        } else {
          // `null` beside tool calls is what the provider itself sent; echoing it back keeps strict providers happy.
          messages.push({
            role: 'assistant',
            content: entry.content === '' ? null : entry.content,
            tool_calls: entry.toolCalls.map(toWireToolCall),
          });
          unanswered = [...entry.toolCalls];
        }
        break;
      case 'tool':
        unanswered = unanswered.filter((call) => call.id !== entry.toolCallId);
        // The prefix tells the model the call failed; otherwise an error text reads like a result.
        messages.push({
          role: 'tool',
          tool_call_id: entry.toolCallId,
          content: entry.isError ? `Error: ${entry.content}` : entry.content,
        });
        break;
      case 'notice':
        break;
    }
  }
  answerTheRest();
  return messages;
}

/** The agent's tools as function tools; `undefined` when there are none, since some providers reject `tools: []`. */
export function toChatTools(tools: ModelCallInput['tools']): ChatCompletionFunctionTool[] | undefined {
  if (tools.length === 0) return undefined;
  return tools.map((tool) => ({
    type: 'function',
    function: { name: tool.name, description: tool.description, parameters: tool.parameters },
  }));
}

function toWireToolCall(call: ToolCall): ChatCompletionMessageToolCall {
  return { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } };
}
