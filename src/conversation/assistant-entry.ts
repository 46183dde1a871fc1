/**
 * The transcript entry of a model answer. Made in two places that must agree: the model activity, which stores it
 * with the answer, and the workflow, which records it (and makes it itself for calls that did not store it). Pure
 * and deterministic: bundled into workflow code.
 */
import type { TranscriptEntry } from './protocol';
import type { ModelCallResult } from './activity-contract';

export function assistantEntry(
  turn: number,
  answer: Pick<ModelCallResult, 'content' | 'toolCalls' | 'model' | 'usage'>,
  at: string,
): Extract<TranscriptEntry, { role: 'assistant' }> {
  return {
    role: 'assistant',
    turn,
    content: answer.content,
    toolCalls: answer.toolCalls,
    model: answer.model,
    usage: answer.usage,
    at,
  };
}
