/**
 * The conversation's event stream for watchers (the gateway's SSE, `vigil chat`): a @temporalio/workflow-streams
 * log held by the workflow. Lifecycle events are derived here from the state the turn rules keep; model token
 * deltas are published into the same log by the model activity.
 *
 * Publishing is in memory only (no command), so adding or changing events never breaks replay of a recorded
 * history. What reaches history is what watchers ask for (their poll updates) and the activity's batched delta
 * signals; the transcript itself holds only the final reply.
 */
import { ApplicationFailure, setHandler } from '@temporalio/workflow';
import {
  type PollInput,
  type PollResult,
  type PublishInput,
  WorkflowStream,
  workflowStreamPollUpdate,
  workflowStreamPublishSignal,
  type WorkflowStreamState,
} from '@temporalio/workflow-streams/workflow';
import { FailureTypes } from '../conversation/failure-types';
import { type ConversationEvent, EVENT_TOPICS, type TranscriptEntry } from '../conversation/protocol';
import { type ConversationState, isStored } from '../conversation/state';

/** Events of this many recent turns stay in the log for reconnecting watchers; older ones are dropped. */
export const RETAINED_TURNS = 20;

/** How long an ending conversation stays open for watchers to read its last events. */
export const EVENTS_GRACE_MS = 1_000;

/** How much of a tool result an event carries; the transcript has all of it. */
const TOOL_RESULT_PREVIEW_CHARS = 2_000;

/**
 * How many watchers' polls may wait in the conversation at once. Each waiting poll is an update in flight, and
 * Temporal takes 10 in flight per workflow (`history.maxInFlightUpdates`): without a limit, ten watchers (or ten
 * that left, see guardPolls) took them all, and every `send`, `decide` and `cancelTurn` was refused until the
 * conversation's next event. The rest stays for those.
 */
export const MAX_WAITING_POLLS = 5;

/** What continue-as-new carries to the next run, so watchers follow without a gap or a repeat. */
export interface ConversationEventsState {
  stream: WorkflowStreamState;
  turnEnds: number[];
}

export class ConversationEvents {
  private readonly stream: WorkflowStream;
  private readonly lifecycle: ReturnType<WorkflowStream['topic']>;
  /** Transcript entries already turned into events. */
  private transcriptCursor: number;
  private readonly announcedApprovals = new Set<string>();
  /** The log's end offset after each recent turn, oldest first: where to truncate when a turn falls out. */
  private readonly turnEnds: number[];

  /** `onSignal` hears of every publish signal (the model's text preview) before the stream takes it. */
  constructor(state: ConversationState, prior: ConversationEventsState | undefined, onSignal: () => void) {
    this.stream = new WorkflowStream(prior?.stream);
    countPublishSignals(this.stream, onSignal);
    guardPolls(this.stream);
    this.lifecycle = this.stream.topic<ConversationEvent>(EVENT_TOPICS.lifecycle);
    this.turnEnds = [...(prior?.turnEnds ?? [])];
    // Entries from before this run (a carried-over state) were announced by the run that recorded them.
    this.transcriptCursor = state.transcript.length;
  }

  /** For continue-as-new, after `detach()`: the log, its offsets and its publishers, for the next run. */
  snapshot(): ConversationEventsState {
    return { stream: this.stream.getState(), turnEnds: [...this.turnEnds] };
  }

  emit(event: ConversationEvent): void {
    this.lifecycle.publish(event);
  }

  /** Announces what the transcript gained since the last call: turns begun, tool calls, results, notices. */
  syncTranscript(state: ConversationState): void {
    for (const entry of state.transcript.slice(this.transcriptCursor)) {
      // New entries are whole; stored ones come only from an earlier run, before the cursor.
      if (isStored(entry)) continue;
      for (const event of eventsOfEntry(entry)) this.emit(event);
    }
    this.transcriptCursor = state.transcript.length;
  }

  /** Announces approvals requested since the last call. */
  syncApprovals(state: ConversationState): void {
    const turn = state.turn;
    if (!turn) return;
    for (const approval of turn.approvals) {
      if (this.announcedApprovals.has(approval.toolCallId)) continue;
      this.announcedApprovals.add(approval.toolCallId);
      this.emit({ type: 'tool.awaiting_approval', turn: turn.turn, approval });
    }
  }

  /**
   * Called after each turn: keeps the log to the last RETAINED_TURNS turns. A watcher that reconnects from an
   * older offset is told it missed events (see the gateway's events route) and resumes from the oldest kept.
   */
  turnFinished(): void {
    this.announcedApprovals.clear();
    const state = this.stream.getState();
    this.turnEnds.push(state.base_offset + state.log.length);
    if (this.turnEnds.length > RETAINED_TURNS) this.stream.truncate(this.turnEnds.shift()!);
  }

  /** Releases waiting watchers so the run can close; they follow to the next run or see the stream end. */
  detach(): void {
    this.stream.detachPollers();
  }
}

/**
 * The stream registers its own publish signal handler, with no hook to count what it receives; Temporal refuses a
 * run's signals past a limit (see run-limits.ts), so the conversation must count them. This handler takes the
 * stream's place and hands each signal on to the stream's own (a private method, in the version pinned here).
 */
function countPublishSignals(stream: WorkflowStream, onSignal: () => void): void {
  const handle = (stream as unknown as { onPublish(input: PublishInput): void }).onPublish.bind(stream);
  setHandler(workflowStreamPublishSignal, (input) => {
    onSignal();
    handle(input);
  });
}

/** The stream's state this module reads besides its API (private fields, in the version pinned here). */
interface StreamInternals {
  draining: boolean;
  baseOffset: number;
  log: unknown[];
  onPoll(input: PollInput): Promise<PollResult>;
}

/**
 * A poll waits in the conversation until there is an event after its offset, and a watcher that leaves cannot take
 * its poll back: it waits there, for nobody, until the next event. So the stream's poll handler is replaced by one
 * whose validator refuses (nothing is recorded) a poll while MAX_WAITING_POLLS wait, and a poll that could never be
 * answered: not the stream's input, or an offset past the stream's end (a `Last-Event-ID` of another stream). The
 * polls it takes are the stream's own, answered by its own handler. Validators do not run on replay, so this needs
 * no patch.
 */
function guardPolls(stream: WorkflowStream): void {
  const internals = stream as unknown as StreamInternals;
  const onPoll = internals.onPoll.bind(stream);
  let waiting = 0;
  setHandler(
    workflowStreamPollUpdate,
    async (input) => {
      waiting++;
      try {
        return await onPoll(input);
      } finally {
        waiting--;
      }
    },
    {
      validator: (input) => {
        if (internals.draining) {
          // The stream's own refusal, which its subscribers know: they retry until the next run takes the poll.
          throw ApplicationFailure.create({
            message: 'Workflow is draining for continue-as-new',
            type: 'StreamDraining',
            nonRetryable: true,
          });
        }
        const end = internals.baseOffset + internals.log.length;
        const problem = pollProblem(input, end);
        if (problem)
          throw ApplicationFailure.create({ message: problem, type: FailureTypes.Refused, nonRetryable: true });
        if (waiting >= MAX_WAITING_POLLS) {
          throw ApplicationFailure.create({
            message:
              `${MAX_WAITING_POLLS} watchers follow this conversation already (or left without its next event yet): ` +
              'try again after its next event',
            type: FailureTypes.Refused,
            nonRetryable: true,
          });
        }
      },
    },
  );
}

/** Why a poll's input can never be answered, or undefined. */
function pollProblem(input: unknown, end: number): string | undefined {
  const poll = input as Partial<PollInput> | null;
  if (poll === null || typeof poll !== 'object' || Array.isArray(poll)) return 'a poll takes { topics, from_offset }';
  if (!Array.isArray(poll.topics) || !poll.topics.every((topic) => typeof topic === 'string')) {
    return "a poll's topics are a list of names";
  }
  const offset = poll.from_offset;
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0) {
    return "a poll's from_offset is a whole number, 0 or more";
  }
  if (offset > end) return `offset ${offset} is past the end of this conversation's events (${end})`;
  return undefined;
}

function eventsOfEntry(entry: TranscriptEntry): ConversationEvent[] {
  switch (entry.role) {
    case 'user':
      return [{ type: 'turn.started', turn: entry.turn, messageId: entry.messageId, at: entry.at }];
    case 'assistant':
      return entry.toolCalls.map((toolCall) => ({ type: 'tool.requested', turn: entry.turn, toolCall }));
    case 'tool':
      return [
        {
          type: 'tool.finished',
          turn: entry.turn,
          toolCallId: entry.toolCallId,
          name: entry.name,
          isError: entry.isError,
          content: entry.content.slice(0, TOOL_RESULT_PREVIEW_CHARS),
        },
      ];
    case 'notice':
      return [
        {
          type: 'notice',
          turn: entry.turn,
          content: entry.content,
          ...(entry.handoff ? { handoff: entry.handoff } : {}),
        },
      ];
  }
}
