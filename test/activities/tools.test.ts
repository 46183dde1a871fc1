import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { z } from 'zod';
import { createToolActivity } from '../../src/activities/tools';
import { type ToolRunInput, type ToolRunResult } from '../../src/conversation/activity-contract';
import { FailureTypes } from '../../src/conversation/failure-types';
import { defineTool, ToolFatalError, type Tool, type ToolContext } from '../../src/tools/define-tool';

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers',
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => ({ sum: a + b }),
});

/** The failures these tests provoke are expected: the SDK's warning for each would only bury the report. */
function activityEnv(info?: ConstructorParameters<typeof MockActivityEnvironment>[0]) {
  return new MockActivityEnvironment(info, { logger: new DefaultLogger('ERROR') });
}

type RunTool = (input: ToolRunInput) => Promise<ToolRunResult>;

/** `env.run` cannot infer an activity's result type on its own. */
function runIn(env: MockActivityEnvironment, activity: RunTool, input: ToolRunInput): Promise<ToolRunResult> {
  return env.run<[ToolRunInput], ToolRunResult, RunTool>(activity, input);
}

function activityFor(...tools: Tool[]) {
  return createToolActivity({ findTool: (_agent, name) => tools.find((tool) => tool.name === name) });
}

function call(name: string, args: string, id = 'call-1'): ToolRunInput {
  return { agent: 'assistant', conversationId: 'conv-1', turn: 3, toolCall: { id, name, arguments: args } };
}

/** A tool whose `execute` the test drives; `started` resolves with the context once it runs. */
function controllableTool(execute: (ctx: ToolContext) => Promise<unknown>) {
  let markStarted!: (ctx: ToolContext) => void;
  const started = new Promise<ToolContext>((resolve) => (markStarted = resolve));
  const tool = defineTool({
    name: 'slow',
    description: 'Takes its time',
    parameters: z.object({}),
    execute: (_args, ctx) => {
      markStarted(ctx);
      return execute(ctx);
    },
  });
  return { tool, started };
}

describe('runTool activity', () => {
  it('runs the tool and returns an object result as JSON', async () => {
    const result = await runIn(activityEnv(), activityFor(add), call('add', '{"a": 2, "b": 40}'));
    expect(result).toEqual({ content: '{"sum":42}', isError: false });
  });

  it('returns a string result as it is', async () => {
    const echo = defineTool({
      name: 'echo',
      description: 'Echoes',
      parameters: z.object({ text: z.string() }),
      execute: ({ text }) => text,
    });
    const result = await runIn(activityEnv(), activityFor(echo), call('echo', '{"text":"as is"}'));
    expect(result).toEqual({ content: 'as is', isError: false });
  });

  it('gives the tool the call it serves', async () => {
    let seen: ToolContext | undefined;
    const probe = defineTool({
      name: 'probe',
      description: 'Looks at its context',
      parameters: z.object({}),
      execute: (_args, ctx) => {
        seen = ctx;
        return 'ok';
      },
    });
    await runIn(activityEnv(), activityFor(probe), call('probe', '{}', 'call-9'));
    expect(seen).toMatchObject({ conversationId: 'conv-1', agent: 'assistant', turn: 3, toolCallId: 'call-9' });
    expect(seen?.signal.aborted).toBe(false);
  });

  it('tells the model about an unknown tool', async () => {
    const result = await runIn(activityEnv(), activityFor(add), call('subtract', '{}'));
    expect(result).toEqual({ content: 'unknown tool subtract', isError: true });
  });

  it('sends malformed JSON arguments back to the model', async () => {
    const result = await runIn(activityEnv(), activityFor(add), call('add', '{"a": 2, "b":'));
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/^arguments are not valid JSON: /);
  });

  it('treats empty arguments as an empty object', async () => {
    const noArgs = defineTool({ name: 'ping', description: 'Pings', parameters: z.object({}), execute: () => 'pong' });
    const result = await runIn(activityEnv(), activityFor(noArgs), call('ping', ''));
    expect(result).toEqual({ content: 'pong', isError: false });
  });

  it('sends arguments that break the schema back to the model with the issues', async () => {
    const result = await runIn(activityEnv(), activityFor(add), call('add', '{"a": "two"}'));
    expect(result.isError).toBe(true);
    expect(result.content).toMatch(/^arguments do not match the schema of add: a: .*expected number.*; b: /);
  });

  it("reports a tool's error to the model by its message, without a stack", async () => {
    const failing = defineTool({
      name: 'failing',
      description: 'Fails',
      parameters: z.object({}),
      execute: async () => {
        throw new Error('the catalogue is offline');
      },
    });
    const result = await runIn(activityEnv(), activityFor(failing), call('failing', '{}'));
    expect(result).toEqual({ content: 'the catalogue is offline', isError: true });
  });

  it('ends the turn with a non-retryable ToolFatal failure when the tool throws ToolFatalError', async () => {
    const fatal = defineTool({
      name: 'transfer',
      description: 'Moves money',
      parameters: z.object({}),
      execute: () => {
        throw new ToolFatalError('the ledger is inconsistent; stop');
      },
    });
    const run = runIn(activityEnv(), activityFor(fatal), call('transfer', '{}'));
    await expect(run).rejects.toBeInstanceOf(ApplicationFailure);
    await expect(run).rejects.toMatchObject({
      type: FailureTypes.ToolFatal,
      nonRetryable: true,
      message: 'the ledger is inconsistent; stop',
    });
  });

  it('aborts the tool signal when the activity is cancelled', async () => {
    const { tool, started } = controllableTool(
      (ctx) =>
        new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error));
        }),
    );
    const env = activityEnv();
    const run = runIn(env, activityFor(tool), call('slow', '{}'));
    const ctx = await started;
    env.cancel();
    await expect(run).rejects.toBeInstanceOf(CancelledFailure);
    expect(ctx.signal.aborted).toBe(true);
  });

  it('ends a cancelled activity even when the tool ignores its signal', async () => {
    const { tool, started } = controllableTool(() => new Promise(() => undefined));
    const env = activityEnv();
    const run = runIn(env, activityFor(tool), call('slow', '{}'));
    await started;
    env.cancel();
    await expect(run).rejects.toBeInstanceOf(CancelledFailure);
  });

  it('heartbeats while a slow tool runs', async () => {
    const env = activityEnv({ heartbeatTimeoutMs: 100 });
    let heartbeats = 0;
    // Counts heartbeats from the moment the tool runs; the tool finishes once three more arrived.
    const { tool, started } = controllableTool(
      () =>
        new Promise((resolve) => {
          env.on('heartbeat', () => {
            if (++heartbeats === 3) resolve('done');
          });
        }),
    );
    const run = runIn(env, activityFor(tool), call('slow', '{}'));
    await started;
    await expect(run).resolves.toEqual({ content: 'done', isError: false });
  });
});
