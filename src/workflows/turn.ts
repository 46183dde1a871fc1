/**
 * One turn: the steps that the pure turn rules (src/conversation/state.ts) choose, carried out one after the other
 * (payment, summary, model calls, approvals, tools) until the rules say the turn is finished; then the reply,
 * recorded, announced and delivered. A turn that fails ends with an error reply; the conversation goes on.
 */
import {
  ActivityFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { ModelCallInput, ModelCallRequest, ToolRunResult } from '../conversation/activity-contract';
import {
  type AgentSpec,
  DEFAULT_LIMITS,
  DEFAULT_MODEL_IDLE_TIMEOUT_MS,
  type ToolSpec,
} from '../conversation/agent-spec';
import type { Reply, ToolCall } from '../conversation/protocol';
import { turnStopReason } from '../conversation/run-limits';
import { mcpModelTools, withMcpTools } from '../conversation/mcp-tools';
import {
  answeringAgent,
  applyHandoff,
  applyModelAnswer,
  applyPayment,
  applySummary,
  applyToolResults,
  awaitingApproval,
  beginTurn,
  expireApprovals,
  finishTurn,
  handoffResult,
  nextStep,
  recordCuts,
  rememberBusyPolicy,
  requestApprovals,
  turnCuts,
} from '../conversation/state';
import { loadAgent, modelActivity, paymentActivity, toolActivity } from './activities';
import { type ConversationRun, currentAgent, now, runSize } from './conversation-run';
import { deliver } from './delivery';
import { withMcpLists } from './mcp-lists';
import { PATCHES } from './patches';
import { runSubAgent, tellParent } from './sub-agent';
import { errorReply, modelCallOverdue, runLimitNear } from './turn-failures';
import { publishVisibility } from './visibility';

export async function runTurn(run: ConversationRun, scope: CancellationScope): Promise<void> {
  const { state, events } = run;
  const turn = beginTurn(state, now());
  events.syncTranscript(state);
  publishVisibility(state, 'running');
  try {
    // Decided before the agent loads, never after: loadAgent is a local activity, and the SDK (1.23) may complete
    // the task that records its result before the workflow code after it runs. A patch first asked for there has
    // its marker in the next task while replay asks in this one, where it is not found: such a history (captured on
    // the real server under load) can never be replayed. Runs recorded with the marker after loadAgent replay as before.
    // Runs recorded before short-term memory sent the whole transcript and never summarized.
    const memory = patched(PATCHES.memory.id);
    const agent = await currentAgent(run);
    const outcome = await scope
      // Only an agent with MCP servers lists any: every other turn takes the path it always took.
      .run(async () => runSteps(run, agent.mcp?.length ? await withMcpLists(run, agent) : agent, memory))
      .catch((err: unknown) => {
        if (isCancellation(err) && state.turn?.cancelled) return nextStep(state, run.agent.spec ?? agent);
        throw err;
      });
    if (outcome.kind !== 'finish') throw new Error(`turn ended on a ${outcome.kind} step`);
    const reply = finishTurn(state, outcome.status, outcome.content, now());
    announceReply(run, reply);
    await deliver(run, turn.message, reply, agent.limits.deliveryRetry);
    events.syncTranscript(state); // a delivery failure's notice
  } catch (err) {
    if (!state.turn) throw err; // a delivery failure after the reply was recorded is handled in deliver()
    const reply = finishTurn(state, 'error', errorReply(err), now());
    announceReply(run, reply);
    log.warn('turn ended with an error', { turn: turn.turn, error: String(err) });
    // A posted message's channel is the only way its sender hears of the error. Runs recorded before this patch
    // kept error replies to the transcript (asked only for a channel, so replies to `send` replay unchanged).
    if (turn.message.channel && patched(PATCHES.deliverErrorReplies.id)) {
      await deliver(run, turn.message, reply, (run.agent.spec?.limits ?? DEFAULT_LIMITS).deliveryRetry);
      events.syncTranscript(state);
    }
  }
}

function announceReply(run: ConversationRun, reply: Reply): void {
  run.events.syncTranscript(run.state); // tool results and the notice of a turn that did not complete
  run.events.emit({ type: 'reply', reply });
}

type Step = ReturnType<typeof nextStep>;
type StepOf<K extends Step['kind']> = Extract<Step, { kind: K }>;

/**
 * Loads the agent a handoff gives the conversation to, which answers from the next step on: its definition
 * replaces the run's cached one, so the next model call names it and sends its instructions and tools (the worker
 * then answers with its version, as on a run's first call). An agent the worker does not serve is the model's
 * problem: the handoff's result says so and the conversation stays with the agent that asked.
 */
async function handOff(run: ConversationRun, to: string): Promise<{ agent?: AgentSpec; result: ToolRunResult }> {
  try {
    const spec = await loadAgent(to);
    run.agent = { spec };
    rememberBusyPolicy(run.state, spec);
    return { agent: spec, result: handoffResult(to) };
  } catch (error) {
    if (isCancellation(error)) throw error;
    log.warn('a handoff failed: its agent could not be loaded', { to, error: String(error) });
    const cause = error instanceof ActivityFailure && error.cause ? error.cause.message : String(error);
    return { result: { content: `the conversation could not be handed to agent "${to}": ${cause}`, isError: true } };
  }
}

/** Carries out steps until the turn's rules say it is finished. */
async function runSteps(run: ConversationRun, initialAgent: AgentSpec, memory: boolean): Promise<Step> {
  let agent = initialAgent;
  let summaries = true;
  for (;;) {
    const step = nextStep(run.state, agent, { memory, summaries });
    if (step.kind === 'finish') return step;
    // A runaway turn stops before Temporal would terminate the whole conversation. Asked only when it decides,
    // so runs recorded before it replay unchanged.
    const stop = turnStopReason(runSize(run));
    if (stop && patched(PATCHES.turnStopsNearRunLimits.id)) throw runLimitNear(stop);
    switch (step.kind) {
      case 'verify_payment':
        await verifyPayment(run, step);
        break;
      case 'summarize':
        summaries = await summarize(run, agent, step);
        break;
      case 'call_model':
        // An agent brought by the answer gets the recorded MCP lists' tools again (the same object without any).
        agent = withMcpTools(await callModel(run, agent, step), run.state);
        break;
      case 'await_approval':
        await awaitApproval(run, agent, step);
        break;
      case 'run_tools': {
        const results = [...step.settled, ...(await runTools(run, agent, step.calls))];
        // After the other calls of the answer, which the agent that offered them runs.
        const handedTo = step.handoff && (await handOff(run, step.handoff.to));
        if (step.handoff)
          results.push({ toolCall: step.handoff.toolCall, result: handedTo?.result ?? handoffResult(step.handoff.to) });
        applyToolResults(run.state, results, now());
        if (step.handoff && handedTo?.agent) {
          applyHandoff(run.state, step.handoff.to, now());
          // The agent handed to answers the next step with its MCP servers' tools, listed now if they are due.
          agent = handedTo.agent.mcp?.length ? await withMcpLists(run, handedTo.agent) : handedTo.agent;
        }
        run.events.syncTranscript(run.state);
        break;
      }
    }
  }
}

async function verifyPayment(run: ConversationRun, step: StepOf<'verify_payment'>): Promise<void> {
  // Not cancellable: a payment taken is always recorded, so the turn never loses what was paid.
  const outcome = await CancellationScope.nonCancellable(() =>
    paymentActivity(step.input.reference).verifyPayment(step.input),
  );
  applyPayment(run.state, outcome);
}

/** Folds older turns into the summary; false when it could not, so the turn goes on without summaries. */
async function summarize(run: ConversationRun, agent: AgentSpec, step: StepOf<'summarize'>): Promise<boolean> {
  try {
    const result = await modelActivity(
      agent,
      `${agent.model}: summary of turns before entry ${step.coversThrough + 1}`,
    ).summarize(step.input);
    applySummary(run.state, result, step.coversThrough);
    return true;
  } catch (err) {
    if (isCancellation(err)) throw err;
    // Without a new summary the window simply leaves the oldest turns out; the transcript keeps them all.
    log.warn('the summary could not be made; this turn goes on without it', { error: String(err) });
    return false;
  }
}

/** One model call; returns the agent as the answer brought it when the worker's definition changed. */
async function callModel(run: ConversationRun, agent: AgentSpec, step: StepOf<'call_model'>): Promise<AgentSpec> {
  // The activity gives up on a silent provider after the idle timeout; past the total bound the turn ends.
  const answer = await modelActivity(agent, `${agent.model}: turn ${step.input.turn}, step ${step.input.step}`)
    .callModel({
      ...byVersion(step.input, run.agent.version, agent),
      idleTimeoutMs: agent.limits.modelIdleTimeoutMs ?? DEFAULT_MODEL_IDLE_TIMEOUT_MS,
    })
    .catch((err: unknown) => {
      throw modelCallOverdue(err, agent) ?? err;
    });
  if (answer.agent) {
    agent = run.agent.spec = answer.agent;
    run.agent.version = answer.agentVersion;
    rememberBusyPolicy(run.state, agent);
  }
  applyModelAnswer(run.state, answer, now());
  // An answer cut at the model's output limit, or a message cut to fit the context window: the user is told, in a
  // notice and the reply. Asked only when something was cut, so runs recorded before it replay unchanged.
  const cut = turnCuts(run.state, answer);
  if (cut && patched(PATCHES.cutShort.id)) recordCuts(run.state, cut, now());
  run.events.syncTranscript(run.state);
  return agent;
}

/** Asks for approval and waits for the decisions, the agent's approval timeout, or the turn's cancellation. */
async function awaitApproval(run: ConversationRun, agent: AgentSpec, step: StepOf<'await_approval'>): Promise<void> {
  const { state, events } = run;
  const timeoutMs = agent.limits.approvalTimeoutMs;
  requestApprovals(state, step.requests, now(), timeoutMs ? new Date(Date.now() + timeoutMs).toISOString() : undefined);
  events.syncApprovals(state);
  publishVisibility(state, 'awaiting_approval');
  // A sub-agent conversation's approvals are answered here; its parent's view names it meanwhile.
  if (state.childOf) await tellParent(run, { status: 'awaiting_approval', pendingApprovals: state.turn!.approvals });
  const decided = await condition(() => !awaitingApproval(state) || state.turn?.cancelled != null, timeoutMs);
  if (!decided) {
    for (const approval of state.turn!.approvals) {
      events.emit({
        type: 'tool.decided',
        turn: state.turn!.turn,
        toolCallId: approval.toolCallId,
        decision: 'expired',
      });
    }
    expireApprovals(state);
  }
  publishVisibility(state, 'running');
  if (state.childOf) await tellParent(run, { status: 'running', pendingApprovals: [] });
}

/** The call without the agent's instructions and tools when the worker knows them by the version (ModelCallRequest). */
function byVersion(input: ModelCallInput, version: string | undefined, agent: AgentSpec): ModelCallRequest {
  if (!version) return input;
  const { instructions: _instructions, tools: _tools, ...rest } = input;
  // The worker knows the agent's own tools, not the MCP lists this conversation recorded.
  const mcpTools = mcpModelTools(agent);
  return { ...rest, agentVersion: version, ...(mcpTools.length > 0 ? { mcpTools } : {}) };
}

/** Runs the approved calls of one model answer, at most `maxParallelTools` at a time. */
/**
 * One tool call. A tool's own failures already come back as results for the model (src/activities/tools.ts);
 * what is left is an attempt that never finished: the tool hung past its timeout, or the worker running it died.
 * When every attempt ended so, the model is told the tool did not finish, as it is told of any failing tool, and
 * the turn goes on: a run of worker crashes costs the user one tool's result, not the whole reply.
 */
async function runTool(run: ConversationRun, tool: ToolSpec, call: ToolCall): Promise<ToolRunResult> {
  const { state } = run;
  try {
    return await toolActivity(tool, `${tool.name} (${call.id})`).runTool({
      // The agent whose tool it is: the one answering, which may be another than the conversation's own.
      agent: answeringAgent(state),
      conversationId: state.conversationId,
      turn: state.turn!.turn,
      toolCall: call,
    });
  } catch (error) {
    const timedOut = error instanceof ActivityFailure && error.cause instanceof TimeoutFailure;
    if (!timedOut || !patched(PATCHES.toolTimeoutToModel.id)) throw error;
    return {
      content: `${tool.name} did not finish: each attempt timed out (after ${tool.timeoutMs / 1000} s) or the worker running it stopped`,
      isError: true,
    };
  }
}

async function runTools(
  run: ConversationRun,
  agent: AgentSpec,
  calls: ToolCall[],
): Promise<{ toolCall: ToolCall; result: ToolRunResult }[]> {
  const results: { toolCall: ToolCall; result: ToolRunResult }[] = [];
  const queue = [...calls];
  const worker = async () => {
    for (let call = queue.shift(); call; call = queue.shift()) {
      const tool = agent.tools.find((t) => t.name === call!.name)!;
      // An agent tool (agentAsTool) runs as a sub-agent conversation, every other tool as an activity.
      const result = tool.agent
        ? await runSubAgent(run, { ...tool, agent: tool.agent }, call)
        : await runTool(run, tool, call);
      results.push({ toolCall: call, result });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(agent.limits.maxParallelTools, calls.length)) }, worker));
  return results;
}
