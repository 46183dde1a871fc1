/**
 * The summarize activity: folds older turns of a conversation into its rolling summary with one chat
 * completion, so the model's context window (src/memory) stays under the agent's budget while what was said is
 * not forgotten. Failures are classified like the model call's: Temporal retries what can be retried.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import type OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { countTokens, truncateToTokens } from '../memory/tokenizer';
import type { TranscriptEntry } from '../conversation/protocol';
import type { ContentStore } from '../store';
import { requireStore } from './model';
import { startHeartbeats } from './heartbeats';
import { CompletionAssembly } from './completion-assembly';
import { MODEL_UNAVAILABLE, toModelFailure } from './model-failure';
import { readProviderResponse } from './provider-response';
import { estimateUsage } from './usage-estimate';
import { appendToChain, readChain, readSummary } from '../store/transcript-chain';
import type { SummarizeInput, SummarizeResult } from '../conversation/activity-contract';

/** One entry's text is cut to this many tokens in the request: a huge tool result must not crowd out the rest. */
export const MAX_ENTRY_TOKENS = 2_000;

export interface SummarizeActivityDeps {
  openai: OpenAI;
  /** Where conversations keep their transcripts and summaries (see transcript-chain.ts). */
  store?: ContentStore;
}

/** The `summarize` activity. */
export function createSummarizeActivity(
  deps: SummarizeActivityDeps,
): (input: SummarizeInput) => Promise<SummarizeResult> {
  return async function summarize(input) {
    const context = Context.current();
    const signal = context.cancellationSignal;
    const stopHeartbeats = startHeartbeats(context);
    try {
      const stored = input.chain ? await readFolded(requireStore(deps.store), input) : undefined;
      const request = { model: input.model, messages: summaryRequest(stored ? { ...input, ...stored.input } : input) };
      // Read by the same lenient assembly as the model call: compatible providers answer in many dialects.
      const response = await deps.openai.chat.completions.create(request, { signal }).asResponse();
      const assembly = new CompletionAssembly({ fallbackIdPrefix: 'summary' });
      await readProviderResponse(response, assembly);
      const completion = assembly.result();
      const answer = completion.content.trim();
      if (answer === '') {
        // Retried: an empty summary would silently forget the folded turns.
        throw ApplicationFailure.create({
          message: `the model provider answered the summary request without text${completion.id ? ` (completion ${completion.id})` : ''}`,
          type: MODEL_UNAVAILABLE,
        });
      }
      // A summary far over its target is cut rather than trusted: the window's budget counts on its size.
      const text = truncateToTokens(input.model, answer, input.targetTokens * 2);
      // Stored, the summary reaches the workflow (and its history) as a reference only.
      const ref = stored ? await requireStore(deps.store).put(text) : undefined;
      return {
        text: ref ? '' : text,
        ...(ref && stored ? { ref, chain: stored.chain } : {}),
        tokens: countTokens(input.model, text),
        model: completion.model || input.model,
        usage: completion.usage
          ? { inputTokens: completion.usage.inputTokens, outputTokens: completion.usage.outputTokens }
          : estimateUsage(request, completion),
      };
    } catch (error) {
      if (error instanceof ApplicationFailure) throw error;
      throw toModelFailure(error, { signal, apiKey: deps.openai.apiKey ?? '', baseURL: deps.openai.baseURL });
    } finally {
      stopHeartbeats();
    }
  };
}

/** Stores the transcript's new entries, then reads those to fold and the summary so far from the store. */
async function readFolded(store: ContentStore, input: SummarizeInput) {
  const spec = input.chain!;
  const chain = await appendToChain(store, spec);
  const entries = (await readChain(store, chain, spec.from))
    .filter(({ index, entry }) => index <= spec.through && entry.role !== 'notice')
    .map(({ entry }) => entry);
  const previous = spec.previousRef ? await readSummary(store, spec.previousRef) : input.previous;
  return { chain, input: { entries, ...(previous ? { previous } : {}) } };
}

/** The instructions of the summarizer. Exported for tests and for anyone tuning it. */
export function summaryInstructions(targetTokens: number): string {
  const words = Math.max(50, Math.floor(targetTokens * 0.75));
  return [
    'You maintain the running summary of a conversation between a user and an AI assistant, so that the',
    'assistant can go on with the conversation after the older messages are out of its view.',
    'Write an updated summary that merges the previous summary (if any) with the new messages.',
    'Keep every fact, decision, name, number, date, commitment and preference; keep what tools were used for',
    'and what they returned when it matters later; keep the questions and tasks still open.',
    'Leave out greetings, filler and anything that was later corrected.',
    'Write in the third person ("The user asked…", "The assistant found…"), as plain prose or short bullet points,',
    `in at most ${words} words. Answer with the summary only.`,
  ].join(' ');
}

/** The summarization request: the instructions, then the previous summary and the new messages as text. */
export function summaryRequest(input: SummarizeInput): ChatCompletionMessageParam[] {
  const lines = input.entries.flatMap((entry) => describe(entry, input.model));
  const parts = [
    input.previous
      ? `Previous summary:\n${input.previous}`
      : 'Previous summary: none (this is the start of the conversation).',
    `New messages:\n${lines.join('\n')}`,
  ];
  return [
    { role: 'system', content: summaryInstructions(input.targetTokens) },
    { role: 'user', content: parts.join('\n\n') },
  ];
}

function describe(entry: TranscriptEntry, model: string): string[] {
  const cut = (text: string) => {
    const short = truncateToTokens(model, text, MAX_ENTRY_TOKENS);
    return short === text ? text : `${short} [… cut]`;
  };
  switch (entry.role) {
    case 'user':
      return [`User${entry.author ? ` (${entry.author})` : ''}: ${cut(entry.content)}`];
    case 'assistant':
      return [
        ...(entry.content === '' ? [] : [`Assistant: ${cut(entry.content)}`]),
        ...entry.toolCalls.map((call) => `Assistant called tool ${call.name} with ${cut(call.arguments)}`),
      ];
    case 'tool':
      return [`Tool ${entry.name} ${entry.isError ? 'failed' : 'returned'}: ${cut(entry.content)}`];
    case 'notice':
      return [];
  }
}
