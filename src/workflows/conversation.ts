/**
 * The conversation workflow: one per (agent, conversation id), the life of a conversation. It takes messages at
 * any time, runs one turn at a time in arrival order (./turn.ts), answers queries about itself, and when its run
 * grows long continues as new between two turns, carrying everything over. The rules of what to do live in
 * src/conversation/state.ts; this file and its neighbours carry them out.
 */
import {
  allHandlersFinished,
  ApplicationFailure,
  CancellationScope,
  condition,
  log,
  makeContinueAsNewFunc,
  patched,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import { FailureTypes } from '../conversation/failure-types';
import {
  cancelTurnUpdate,
  CancelTurnRequest,
  decideUpdate,
  Decision,
  describeZodError,
  endSignal,
  ForkPointRequest,
  forkPointQuery,
  InboundMessage,
  messageSignal,
  RecordedInboundMessage,
  sendUpdate,
  type Reply,
  StartConversation,
  stateQuery,
  subConversationSignal,
  SubConversationUpdate,
  TranscriptPageRequest,
  transcriptQuery,
} from '../conversation/protocol';
import {
  admit,
  applyDecision,
  busyRefusal,
  cancelTurn,
  carriedState,
  decisionRefusal,
  interruptReason,
  interrupts,
  olderIdRefusal,
  refusal,
  sendRefusal,
  transcriptPage,
  view,
} from '../conversation/state';
import { forkPoint } from '../conversation/fork';
import { EVENTS_GRACE_MS } from './conversation-events';
import { type ConversationRun, now, runIsLong, startRun } from './conversation-run';
import { deliverRefusal } from './delivery';
import { PATCHES } from './patches';
import { isUndecodablePayload } from './payload-converter';
import { takeSubConversationUpdate } from './sub-agent';
import { runTurn } from './turn';
import type { ConversationUsage } from '../conversation/usage';
import { publishVisibility } from './visibility';

export interface ConversationResult {
  turns: number;
  /** A sub-agent conversation's (agentAsTool) reply to its one message, and what it used: for its parent. */
  reply?: Reply;
  usage?: ConversationUsage;
}

export async function conversation(input: StartConversation): Promise<ConversationResult> {
  const run = startRun(StartConversation.parse(input), now());
  // In this order, which is the order buffered messages, decisions and cancels are handed to them on replay.
  takeSends(run);
  takePosts(run);
  takeDecisions(run);
  takeCancels(run);
  takeEnd(run);
  takeSubConversations(run);
  answerQueries(run);
  const childOf = run.state.childOf;
  if (childOf) return answerParent(run, input.message!.id);
  await takeTurns(run);
  await close(run);
  return { turns: run.state.turns };
}

/**
 * A sub-agent conversation: its one message's turn, then the end; its reply and usage go to the parent as the
 * result. Cancelling it (the parent's turn was cancelled) cancels the turn as `cancelTurn` does, so it still ends
 * with a reply, its transcript and its usage, rather than failing.
 */
async function answerParent(run: ConversationRun, messageId: string): Promise<ConversationResult> {
  CancellationScope.current().cancelRequested.catch(() => {
    if (cancelTurn(run.state, 'the turn that asked this agent was cancelled') !== null) run.turnScope?.cancel();
    run.state.queue = []; // not begun yet: nothing to answer
  });
  await CancellationScope.nonCancellable(async () => {
    await takeTurns(run);
    await close(run);
  });
  return { turns: run.state.turns, reply: run.state.seen[messageId]?.reply ?? undefined, usage: run.state.usage };
}

/** The `subConversation` signal: a sub-agent conversation of the turn waits for approvals, or no longer does. */
function takeSubConversations(run: ConversationRun): void {
  setHandler(subConversationSignal, (update) => {
    run.signals++;
    const parsed = SubConversationUpdate.safeParse(update);
    if (!parsed.success) {
      log.warn('dropped an invalid subConversation signal', { problem: describeZodError(parsed.error) });
      return;
    }
    takeSubConversationUpdate(run, parsed.data);
  });
}

/** The `send` update: a message whose caller waits for the turn's reply. Refused sends leave no trace in history. */
function takeSends(run: ConversationRun): void {
  const { state } = run;
  setHandler(
    sendUpdate,
    async (message) => {
      if (admit(state, message) === 'duplicate')
        log.info('message seen before; answering with its reply', { messageId: message.id });
      else interruptTurn(run, message);
      run.awaitingReply.add(message.id);
      try {
        await condition(() => state.seen[message.id]?.reply != null);
      } finally {
        run.awaitingReply.delete(message.id);
      }
      return state.seen[message.id].reply!;
    },
    {
      // A function, not an arrow, to see every argument: `send` takes one message, and a raw update with more
      // would otherwise be accepted with the rest silently ignored. Validators do not run on replay: a new rule
      // here needs no patch.
      validator: function (message) {
        if (arguments.length !== 1) throw invalid(`send takes exactly one message, got ${arguments.length} arguments`);
        // Says what the payload was (a forged claim, say) rather than every field a message lacks.
        if (isUndecodablePayload(message)) throw invalid(`invalid message: ${message.undecodablePayload}`);
        const parsed = InboundMessage.safeParse(message);
        if (!parsed.success) throw invalid(`invalid message: ${describeZodError(parsed.error)}`);
        const reason = sendRefusal(state, parsed.data);
        if (reason) throw invalid(reason);
        // Before the draining check: the next run would refuse it as well while the conversation stays busy.
        const busy = busyRefusal(state, parsed.data);
        if (busy) throw ApplicationFailure.nonRetryable(busy, FailureTypes.TurnInProgress);
        // While draining, only a send whose reply is here already is taken: anything else would wait in this run.
        if (run.draining && state.seen[parsed.data.id]?.reply == null) {
          throw ApplicationFailure.retryable(
            'the conversation is moving to its next run; send the message again',
            FailureTypes.SwitchingRuns,
          );
        }
      },
    },
  );
}

/** The `message` signal: a message posted without waiting; its reply goes to its channel. */
function takePosts(run: ConversationRun): void {
  const { state } = run;
  // A function, not an arrow, to see every argument, as the send validator does.
  setHandler(messageSignal, function (message) {
    run.signals++;
    // Signals cannot be refused; the typed client and the gateway validate before sending. What still
    // arrives malformed is logged and dropped rather than failing the conversation.
    const parsed = RecordedInboundMessage.safeParse(message);
    if (!parsed.success) {
      log.warn('dropped an invalid message signal', { problem: describeZodError(parsed.error) });
      return;
    }
    // What the boundaries refuse, a raw Temporal client can still send: a message outside the protocol's grammar
    // (an id no HTTP header can carry, metadata past its limits, a webhook URL with credentials) or more than one
    // argument. Dropped as `send` refuses it. Runs recorded before this patch admitted it, as the recorded grammar does.
    const strict = InboundMessage.safeParse(message);
    const problem =
      arguments.length !== 1
        ? `message takes exactly one message, got ${arguments.length} arguments`
        : strict.success
          ? undefined
          : describeZodError(strict.error);
    if (problem && patched(PATCHES.postGrammar.id)) {
      log.warn('dropped an invalid message signal', { problem });
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
      return deliverRefusal(run, posted, reused);
    }
    // A post cannot be refused as a send is: under `onBusy: 'reject'` it is dropped and its channel told, as for
    // a reused id. Asked only when it decides: no agent had the policy before this patch.
    const busy = busyRefusal(state, posted);
    if (busy && patched(PATCHES.onBusy.id)) {
      log.warn('dropped a message that came while the conversation was busy', { messageId: posted.id });
      return deliverRefusal(run, posted, busy, 'busy');
    }
    if (admit(state, posted) === 'new') interruptTurn(run, posted);
  });
}

/**
 * Under `onBusy: 'interrupt'`, a new message cancels the turn in flight as `cancelTurn` does (its reply has status
 * `cancelled`, its partial output stays in the transcript); the message then takes its turn. Asked only when it
 * decides: no agent had the policy before this patch, so runs recorded before it replay unchanged.
 */
function interruptTurn(run: ConversationRun, message: InboundMessage): void {
  if (!interrupts(run.state, message) || !patched(PATCHES.onBusy.id)) return;
  log.info('a new message interrupts the turn in flight', { messageId: message.id, turn: run.state.turn?.turn });
  if (cancelTurn(run.state, interruptReason(message)) !== null) run.turnScope?.cancel();
}

/** The `decide` update: an answer to a tool call waiting for approval. */
function takeDecisions(run: ConversationRun): void {
  const { state } = run;
  setHandler(
    decideUpdate,
    (decision) => {
      applyDecision(state, decision);
      run.events.emit({
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
}

/** The `cancelTurn` update: the turn in flight is cancelled, with its running model or tool activity. */
function takeCancels(run: ConversationRun): void {
  setHandler(
    cancelTurnUpdate,
    (request?: CancelTurnRequest) => {
      const turn = cancelTurn(run.state, request?.reason, request?.messageId);
      if (turn !== null) run.turnScope?.cancel();
      return { cancelled: turn !== null, turn };
    },
    {
      validator: (request?: CancelTurnRequest) => {
        const parsed = CancelTurnRequest.optional().safeParse(request);
        if (!parsed.success) throw invalid(`invalid cancel request: ${describeZodError(parsed.error)}`);
      },
    },
  );
}

/** The `end` signal: the conversation closes after the current turn and the messages queued before it. */
function takeEnd(run: ConversationRun): void {
  setHandler(endSignal, () => {
    run.signals++;
    run.state.ending = true;
  });
}

function answerQueries(run: ConversationRun): void {
  setHandler(stateQuery, () => view(run.state, { delivering: run.delivering }));
  setHandler(transcriptQuery, (request?: TranscriptPageRequest) =>
    transcriptPage(run.state, TranscriptPageRequest.parse(request ?? {})),
  );
  // A query records nothing: the original is left exactly as it was by a fork of it.
  setHandler(forkPointQuery, (request: ForkPointRequest) =>
    forkPoint(run.state, ForkPointRequest.parse(request).atTurn),
  );
}

/** Turns, one at a time, until the conversation ends or this run continues as new. */
async function takeTurns(run: ConversationRun): Promise<void> {
  const { state } = run;
  for (;;) {
    if (state.queue.length === 0 && !state.ending && runIsLong(run) && patched(PATCHES.continueAsNew.id)) {
      await continueAsNewBetweenTurns(run);
    } else if (state.queue.length > 0 && !state.ending && runIsLong(run) && patched(PATCHES.continueAsNewBusy.id)) {
      // Busy: a conversation that is never idle must switch too. Once no queued message has a send waiting for
      // its reply here, the queue goes with the state; until then, turns go on and new sends wait for the next run.
      run.draining = true;
      if (!state.queue.some((m) => run.awaitingReply.has(m.id)))
        await continueAsNewBetweenTurns(run, { carryQueue: true });
    }
    // 'idle' is only worth a command when the conversation will actually wait: a message that came with the
    // start, or was queued during the last turn, goes straight to 'running'.
    if (state.queue.length === 0 && !state.ending) publishVisibility(state, 'idle');
    // An idle run also grows: updates that start no turn (a cancelTurn with nothing to cancel, a watcher's
    // polls) and signals that start none (a message posted again). Waiting for a turn boundary, such a run would
    // reach Temporal's 2,000 updates and then refuse every `send` until someone posted; it switches runs instead.
    // Asked only when it decides, so runs recorded before it replay unchanged.
    await condition(
      () => state.queue.length > 0 || state.ending || (runIsLong(run) && patched(PATCHES.continueAsNewIdle.id)),
    );
    if (state.queue.length === 0 && !state.ending) continue; // long while idle: the top of the loop switches
    if (state.queue.length === 0) return;
    run.turnScope = new CancellationScope();
    await runTurn(run, run.turnScope);
    run.turnScope = undefined;
    run.events.turnFinished();
  }
}

/** The end of the conversation: its last events, a moment for watchers to read them, and every handler done. */
async function close(run: ConversationRun): Promise<void> {
  publishVisibility(run.state, 'ended');
  run.events.emit({ type: 'conversation.ended', turns: run.state.turns });
  // Watchers between two polls would find the run closed and its events gone: give them a moment to read the
  // last reply and the end. Runs recorded before this patch closed at once. A sub-agent conversation's parent has
  // its reply at once, and waits for nothing else.
  if (!run.state.childOf && patched(PATCHES.eventsGrace.id)) await sleep(EVENTS_GRACE_MS);
  run.events.detach();
  await condition(allHandlersFinished);
}

/**
 * Continues the conversation as a new run with its whole state: transcript, summary, usage, remembered
 * approvals, the dedupe window and stored replies, the older message ids, queued messages, and the event stream
 * (so watchers follow without a gap). Only between turns, when no `send` waits for a reply here; every handler
 * finishes first.
 * When idle, a message that arrives meanwhile is taken here and answered first: this run continues as new at
 * the next turn boundary instead. When busy (`carryQueue`), queued messages go to the next run.
 */
async function continueAsNewBetweenTurns(run: ConversationRun, options: { carryQueue?: boolean } = {}): Promise<void> {
  const { state, events } = run;
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

function invalid(message: string): ApplicationFailure {
  return ApplicationFailure.nonRetryable(message, FailureTypes.Refused);
}
