/**
 * The model activity: one chat completion from an OpenAI-compatible provider per call, streamed, so watchers of
 * the conversation see the text as it comes (see model-deltas.ts). It heartbeats while it waits, so a cancelled
 * turn reaches it and aborts the HTTP request; it gives up on a provider that has sent nothing for the agent's
 * idle timeout (see idle-watch.ts); and it classifies failures so Temporal retries what can be retried, and only
 * that.
 */
import { Context } from '@temporalio/activity';
import OpenAI from 'openai';
import { DEFAULT_LIMITS, DEFAULT_MODEL_IDLE_TIMEOUT_MS } from '../conversation/agent-spec';
import { ApplicationFailure } from '@temporalio/common';
import { buildContext, fitToBudget } from '../memory/context-messages';
import type { TranscriptEntry } from '../conversation/protocol';
import type { ContentStore } from '../store';
import { readChain, readEntry, readSummary, startAppend } from '../store/transcript-chain';
import { assistantEntry } from '../conversation/assistant-entry';
import type { DeltaSinkFactory } from './model-deltas';
import { startHeartbeats } from './heartbeats';
import { watchIdle } from './idle-watch';
import { MODEL_UNAVAILABLE, toModelFailure } from './model-failure';
import { type AssembledCompletion, CompletionAssembly } from './completion-assembly';
import { readProviderResponse } from './provider-response';
import { estimateUsage, type UsageEstimateInput } from './usage-estimate';
import { toChatMessages, toChatTools } from '../memory/model-messages';
import type {
  ChainUpdate,
  CutEntry,
  ModelCallInput,
  ModelCallResult,
  ModelWindow,
} from '../conversation/activity-contract';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { FailureTypes } from '../conversation/failure-types';

export interface OpenAIClientOptions {
  /** e.g. `https://api.openai.com/v1`, or any OpenAI-compatible server. */
  baseURL: string;
  apiKey: string;
  /**
   * The SDK's `timeout`: in openai 6.x it covers only the wait for the response headers (cleared once they
   * arrive, streamed or not), never a body in progress. A backstop: the agent's idle timeout gives up on a silent
   * provider first. Default: the default model timeout of an agent.
   */
  timeoutMs?: number;
}

/**
 * An `openai` client for the model activity. The SDK's own retries are off: Temporal retries the activity, by
 * the agent's retry policy and visibly in history.
 *
 * @example
 * const openai = createOpenAIClient({ baseURL: 'https://api.openai.com/v1', apiKey: process.env.OPENAI_API_KEY! });
 * const callModel = createModelActivity({ openai });
 */
export function createOpenAIClient(options: OpenAIClientOptions): OpenAI {
  return new OpenAI({
    baseURL: options.baseURL,
    apiKey: options.apiKey,
    maxRetries: 0,
    timeout: options.timeoutMs ?? DEFAULT_LIMITS.modelTimeoutMs,
  });
}

export interface ModelActivityDeps {
  openai: OpenAI;
  /** Where conversations keep their transcripts (see transcript-chain.ts). */
  store?: ContentStore;
  /** Where streamed text goes while the completion arrives; nowhere when absent. */
  deltas?: DeltaSinkFactory;
}

/** How the worker calls the provider for one agent (see AgentDefinition). */
export interface ModelCallOptions {
  /** False for a provider that cannot stream: the call asks for the whole answer at once. Default true. */
  stream?: boolean;
}

/** The `callModel` activity. */
export function createModelActivity(
  deps: ModelActivityDeps,
): (input: ModelCallInput, options?: ModelCallOptions) => Promise<ModelCallResult> {
  return async function callModel(input, options = {}) {
    const context = Context.current();
    const signal = context.cancellationSignal;
    const stopHeartbeats = startHeartbeats(context);
    const deltas = deps.deltas?.({ turn: input.turn, step: input.step });
    let idle: ReturnType<typeof watchIdle> | undefined;
    let window: StoredWindow | undefined;
    try {
      const tools = toChatTools(input.tools);
      // The turn's new entries are written while the model answers: a turn waits for the slower of the two, not
      // for both. Nothing is returned before they are durable (`window.durable`, awaited below).
      window = input.window?.chain ? await readWindow(requireStore(deps.store), input.window) : undefined;
      const { messages, cutEntries } = modelMessages(input, tools, window);
      // From the moment the request goes out: its headers, then each chunk, must come within the idle timeout.
      idle = watchIdle(input.idleTimeoutMs ?? DEFAULT_MODEL_IDLE_TIMEOUT_MS, signal);
      const request = { model: input.model, messages, ...(tools ? { tools } : {}) };
      const stream = options.stream !== false;
      // The raw response, read by Vigil's own lenient assembly: the SDK's stream helper fails on the dialects real
      // providers stream in (see completion-assembly.ts). Error statuses still come back as the SDK's errors.
      const response = await deps.openai.chat.completions
        .create(
          stream ? { ...request, stream: true, stream_options: { include_usage: true } } : request,
          // No retries inside the attempt, whatever client the worker was given: Temporal retries, visibly.
          { signal: idle.signal, maxRetries: 0 },
        )
        .asResponse();
      idle.touch();
      const assembly = new CompletionAssembly({ fallbackIdPrefix: `call_t${input.turn}s${input.step}` });
      await readProviderResponse(response, assembly, {
        onBytes: idle.touch,
        ...(deltas ? { onText: (text) => deltas.push(text) } : {}),
      });
      const result = {
        ...toResult(assembly.result(), { model: input.model, messages, tools }),
        ...(cutEntries.length > 0 ? { cutEntries } : {}),
      };
      if (!window) return result;
      return await withStoredAnswer(requireStore(deps.store), input.turn, result, window);
    } catch (error) {
      // The store's failure when there was one: it is what a retry must get past, whatever the call did.
      await window?.durable;
      if (error instanceof ApplicationFailure) throw error;
      // The SDK reports the abort as its own; say what happened instead.
      const silence = idle?.failure();
      if (silence) throw silence;
      throw toModelFailure(error, { signal, apiKey: deps.openai.apiKey ?? '', baseURL: deps.openai.baseURL });
    } finally {
      idle?.stop();
      stopHeartbeats();
      await deltas?.close();
    }
  };
}

/**
 * The chat messages of the call: the workflow's context window (instructions with the rolling summary, then
 * the window's entries), held to the budget by an exact token count; or, for runs from before short-term
 * memory, the whole transcript. With the entries whose content was cut to fit, for the workflow to tell the user.
 */
function modelMessages(
  input: ModelCallInput,
  tools: ReturnType<typeof toChatTools>,
  stored: StoredWindow | undefined,
): { messages: ChatCompletionMessageParam[]; cutEntries: CutEntry[] } {
  const { window } = input;
  if (!window) return { messages: toChatMessages(input), cutEntries: [] };
  const summary = stored ? stored.summary : window.summary;
  const context = buildContext({
    instructions: input.instructions,
    ...(summary ? { summary } : {}),
    entries: stored
      ? stored.entries
      : input.transcript.map((entry, k) => ({ index: indicesOf(window.ranges)[k], entry })),
    pinned: window.pinned,
  });
  const fitted = fitToBudget(input.model, context, { budget: window.budget, tools: tools ?? [] });
  return {
    messages: fitted.messages,
    cutEntries: fitted.truncated.map((index) => ({ index, ...fitted.cutTo[index] })),
  };
}

interface StoredWindow {
  entries: { index: number; entry: TranscriptEntry }[];
  summary?: string;
  chain: ChainUpdate;
  /** Settles once the turn's new entries are durable in the store. */
  durable: Promise<void>;
}

/**
 * Starts storing the turn's new entries, and reads the window (the new entries from memory), the pinned entries
 * and the summary. A failed read still waits for the writes it started: no write outlives the attempt.
 */
async function readWindow(store: ContentStore, window: ModelWindow): Promise<StoredWindow> {
  const spec = window.chain!;
  const { records, durable, ...chain } = startAppend(store, spec);
  try {
    const wanted = new Set(indicesOf(window.ranges));
    const pinned = await Promise.all(spec.pinnedRefs.map((ref) => readEntry(store, ref)));
    const tail = await readChain(store, chain, spec.from, records);
    const entries = [...pinned, ...tail].filter((e) => wanted.has(e.index)).sort((a, b) => a.index - b.index);
    const summary = spec.summaryRef ? await readSummary(store, spec.summaryRef) : undefined;
    return { entries, chain, durable, ...(summary ? { summary } : {}) };
  } catch (error) {
    await durable.catch(() => undefined);
    throw error;
  }
}

/**
 * Stores the answer as the transcript's next entry, as the workflow records it (assistant-entry.ts), once the
 * turn's new entries are durable too: the answer then travels in history once, in this result, instead of again in
 * the next call's input.
 */
async function withStoredAnswer(
  store: ContentStore,
  turn: number,
  result: ModelCallResult,
  window: StoredWindow,
): Promise<ModelCallResult> {
  const answerAt = new Date().toISOString();
  const answer = startAppend(store, { ...window.chain, append: [assistantEntry(turn, result, answerAt)] });
  await Promise.all([window.durable, answer.durable]);
  return {
    ...result,
    chain: { head: answer.head, length: answer.length, refs: [...window.chain.refs, ...answer.refs] },
    answerAt,
  };
}

function indicesOf(ranges: [number, number][]): number[] {
  return ranges.flatMap(([first, last]) => Array.from({ length: last - first + 1 }, (_, k) => first + k));
}

export function requireStore(store: ContentStore | undefined): ContentStore {
  if (store) return store;
  // A deployment problem, not a passing one: another worker of the task queue may have the store.
  throw ApplicationFailure.retryable(
    'this worker has no content store; conversations keep their transcripts in one',
    FailureTypes.NoContentStore,
  );
}

function toResult(completion: AssembledCompletion, request: UsageEstimateInput): ModelCallResult {
  if (!completion.answered) {
    // Seen from overloaded compatible providers; a retry usually gets a real answer.
    throw ApplicationFailure.create({
      message: `the model provider answered without a choice${completion.id ? ` (completion ${completion.id})` : ''}`,
      type: MODEL_UNAVAILABLE,
    });
  }
  const reported = completion.usage;
  return {
    content: completion.content,
    toolCalls: completion.toolCalls,
    model: completion.model || request.model,
    usage: reported
      ? { inputTokens: reported.inputTokens, outputTokens: reported.outputTokens }
      : estimateUsage(request, completion),
    ...(reported ? {} : { usageEstimated: true }),
    finishReason: completion.finishReason,
  };
}
