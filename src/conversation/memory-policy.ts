/**
 * An agent's short-term memory policy: what of the transcript its model calls see. The full transcript is
 * always kept (the `transcript` query, the gateway, `vigil inspect`); this only shapes each model call's input.
 * Sandbox-safe: the workflow reads the policy from the agent's spec.
 */
import { z } from 'zod';
import { sharedSchema } from './shared-schema';

export interface MemoryPolicy {
  /** The most tokens one model call may use, input and reply together (the window you allow, not the model's). */
  maxContextTokens: number;
  /** Kept free for the reply (and a reasoning model's thinking): the input budget is the rest. */
  reserveForReplyTokens: number;
  /** Fold older turns into a rolling summary when the budget is reached; `false` just leaves them out. */
  summary: boolean;
  /** How long the rolling summary may be. */
  summaryTargetTokens: number;
  /** Always show the conversation's first user message (often the task), however old. */
  pinFirstUserMessage: boolean;
}

export const DEFAULT_MEMORY: MemoryPolicy = {
  maxContextTokens: 16_000,
  reserveForReplyTokens: 4_000,
  summary: true,
  summaryTargetTokens: 1_000,
  pinFirstUserMessage: false,
};

/** The agent's memory policy, with defaults for what it leaves out (and for specs from before memory existed). */
export function memoryPolicy(spec: { memory?: Partial<MemoryPolicy> }): MemoryPolicy {
  return { ...DEFAULT_MEMORY, ...spec.memory };
}

const positiveInt = sharedSchema('memory.positiveInt', () => z.number().int().positive());

/**
 * `defineAgent`'s check of `memory`: overrides of DEFAULT_MEMORY, checked as a whole once the defaults are
 * filled in, so a budget that leaves no room is caught whichever field set it.
 */
export const MemoryPolicySchema = sharedSchema('memory.MemoryPolicySchema', () =>
  z
    .object({
      maxContextTokens: positiveInt,
      reserveForReplyTokens: z.number().int().nonnegative(),
      summary: z.boolean(),
      summaryTargetTokens: positiveInt,
      pinFirstUserMessage: z.boolean(),
    })
    .partial()
    .strict()
    .transform((memory): MemoryPolicy => ({ ...DEFAULT_MEMORY, ...memory }))
    .refine((memory) => memory.reserveForReplyTokens < memory.maxContextTokens, {
      message: 'reserveForReplyTokens must be less than maxContextTokens',
    })
    .refine((memory) => memory.summaryTargetTokens * 4 <= memory.maxContextTokens - memory.reserveForReplyTokens, {
      message:
        'summaryTargetTokens may use at most a quarter of the input budget (maxContextTokens - reserveForReplyTokens)',
    }),
);
