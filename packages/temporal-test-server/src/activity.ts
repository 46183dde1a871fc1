/**
 * One scheduled activity of a workflow run: its attempts, server-side retries, timeouts, heartbeats and
 * cancellation. Attempts that are retried never reach history; only the final outcome does, as
 * ActivityTaskStarted followed by Completed / Failed / TimedOut / Canceled.
 */
import type { ClockTimer } from './clock';
import { decideRetry, EffectiveRetryPolicy, retryPolicyProto } from './retry';
import {
  EventType,
  Failure,
  Header,
  HistoryEvent,
  Payloads,
  duration,
  enums,
  temporal,
  timestamp,
  Loose,
} from './proto';
import type { WorkflowRun } from './workflow-run';

const TimeoutType = enums.TimeoutType;
type PollResponse = Loose<temporal.api.workflowservice.v1.PollActivityTaskQueueResponse.$Properties>;

export interface ActivitySpec {
  activityId: string;
  activityType: string;
  taskQueue: string;
  input?: Payloads | null;
  header?: Header | null;
  /** Milliseconds; 0 = none. */
  scheduleToCloseMs: number;
  scheduleToStartMs: number;
  startToCloseMs: number;
  heartbeatMs: number;
  retry: EffectiveRetryPolicy;
}

export class Activity {
  state: 'scheduled' | 'started' | 'backoff' | 'closed' = 'scheduled';
  attempt = 1;
  readonly scheduledTime: number;
  attemptScheduledTime: number;
  startedTime = 0;
  identity = '';
  heartbeatDetails: Payloads | undefined;
  lastHeartbeatTime = 0;
  lastFailure: Failure | undefined;
  cancelRequestedEventId = 0;
  private token: string | undefined;
  private attemptTimers: ClockTimer[] = [];
  private scheduleToCloseTimer: ClockTimer | undefined;
  private heartbeatTimer: ClockTimer | undefined;

  constructor(
    private readonly run: WorkflowRun,
    readonly scheduledEventId: number,
    readonly spec: ActivitySpec,
  ) {
    const clock = run.cluster.clock;
    this.scheduledTime = clock.now();
    this.attemptScheduledTime = this.scheduledTime;
    if (spec.scheduleToCloseMs > 0) {
      this.scheduleToCloseTimer = clock.after(spec.scheduleToCloseMs, () =>
        this.timeOut(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE),
      );
    }
    this.enqueue();
  }

  get cancelRequested(): boolean {
    return this.cancelRequestedEventId > 0;
  }

  get scheduleToCloseDeadline(): number | undefined {
    return this.spec.scheduleToCloseMs > 0 ? this.scheduledTime + this.spec.scheduleToCloseMs : undefined;
  }

  /** The workflow asked to cancel: a waiting attempt is cancelled at once, a running one through its heartbeat. */
  requestCancel(eventId: number): void {
    this.cancelRequestedEventId = eventId;
    if (this.state === 'scheduled' || this.state === 'backoff') this.close([this.canceledEvent(undefined)]);
  }

  start(identity: string): PollResponse | undefined {
    if (this.state !== 'scheduled' || this.run.closed) return undefined;
    const clock = this.run.cluster.clock;
    this.clearAttemptTimers();
    this.state = 'started';
    this.startedTime = clock.now();
    this.identity = identity;
    this.lastHeartbeatTime = 0;
    this.token = this.run.cluster.tokens.issue({ kind: 'activity', activity: this, attempt: this.attempt });
    if (this.spec.startToCloseMs > 0) {
      this.attemptTimers.push(
        clock.after(this.spec.startToCloseMs, () => this.attemptTimedOut(TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE)),
      );
    }
    this.armHeartbeatTimer();
    const run = this.run;
    return {
      taskToken: Buffer.from(this.token),
      workflowNamespace: run.namespace.name,
      workflowType: { name: run.workflowType },
      workflowExecution: { workflowId: run.workflowId, runId: run.runId },
      activityType: { name: this.spec.activityType },
      activityId: this.spec.activityId,
      header: this.spec.header,
      input: this.spec.input,
      heartbeatDetails: this.heartbeatDetails,
      scheduledTime: timestamp(this.scheduledTime),
      currentAttemptScheduledTime: timestamp(this.attemptScheduledTime),
      startedTime: timestamp(this.startedTime),
      attempt: this.attempt,
      scheduleToCloseTimeout: duration(this.spec.scheduleToCloseMs),
      startToCloseTimeout: duration(this.spec.startToCloseMs),
      heartbeatTimeout: duration(this.spec.heartbeatMs),
      retryPolicy: retryPolicyProto(this.spec.retry),
    };
  }

  heartbeat(details: Payloads | null | undefined): { cancelRequested: boolean } {
    if (details) this.heartbeatDetails = details;
    this.lastHeartbeatTime = this.run.cluster.clock.now();
    this.armHeartbeatTimer();
    return { cancelRequested: this.cancelRequested };
  }

  complete(result: Payloads | null | undefined, identity: string): void {
    this.close([
      this.startedEvent(identity),
      {
        eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
        activityTaskCompletedEventAttributes: { result, scheduledEventId: this.scheduledEventId, identity },
      },
    ]);
  }

  fail(failure: Failure | null | undefined, identity: string, details?: Payloads | null): void {
    if (details) this.heartbeatDetails = details;
    this.attemptFailed(failure ?? { message: 'activity failed' }, (retryState) => [
      this.startedEvent(identity),
      {
        eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        activityTaskFailedEventAttributes: {
          failure,
          scheduledEventId: this.scheduledEventId,
          identity,
          retryState,
        },
      },
    ]);
  }

  canceled(details: Payloads | null | undefined, identity: string): void {
    this.close([this.startedEvent(identity), this.canceledEvent(details, identity)]);
  }

  /** The run closed: nothing more of this activity reaches history; late responses get NOT_FOUND. */
  dispose(): void {
    this.state = 'closed';
    this.clearAttemptTimers();
    this.scheduleToCloseTimer?.cancel();
    if (this.token) this.run.cluster.tokens.revoke(this.token);
  }

  private enqueue(): void {
    const clock = this.run.cluster.clock;
    this.state = 'scheduled';
    this.attemptScheduledTime = clock.now();
    if (this.spec.scheduleToStartMs > 0) {
      this.attemptTimers.push(
        clock.after(this.spec.scheduleToStartMs, () => this.timeOut(TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START)),
      );
    }
    this.run.cluster
      .activityQueue(this.run.namespace.name, this.spec.taskQueue)
      .add((poller) => this.start(poller.identity));
  }

  private armHeartbeatTimer(): void {
    this.heartbeatTimer?.cancel();
    if (this.state !== 'started' || this.spec.heartbeatMs <= 0) return;
    this.heartbeatTimer = this.run.cluster.clock.after(this.spec.heartbeatMs, () =>
      this.attemptTimedOut(TimeoutType.TIMEOUT_TYPE_HEARTBEAT),
    );
  }

  private attemptTimedOut(timeoutType: number): void {
    if (this.state !== 'started') return;
    const failure = timeoutFailure(timeoutType, this.heartbeatDetails);
    this.attemptFailed(failure, (retryState) => [
      this.startedEvent(this.identity),
      this.timedOutEvent(failure, retryState),
    ]);
  }

  /** Schedule-to-start and schedule-to-close: not retried. */
  private timeOut(timeoutType: number): void {
    if (this.state === 'closed') return;
    const failure = timeoutFailure(timeoutType, this.heartbeatDetails, this.lastFailure);
    const events: HistoryEvent[] = [];
    // An attempt that is running at the deadline is recorded as started; a waiting one is not.
    if (this.state === 'started') events.push(this.startedEvent(this.identity));
    events.push(this.timedOutEvent(failure, enums.RetryState.RETRY_STATE_TIMEOUT));
    this.close(events);
  }

  private attemptFailed(failure: Failure, finalEvents: (retryState: number) => HistoryEvent[]): void {
    if (this.state !== 'started') return;
    const clock = this.run.cluster.clock;
    const decision = decideRetry(this.spec.retry, this.attempt, failure, clock.now(), this.scheduleToCloseDeadline);
    if (!decision.retry || this.cancelRequested) {
      this.close(finalEvents(decision.retry ? enums.RetryState.RETRY_STATE_CANCEL_REQUESTED : decision.state));
      return;
    }
    this.lastFailure = failure;
    this.clearAttemptTimers();
    if (this.token) this.run.cluster.tokens.revoke(this.token);
    this.token = undefined;
    this.state = 'backoff';
    this.attemptTimers.push(
      clock.after(decision.delayMs, () => {
        this.attemptTimers = [];
        this.attempt++;
        this.enqueue();
      }),
    );
  }

  private close(events: HistoryEvent[]): void {
    if (this.state === 'closed') return;
    this.dispose();
    this.run.activityClosed(this, events);
  }

  private clearAttemptTimers(): void {
    for (const t of this.attemptTimers) t.cancel();
    this.attemptTimers = [];
    this.heartbeatTimer?.cancel();
    this.heartbeatTimer = undefined;
  }

  private startedEvent(identity: string): HistoryEvent {
    return {
      eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
      activityTaskStartedEventAttributes: {
        scheduledEventId: this.scheduledEventId,
        identity,
        requestId: `${this.run.runId}-${this.scheduledEventId}-${this.attempt}`,
        attempt: this.attempt,
        lastFailure: this.lastFailure,
      },
    };
  }

  private timedOutEvent(failure: Failure, retryState: number): HistoryEvent {
    return {
      eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
      activityTaskTimedOutEventAttributes: { failure, scheduledEventId: this.scheduledEventId, retryState },
    };
  }

  private canceledEvent(details: Payloads | null | undefined, identity = ''): HistoryEvent {
    return {
      eventType: EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
      activityTaskCanceledEventAttributes: {
        details,
        latestCancelRequestedEventId: this.cancelRequestedEventId,
        scheduledEventId: this.scheduledEventId,
        identity,
      },
    };
  }
}

const TIMEOUT_NAMES: Record<number, string> = {
  [TimeoutType.TIMEOUT_TYPE_START_TO_CLOSE]: 'StartToClose',
  [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START]: 'ScheduleToStart',
  [TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_CLOSE]: 'ScheduleToClose',
  [TimeoutType.TIMEOUT_TYPE_HEARTBEAT]: 'Heartbeat',
};

function timeoutFailure(timeoutType: number, details: Payloads | undefined, cause?: Failure): Failure {
  return {
    message: `activity ${TIMEOUT_NAMES[timeoutType]} timeout`,
    source: 'Server',
    timeoutFailureInfo: { timeoutType, lastHeartbeatDetails: details },
    cause,
  };
}
