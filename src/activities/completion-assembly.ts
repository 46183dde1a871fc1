/**
 * A chat completion put together from what OpenAI-compatible providers really send. The openai SDK's stream
 * helper is strict: a chunk without `role` fails the whole call ("missing role for choice 0"). Real providers
 * stream in many dialects, so this module reads each chunk through a lenient schema and accumulates:
 *
 * - chunks without `role`, without `finish_reason`, or with empty `choices` (Azure's first chunk, the usage
 *   chunk of `include_usage`); `message` instead of `delta` (old proxies);
 * - usage on any chunk, on the last choice chunk (vLLM, Mistral) or under `x_groq` (Groq);
 * - tool calls split anywhere, with or without `index` (whole calls without one: Gemini, Mistral), their `id`
 *   repeated on every fragment or given once;
 * - reasoning in `reasoning_content` (DeepSeek) or `reasoning` (OpenRouter, Ollama): kept out of the reply, but
 *   its length is known, so a usage estimate can count it.
 *
 * What cannot be understood at all (a chunk that is not a JSON object, `choices` that is not a list) is a
 * `ProviderResponseUnreadable`: the caller fails the call without retrying, since the same provider will send
 * the same thing again.
 */
import { z } from 'zod';
import type { ToolCall } from '../conversation/protocol';

/** The choice a call asks for: Vigil never asks for more than one (`n` is left at 1). */
const FIRST_CHOICE = 0;

const Usage = z.object({
  prompt_tokens: z.number().nonnegative().nullish(),
  completion_tokens: z.number().nonnegative().nullish(),
  completion_tokens_details: z.object({ reasoning_tokens: z.number().nonnegative().nullish() }).nullish(),
});

const ToolCallFragment = z.object({
  index: z.number().int().nonnegative().nullish(),
  id: z.string().nullish(),
  type: z.string().nullish(),
  function: z
    .object({
      name: z.string().nullish(),
      // A string, as OpenAI sends; some compatible servers send the arguments as an object.
      arguments: z.union([z.string(), z.record(z.string(), z.unknown())]).nullish(),
    })
    .nullish(),
});

/** Mistral's reasoning models stream content as parts: `text`, and `thinking` with text parts inside. */
const ContentPart = z.object({
  type: z.string().nullish(),
  text: z.string().nullish(),
  thinking: z.array(z.object({ text: z.string().nullish() })).nullish(),
});

const Delta = z.object({
  content: z.union([z.string(), z.array(ContentPart)]).nullish(),
  refusal: z.string().nullish(),
  reasoning_content: z.string().nullish(),
  reasoning: z.string().nullish(),
  tool_calls: z.array(ToolCallFragment).nullish(),
});

const Choice = z.object({
  index: z.number().int().nonnegative().nullish(),
  delta: Delta.nullish(),
  message: Delta.nullish(),
  finish_reason: z.string().nullish(),
});

/** One streamed chunk, or a whole completion: the same fields, leniently. */
const CompletionPart = z.object({
  id: z.string().nullish(),
  model: z.string().nullish(),
  choices: z.array(Choice).nullish(),
  usage: Usage.nullish(),
  x_groq: z.object({ usage: Usage.nullish() }).nullish(),
});

/** The provider sent something no reading of the protocol can make sense of. */
export class ProviderResponseUnreadable extends Error {
  override name = 'ProviderResponseUnreadable';
}

export interface AssembledCompletion {
  id: string;
  /** The model that answered, as the provider names it; '' when it named none. */
  model: string;
  content: string;
  toolCalls: ToolCall[];
  /** `unknown` when the provider sent none (some do not). */
  finishReason: string;
  /** As the provider reported it; absent when it reported none. */
  usage?: { inputTokens: number; outputTokens: number; reasoningTokens?: number };
  /** The reasoning text the provider streamed, which the reply leaves out. */
  reasoning: string;
  /** Whether any choice came at all: an answer without one is empty, not unreadable. */
  answered: boolean;
}

interface ToolCallSlot {
  id: string;
  name: string;
  arguments: string;
}

/**
 * Accumulates a completion from its parts: call `add` with each parsed chunk (or once with a whole completion),
 * then `result`.
 *
 * @example
 * const assembly = new CompletionAssembly({ fallbackIdPrefix: 'call_t3s1' });
 * for (const chunk of chunks) for (const text of assembly.add(chunk)) preview(text);
 * const completion = assembly.result();
 */
export class CompletionAssembly {
  private id = '';
  private model = '';
  private content = '';
  private refusal = '';
  private reasoning = '';
  private finishReason: string | undefined;
  private usage: AssembledCompletion['usage'];
  private answered = false;
  private readonly slots: ToolCallSlot[] = [];
  /** Slot of each `index` the provider gave. */
  private readonly byIndex = new Map<number, ToolCallSlot>();

  /** `fallbackIdPrefix` names tool calls that came without an id, so their results can still refer to them. */
  constructor(private readonly options: { fallbackIdPrefix: string }) {}

  /** Takes one part; returns the reply text it adds, for a preview. */
  add(raw: unknown): string[] {
    const parsed = CompletionPart.safeParse(raw);
    if (!parsed.success)
      throw new ProviderResponseUnreadable(`sent a chunk of an unknown shape (${describeIssue(parsed.error)})`);
    const part = parsed.data;
    if (part.id && !this.id) this.id = part.id;
    if (part.model && !this.model) this.model = part.model;
    const usage = part.usage ?? part.x_groq?.usage;
    if (usage) this.takeUsage(usage);

    const added: string[] = [];
    for (const choice of part.choices ?? []) {
      if ((choice.index ?? FIRST_CHOICE) !== FIRST_CHOICE) continue;
      this.answered = true;
      if (choice.finish_reason) this.finishReason = choice.finish_reason;
      const delta = choice.delta ?? choice.message;
      if (!delta) continue;
      const { text, thinking } = readContent(delta.content);
      if (text) {
        this.content += text;
        added.push(text);
      }
      this.reasoning += thinking;
      if (delta.refusal) this.refusal += delta.refusal;
      this.reasoning += delta.reasoning_content ?? delta.reasoning ?? '';
      for (const [position, fragment] of (delta.tool_calls ?? []).entries()) this.takeToolCall(fragment, position);
    }
    return added;
  }

  result(): AssembledCompletion {
    return {
      id: this.id,
      model: this.model,
      // A refusal is the model's answer to the user, when it gave no other.
      content: this.content || this.refusal,
      toolCalls: this.slots
        .filter((slot) => slot.name !== '')
        .map((slot, k) => ({
          id: slot.id || `${this.options.fallbackIdPrefix}_${k + 1}`,
          name: slot.name,
          arguments: slot.arguments,
        })),
      finishReason: this.finishReason ?? 'unknown',
      ...(this.usage ? { usage: this.usage } : {}),
      reasoning: this.reasoning,
      answered: this.answered,
    };
  }

  private takeUsage(usage: z.infer<typeof Usage>): void {
    // Providers that repeat usage on several chunks send running totals: the last one stands.
    const reasoningTokens = usage.completion_tokens_details?.reasoning_tokens;
    this.usage = {
      inputTokens: Math.round(usage.prompt_tokens ?? 0),
      outputTokens: Math.round(usage.completion_tokens ?? 0),
      ...(typeof reasoningTokens === 'number' ? { reasoningTokens: Math.round(reasoningTokens) } : {}),
    };
  }

  private takeToolCall(fragment: z.infer<typeof ToolCallFragment>, position: number): void {
    const slot = this.slotFor(fragment, position);
    if (fragment.id && !slot.id) slot.id = fragment.id;
    const name = fragment.function?.name;
    // The name comes once (OpenAI), repeated on every fragment (some servers), or split in pieces (rarely).
    if (name && name !== slot.name) slot.name += name;
    const args = fragment.function?.arguments;
    if (typeof args === 'string') slot.arguments += args;
    else if (args) slot.arguments = JSON.stringify(args);
  }

  /**
   * Which call a fragment belongs to: by `index` when it has one; else by `id` (a new id is a new call); else, for
   * the first fragment of a chunk, the call the previous chunk left open, and a new call otherwise.
   */
  private slotFor(fragment: z.infer<typeof ToolCallFragment>, position: number): ToolCallSlot {
    if (typeof fragment.index === 'number') {
      let slot = this.byIndex.get(fragment.index);
      if (!slot) {
        slot = this.newSlot();
        this.byIndex.set(fragment.index, slot);
      }
      return slot;
    }
    if (fragment.id) return this.slots.find((slot) => slot.id === fragment.id) ?? this.newSlot();
    const last = this.slots.at(-1);
    // A name after a call that has its name and arguments starts the next call.
    const startsAnother = Boolean(fragment.function?.name && last?.name && last.arguments);
    return last && position === 0 && !startsAnother ? last : this.newSlot();
  }

  private newSlot(): ToolCallSlot {
    const slot = { id: '', name: '', arguments: '' };
    this.slots.push(slot);
    return slot;
  }
}

function readContent(content: z.infer<typeof Delta>['content']): { text: string; thinking: string } {
  if (!content) return { text: '', thinking: '' };
  if (typeof content === 'string') return { text: content, thinking: '' };
  let text = '';
  let thinking = '';
  for (const part of content) {
    if (part.type === 'thinking') thinking += (part.thinking ?? []).map((inner) => inner.text ?? '').join('');
    else text += part.text ?? '';
  }
  return { text, thinking };
}

function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  const where = issue.path.length > 0 ? issue.path.join('.') : 'the chunk';
  return `${where}: ${issue.message}`;
}
