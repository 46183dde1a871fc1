/**
 * What a workflow task's commands must hold before any of them is applied, as the real server's command validator
 * requires (and WorkflowRun's appliers rely on): one check per command type. A command type the test server does
 * not carry out is refused as unhandled rather than ignored.
 */
import { Command, CommandType, enums, ProtocolMessage, toMillis } from './proto';

const Cause = enums.WorkflowTaskFailedCause;

/** Why the completion is refused: the workflow task fails with `cause`, and the worker is told `message`. */
export interface CommandProblem {
  cause: number;
  message: string;
}

/** What the checks need of the run. */
export interface CommandContext {
  /** Activity ids in flight; each ScheduleActivityTask adds its own, so one completion cannot reuse an id. */
  activityIds: Set<string>;
  /** Timer ids in flight, likewise. */
  timerIds: Set<string>;
  /** The completion's protocol messages by id. */
  messages: Map<string, ProtocolMessage>;
  /** Whether an activity was ever scheduled at this event id. */
  activityScheduledAt(eventId: number): boolean;
  attributeDefined(name: string): boolean;
}

type Check = (command: Command, context: CommandContext) => CommandProblem | undefined;

/** The first problem among `commands`, in their order, or undefined when all may be applied. */
export function validateCommands(commands: Command[], context: CommandContext): CommandProblem | undefined {
  for (const command of commands) {
    const check = CHECKS[command.commandType ?? 0];
    const problem = check
      ? check(command, context)
      : {
          cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_UNHANDLED_COMMAND,
          message: `command ${enums.CommandType[command.commandType ?? 0] ?? command.commandType} is not supported by the test server`,
        };
    if (problem) return problem;
  }
  return undefined;
}

/** A check that the command carries its attributes (and, where given, one required field of them). */
function requires(cause: number, present: (c: Command) => unknown, message: string): Check {
  return (command) => (present(command) ? undefined : { cause, message });
}

const CHECKS: Partial<Record<number, Check>> = {
  [CommandType.COMMAND_TYPE_SCHEDULE_ACTIVITY_TASK]: scheduleActivity,
  [CommandType.COMMAND_TYPE_REQUEST_CANCEL_ACTIVITY_TASK]: (c, context) =>
    context.activityScheduledAt(Number(c.requestCancelActivityTaskCommandAttributes?.scheduledEventId ?? 0))
      ? undefined
      : {
          cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_ACTIVITY_ATTRIBUTES,
          message: 'RequestCancelActivityTask names no scheduled activity.',
        },
  [CommandType.COMMAND_TYPE_START_TIMER]: startTimer,
  [CommandType.COMMAND_TYPE_CANCEL_TIMER]: () => undefined,
  [CommandType.COMMAND_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES]: (c, context) => {
    const fields = c.upsertWorkflowSearchAttributesCommandAttributes?.searchAttributes?.indexedFields ?? {};
    // As the real server (command_checker.go): an upsert of nothing is refused, not recorded.
    if (Object.keys(fields).length === 0) {
      return {
        cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
        message: 'IndexedFields is not set on UpsertWorkflowSearchAttributesCommand.',
      };
    }
    const unknown = Object.keys(fields).find((name) => !context.attributeDefined(name));
    return unknown
      ? {
          cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SEARCH_ATTRIBUTES,
          message: `search attribute ${unknown} is not defined`,
        }
      : undefined;
  },
  [CommandType.COMMAND_TYPE_MODIFY_WORKFLOW_PROPERTIES]: () => undefined,
  [CommandType.COMMAND_TYPE_PROTOCOL_MESSAGE]: (c, context) => {
    const id = c.protocolMessageCommandAttributes?.messageId ?? '';
    return context.messages.has(id)
      ? undefined
      : {
          cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_UPDATE_WORKFLOW_EXECUTION_MESSAGE,
          message: `ProtocolMessageCommand names unknown message ${id}.`,
        };
  },
  [CommandType.COMMAND_TYPE_COMPLETE_WORKFLOW_EXECUTION]: requires(
    Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_COMPLETE_WORKFLOW_EXECUTION_ATTRIBUTES,
    (c) => c.completeWorkflowExecutionCommandAttributes,
    'CompleteWorkflowExecutionCommandAttributes is not set on CompleteWorkflowExecutionCommand.',
  ),
  [CommandType.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION]: requires(
    Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_FAIL_WORKFLOW_EXECUTION_ATTRIBUTES,
    (c) => c.failWorkflowExecutionCommandAttributes?.failure,
    'Failure is not set on FailWorkflowExecutionCommand.',
  ),
  [CommandType.COMMAND_TYPE_CANCEL_WORKFLOW_EXECUTION]: requires(
    Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CANCEL_WORKFLOW_EXECUTION_ATTRIBUTES,
    (c) => c.cancelWorkflowExecutionCommandAttributes,
    'CancelWorkflowExecutionCommandAttributes is not set on CancelWorkflowExecutionCommand.',
  ),
  [CommandType.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION]: requires(
    Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_CONTINUE_AS_NEW_ATTRIBUTES,
    (c) => c.continueAsNewWorkflowExecutionCommandAttributes,
    'ContinueAsNewWorkflowExecutionCommandAttributes is not set on ContinueAsNewWorkflowExecutionCommand.',
  ),
  [CommandType.COMMAND_TYPE_RECORD_MARKER]: requires(
    Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_RECORD_MARKER_ATTRIBUTES,
    (c) => c.recordMarkerCommandAttributes?.markerName,
    'MarkerName is not set on RecordMarkerCommand.',
  ),
  [CommandType.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION]: (c) => {
    const a = c.startChildWorkflowExecutionCommandAttributes;
    const cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_CHILD_EXECUTION_ATTRIBUTES;
    if (!a?.workflowId)
      return { cause, message: 'Required field WorkflowId is not set on StartChildWorkflowExecutionCommand.' };
    if (!a.workflowType?.name)
      return { cause, message: 'Required field WorkflowType is not set on StartChildWorkflowExecutionCommand.' };
    return undefined;
  },
  [CommandType.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION]: (c) => {
    const a = c.signalExternalWorkflowExecutionCommandAttributes;
    const cause = Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SIGNAL_WORKFLOW_EXECUTION_ATTRIBUTES;
    if (!a?.execution?.workflowId)
      return { cause, message: 'WorkflowId is not set on SignalExternalWorkflowExecutionCommand.' };
    if (!a.signalName) return { cause, message: 'SignalName is not set on SignalExternalWorkflowExecutionCommand.' };
    return undefined;
  },
  [CommandType.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION]: requires(
    Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION_ATTRIBUTES,
    (c) => c.requestCancelExternalWorkflowExecutionCommandAttributes?.workflowId,
    'WorkflowId is not set on RequestCancelExternalWorkflowExecutionCommand.',
  ),
};

function scheduleActivity(c: Command, context: CommandContext): CommandProblem | undefined {
  const a = c.scheduleActivityTaskCommandAttributes;
  const bad = (message: string) => ({
    cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_SCHEDULE_ACTIVITY_ATTRIBUTES,
    message,
  });
  if (!a) return bad('ScheduleActivityTaskCommandAttributes is not set on command.');
  if (!a.activityId) return bad('ActivityId is not set on command.');
  if (!a.activityType?.name) return bad('ActivityType is not set on command.');
  if (context.activityIds.has(a.activityId)) return bad(`Activity with id ${a.activityId} is already running.`);
  if (!toMillis(a.scheduleToCloseTimeout) && !toMillis(a.startToCloseTimeout)) {
    return bad('A valid StartToClose or ScheduleToCloseTimeout is not set on command.');
  }
  context.activityIds.add(a.activityId);
  return undefined;
}

function startTimer(c: Command, context: CommandContext): CommandProblem | undefined {
  const id = c.startTimerCommandAttributes?.timerId;
  if (!id || context.timerIds.has(id)) {
    return {
      cause: Cause.WORKFLOW_TASK_FAILED_CAUSE_BAD_START_TIMER_ATTRIBUTES,
      message: `Invalid or duplicate TimerId ${id ?? ''}.`,
    };
  }
  context.timerIds.add(id);
  return undefined;
}
