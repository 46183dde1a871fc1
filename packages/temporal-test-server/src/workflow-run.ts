/**
 * One run of a workflow execution: its history, its workflow tasks, and everything that feeds events into it
 * (signals, timers, activities, children, updates, cancellation). All transitions are synchronous, so a run
 * is always consistent between two awaits.
 *
 * Workflow tasks are scheduled lazily: the WorkflowTaskScheduled event is written together with
 * WorkflowTaskStarted when a poller takes the task, so the history handed to a worker always ends with that
 * pair. Events that arrive while a task is started are buffered and written after its completion.
 *
 * Sticky execution, as on the real server: a worker that completes a task names its sticky queue
 * (stickyAttributes); the run's next tasks go there with only the events after the last completed task's
 * Started event, for the worker applies them to the run it has cached. A task nobody takes from the sticky queue
 * within its schedule-to-start timeout times out (SCHEDULE_TO_START) and goes to the normal queue with the full
 * history; so does every task after a failed or timed-out one, or after ResetStickyTaskQueue.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { Activity, ActivitySpec } from './activity';
import type { Cluster, StartParams, WorkflowTaskDispatch } from './cluster';
import type { ClockTimer } from './clock';
import {
  type Child,
  childClosed,
  childStarted,
  childStartFailed,
  externalSignaled,
  externalSignalFailed,
} from './child-events';
import { validateCommands } from './command-validation';
import { continueAsNewAdvice } from './dynamic-config';
import {
  failedPrecondition,
  inFlightUpdatesRefusal,
  invalidArgument,
  notFound,
  resourceExhausted,
  RpcError,
  UPDATE_ABORTED_BY_CLOSING,
  updateLimit,
  WORKFLOW_CLOSING,
} from './errors';
import type { Namespace } from './namespace';
import {
  attributesKey,
  Command,
  CommandType,
  committedEventSize,
  duration,
  encodeTaskHistory,
  enums,
  EventType,
  Failure,
  HistoryEvent,
  Loose,
  packAny,
  Payload,
  Payloads,
  PRE_ENCODED,
  PreEncoded,
  ProtocolMessage,
  Status,
  temporal,
  timestamp,
  toMillis,
} from './proto';
import { effectiveRetryPolicy, retryPolicyProto } from './retry';

type PollWorkflowTaskResponse = Loose<temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse.$Properties> &
  PreEncoded;
type CompleteRequest = Loose<temporal.api.workflowservice.v1.RespondWorkflowTaskCompletedRequest.$Properties>;
type FailRequest = Loose<temporal.api.workflowservice.v1.RespondWorkflowTaskFailedRequest.$Properties>;
type UpdateRequest = Loose<temporal.api.update.v1.Request.$Properties>;
type UpdateOutcome = Loose<temporal.api.update.v1.Outcome.$Properties>;
type WorkflowQuery = Loose<temporal.api.query.v1.WorkflowQuery.$Properties>;
type TaskQueueProto = Loose<temporal.api.taskqueue.v1.TaskQueue.$Properties>;

const Cause = enums.WorkflowTaskFailedCause;
const Stage = enums.UpdateWorkflowExecutionLifecycleStage;

export interface ParentLink {
  namespace: string;
  workflowId: string;
  runId: string;
  initiatedEventId: number;
}

interface WorkflowTask {
  state: 'scheduled' | 'started';
  attempt: number;
  /** Scheduled only to deliver updates: if they are all rejected, the task leaves no trace in history. */
  speculative: boolean;
  scheduledTime: number;
  scheduledEventId: number;
  startedEventId: number;
  startedTime: number;
  /** Retried and speculative tasks: their events reach history only when they complete or first fail. */
  transient?: HistoryEvent[];
  token?: string;
  /** The sticky schedule-to-start timeout while scheduled, the start-to-close timeout once started. */
  timer?: ClockTimer;
  delivered: Update[];
  /** The queue as history records it: the sticky queue if one was set when the task was scheduled. */
  scheduledQueue: TaskQueueProto;
  /** The sticky queue the task was offered on; undefined when offered on the normal queue. */
  stickyQueue?: string;
  /** Takes the task out of the queue it waits in. */
  unqueue?: () => void;
}

export interface Update {
  id: string;
  request: UpdateRequest;
  stage: number;
  acceptedEventId: number;
  outcome?: UpdateOutcome;
  /** Rejected by the workflow's validator: as on the real server, it leaves no trace and does not count. */
  rejected?: boolean;
  error?: RpcError;
  /** Delivered to a worker and not yet answered. */
  delivered: boolean;
  waiters: Set<() => void>;
}

interface PendingQuery {
  query: WorkflowQuery;
  dispatched: boolean;
  /** Offered on this sticky queue until `timer` fires; `fallback` offers it on the normal queue instead. */
  sticky?: { queue: string; timer: ClockTimer; fallback(): void };
  settle(result: { answer?: Payloads | null; error?: RpcError }): void;
}

/** The worker's sticky queue for a run, from the last completed workflow task's stickyAttributes. */
export interface StickyQueue {
  queue: string;
  scheduleToStartMs: number;
}

/** Core's default when a completion names a sticky queue without a timeout. */
const DEFAULT_STICKY_SCHEDULE_TO_START_MS = 10_000;

/** Where a command is carried out: the completion's event, the worker's identity, and work to do after it. */
interface CommandSite {
  completedId: number;
  identity: string;
  /** Run once the whole completion is written: what reaches other runs (children, signals, cancels). */
  after: (() => void)[];
}

export class WorkflowRun {
  readonly history: HistoryEvent[] = [];
  /**
   * The encoded size of `history`, kept as events are written: what WorkflowTaskStarted reports as
   * historySizeBytes and weighs against limit.historySize.suggestContinueAsNew.
   */
  historySizeBytes = 0;
  status: number = Status.WORKFLOW_EXECUTION_STATUS_RUNNING;
  readonly startTime: number;
  executionTime: number;
  closeTime = 0;
  memo: Record<string, Payload>;
  searchAttributes: Record<string, Payload>;
  parent: ParentLink | undefined;
  readonly updates = new Map<string, Update>();
  readonly activities = new Map<number, Activity>();
  readonly children = new Map<number, Child>();
  wft: WorkflowTask | undefined;
  sticky: StickyQueue | undefined;

  private buffered: (() => HistoryEvent[])[] = [];
  private nextWftAttempt = 1;
  private lastCompletedStartedId = 0;
  /** History up to the end of the last completed workflow task: what a query replays. */
  private queryableLength = 0;
  private readonly timers = new Map<string, { startedEventId: number; timer: ClockTimer }>();
  private readonly runTimers: ClockTimer[] = [];
  private queries: PendingQuery[] = [];
  private readonly waiters = new Set<() => void>();
  private cancelRequested = false;
  /** For history.maximumSignalsPerExecution. */
  private signalCount = 0;

  constructor(
    readonly cluster: Cluster,
    readonly namespace: Namespace,
    readonly runId: string,
    readonly params: StartParams,
  ) {
    const clock = cluster.clock;
    this.startTime = clock.now();
    this.executionTime = this.startTime + params.firstTaskDelayMs;
    this.memo = { ...(params.memo?.fields ?? {}) };
    this.searchAttributes = stripEmpty(params.searchAttributes?.indexedFields ?? {});
    this.parent = params.parent;
    this.push({
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
      workflowExecutionStartedEventAttributes: {
        workflowType: { name: params.workflowType },
        parentWorkflowNamespace: params.parent?.namespace,
        parentWorkflowExecution: params.parent && { workflowId: params.parent.workflowId, runId: params.parent.runId },
        parentInitiatedEventId: params.parent?.initiatedEventId,
        taskQueue: { name: params.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        input: params.input,
        workflowExecutionTimeout: duration(params.executionTimeoutMs),
        workflowRunTimeout: duration(params.runTimeoutMs),
        workflowTaskTimeout: duration(params.taskTimeoutMs),
        continuedExecutionRunId: params.continuedFromRunId,
        initiator: params.initiator,
        continuedFailure: params.continuedFailure,
        lastCompletionResult: params.lastCompletionResult,
        originalExecutionRunId: runId,
        identity: params.identity,
        firstExecutionRunId: params.firstRunId ?? runId,
        attempt: 1,
        workflowExecutionExpirationTime: params.executionDeadline ? timestamp(params.executionDeadline) : undefined,
        firstWorkflowTaskBackoff: params.firstTaskDelayMs ? duration(params.firstTaskDelayMs) : undefined,
        memo: params.memo,
        searchAttributes: params.searchAttributes,
        header: params.header,
        workflowId: params.workflowId,
      },
    });
    const deadlines = [
      params.runTimeoutMs ? this.startTime + params.runTimeoutMs : 0,
      params.executionDeadline ?? 0,
    ].filter((d) => d > 0);
    if (deadlines.length > 0) {
      this.runTimers.push(clock.at(Math.min(...deadlines), () => this.timeOut()));
    }
    if (params.signal) {
      this.signalCount++;
      this.push(this.signalEvent(params.signal));
    }
    if (params.firstTaskDelayMs > 0) {
      this.runTimers.push(clock.after(params.firstTaskDelayMs, () => this.scheduleWft()));
    } else {
      this.scheduleWft();
    }
  }

  get workflowId(): string {
    return this.params.workflowId;
  }
  get workflowType(): string {
    return this.params.workflowType;
  }
  get taskQueue(): string {
    return this.params.taskQueue;
  }
  get closed(): boolean {
    return this.status !== Status.WORKFLOW_EXECUTION_STATUS_RUNNING;
  }
  get closeEvent(): HistoryEvent | undefined {
    return this.closed ? this.history[this.history.length - 1] : undefined;
  }
  /** True while the run has work that a worker is about to do (time skipping waits for it). */
  get busy(): boolean {
    if (this.closed) return false;
    if (this.wft) return true;
    if (this.queries.length > 0) return true;
    for (const a of this.activities.values()) if (a.state === 'scheduled' || a.state === 'started') return true;
    return false;
  }

  // ---- reading history -------------------------------------------------------------------------------------

  /** Resolves when history grows or the run closes, or after `timeoutMs`. */
  waitForChange(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, timeoutMs));
      timer.unref();
      this.waiters.add(done);
    });
  }

  // ---- inputs from clients ---------------------------------------------------------------------------------

  signal(signal: NonNullable<StartParams['signal']>): void {
    // history.maximumSignalsPerExecution, in the real server's words (consts.ErrSignalsLimitExceeded): the run goes
    // on, and the sender is refused. Signals with a start count too.
    if (this.signalCount >= this.cluster.limits.maxSignals)
      throw invalidArgument('exceeded workflow execution limit for signal events');
    this.signalCount++;
    this.addEvents(() => [this.signalEvent(signal)]);
  }

  requestCancel(request: {
    identity?: string | null;
    reason?: string | null;
    externalInitiatedEventId?: number;
    externalWorkflowExecution?: { workflowId: string; runId: string };
  }): void {
    // A second request while one is pending is a no-op, as on the real server.
    if (this.cancelRequested) return;
    this.cancelRequested = true;
    this.addEvents(() => [
      {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
        workflowExecutionCancelRequestedEventAttributes: {
          cause: request.reason ?? '',
          identity: request.identity ?? '',
          externalInitiatedEventId: request.externalInitiatedEventId,
          externalWorkflowExecution: request.externalWorkflowExecution,
        },
      },
    ]);
  }

  terminate(reason: string, details: Payloads | null | undefined, identity: string): void {
    this.close(Status.WORKFLOW_EXECUTION_STATUS_TERMINATED, {
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED,
      workflowExecutionTerminatedEventAttributes: { reason, details, identity },
    });
  }

  /** Admits an update (or joins the one with the same id) and waits for `stage` or the deadline. */
  async update(request: UpdateRequest, stage: number, timeoutMs: number): Promise<Update> {
    const id = request.meta?.updateId ?? '';
    if (this.workflowTaskFailing()) {
      throw failedPrecondition('Unable to perform workflow execution update due to Workflow Task in failed state.');
    }
    let update = this.updates.get(id);
    if (!update) {
      if (this.closed) throw notFound('workflow execution already completed');
      const inFlight = [...this.updates.values()].filter(
        (u) => u.stage < Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED && !u.error,
      );
      if (inFlight.length >= 10) throw inFlightUpdatesRefusal(10);
      // history.maxTotalUpdates: a run that has had this many updates takes no new ones (it should continue as
      // new, which WorkflowTaskStarted suggested from 90% on); retries of the ones it has are still answered.
      const max = this.cluster.limits.maxTotalUpdates;
      if (this.updateCount >= max) {
        // Server v1.29.1's words (update/registry.go), the server the Temporal CLI 1.5.1 carries.
        throw updateLimit(
          GrpcStatus.FAILED_PRECONDITION,
          `The limit on the total number of distinct updates in this workflow has been reached (${max}). ` +
            'Make sure any duplicate updates share an Update ID so the server can deduplicate them, and consider rejecting ' +
            "updates that you aren't going to process. You can also Continue-as-New to avoid this; we recommend you check " +
            'Continue-as-New Suggested in your Workflow.',
        );
      }
      update = {
        id,
        request,
        stage: Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED,
        acceptedEventId: 0,
        delivered: false,
        waiters: new Set(),
      };
      this.updates.set(id, update);
      this.scheduleWft(true);
    }
    const target = update;
    const reached = () =>
      !!target.error || target.stage >= Math.max(stage, Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED);
    if (!reached()) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          target.waiters.delete(check);
          resolve();
        };
        const check = () => reached() && done();
        const timer = setTimeout(done, Math.max(0, timeoutMs));
        timer.unref();
        target.waiters.add(check);
      });
    }
    if (target.error) throw target.error;
    return target;
  }

  /** Runs a query on a worker (a legacy query task) and resolves with its answer. */
  query(query: WorkflowQuery, timeoutMs: number): Promise<Payloads | null | undefined> {
    if (this.workflowTaskFailing()) {
      return Promise.reject(failedPrecondition('Unable to query workflow due to Workflow Task in failed state.'));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => {
          pending.settle({ error: new RpcError(GrpcStatus.DEADLINE_EXCEEDED, 'query timed out: no worker answered') });
        },
        Math.max(0, timeoutMs),
      );
      timer.unref();
      const pending: PendingQuery = {
        query,
        dispatched: false,
        settle: (result) => {
          clearTimeout(timer);
          this.queries = this.queries.filter((q) => q !== pending);
          pending.settle = () => undefined;
          if (result.error) reject(result.error);
          else resolve(result.answer);
        },
      };
      this.queries.push(pending);
      this.dispatchQueries();
    });
  }

  // ---- workflow tasks --------------------------------------------------------------------------------------

  /**
   * A running run whose workflow task is on its third attempt or later (the last ones failed or timed out: workers
   * that crashed or failed holding them) refuses updates and queries at once, as the real server does
   * (`WorkflowNotReady`, server v1.29.1's updateworkflow and queryworkflow): they could not be answered before a
   * task completes, which resets the count.
   */
  private workflowTaskFailing(): boolean {
    return !this.closed && (this.wft?.attempt ?? this.nextWftAttempt) >= 3;
  }

  private scheduleWft(speculative = false): void {
    if (this.closed) return;
    if (this.wft) {
      if (!speculative) this.wft.speculative = false;
      return;
    }
    const wft: WorkflowTask = {
      state: 'scheduled',
      attempt: this.nextWftAttempt,
      speculative,
      scheduledTime: this.cluster.clock.now(),
      scheduledEventId: 0,
      startedEventId: 0,
      startedTime: 0,
      delivered: [],
      scheduledQueue: this.sticky
        ? { name: this.sticky.queue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_STICKY, normalName: this.taskQueue }
        : this.normalQueue,
    };
    this.wft = wft;
    this.offerWft(wft);
  }

  private get normalQueue(): TaskQueueProto {
    return { name: this.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL };
  }

  /**
   * Offers a scheduled task on the sticky queue, or on the normal one when no sticky queue is set or its worker
   * is not polling (the real server's StickyWorkerUnavailable). Either way, while a sticky queue is set the task
   * has the sticky schedule-to-start timeout, as on the real server.
   */
  private offerWft(wft: WorkflowTask): void {
    const ns = this.namespace.name;
    const sticky = this.sticky;
    const onSticky = sticky !== undefined && this.cluster.stickyWorkerAvailable(ns, sticky.queue);
    wft.stickyQueue = onSticky ? sticky.queue : undefined;
    const queue = onSticky
      ? this.cluster.stickyQueue(ns, sticky.queue)
      : this.cluster.workflowQueue(ns, this.taskQueue);
    wft.unqueue = queue.add((poller) => this.startWft(wft, poller.identity));
    if (sticky)
      wft.timer = this.cluster.clock.after(sticky.scheduleToStartMs, () => this.wftScheduleToStartTimedOut(wft));
  }

  /** No worker took the task within the sticky schedule-to-start timeout: the real server's fallback. */
  private wftScheduleToStartTimedOut(wft: WorkflowTask): void {
    if (this.closed || this.wft !== wft || wft.state !== 'scheduled') return;
    this.endWft(wft);
    const scheduled = this.push({
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      workflowTaskScheduledEventAttributes: {
        taskQueue: wft.scheduledQueue,
        startToCloseTimeout: duration(this.params.taskTimeoutMs),
        attempt: wft.attempt,
      },
    });
    this.push({
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
      workflowTaskTimedOutEventAttributes: {
        scheduledEventId: scheduled.eventId,
        startedEventId: 0,
        timeoutType: enums.TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START,
      },
    });
    // The worker is gone: the next task goes to the normal queue, with the same attempt (a sticky timeout is no
    // failure of the workflow's code).
    this.sticky = undefined;
    this.nextWftAttempt = wft.attempt;
    this.scheduleWft();
    this.dispatchQueries();
    this.notify();
  }

  /** ResetStickyTaskQueue: tasks go to the normal queue with the full history, a waiting one at once. */
  resetSticky(): void {
    this.sticky = undefined;
    const wft = this.wft;
    if (wft?.state !== 'scheduled') return;
    wft.unqueue?.();
    wft.timer?.cancel();
    wft.timer = undefined;
    this.offerWft(wft);
  }

  /** The worker that polled this sticky queue shut down (ShutdownWorker): what waits there falls back now. */
  stickyWorkerGone(queue: string): void {
    const wft = this.wft;
    if (wft?.state === 'scheduled' && wft.stickyQueue === queue) this.wftScheduleToStartTimedOut(wft);
    for (const q of [...this.queries]) if (q.sticky?.queue === queue) q.sticky.fallback();
  }

  private startWft(wft: WorkflowTask, identity: string): PollWorkflowTaskResponse | undefined {
    if (this.closed || this.wft !== wft || wft.state !== 'scheduled') return undefined;
    const clock = this.cluster.clock;
    wft.timer?.cancel();
    wft.unqueue = undefined;
    // Taken from the sticky queue it was offered on: that worker has the run cached up to the last completed
    // task. Taken from the normal queue: whoever took it has nothing cached, and the run is no longer sticky.
    const sticky = wft.stickyQueue !== undefined && this.sticky?.queue === wft.stickyQueue;
    if (!sticky) this.sticky = undefined;
    const scheduled: HistoryEvent = {
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED,
      workflowTaskScheduledEventAttributes: {
        taskQueue: wft.scheduledQueue,
        startToCloseTimeout: duration(this.params.taskTimeoutMs),
        attempt: wft.attempt,
      },
    };
    const scheduledEventId = this.history.length + 1;
    // A retried or speculative task's events stay out of history until it completes or first fails (the real
    // server does not persist them either), so its size is that of history without them.
    const transient = wft.attempt !== 1 || wft.speculative;
    if (!transient) this.push(scheduled);
    const started = this.startedEvent(scheduledEventId, identity, transient);
    if (!transient) this.push(started);
    else wft.transient = [this.stamp(scheduled, scheduledEventId), this.stamp(started, scheduledEventId + 1)];
    wft.scheduledEventId = this.history.length + (wft.transient ? 1 : -1);
    wft.startedEventId = wft.scheduledEventId + 1;
    wft.state = 'started';
    wft.startedTime = clock.now();
    wft.token = this.cluster.tokens.issue({ kind: 'workflowTask', run: this, wft });
    wft.timer = clock.after(this.params.taskTimeoutMs, () => this.wftTimedOut(wft));
    const messages = this.deliverUpdates(wft);
    // A sticky task carries what the worker lacks: the events after the last completed task's Started event,
    // as the real frontend sends (from previousStartedEventId + 1), then any transient task events.
    const from = sticky ? this.lastCompletedStartedId : 0;
    this.observe({
      taskQueue: sticky ? wft.stickyQueue! : this.taskQueue,
      sticky,
      query: false,
      firstEventId: from + 1,
      eventCount: this.history.length - from + (wft.transient?.length ?? 0),
      startedEventId: wft.startedEventId,
      attempt: wft.attempt,
    });
    return {
      taskToken: Buffer.from(wft.token),
      workflowExecution: { workflowId: this.workflowId, runId: this.runId },
      workflowType: { name: this.workflowType },
      previousStartedEventId: this.lastCompletedStartedId,
      startedEventId: wft.startedEventId,
      attempt: wft.attempt,
      [PRE_ENCODED]: encodeTaskHistory(this.history, wft.transient, from),
      workflowExecutionTaskQueue: this.normalQueue,
      scheduledTime: timestamp(wft.scheduledTime),
      startedTime: timestamp(wft.startedTime),
      messages,
    };
  }

  /** The admitted updates not yet handed to a worker, as the task's protocol messages; the task now carries them. */
  private deliverUpdates(wft: WorkflowTask): ProtocolMessage[] {
    const messages: ProtocolMessage[] = [];
    for (const update of this.updates.values()) {
      if (update.stage !== Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED || update.delivered || update.error)
        continue;
      update.delivered = true;
      wft.delivered.push(update);
      messages.push({
        id: `${update.id}/request`,
        protocolInstanceId: update.id,
        eventId: wft.scheduledEventId,
        body: packAny(
          'temporal.api.update.v1.Request',
          temporal.api.update.v1.Request.encode(temporal.api.update.v1.Request.fromObject(update.request)).finish(),
        ),
      });
    }
    return messages;
  }

  /**
   * WorkflowTaskStarted with what the real server reports in it: the history's size so far and whether (and why)
   * the workflow should continue as new, which the SDK hands to workflow code as workflowInfo().historySize,
   * continueAsNewSuggested and suggestedContinueAsNewReasons.
   */
  private startedEvent(scheduledEventId: number, identity: string, transient: boolean): HistoryEvent {
    const advice = continueAsNewAdvice(this.cluster.limits, {
      // The real server counts the history's next event id before it writes the started event (v1.29
      // getHistorySizeInfo): the started event's id, except for a speculative or retried task, whose scheduled
      // event is not written either, so its count is one less.
      historyCount: transient ? scheduledEventId : scheduledEventId + 1,
      historySizeBytes: this.historySizeBytes,
      updateCount: this.updateCount,
    });
    return {
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED,
      workflowTaskStartedEventAttributes: {
        scheduledEventId,
        identity,
        requestId: `${this.runId}-${scheduledEventId}`,
        historySizeBytes: this.historySizeBytes,
        suggestContinueAsNew: advice.suggest,
        suggestContinueAsNewReasons: advice.reasons,
      },
    };
  }

  /** The run's updates for history.maxTotalUpdates: completed and in flight; rejected ones do not count. */
  private get updateCount(): number {
    let count = 0;
    for (const u of this.updates.values()) if (!u.rejected && !u.error) count++;
    return count;
  }

  /** Returns the id the worker must roll its history back to when a speculative task is discarded. */
  completeWft(wft: WorkflowTask, req: CompleteRequest): { resetHistoryEventId?: number } {
    const commands = req.commands ?? [];
    const messages = new Map((req.messages ?? []).map((m) => [m.id ?? '', m]));
    const identity = req.identity ?? '';
    this.refuseCompletion(wft, commands, messages, identity);

    // Every completion says where the worker wants the run's next tasks; one without stickyAttributes clears it.
    this.sticky = stickyOf(req.stickyAttributes);

    const answers = [...messages.values()].map((m) => decodeUpdateMessage(m));
    const acceptsAny = answers.some((a) => a?.kind === 'acceptance' || a?.kind === 'response');
    if (
      wft.speculative &&
      commands.length === 0 &&
      this.buffered.length === 0 &&
      !req.forceCreateNewWorkflowTask &&
      !acceptsAny
    ) {
      // Only rejected updates: the speculative task vanishes, as on the real server, and the worker is told
      // to roll back to the last completed task.
      this.endWft(wft);
      this.nextWftAttempt = 1;
      for (const answer of answers) if (answer) this.applyUpdateAnswer(answer);
      this.requeueUnanswered(wft);
      if (this.hasUndeliveredUpdates()) this.scheduleWft(true);
      this.dispatchQueries();
      return { resetHistoryEventId: this.lastCompletedStartedId };
    }

    const completedId = this.recordCompletion(wft, req, identity);
    const after: (() => void)[] = [];
    this.applyCompletion(commands, messages, { completedId, identity, after });
    this.requeueUnanswered(wft);
    if (!this.closed) this.queryableLength = this.history.length;
    const hadBuffered = this.flushBuffered();
    for (const action of after) action();
    if (!this.closed && (hadBuffered || req.forceCreateNewWorkflowTask)) this.scheduleWft();
    else if (!this.closed && this.hasUndeliveredUpdates()) this.scheduleWft(true);
    this.dispatchQueries();
    this.notify();
    return {};
  }

  /** Fails the task and throws what the worker is answered, when the completion cannot be taken. */
  private refuseCompletion(
    wft: WorkflowTask,
    commands: Command[],
    messages: Map<string, ProtocolMessage>,
    identity: string,
  ): void {
    const problem = validateCommands(commands, {
      activityIds: new Set([...this.activities.values()].map((a) => a.spec.activityId)),
      timerIds: new Set(this.timers.keys()),
      messages,
      activityScheduledAt: (eventId) => this.activities.has(eventId) || this.history.some((e) => e.eventId === eventId),
      attributeDefined: (name) => this.namespace.attributeType(name) !== undefined,
    });
    if (problem) {
      this.failWftWith(wft, problem.cause, { message: problem.message }, identity);
      throw invalidArgument(problem.message);
    }
    if (!commands.some((c) => CLOSING_COMMANDS.has(c.commandType ?? 0)) || this.buffered.length === 0) return;
    // New events arrived while the worker decided to close the run: it must see them first. As on the real
    // server, the task fails (nothing of this completion is kept, not even its stickyAttributes) and the worker
    // is answered INVALID_ARGUMENT "UnhandledCommand": Core matches exactly that to evict the run it cached,
    // whose code has already run past the decision, and rebuilds it from the full history of the retry, where the
    // new events come before the decision. Answered with success, Core keeps that run and applies the new events
    // after the decision it already made (a signal handler runs, the code does not look again): the retry sends
    // the same closing command and the events are lost.
    // Updates that arrived meanwhile do not hold the close, as on the real server (v1.29 leaves its
    // HasOutgoingMessages check out): close() aborts them, and the caller's retry goes where it belongs.
    this.failWftWith(
      wft,
      Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
      { message: 'UnhandledCommand', source: 'Server', serverFailureInfo: { nonRetryable: false } },
      identity,
      true,
    );
    throw invalidArgument('UnhandledCommand');
  }

  /** Writes the task's events (a transient task's too) and its WorkflowTaskCompleted; returns that event's id. */
  private recordCompletion(wft: WorkflowTask, req: CompleteRequest, identity: string): number {
    this.endWft(wft);
    for (const e of wft.transient ?? []) this.push(e);
    const completed = this.push({
      eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
      workflowTaskCompletedEventAttributes: {
        scheduledEventId: wft.scheduledEventId,
        startedEventId: wft.startedEventId,
        identity,
        binaryChecksum: req.binaryChecksum,
        sdkMetadata: req.sdkMetadata,
        meteringMetadata: req.meteringMetadata,
      },
    });
    this.lastCompletedStartedId = wft.startedEventId;
    this.nextWftAttempt = 1;
    return completed.eventId as number;
  }

  /**
   * The commands in their order, update answers where their protocol-message commands stand, then the answers
   * no command placed. Nothing after a command that closed the run.
   */
  private applyCompletion(commands: Command[], messages: Map<string, ProtocolMessage>, at: CommandSite): void {
    const used = new Set<string>();
    for (const command of commands) {
      if (this.closed) break;
      if (command.commandType === CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE) {
        const id = command.protocolMessageCommandAttributes?.messageId ?? '';
        used.add(id);
        const answer = decodeUpdateMessage(messages.get(id));
        if (answer) this.applyUpdateAnswer(answer);
        continue;
      }
      this.applyCommand(command, at);
    }
    for (const [id, message] of messages) {
      if (used.has(id)) continue;
      const answer = decodeUpdateMessage(message);
      if (answer) this.applyUpdateAnswer(answer);
    }
  }

  failWft(wft: WorkflowTask, req: FailRequest): void {
    this.failWftWith(wft, req.cause ?? Cause.WORKFLOW_TASK_FAILED_CAUSE_UNSPECIFIED, req.failure, req.identity ?? '');
  }

  private wftTimedOut(wft: WorkflowTask): void {
    if (this.wft !== wft || wft.state !== 'started') return;
    this.endWft(wft);
    if (wft.attempt === 1) {
      for (const e of wft.transient ?? []) this.push(e);
      this.push({
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT,
        workflowTaskTimedOutEventAttributes: {
          scheduledEventId: wft.scheduledEventId,
          startedEventId: wft.startedEventId,
          timeoutType: enums.TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE,
        },
      });
    }
    this.retryWft(wft, false);
  }

  private failWftWith(
    wft: WorkflowTask,
    cause: number,
    failure: Failure | null | undefined,
    identity: string,
    resetAttempts = false,
  ): void {
    this.endWft(wft);
    if (wft.attempt === 1 || resetAttempts) {
      for (const e of wft.transient ?? []) this.push(e);
      this.push({
        eventType: EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        workflowTaskFailedEventAttributes: {
          scheduledEventId: wft.scheduledEventId,
          startedEventId: wft.startedEventId,
          cause,
          failure,
          identity,
        },
      });
    }
    this.retryWft(wft, resetAttempts);
  }

  private retryWft(wft: WorkflowTask, resetAttempts: boolean): void {
    // As on the real server: a task that fails or times out while a sticky queue is set is first retried on the
    // normal queue, with the full history and without counting an attempt.
    const wasSticky = this.sticky !== undefined;
    this.sticky = undefined;
    this.nextWftAttempt = resetAttempts ? 1 : wasSticky ? wft.attempt : wft.attempt + 1;
    // Updates handed to the failed task go to the next one.
    for (const u of wft.delivered) u.delivered = false;
    this.flushBuffered();
    this.scheduleWft();
    this.dispatchQueries();
    this.notify();
  }

  private endWft(wft: WorkflowTask): void {
    wft.timer?.cancel();
    wft.unqueue?.();
    wft.unqueue = undefined;
    if (wft.token) this.cluster.tokens.revoke(wft.token);
    if (this.wft === wft) this.wft = undefined;
  }

  private hasUndeliveredUpdates(): boolean {
    return [...this.updates.values()].some(
      (u) => u.stage === Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED && !u.delivered && !u.error,
    );
  }

  /** Updates the worker was handed but did not answer are offered again. */
  private requeueUnanswered(wft: WorkflowTask): void {
    for (const u of wft.delivered) {
      if (u.stage === Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED) u.delivered = false;
    }
  }

  // ---- commands --------------------------------------------------------------------------------------------

  /** Carries out one command of a completed workflow task, as its check (command-validation.ts) let it through. */
  private applyCommand(c: Command, at: CommandSite): void {
    this.appliers[c.commandType ?? 0]?.(c, at);
  }

  private readonly appliers: Partial<Record<number, (c: Command, at: CommandSite) => void>> = {
    [CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK]: (c, at) =>
      this.scheduleActivity(c.scheduleActivityTaskCommandAttributes!, at.completedId),
    [CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK]: (c, at) =>
      this.requestCancelActivity(Number(c.requestCancelActivityTaskCommandAttributes!.scheduledEventId), at),
    [CommandType.COMMAND_TYPE_START_TIMER]: (c, at) => this.startTimer(c.startTimerCommandAttributes!, at),
    [CommandType.COMMAND_TYPE_CANCEL_TIMER]: (c, at) =>
      this.cancelTimer(c.cancelTimerCommandAttributes?.timerId ?? '', at),
    [CommandType.COMMAND_TYPE_RECORD_MARKER]: (c, at) => this.recordMarker(c.recordMarkerCommandAttributes!, at),
    [CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]: (c, at) =>
      this.upsertSearchAttributes(
        c.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes?.indexedFields ?? {},
        at,
      ),
    [CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES]: (c, at) =>
      this.modifyMemo(c.modifyWorkflowPropertiesCommandAttributes?.upsertedMemo?.fields ?? {}, at),
    [CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION]: (c, at) =>
      this.close(Status.WORKFLOW_EXECUTION_STATUS_COMPLETED, {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED,
        workflowExecutionCompletedEventAttributes: {
          result: c.completeWorkflowExecutionCommandAttributes?.result,
          workflowTaskCompletedEventId: at.completedId,
        },
      }),
    [CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION]: (c, at) =>
      this.close(Status.WORKFLOW_EXECUTION_STATUS_FAILED, {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        workflowExecutionFailedEventAttributes: {
          failure: c.failWorkflowExecutionCommandAttributes?.failure,
          retryState: enums.RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET,
          workflowTaskCompletedEventId: at.completedId,
        },
      }),
    [CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION]: (c, at) =>
      this.close(Status.WORKFLOW_EXECUTION_STATUS_CANCELED, {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCELED,
        workflowExecutionCanceledEventAttributes: {
          details: c.cancelWorkflowExecutionCommandAttributes?.details,
          workflowTaskCompletedEventId: at.completedId,
        },
      }),
    [CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION]: (c, at) =>
      this.continueAsNew(c.continueAsNewWorkflowExecutionCommandAttributes!, at.completedId),
    [CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION]: (c, at) =>
      this.startChild(c.startChildWorkflowExecutionCommandAttributes!, at.completedId, at.after),
    [CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION]: (c, at) =>
      this.signalExternal(c.signalExternalWorkflowExecutionCommandAttributes!, at.completedId, at.after),
    [CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION]: (c, at) =>
      this.cancelExternal(c.requestCancelExternalWorkflowExecutionCommandAttributes!, at.completedId, at.after),
  };

  private requestCancelActivity(scheduledEventId: number, at: CommandSite): void {
    const e = this.push({
      eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
      activityTaskCancelRequestedEventAttributes: { scheduledEventId, workflowTaskCompletedEventId: at.completedId },
    });
    this.activities.get(scheduledEventId)?.requestCancel(e.eventId as number);
  }

  private startTimer(a: NonNullable<Command['startTimerCommandAttributes']>, at: CommandSite): void {
    const timerId = a.timerId!;
    const e = this.push({
      eventType: EventType.EVENT_TYPE_TIMER_STARTED,
      timerStartedEventAttributes: {
        timerId,
        startToFireTimeout: a.startToFireTimeout,
        workflowTaskCompletedEventId: at.completedId,
      },
    });
    const startedEventId = e.eventId as number;
    const timer = this.cluster.clock.after(toMillis(a.startToFireTimeout), () => {
      this.timers.delete(timerId);
      this.addEvents(() => [
        { eventType: EventType.EVENT_TYPE_TIMER_FIRED, timerFiredEventAttributes: { timerId, startedEventId } },
      ]);
    });
    this.timers.set(timerId, { startedEventId, timer });
  }

  private cancelTimer(timerId: string, at: CommandSite): void {
    const timer = this.timers.get(timerId);
    if (!timer) return;
    timer.timer.cancel();
    this.timers.delete(timerId);
    this.push({
      eventType: EventType.EVENT_TYPE_TIMER_CANCELED,
      timerCanceledEventAttributes: {
        timerId,
        startedEventId: timer.startedEventId,
        workflowTaskCompletedEventId: at.completedId,
        identity: at.identity,
      },
    });
  }

  private recordMarker(a: NonNullable<Command['recordMarkerCommandAttributes']>, at: CommandSite): void {
    this.push({
      eventType: EventType.EVENT_TYPE_MARKER_RECORDED,
      markerRecordedEventAttributes: {
        markerName: a.markerName,
        details: a.details,
        header: a.header,
        failure: a.failure,
        workflowTaskCompletedEventId: at.completedId,
      },
    });
  }

  private upsertSearchAttributes(fields: Record<string, Payload>, at: CommandSite): void {
    this.searchAttributes = stripEmpty({ ...this.searchAttributes, ...fields });
    this.push({
      eventType: EventType.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
      upsertWorkflowSearchAttributesEventAttributes: {
        workflowTaskCompletedEventId: at.completedId,
        searchAttributes: { indexedFields: fields },
      },
    });
  }

  private modifyMemo(fields: Record<string, Payload>, at: CommandSite): void {
    this.memo = stripEmpty({ ...this.memo, ...fields });
    this.push({
      eventType: EventType.EVENT_TYPE_WORKFLOW_PROPERTIES_MODIFIED,
      workflowPropertiesModifiedEventAttributes: {
        workflowTaskCompletedEventId: at.completedId,
        upsertedMemo: { fields },
      },
    });
  }

  private scheduleActivity(
    a: NonNullable<Command['scheduleActivityTaskCommandAttributes']>,
    completedId: number,
  ): void {
    const scheduleToCloseMs = toMillis(a.scheduleToCloseTimeout);
    const startToCloseMs = toMillis(a.startToCloseTimeout) || scheduleToCloseMs;
    const scheduleToStartMs = toMillis(a.scheduleToStartTimeout) || scheduleToCloseMs;
    const heartbeatMs = Math.min(toMillis(a.heartbeatTimeout), startToCloseMs);
    const retry = effectiveRetryPolicy(a.retryPolicy);
    const spec: ActivitySpec = {
      activityId: a.activityId!,
      activityType: a.activityType!.name!,
      taskQueue: a.taskQueue?.name || this.taskQueue,
      input: a.input,
      header: a.header,
      scheduleToCloseMs,
      scheduleToStartMs,
      startToCloseMs,
      heartbeatMs,
      retry,
    };
    const e = this.push({
      eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
      activityTaskScheduledEventAttributes: {
        activityId: spec.activityId,
        activityType: { name: spec.activityType },
        taskQueue: { name: spec.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
        header: a.header,
        input: a.input,
        scheduleToCloseTimeout: duration(scheduleToCloseMs),
        scheduleToStartTimeout: duration(scheduleToStartMs),
        startToCloseTimeout: duration(startToCloseMs),
        heartbeatTimeout: duration(heartbeatMs),
        workflowTaskCompletedEventId: completedId,
        retryPolicy: retryPolicyProto(retry),
      },
    });
    const scheduledEventId = e.eventId as number;
    this.activities.set(scheduledEventId, new Activity(this, scheduledEventId, spec));
  }

  /** Called by an activity when it reaches its final outcome. */
  activityClosed(activity: Activity, events: HistoryEvent[]): void {
    this.activities.delete(activity.scheduledEventId);
    this.addEvents(() => events);
  }

  private continueAsNew(
    a: NonNullable<Command['continueAsNewWorkflowExecutionCommandAttributes']>,
    completedId: number,
  ): void {
    const next = this.cluster.continueAsNew(this, {
      workflowType: a.workflowType?.name || this.workflowType,
      taskQueue: a.taskQueue?.name || this.taskQueue,
      input: a.input,
      header: a.header,
      memo: a.memo ?? { fields: this.memo },
      searchAttributes: a.searchAttributes ?? { indexedFields: this.searchAttributes },
      runTimeoutMs: toMillis(a.workflowRunTimeout) || this.params.runTimeoutMs,
      taskTimeoutMs: toMillis(a.workflowTaskTimeout) || this.params.taskTimeoutMs,
      firstTaskDelayMs: toMillis(a.backoffStartInterval),
      initiator: a.initiator ?? undefined,
      lastCompletionResult: a.lastCompletionResult,
      continuedFailure: a.failure,
    });
    this.close(
      Status.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW,
      {
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW,
        workflowExecutionContinuedAsNewEventAttributes: {
          newExecutionRunId: next.runId,
          workflowType: { name: next.workflowType },
          taskQueue: { name: next.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          input: a.input,
          workflowRunTimeout: duration(next.params.runTimeoutMs),
          workflowTaskTimeout: duration(next.params.taskTimeoutMs),
          workflowTaskCompletedEventId: completedId,
          backoffStartInterval: a.backoffStartInterval,
          initiator: a.initiator,
          header: a.header,
          memo: a.memo,
          searchAttributes: a.searchAttributes,
        },
      },
      next,
    );
  }

  private startChild(
    a: NonNullable<Command['startChildWorkflowExecutionCommandAttributes']>,
    completedId: number,
    after: (() => void)[],
  ): void {
    const namespace = a.namespace || this.namespace.name;
    const workflowType = a.workflowType?.name ?? '';
    const initiated = this.push({
      eventType: EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED,
      startChildWorkflowExecutionInitiatedEventAttributes: {
        ...a,
        namespace,
        workflowTaskCompletedEventId: completedId,
      },
    });
    const initiatedEventId = initiated.eventId as number;
    after.push(() => {
      try {
        const child = this.cluster.startChild(this, a, initiatedEventId);
        const record: Child = {
          namespace,
          workflowId: child.workflowId,
          workflowType,
          runId: child.runId,
          startedEventId: 0,
          parentClosePolicy: a.parentClosePolicy ?? enums.ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE,
          closed: false,
        };
        this.children.set(initiatedEventId, record);
        this.addEvents(() => [childStarted(record, initiatedEventId, a)]);
      } catch (err) {
        const alreadyExists = err instanceof RpcError && err.code === GrpcStatus.ALREADY_EXISTS;
        this.addEvents(() => [childStartFailed(a, namespace, initiatedEventId, completedId, alreadyExists)]);
      }
    });
  }

  /** A child's run closed (not by continue-as-new): report it to this parent. */
  childClosed(initiatedEventId: number, child: WorkflowRun): void {
    const record = this.children.get(initiatedEventId);
    if (!record || record.closed || this.closed) return;
    record.closed = true;
    const close = child.closeEvent!;
    this.addEvents(() => {
      const startedEventId = this.history.find(
        (e) =>
          e.eventType === EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED &&
          Number(e.childWorkflowExecutionStartedEventAttributes?.initiatedEventId) === initiatedEventId,
      )?.eventId;
      return [childClosed(record, initiatedEventId, startedEventId, child.status, close)];
    });
  }

  private signalExternal(
    a: NonNullable<Command['signalExternalWorkflowExecutionCommandAttributes']>,
    completedId: number,
    after: (() => void)[],
  ): void {
    const namespace = a.namespace || this.namespace.name;
    const initiated = this.push({
      eventType: EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
      signalExternalWorkflowExecutionInitiatedEventAttributes: {
        ...a,
        namespace,
        workflowTaskCompletedEventId: completedId,
      },
    });
    const initiatedEventId = initiated.eventId as number;
    after.push(() => {
      const target = this.cluster.findOpenRun(namespace, a.execution?.workflowId ?? '', a.execution?.runId ?? '');
      const Cause = enums.SignalExternalWorkflowExecutionFailedCause;
      const failed = (cause: number) =>
        this.addEvents(() => [externalSignalFailed(a, namespace, initiatedEventId, completedId, cause)]);
      if (!target || (a.childWorkflowOnly && target.parent?.runId !== this.runId)) {
        failed(Cause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND);
        return;
      }
      try {
        target.signal({
          name: a.signalName ?? '',
          input: a.input,
          header: a.header,
          identity: '',
          external: { workflowId: this.workflowId, runId: this.runId },
        });
      } catch (err) {
        // The target's signal limit: the real transfer executor turns its InvalidArgument into this cause.
        if (!(err instanceof RpcError)) throw err;
        failed(Cause.SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_SIGNAL_COUNT_LIMIT_EXCEEDED);
        return;
      }
      this.addEvents(() => [externalSignaled(a, namespace, initiatedEventId)]);
    });
  }

  private cancelExternal(
    a: NonNullable<Command['requestCancelExternalWorkflowExecutionCommandAttributes']>,
    completedId: number,
    after: (() => void)[],
  ): void {
    const namespace = a.namespace || this.namespace.name;
    const initiated = this.push({
      eventType: EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_INITIATED,
      requestCancelExternalWorkflowExecutionInitiatedEventAttributes: {
        ...a,
        namespace,
        workflowTaskCompletedEventId: completedId,
      },
    });
    const initiatedEventId = initiated.eventId as number;
    after.push(() => {
      const target = this.cluster.findOpenRun(namespace, a.workflowId ?? '', a.runId ?? '');
      const execution = { workflowId: a.workflowId, runId: a.runId };
      if (!target) {
        this.addEvents(() => [
          {
            eventType: EventType.EVENT_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
            requestCancelExternalWorkflowExecutionFailedEventAttributes: {
              cause:
                enums.CancelExternalWorkflowExecutionFailedCause
                  .CANCEL_EXTERNAL_WORKFLOW_EXECUTION_FAILED_CAUSE_EXTERNAL_WORKFLOW_EXECUTION_NOT_FOUND,
              workflowTaskCompletedEventId: completedId,
              namespace,
              workflowExecution: execution,
              initiatedEventId,
              control: a.control,
            },
          },
        ]);
        return;
      }
      target.requestCancel({
        reason: a.reason,
        externalInitiatedEventId: initiatedEventId,
        externalWorkflowExecution: { workflowId: this.workflowId, runId: this.runId },
      });
      this.addEvents(() => [
        {
          eventType: EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_CANCEL_REQUESTED,
          externalWorkflowExecutionCancelRequestedEventAttributes: {
            initiatedEventId,
            namespace,
            workflowExecution: execution,
          },
        },
      ]);
    });
  }

  // ---- updates and queries ---------------------------------------------------------------------------------

  private applyUpdateAnswer(answer: UpdateAnswer): void {
    const update = this.updates.get(answer.updateId);
    if (!update) return;
    update.delivered = false;
    if (answer.kind === 'rejection') {
      update.rejected = true;
      update.outcome = { failure: answer.failure };
      update.stage = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
    } else if (answer.kind === 'acceptance') {
      const e = this.push({
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED,
        workflowExecutionUpdateAcceptedEventAttributes: {
          protocolInstanceId: update.id,
          acceptedRequestMessageId: answer.messageId,
          acceptedRequestSequencingEventId: answer.sequencingEventId,
          acceptedRequest: update.request,
        },
      });
      update.acceptedEventId = e.eventId as number;
      update.stage = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
    } else {
      if (update.stage < Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED) return;
      this.push({
        eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED,
        workflowExecutionUpdateCompletedEventAttributes: {
          meta: update.request.meta,
          acceptedEventId: update.acceptedEventId,
          outcome: answer.outcome,
        },
      });
      update.outcome = answer.outcome ?? undefined;
      update.stage = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
    }
    for (const w of [...update.waiters]) w();
    // As the real server's registry does (update/registry.go, its remover): a rejected update is forgotten once its
    // callers have the rejection, so a request with the same id later is a new update, and the validator runs again.
    if (update.rejected) this.updates.delete(update.id);
  }

  /**
   * Queries wait for any scheduled or running workflow task, so that they see every signal and update
   * delivered before them, as on the real server.
   */
  private dispatchQueries(): void {
    if (this.wft && !this.closed) return;
    if (this.lastCompletedStartedId === 0) {
      if (!this.closed) return;
      for (const q of [...this.queries]) {
        q.settle({
          error: new RpcError(
            GrpcStatus.FAILED_PRECONDITION,
            'workflow closed before its first workflow task completed',
          ),
        });
      }
      return;
    }
    for (const q of this.queries) {
      if (q.dispatched) continue;
      q.dispatched = true;
      this.offerQuery(q, true);
    }
  }

  /**
   * A legacy query task. On the sticky queue (its worker polling) with no history, as the real server sends it:
   * the worker answers from its cached run. If nobody takes it within the sticky schedule-to-start timeout, the
   * run stops being sticky and the query goes to the normal queue with the full history.
   */
  private offerQuery(q: PendingQuery, trySticky: boolean): void {
    const ns = this.namespace.name;
    const sticky = trySticky && !this.closed ? this.sticky : undefined;
    const onSticky = sticky !== undefined && this.cluster.stickyWorkerAvailable(ns, sticky.queue);
    const historyLength = onSticky ? 0 : this.queryableLength;
    const queue = onSticky
      ? this.cluster.stickyQueue(ns, sticky.queue)
      : this.cluster.workflowQueue(ns, this.taskQueue);
    const unqueue = queue.add(() => {
      if (!this.queries.includes(q)) return undefined;
      q.sticky?.timer.cancel();
      q.sticky = undefined;
      const token = this.cluster.tokens.issue({ kind: 'query', settle: (r) => q.settle(r) });
      this.observe({
        taskQueue: onSticky ? sticky.queue : this.taskQueue,
        sticky: onSticky,
        query: true,
        firstEventId: historyLength > 0 ? 1 : 0,
        eventCount: historyLength,
        startedEventId: 0,
        attempt: 1,
      });
      return {
        taskToken: Buffer.from(token),
        workflowExecution: { workflowId: this.workflowId, runId: this.runId },
        workflowType: { name: this.workflowType },
        previousStartedEventId: this.lastCompletedStartedId,
        startedEventId: 0,
        attempt: 1,
        [PRE_ENCODED]: encodeTaskHistory(this.history.slice(0, historyLength)),
        query: q.query,
        workflowExecutionTaskQueue: this.normalQueue,
      };
    });
    if (!onSticky) return;
    const fallback = () => {
      q.sticky?.timer.cancel();
      q.sticky = undefined;
      unqueue();
      if (!this.queries.includes(q)) return;
      // As the real server does when a sticky query gets no answer in time: the run is no longer sticky.
      if (this.sticky?.queue === sticky.queue) this.sticky = undefined;
      this.offerQuery(q, false);
    };
    q.sticky = { queue: sticky.queue, fallback, timer: this.cluster.clock.after(sticky.scheduleToStartMs, fallback) };
  }

  // ---- closing ---------------------------------------------------------------------------------------------

  private timeOut(): void {
    if (this.closed) return;
    this.close(Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT, {
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TIMED_OUT,
      workflowExecutionTimedOutEventAttributes: { retryState: enums.RetryState.RETRY_STATE_TIMEOUT },
    });
  }

  private close(status: number, event: HistoryEvent, next?: WorkflowRun): void {
    if (this.closed) return;
    if (this.wft) this.endWft(this.wft);
    this.flushBuffered();
    this.push(event);
    this.status = status;
    this.sticky = undefined;
    this.closeTime = this.cluster.clock.now();
    this.queryableLength = this.history.length;
    for (const t of this.runTimers) t.cancel();
    for (const t of this.timers.values()) t.timer.cancel();
    this.timers.clear();
    for (const a of this.activities.values()) a.dispose();
    this.activities.clear();
    for (const update of this.updates.values()) {
      if (update.stage >= Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED) continue;
      if (update.stage === Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED) {
        update.outcome = {
          failure: {
            message: 'Workflow Update failed because the Workflow completed before the Update completed.',
            source: 'Server',
            applicationFailureInfo: { type: 'AcceptedUpdateCompletedWorkflow', nonRetryable: true },
          },
        };
        update.stage = Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED;
      } else {
        // Never accepted: the run's next run takes the client's retry; after a real close there is none.
        update.error = next ? resourceExhausted(WORKFLOW_CLOSING) : notFound(UPDATE_ABORTED_BY_CLOSING);
      }
      for (const w of [...update.waiters]) w();
    }
    for (const child of this.children.values()) {
      if (child.closed) continue;
      const run = this.cluster.findOpenRun(child.namespace, child.workflowId, '');
      if (!run || run.parent?.runId !== this.runId) continue;
      if (child.parentClosePolicy === enums.ParentClosePolicy.PARENT_CLOSE_POLICY_TERMINATE) {
        run.terminate('by parent close policy', undefined, '');
      } else if (child.parentClosePolicy === enums.ParentClosePolicy.PARENT_CLOSE_POLICY_REQUEST_CANCEL) {
        run.requestCancel({ reason: 'by parent close policy' });
      }
    }
    if (next) {
      // The parent follows the chain: the next run reports to it.
      next.parent = this.parent;
    } else if (this.parent) {
      const parent = this.cluster.runs.get(this.parent.runId);
      parent?.childClosed(this.parent.initiatedEventId, this);
    }
    this.cluster.runClosed(this);
    this.dispatchQueries();
    this.notify();
  }

  // ---- history plumbing ------------------------------------------------------------------------------------

  /** New events from outside a workflow task: written now, or after the started task, and a task follows. */
  addEvents(make: () => HistoryEvent[]): void {
    if (this.closed) return;
    if (this.wft?.state === 'started') {
      this.buffered.push(make);
      return;
    }
    this.pushBatch(make());
    this.scheduleWft();
    this.notify();
  }

  private flushBuffered(): boolean {
    const batches = this.buffered;
    this.buffered = [];
    for (const make of batches) this.pushBatch(make());
    return batches.length > 0;
  }

  /** Writes a batch; an activity's Started event is linked from the outcome event that follows it. */
  private pushBatch(events: HistoryEvent[]): void {
    let startedId: number | undefined;
    for (const e of events) {
      if (startedId !== undefined) {
        const attrs = (e as Record<string, unknown>)[attributesKey(e.eventType ?? 0)] as { startedEventId?: number };
        if (attrs) attrs.startedEventId = startedId;
      }
      this.push(e);
      if (e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED) startedId = e.eventId as number;
    }
  }

  private push(e: HistoryEvent): HistoryEvent {
    const event = this.stamp(e, this.history.length + 1);
    this.history.push(event);
    this.historySizeBytes += committedEventSize(event);
    return event;
  }

  private stamp(e: HistoryEvent, eventId: number): HistoryEvent {
    e.eventId = eventId;
    e.eventTime = e.eventTime ?? timestamp(this.cluster.clock.now());
    e.taskId = this.cluster.nextTaskId();
    return e;
  }

  private observe(
    task: Omit<WorkflowTaskDispatch, 'namespace' | 'workflowId' | 'runId' | 'previousStartedEventId'>,
  ): void {
    const hook = this.cluster.hooks.onWorkflowTask;
    if (!hook) return;
    try {
      hook({
        namespace: this.namespace.name,
        workflowId: this.workflowId,
        runId: this.runId,
        previousStartedEventId: this.lastCompletedStartedId,
        ...task,
      });
    } catch (err) {
      console.error('temporal test server: onWorkflowTask hook failed', err);
    }
  }

  private notify(): void {
    for (const w of [...this.waiters]) w();
    this.cluster.clock.poke();
  }

  private signalEvent(signal: NonNullable<StartParams['signal']>): HistoryEvent {
    return {
      eventType: EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
      workflowExecutionSignaledEventAttributes: {
        signalName: signal.name,
        input: signal.input,
        identity: signal.identity,
        header: signal.header,
        externalWorkflowExecution: signal.external,
      },
    };
  }
}

const CLOSING_COMMANDS = new Set<number>([
  CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION,
  CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION,
]);

type UpdateAnswer =
  | { kind: 'acceptance'; updateId: string; messageId: string; sequencingEventId: number }
  | { kind: 'rejection'; updateId: string; failure: Failure | null | undefined }
  | { kind: 'response'; updateId: string; outcome: UpdateOutcome | null | undefined };

function decodeUpdateMessage(message: ProtocolMessage | undefined): UpdateAnswer | undefined {
  const body = message?.body as { type_url?: string; value?: Uint8Array } | undefined;
  if (!message || !body?.type_url || !body.value) return undefined;
  const updateId = message.protocolInstanceId ?? '';
  const type = body.type_url.replace(/^.*\//, '');
  const opts = { longs: Number, defaults: false };
  const u = temporal.api.update.v1;
  if (type === 'temporal.api.update.v1.Acceptance') {
    const a = u.Acceptance.toObject(
      u.Acceptance.decode(body.value),
      opts,
    ) as Loose<temporal.api.update.v1.Acceptance.$Properties>;
    return {
      kind: 'acceptance',
      updateId,
      messageId: a.acceptedRequestMessageId ?? '',
      sequencingEventId: Number(a.acceptedRequestSequencingEventId ?? 0),
    };
  }
  if (type === 'temporal.api.update.v1.Rejection') {
    const r = u.Rejection.toObject(
      u.Rejection.decode(body.value),
      opts,
    ) as Loose<temporal.api.update.v1.Rejection.$Properties>;
    return { kind: 'rejection', updateId, failure: r.failure as Failure };
  }
  if (type === 'temporal.api.update.v1.Response') {
    const r = u.Response.toObject(
      u.Response.decode(body.value),
      opts,
    ) as Loose<temporal.api.update.v1.Response.$Properties>;
    return { kind: 'response', updateId, outcome: r.outcome as UpdateOutcome };
  }
  return undefined;
}

function stickyOf(attributes: CompleteRequest['stickyAttributes']): StickyQueue | undefined {
  const queue = attributes?.workerTaskQueue?.name;
  if (!queue) return undefined;
  return {
    queue,
    scheduleToStartMs: toMillis(attributes.scheduleToStartTimeout) || DEFAULT_STICKY_SCHEDULE_TO_START_MS,
  };
}

/** A payload with no data deletes the key (how SDKs unset a search attribute or memo field). */
function stripEmpty<T extends { data?: Uint8Array | null }>(fields: Record<string, T>): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(fields)) {
    const text = v?.data ? Buffer.from(v.data).toString() : '';
    if (text !== '' && text !== 'null' && text !== '[]') out[k] = v;
  }
  return out;
}
