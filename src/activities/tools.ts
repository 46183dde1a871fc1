/**
 * The `runTool` activity: runs one tool call of a model's answer. Everything the model can fix (an unknown
 * tool, malformed JSON, arguments that break the schema, a failing tool) comes back as a result with
 * `isError: true` for the model to read; only a `ToolFatalError` ends the turn.
 */
import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { describeZodError } from '../conversation/protocol';
import { ToolFatalError, type Tool } from '../tools/define-tool';
import { type ToolRunInput, type ToolRunResult } from '../conversation/activity-contract';
import { FailureTypes } from '../conversation/failure-types';

export interface ToolActivityDeps {
  /** The tool an agent offers under `name`, or undefined if it offers none by that name. */
  findTool(agent: string, name: string): Tool | undefined;
}

/** Heartbeats at least this often; the SDK throttles what it actually sends to the server. */
const HEARTBEAT_INTERVAL_MS = 1_000;

export function createToolActivity(deps: ToolActivityDeps): (input: ToolRunInput) => Promise<ToolRunResult> {
  return async function runTool(input: ToolRunInput): Promise<ToolRunResult> {
    const { toolCall } = input;
    const tool = deps.findTool(input.agent, toolCall.name);
    if (!tool) return toModel(`unknown tool ${toolCall.name}`);

    let args: unknown;
    try {
      args = parseArguments(toolCall.arguments);
    } catch (error) {
      return toModel(`arguments are not valid JSON: ${(error as Error).message}`);
    }
    const parsed = tool.parameters.safeParse(args);
    if (!parsed.success) {
      return toModel(`arguments do not match the schema of ${tool.name}: ${describeZodError(parsed.error)}`);
    }

    const context = Context.current();
    const ctx = {
      signal: context.cancellationSignal,
      conversationId: input.conversationId,
      agent: input.agent,
      turn: input.turn,
      toolCallId: toolCall.id,
    };
    // Cancellation reaches an activity only through heartbeats, and a slow tool must not look like a dead one.
    context.heartbeat();
    const heartbeat = setInterval(() => context.heartbeat(), heartbeatInterval(context.info.heartbeatTimeoutMs));
    try {
      // Raced with `cancelled` so a tool that ignores its signal still lets the activity end when cancelled.
      const output = await Promise.race([(async () => tool.execute(parsed.data, ctx))(), context.cancelled]);
      return render(output);
    } catch (error) {
      if (context.cancellationSignal.aborted) throw context.cancellationSignal.reason;
      if (error instanceof ToolFatalError) throw ApplicationFailure.nonRetryable(error.message, FailureTypes.ToolFatal);
      return toModel(describeFailure(error));
    } finally {
      clearInterval(heartbeat);
    }
  };
}

/** Some providers send an empty string for a tool without parameters; that means `{}`. */
function parseArguments(raw: string): unknown {
  return raw.trim() === '' ? {} : JSON.parse(raw);
}

function render(output: unknown): ToolRunResult {
  if (typeof output === 'string') return { content: output, isError: false };
  try {
    return { content: JSON.stringify(output ?? null), isError: false };
  } catch (error) {
    return toModel(`the tool's result is not JSON-serializable: ${(error as Error).message}`);
  }
}

/** The message only: a stack trace tells the model nothing and would leak the worker's paths into history. */
function describeFailure(error: unknown): string {
  // By shape rather than `instanceof Error`: errors from Node internals may come from another realm.
  const { message, name } = (typeof error === 'object' && error !== null ? error : {}) as Partial<Error>;
  if (typeof message === 'string' && message !== '') return message;
  if (typeof name === 'string' && name !== '') return name;
  return typeof error === 'string' ? error : `the tool failed with a non-Error value (${typeof error})`;
}

function toModel(message: string): ToolRunResult {
  return { content: message, isError: true };
}

function heartbeatInterval(heartbeatTimeoutMs: number | undefined): number {
  return heartbeatTimeoutMs ? Math.min(HEARTBEAT_INTERVAL_MS, heartbeatTimeoutMs / 2) : HEARTBEAT_INTERVAL_MS;
}
