/**
 * Tools: what a model may call. A tool is defined once with a zod schema for its arguments; the schema is the
 * single source of the argument type (`z.infer`), of the JSON Schema the model sees and of the validation the
 * tool activity runs before `execute`.
 */
import { z } from 'zod';
import { DEFAULT_TOOL_RETRY, type ApprovalPolicy, type RetrySpec, type ToolSpec } from '../conversation/agent-spec';
import { ConfigError, VigilError } from '../errors';
import { mergedRetryProblem } from './retry-policy';

/** What a tool's `execute` knows of the call it serves. */
export interface ToolContext {
  /** Aborted when the tool's activity is cancelled (a cancelled turn) or times out: pass it to I/O. */
  signal: AbortSignal;
  conversationId: string;
  agent: string;
  turn: number;
  toolCallId: string;
}

/** The schema of a tool's arguments: always an object, as model providers require. */
export type ToolParameters = z.ZodObject<z.ZodRawShape, z.core.$ZodObjectConfig>;

export interface Tool<Args = unknown> {
  readonly name: string;
  readonly description: string;
  /** Validates the model's arguments; its output is what `execute` receives. */
  readonly parameters: ToolParameters & z.ZodType<Args>;
  /** `parameters` as JSON Schema, computed once at definition time. */
  readonly jsonSchema: Record<string, unknown>;
  readonly approval: ApprovalPolicy;
  readonly timeoutMs: number;
  readonly retry: RetrySpec;
  /** Returns the result for the model: a string as is, anything else as JSON. */
  execute(args: Args, ctx: ToolContext): unknown;
}

export interface ToolDefinition<Schema extends ToolParameters> {
  /** Letters, digits, `_` and `-`, at most 64 characters (the OpenAI function-name rule). */
  name: string;
  /** Tells the model when and how to use the tool. */
  description: string;
  parameters: Schema;
  execute(args: z.output<Schema>, ctx: ToolContext): unknown;
  /** Whether a call runs at once (`auto`), waits for a person's decision (`ask`) or is refused (`deny`). */
  approval?: ApprovalPolicy;
  /** One attempt's start-to-close timeout; default 30 s. */
  timeoutMs?: number;
  /** Retries of the activity (worker loss, timeouts); a thrown error goes back to the model, not retried. */
  retry?: Partial<RetrySpec>;
}

/** Per-agent overrides of a tool's policy, applied by `toolSpec`. */
export interface ToolOverrides {
  approval?: ApprovalPolicy;
  timeoutMs?: number;
  retry?: Partial<RetrySpec>;
}

/**
 * Thrown by a tool to end the turn instead of reporting the failure back to the model, e.g. when continuing
 * would be unsafe. Any other error becomes a tool result with `isError: true` that the model can react to.
 */
export class ToolFatalError extends VigilError {}

export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

const TOOL_NAME = /^[a-zA-Z0-9_-]{1,64}$/;
const APPROVAL_POLICIES: readonly ApprovalPolicy[] = ['auto', 'ask', 'deny'];

/**
 * Defines a tool; `execute`'s argument type is inferred from `parameters`.
 *
 * @example
 * const weather = defineTool({
 *   name: 'weather',
 *   description: 'Current weather for a city',
 *   parameters: z.object({ city: z.string() }),
 *   execute: async ({ city }, { signal }) => (await fetch(`https://wttr.in/${city}?format=3`, { signal })).text(),
 * });
 *
 * @throws ConfigError listing every problem (a bad name, a schema with no JSON Schema form, a bad timeout).
 */
export function defineTool<Schema extends ToolParameters>(definition: ToolDefinition<Schema>): Tool<z.output<Schema>> {
  const label = typeof definition.name === 'string' ? `tool "${definition.name}"` : 'tool';
  const problems: string[] = [];
  if (typeof definition.name !== 'string' || !TOOL_NAME.test(definition.name)) {
    problems.push(`${label}: name must be 1-64 letters, digits, "_" or "-" (the OpenAI function-name rule)`);
  }
  if (typeof definition.description !== 'string' || definition.description.trim() === '') {
    problems.push(`${label}: description must be a non-empty string; the model chooses tools by it`);
  }
  if (!(definition.parameters instanceof z.ZodObject)) {
    problems.push(`${label}: parameters must be a z.object(...) schema`);
  }
  if (typeof definition.execute !== 'function') problems.push(`${label}: execute must be a function`);
  const policy = { approval: definition.approval, timeoutMs: definition.timeoutMs, retry: definition.retry };
  const overrideProblems = checkOverrides(label, policy);
  problems.push(...overrideProblems);
  const retry = { ...DEFAULT_TOOL_RETRY, ...definition.retry };
  const retryProblem = overrideProblems.length === 0 && mergedRetryProblem(label, retry);
  if (retryProblem) problems.push(retryProblem);

  let jsonSchema: Record<string, unknown> = {};
  if (definition.parameters instanceof z.ZodObject) {
    try {
      jsonSchema = parametersJsonSchema(definition.parameters);
    } catch (error) {
      problems.push(`${label}: parameters cannot be expressed as JSON Schema: ${(error as Error).message}`);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    name: definition.name,
    description: definition.description,
    // The same schema, typed by its output: TypeScript cannot relate a generic Schema to z.output<Schema>.
    parameters: definition.parameters as unknown as ToolParameters & z.ZodType<z.output<Schema>>,
    jsonSchema,
    approval: definition.approval ?? 'auto',
    timeoutMs: definition.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS,
    retry,
    execute: (args: z.output<Schema>, ctx: ToolContext) => definition.execute(args, ctx),
  });
}

/** The plain-JSON form of a tool the workflow works with, with an agent's overrides applied. */
export function toolSpec(tool: Tool, overrides: ToolOverrides = {}): ToolSpec {
  const label = `tool "${tool.name}"`;
  const problems = checkOverrides(label, overrides);
  if (problems.length > 0) throw new ConfigError(problems);
  const retry = { ...tool.retry, ...overrides.retry };
  const retryProblem = mergedRetryProblem(label, retry);
  if (retryProblem) throw new ConfigError([retryProblem]);
  return {
    name: tool.name,
    description: tool.description,
    parameters: tool.jsonSchema,
    approval: overrides.approval ?? tool.approval,
    timeoutMs: overrides.timeoutMs ?? tool.timeoutMs,
    retry,
  };
}

function parametersJsonSchema(schema: ToolParameters): Record<string, unknown> {
  // The model writes the arguments, so it needs the input side (before defaults and transforms apply).
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, { io: 'input' }) as Record<string, unknown>;
  return rest;
}

function checkOverrides(label: string, overrides: ToolOverrides): string[] {
  const problems: string[] = [];
  if (overrides.approval !== undefined && !APPROVAL_POLICIES.includes(overrides.approval)) {
    problems.push(`${label}: approval must be one of ${APPROVAL_POLICIES.join(', ')}`);
  }
  if (overrides.timeoutMs !== undefined && !isPositiveInteger(overrides.timeoutMs)) {
    problems.push(`${label}: timeoutMs must be a positive integer of milliseconds`);
  }
  const retry = overrides.retry ?? {};
  if (retry.maximumAttempts !== undefined && !(Number.isInteger(retry.maximumAttempts) && retry.maximumAttempts >= 0)) {
    problems.push(`${label}: retry.maximumAttempts must be an integer >= 0 (0 means unlimited)`);
  }
  for (const key of ['initialIntervalMs', 'maximumIntervalMs'] as const) {
    if (retry[key] !== undefined && !isPositiveInteger(retry[key])) {
      problems.push(`${label}: retry.${key} must be a positive integer of milliseconds`);
    }
  }
  if (retry.backoffCoefficient !== undefined && !(retry.backoffCoefficient >= 1)) {
    problems.push(`${label}: retry.backoffCoefficient must be >= 1`);
  }
  return problems;
}

function isPositiveInteger(value: unknown): boolean {
  return typeof value === 'number' && Number.isInteger(value) && value > 0;
}
