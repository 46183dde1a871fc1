/**
 * The conversation workflow: one per (agent, conversation id). It takes messages at any time, runs one turn
 * at a time in arrival order, and carries out the steps that the pure turn rules in src/conversation/state.ts
 * choose: model calls, tool calls (after approval where the agent asks for it), delivery of the reply.
 */
import {
  ActivityCancellationType,
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  workflowInfo,
  makeContinueAsNewFunc,
} from '@temporalio/workflow';
import {
  type AgentSpec,
  DEFAULT_LIMITS,
  DEFAULT_MODEL_IDLE_TIMEOUT_MS,
  type RetrySpec,
  type ToolSpec,
} from '../conversation/agent-spec';
import {
  ConversationActivities,
  type ModelCallInput,
  type ModelCallRequest,
  ToolRunResult,
} from '../conversation/activity-contract';
import { FailureTypes } from '../conversation/failure-types';
import {
  cancelTurnUpdate,
  CancelTurnRequest,
  decideUpdate,
  Decision,
  describeZodError,
  endSignal,
  InboundMessage,
  messageSignal,
  RecordedInboundMessage,
  Reply,
  sendUpdate,
  StartConversation,
  stateQuery,
  ToolCall,
  TranscriptPageRequest,
  transcriptQuery,
} from '../conversation/protocol';
import {
  admit,
  applyDecision,
  applyModelAnswer,
  applyPayment,
  applySummary,
  applyToolResults,
  awaitingApproval,
  beginTurn,
  cancelTurn,
  carriedState,
  ConversationState,
  decisionRefusal,
  expireApprovals,
  finishTurn,
  initialState,
  nextStep,
  olderIdRefusal,
  refusal,
  requestApprovals,
  restoreState,
  seededState,
  transcriptPage,
  view,
} from '../conversation/state';
import { ConversationEvents, type ConversationEventsState, EVENTS_GRACE_MS } from './conversation-events';
import {
  DEFAULT_SWITCH_THRESHOLDS,
  pastSignalThreshold,
  type RunSize,
  turnStopReason,
} from '../conversation/run-limits';
import { errorReply, failureMessage, modelCallOverdue, modelTotalTimeoutMs, runLimitNear } from './turn-failures';
import { PATCHES } from './patches';
import { publishVisibility } from './visibility';

const { loadAgent } = proxyLocalActivities<ConversationActivities>({
  startToCloseTimeout: '10s',
  retry: { maximumAttempts: 5, nonRetryableErrorTypes: [FailureTypes.UnknownAgent] },
});

export interface ConversationResult {
  turns: number;
}

export async function conversation(input: StartConversation): Promise<ConversationResult> {
  const start = StartConversation.parse(input);
  const state: ConversationState =
    start.state !== undefined
      ? restoreState(start.state, start.agent, start.conversationId)
      : start.seed !== undefined
        ? seededState(start.agent, start.conversationId, start.seed, now())
        : initialState(start.agent, start.conversationId);
  let turnScope: CancellationScope | undefined;
  const agentCache: AgentCache = {};
  const run: RunLocal = { signals: 0, delivering: null };
  /** Messages whose `send` waits in this run for its reply. */
  const awaitingReply = new Set<string>();
  /**
   * Set when a long run must switch while messages are queued: new sends are refused (their client sends them
   * again to the next run) until the sends already waiting here are answered; then the run continues as new
   * with the rest of the queue.
   */
  let draining = false;
  const events = new ConversationEvents(
    state,
    start.events as ConversationEventsState | undefined,
    () => run.signals++,
  );

  setHandler(
    sendUpdate,
    async (message) => {
      if (admit(state, message) === 'duplicate')
        log.info('message seen before; answering with its reply', { messageId: message.id });
      awaitingReply.add(message.id);
      try {
        await condition(() => state.seen[message.id]?.reply != null);
      } finally {
        awaitingReply.delete(message.id);
      }
      return state.seen[message.id].reply!;
    },
    {
      // A function, not an arrow, to see every argument: `send` takes one message, and a raw update with more
      // would otherwise be accepted with the rest silently ignored.
      validator: function (message) {
        if (arguments.length !== 1) throw invalid(`send takes exactly one message, got ${arguments.length} arguments`);
        const parsed = InboundMessage.safeParse(message);
        if (!parsed.success) throw invalid(`invalid message: ${describeZodError(parsed.error)}`);
        const reason = refusal(state, parsed.data);
        if (reason) throw invalid(reason);
        // An id that left the dedupe window never starts a turn again. Validators do not run on replay: no patch.
        const reused = olderIdRefusal(state, parsed.data);
        if (reused) throw invalid(reused);
        const seen = state.seen[parsed.data.id];
        // While draining, only a send whose reply is here already is taken: anything else would wait in this run.
        if (draining && seen?.reply == null) {
          throw ApplicationFailure.retryable(
            'the conversation is moving to its next run; send the message again',
            FailureTypes.SwitchingRuns,
          );
        }
        if (seen && seen.turn !== null && seen.reply === null && state.turn?.message.id !== parsed.data.id) {
          throw invalid(`message ${parsed.data.id} was answered too long ago for its reply to be kept`);
        }
      },
    },
  );

  setHandler(messageSignal, (message) => {
    run.signals++;
    // Signals cannot be refused; the typed client and the gateway validate before sending. What still
    // arrives malformed is logged and dropped rather than failing the conversation.
    const parsed = RecordedInboundMessage.safeParse(message);
    if (!parsed.success) {
      log.warn('dropped an invalid message signal', { problem: describeZodError(parsed.error) });
      return;
    }
    if (refusal(state, parsed.data)) {
      log.warn('dropped a message sent after the conversation began ending', { messageId: parsed.data.id });
      return;
    }
    const posted: InboundMessage = { channel: { type: 'log' }, ...parsed.data };
    // An id that left the dedupe window never starts a turn again; the sender of a post hears of it only on its
    // channel. Runs recorded before this patch took such an id as new.
    const reused = olderIdRefusal(state, posted);
    if (reused && patched(PATCHES.olderIds.id)) {
      log.warn('dropped a message whose id was used before', { messageId: posted.id });
      return deliverRefusal(state, posted, reused, agentCache);
    }
    admit(state, posted);
  });

  setHandler(
    decideUpdate,
    (decision) => {
      applyDecision(state, decision);
      events.emit({
        type: 'tool.decided',
        turn: state.turn!.turn,
        toolCallId: decision.toolCallId,
        decision: decision.decision,
      });
      return { accepted: true as const };
    },
    {
      validator: (decision) => {
        const parsed = Decision.safeParse(decision);
        if (!parsed.success) throw invalid(`invalid decision: ${describeZodError(parsed.error)}`);
        const reason = decisionRefusal(state, parsed.data);
        if (reason) throw invalid(reason);
      },
    },
  );

  setHandler(
    cancelTurnUpdate,
    (request?: CancelTurnRequest) => {
      const turn = cancelTurn(state, request?.reason, request?.messageId);
      // Cancelling the scope requests cancellation of the running model or tool activity.
      if (turn !== null) turnScope?.cancel();
      return { cancelled: turn !== null, turn };
    },
    {
      validator: (request?: CancelTurnRequest) => {
        const parsed = CancelTurnRequest.optional().safeParse(request);
        if (!parsed.success) throw invalid(`invalid cancel request: ${describeZodError(parsed.error)}`);
      },
    },
  );

  setHandler(endSignal, () => {
    run.signals++;
    state.ending = true;
  });
  setHandler(stateQuery, () => view(state, { delivering: run.delivering }));
  setHandler(transcriptQuery, (request?: TranscriptPageRequest) =>
    transcriptPage(state, TranscriptPageRequest.parse(request ?? {})),
  );

  for (;;) {
    if (
      state.queue.length === 0 &&
      !state.ending &&
      runIsLong(agentCache.spec, run) &&
      patched(PATCHES.continueAsNew.id)
    ) {
      await continueAsNewBetweenTurns(state, events);
    } else if (
      state.queue.length > 0 &&
      !state.ending &&
      runIsLong(agentCache.spec, run) &&
      patched(PATCHES.continueAsNewBusy.id)
    ) {
      // Busy: a conversation that is never idle must switch too. Once no queued message has a send waiting for
      // its reply here, the queue goes with the state; until then, turns go on and new sends wait for the next run.
      draining = true;
      if (!state.queue.some((m) => awaitingReply.has(m.id)))
        await continueAsNewBetweenTurns(state, events, { carryQueue: true });
    }
    // 'idle' is only worth a command when the conversation will actually wait: a message that came with the
    // start, or was queued during the last turn, goes straight to 'running'.
    if (state.queue.length === 0 && !state.ending) publishVisibility(state, 'idle');
    await condition(() => state.queue.length > 0 || state.ending);
    if (state.queue.length === 0) break;
    turnScope = new CancellationScope();
    await runTurn(state, turnScope, agentCache, events, run);
    turnScope = undefined;
    events.turnFinished();
  }
  publishVisibility(state, 'ended');
  events.emit({ type: 'conversation.ended', turns: state.turns });
  // Watchers between two polls would find the run closed and its events gone: give them a moment to read the
  // last reply and the end. Runs recorded before this patch closed at once.
  if (patched(PATCHES.eventsGrace.id)) await sleep(EVENTS_GRACE_MS);
  events.detach();
  await condition(allHandlersFinished);
  return { turns: state.turns };
}

/** What this run knows beyond the conversation's state; none of it is carried to the next run. */
interface RunLocal {
  /** Signals this run has received: Temporal refuses a run's 10,001st, and nothing else counts them for us. */
  signals: number;
  /** The message whose reply is being delivered to its channel (retried while the channel is down). */
  delivering: string | null;
}

/** Whether the run should continue as new at this turn boundary (see run-limits.ts for the limits behind it). */
function runIsLong(agent: AgentSpec | undefined, run: RunLocal): boolean {
  const info = workflowInfo();
  const limits = agent?.limits;
  if (info.continueAsNewSuggested && limits?.continueAsNewWhenSuggested !== false) return true;
  if (info.historyLength >= (limits?.continueAsNewAfterEvents ?? DEFAULT_SWITCH_THRESHOLDS.events)) return true;
  // The size and the signals are asked last, and each patch only when it decides, so runs recorded before them
  // replay unchanged.
  if (
    info.historySize >= (limits?.continueAsNewAfterBytes ?? DEFAULT_SWITCH_THRESHOLDS.bytes) &&
    patched(PATCHES.continueAsNewBytes.id)
  )
    return true;
  return (
    pastSignalThreshold(run.signals, limits?.continueAsNewAfterSignals) && patched(PATCHES.continueAsNewSignals.id)
  );
}

function runSize(run: RunLocal): RunSize {
  const info = workflowInfo();
  return { events: info.historyLength, bytes: info.historySize, signals: run.signals };
}

/**
 * Continues the conversation as a new run with its whole state: transcript, summary, usage, remembered
 * approvals, the dedupe window and stored replies, the older message ids, queued messages, and the event stream
 * (so watchers follow without a gap). Only between turns, when no `send` waits for a reply here; every handler
 * finishes first.
 * When idle, a message that arrives meanwhile is taken here and answered first: this run continues as new at
 * the next turn boundary instead. When busy (`carryQueue`), queued messages go to the next run.
 */
async function continueAsNewBetweenTurns(
  state: ConversationState,
  events: ConversationEvents,
  options: { carryQueue?: boolean } = {},
): Promise<void> {
  events.detach();
  await condition(allHandlersFinished);
  // Watchers stay detached (they retry) until the switch happens at the end of this extra turn.
  if ((state.queue.length > 0 && !options.carryQueue) || state.ending) return;
  log.info('continuing as new', { turns: state.turns, historyLength: workflowInfo().historyLength });
  // The memo and search attributes go along: Temporal starts the next run with none unless the command carries
  // them, and the Temporal UI and `temporal workflow list` would show a conversation without them until its
  // next turn boundary.
  const { memo, typedSearchAttributes } = workflowInfo();
  await makeContinueAsNewFunc<typeof conversation>({ memo, typedSearchAttributes })({
    agent: state.agent,
    conversationId: state.conversationId,
    // Older entries go as stored references: the next run's state is a few hundred entries of text, not all.
    state: carriedState(state),
    events: events.snapshot(),
  });
}

/**
 * The agent's definition as last seen: loaded by a local activity on a run's first turn, then refreshed by
 * model answers (the model activity returns it when its version is not `version`), so a changed model or tool
 * policy applies from the next step. Runs recorded before this patch load it every turn.
 */
interface AgentCache {
  spec?: AgentSpec;
  /** The version of `spec` when a model answer brought it; unknown for a spec loaded by loadAgent. */
  version?: string;
}

/** The call without the agent's instructions and tools when the worker knows them by the version (ModelCallRequest). */
function byVersion(input: ModelCallInput, version: string | undefined): ModelCallRequest {
  if (!version) return input;
  const { instructions: _instructions, tools: _tools, ...rest } = input;
  return { ...rest, agentVersion: version };
}

async function currentAgent(state: ConversationState, agentCache: AgentCache): Promise<AgentSpec> {
  if (agentCache.spec && patched(PATCHES.agentFromModel.id)) return agentCache.spec;
  agentCache.version = undefined;
  return (agentCache.spec = await loadAgent(state.agent));
}

async function runTurn(
  state: ConversationState,
  scope: CancellationScope,
  agentCache: AgentCache,
  events: ConversationEvents,
  run: RunLocal,
): Promise<void> {
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
    const agent = await currentAgent(state, agentCache);
    const outcome = await scope
      .run(() => runSteps(state, agent, agentCache, events, run, memory))
      .catch((err: unknown) => {
        if (isCancellation(err) && state.turn?.cancelled) return nextStep(state, agentCache.spec ?? agent);
        throw err;
      });
    if (outcome.kind !== 'finish') throw new Error(`turn ended on a ${outcome.kind} step`);
    const reply = finishTurn(state, outcome.status, outcome.content, now());
    announceReply(events, state, reply);
    await deliver(state, run, turn.message, reply, agent.limits.deliveryRetry);
    events.syncTranscript(state); // a delivery failure's notice
  } catch (err) {
    if (!state.turn) throw err; // a delivery failure after the reply was recorded is handled in deliver()
    const reply = finishTurn(state, 'error', errorReply(err), now());
    announceReply(events, state, reply);
    log.warn('turn ended with an error', { turn: turn.turn, error: String(err) });
    // A posted message's channel is the only way its sender hears of the error. Runs recorded before this patch
    // kept error replies to the transcript (asked only for a channel, so replies to `send` replay unchanged).
    if (turn.message.channel && patched(PATCHES.deliverErrorReplies.id)) {
      await deliver(state, run, turn.message, reply, (agentCache.spec?.limits ?? DEFAULT_LIMITS).deliveryRetry);
      events.syncTranscript(state);
    }
  }
}

function announceReply(events: ConversationEvents, state: ConversationState, reply: Reply): void {
  events.syncTranscript(state); // tool results and the notice of a turn that did not complete
  events.emit({ type: 'reply', reply });
}

/** Carries out steps until the turn's rules say it is finished. */
async function runSteps(
  state: ConversationState,
  initialAgent: AgentSpec,
  agentCache: AgentCache,
  events: ConversationEvents,
  run: RunLocal,
  memory: boolean,
): Promise<ReturnType<typeof nextStep>> {
  let agent = initialAgent;
  let summaries = true;
  for (;;) {
    const step = nextStep(state, agent, { memory, summaries });
    if (step.kind === 'finish') return step;
    // A runaway turn stops before Temporal would terminate the whole conversation. Asked only when it decides,
    // so runs recorded before it replay unchanged.
    const stop = turnStopReason(runSize(run));
    if (stop && patched(PATCHES.turnStopsNearRunLimits.id)) throw runLimitNear(stop);
    switch (step.kind) {
      case 'verify_payment': {
        // Not cancellable: a payment taken is always recorded, so the turn never loses what was paid.
        const outcome = await CancellationScope.nonCancellable(() =>
          paymentActivity(step.input.reference).verifyPayment(step.input),
        );
        applyPayment(state, outcome);
        break;
      }
      case 'summarize': {
        try {
          const result = await modelActivity(
            agent,
            `${agent.model}: summary of turns before entry ${step.coversThrough + 1}`,
          ).summarize(step.input);
          applySummary(state, result, step.coversThrough);
        } catch (err) {
          if (isCancellation(err)) throw err;
          // Without a new summary the window simply leaves the oldest turns out; the transcript keeps them all.
          log.warn('the summary could not be made; this turn goes on without it', { error: String(err) });
          summaries = false;
        }
        break;
      }
      case 'call_model': {
        // The activity gives up on a silent provider after the idle timeout; past the total bound the turn ends.
        const answer = await modelActivity(agent, `${agent.model}: turn ${step.input.turn}, step ${step.input.step}`)
          .callModel({
            ...byVersion(step.input, agentCache.version),
            idleTimeoutMs: agent.limits.modelIdleTimeoutMs ?? DEFAULT_MODEL_IDLE_TIMEOUT_MS,
          })
          .catch((err: unknown) => {
            throw modelCallOverdue(err, agent) ?? err;
          });
        if (answer.agent) {
          agent = agentCache.spec = answer.agent;
          agentCache.version = answer.agentVersion;
        }
        applyModelAnswer(state, answer, now());
        events.syncTranscript(state);
        break;
      }
      case 'await_approval': {
        const timeoutMs = agent.limits.approvalTimeoutMs;
        requestApprovals(
          state,
          step.requests,
          now(),
          timeoutMs ? new Date(Date.now() + timeoutMs).toISOString() : undefined,
        );
        events.syncApprovals(state);
        publishVisibility(state, 'awaiting_approval');
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
        break;
      }
      case 'run_tools':
        applyToolResults(state, [...step.settled, ...(await runTools(state, agent, step.calls))], now());
        events.syncTranscript(state);
        break;
    }
  }
}

/** Runs the approved calls of one model answer, at most `maxParallelTools` at a time. */
async function runTools(
  state: ConversationState,
  agent: AgentSpec,
  calls: ToolCall[],
): Promise<{ toolCall: ToolCall; result: ToolRunResult }[]> {
  const results: { toolCall: ToolCall; result: ToolRunResult }[] = [];
  const queue = [...calls];
  const worker = async () => {
    for (let call = queue.shift(); call; call = queue.shift()) {
      const tool = agent.tools.find((t) => t.name === call!.name)!;
      const result = await toolActivity(tool, `${tool.name} (${call.id})`).runTool({
        agent: state.agent,
        conversationId: state.conversationId,
        turn: state.turn!.turn,
        toolCall: call,
      });
      results.push({ toolCall: call, result });
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(agent.limits.maxParallelTools, calls.length)) }, worker));
  return results;
}

async function deliver(
  state: ConversationState,
  run: RunLocal,
  message: InboundMessage,
  reply: Reply,
  retry: RetrySpec,
): Promise<void> {
  if (!message.channel) return; // the caller of `send` receives the reply itself
  run.delivering = message.id;
  try {
    await delivery(message.id, message.channel.type, retry).deliverReply({
      agent: state.agent,
      conversationId: state.conversationId,
      channel: message.channel,
      reply,
    });
  } catch (err) {
    // The reply is already recorded and returned to any waiting caller; a channel that cannot take it is
    // noted in the transcript rather than failing the conversation.
    log.warn('reply could not be delivered', { messageId: message.id, error: String(err) });
    state.transcript.push({
      role: 'notice',
      turn: reply.turn,
      content: `The reply could not be delivered to its ${message.channel.type} channel: ${failureMessage(err)}`,
      at: now(),
    });
  } finally {
    run.delivering = null;
  }
}

/**
 * Tells a posted message's channel that its id was used before, so it is not answered. Such a message gets no
 * turn: the reply names the conversation's latest one. A resent id's refusal carries the same idempotency key as
 * its first reply, so a receiver that dedupes keeps the first; a new id taken for a used one (rare) is heard.
 */
async function deliverRefusal(
  state: ConversationState,
  message: InboundMessage,
  content: string,
  agentCache: AgentCache,
): Promise<void> {
  const channel = message.channel ?? { type: 'log' as const };
  const reply: Reply = {
    messageId: message.id,
    turn: Math.max(1, state.turns),
    status: 'error',
    content,
    models: [],
    usage: { inputTokens: 0, outputTokens: 0 },
  };
  try {
    const retry = (agentCache.spec?.limits ?? DEFAULT_LIMITS).deliveryRetry;
    await delivery(message.id, channel.type, retry).deliverReply({
      agent: state.agent,
      conversationId: state.conversationId,
      channel,
      reply,
    });
  } catch (err) {
    log.warn('the refusal of a reused message id could not be delivered', {
      messageId: message.id,
      error: String(err),
    });
  }
}

// Summaries name what each activity did, for the Temporal UI and CLI.
function delivery(messageId: string, channelType: string, retry: RetrySpec) {
  return proxyActivities<ConversationActivities>({
    summary: `reply to message ${messageId} via ${channelType}`,
    startToCloseTimeout: '30s',
    retry: { ...retryOptions(retry), nonRetryableErrorTypes: [FailureTypes.DeliveryRejected] },
  });
}

/**
 * A model call's (or summary's) activity: each attempt within `modelTimeoutMs`, all attempts together within
 * `modelTotalTimeoutMs`. Timeouts are not compared on replay (Core 1.23 checks an activity's type and id only), so
 * runs recorded without the total bound replay unchanged and get it from their next call on.
 */
function modelActivity(agent: AgentSpec, summary: string) {
  return proxyActivities<ConversationActivities>({
    summary,
    startToCloseTimeout: agent.limits.modelTimeoutMs,
    scheduleToCloseTimeout: modelTotalTimeoutMs(agent),
    heartbeatTimeout: Math.min(30_000, agent.limits.modelTimeoutMs),
    retry: { ...retryOptions(agent.limits.modelRetry), nonRetryableErrorTypes: [FailureTypes.ModelRequestRejected] },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}

function paymentActivity(reference: string) {
  return proxyActivities<ConversationActivities>({
    summary: `payment ${reference}`,
    startToCloseTimeout: '30s',
    retry: {
      maximumAttempts: 10,
      initialInterval: '1s',
      backoffCoefficient: 2,
      maximumInterval: '30s',
      nonRetryableErrorTypes: [FailureTypes.PaymentVerifierMissing, FailureTypes.PaymentRequestInvalid],
    },
  });
}

function toolActivity(tool: ToolSpec, summary: string) {
  return proxyActivities<ConversationActivities>({
    summary,
    startToCloseTimeout: tool.timeoutMs,
    heartbeatTimeout: Math.min(30_000, tool.timeoutMs),
    retry: { ...retryOptions(tool.retry), nonRetryableErrorTypes: [FailureTypes.ToolFatal] },
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  });
}

function retryOptions(r: RetrySpec) {
  return {
    maximumAttempts: r.maximumAttempts,
    initialInterval: r.initialIntervalMs,
    backoffCoefficient: r.backoffCoefficient,
    maximumInterval: r.maximumIntervalMs,
  };
}

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureTypes.Refused);
}

/** Workflow time: deterministic on replay. */
function now(): string {
  return new Date().toISOString();
}
