/**
 * The events a parent's history receives about the runs it reaches: its children (started, failed to start,
 * closed) and the executions it signals. Pure: WorkflowRun decides when, these say what.
 */
import { Command, enums, EventType, HistoryEvent, Status } from './proto';

/** A child as its parent knows it. */
export interface Child {
  namespace: string;
  workflowId: string;
  workflowType: string;
  runId: string;
  startedEventId: number;
  parentClosePolicy: number;
  closed: boolean;
}

type StartChild = NonNullable<Command['startChildWorkflowExecutionCommandAttributes']>;
type SignalExternal = NonNullable<Command['signalExternalWorkflowExecutionCommandAttributes']>;

export function childStarted(child: Child, initiatedEventId: number, a: StartChild): HistoryEvent {
  return {
    eventType: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED,
    childWorkflowExecutionStartedEventAttributes: {
      namespace: child.namespace,
      initiatedEventId,
      workflowExecution: { workflowId: child.workflowId, runId: child.runId },
      workflowType: { name: child.workflowType },
      header: a.header,
    },
  };
}

/** The child could not start: its id is taken (`alreadyExists`), or its namespace is unknown. */
export function childStartFailed(
  a: StartChild,
  namespace: string,
  initiatedEventId: number,
  completedId: number,
  alreadyExists: boolean,
): HistoryEvent {
  const Cause = enums.StartChildWorkflowExecutionFailedCause;
  return {
    eventType: EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_FAILED,
    startChildWorkflowExecutionFailedEventAttributes: {
      namespace,
      workflowId: a.workflowId,
      workflowType: { name: a.workflowType?.name ?? '' },
      cause: alreadyExists
        ? Cause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_WORKFLOW_ALREADY_EXISTS
        : Cause.START_CHILD_WORKFLOW_EXECUTION_FAILED_CAUSE_NAMESPACE_NOT_FOUND,
      control: a.control,
      initiatedEventId,
      workflowTaskCompletedEventId: completedId,
    },
  };
}

/** The child's close as its parent records it: its result, failure or details, by how it closed. */
export function childClosed(
  child: Child,
  initiatedEventId: number,
  startedEventId: HistoryEvent['eventId'],
  status: number,
  close: HistoryEvent,
): HistoryEvent {
  const common = {
    namespace: child.namespace,
    workflowExecution: { workflowId: child.workflowId, runId: child.runId },
    workflowType: { name: child.workflowType },
    initiatedEventId,
    startedEventId,
  };
  switch (status) {
    case Status.WORKFLOW_EXECUTION_STATUS_COMPLETED:
      return {
        eventType: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED,
        childWorkflowExecutionCompletedEventAttributes: {
          ...common,
          result: close.workflowExecutionCompletedEventAttributes?.result,
        },
      };
    case Status.WORKFLOW_EXECUTION_STATUS_FAILED:
      return {
        eventType: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_FAILED,
        childWorkflowExecutionFailedEventAttributes: {
          ...common,
          failure: close.workflowExecutionFailedEventAttributes?.failure,
          retryState: enums.RetryState.RETRY_STATE_RETRY_POLICY_NOT_SET,
        },
      };
    case Status.WORKFLOW_EXECUTION_STATUS_CANCELED:
      return {
        eventType: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_CANCELED,
        childWorkflowExecutionCanceledEventAttributes: {
          ...common,
          details: close.workflowExecutionCanceledEventAttributes?.details,
        },
      };
    case Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT:
      return {
        eventType: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TIMED_OUT,
        childWorkflowExecutionTimedOutEventAttributes: { ...common, retryState: enums.RetryState.RETRY_STATE_TIMEOUT },
      };
    default:
      return {
        eventType: EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_TERMINATED,
        childWorkflowExecutionTerminatedEventAttributes: common,
      };
  }
}

export function externalSignalFailed(
  a: SignalExternal,
  namespace: string,
  initiatedEventId: number,
  completedId: number,
  cause: number,
): HistoryEvent {
  return {
    eventType: EventType.EVENT_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION_FAILED,
    signalExternalWorkflowExecutionFailedEventAttributes: {
      cause,
      workflowTaskCompletedEventId: completedId,
      namespace,
      workflowExecution: { workflowId: a.execution?.workflowId, runId: a.execution?.runId },
      initiatedEventId,
      control: a.control,
    },
  };
}

export function externalSignaled(a: SignalExternal, namespace: string, initiatedEventId: number): HistoryEvent {
  return {
    eventType: EventType.EVENT_TYPE_EXTERNAL_WORKFLOW_EXECUTION_SIGNALED,
    externalWorkflowExecutionSignaledEventAttributes: {
      initiatedEventId,
      namespace,
      workflowExecution: { workflowId: a.execution?.workflowId, runId: a.execution?.runId },
      control: a.control,
    },
  };
}
