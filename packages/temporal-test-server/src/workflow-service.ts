/**
 * The RPC handlers: WorkflowService, OperatorService (search attributes), TestService (time skipping) and gRPC
 * health. Each handler validates its request, then delegates to the cluster and its runs.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import type { Cluster, StartParams } from './cluster';
import {
  aborted,
  failedPrecondition,
  invalidArgument,
  multiOperationFailure,
  notFound,
  required,
  RpcError,
  UPDATE_ABORTED_BY_CLOSING,
  UpdateLimitError,
} from './errors';
import { ATTRIBUTE_TYPES, SYSTEM_ATTRIBUTES } from './namespace';
import { pageToken, readPageToken } from './page-token';
import { duration, enums, HistoryEvent, type Payloads, temporal, timestamp, toMillis } from './proto';
import { parseQuery } from './visibility';
import type { WorkflowRun } from './workflow-run';

/** What a handler knows of its call. */
export interface CallContext {
  /** Milliseconds until the caller's deadline (Infinity when it set none). */
  remainingMs(): number;
  isCancelled(): boolean;
  onCancel(listener: () => void): void;
}

// Requests arrive decoded with `longs: Number`; each handler reads the fields it needs.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Req = any;
type Handler = (req: Req, ctx: CallContext) => unknown;

const Stage = enums.UpdateWorkflowExecutionLifecycleStage;
const LONG_POLL_MS = 60_000;

/** Leaves the caller time to receive an empty answer before its own deadline passes. */
function longPollMs(ctx: CallContext, cap = LONG_POLL_MS): number {
  return Math.max(0, Math.min(cap, ctx.remainingMs() - 1_000));
}

export function workflowService(cluster: Cluster): Record<string, Handler> {
  const ns = (req: Req) => cluster.namespace(req.namespace);
  const runOf = (req: Req) => {
    const namespace = ns(req).name;
    const execution = req.workflowExecution ?? req.execution;
    return cluster.run(namespace, execution?.workflowId, execution?.runId);
  };
  const openRunOf = (req: Req) => {
    const run = runOf(req);
    if (run.closed) throw notFound('workflow execution already completed');
    return run;
  };

  const startParams = (req: Req, identityFallback = ''): StartParams => {
    if (req.cronSchedule)
      throw new RpcError(GrpcStatus.UNIMPLEMENTED, 'cron schedules are not supported by the test server');
    if (req.retryPolicy)
      throw new RpcError(GrpcStatus.UNIMPLEMENTED, 'workflow retry policies are not supported by the test server');
    return {
      workflowId: required(req.workflowId, 'WorkflowId'),
      workflowType: required(req.workflowType?.name, 'WorkflowType'),
      taskQueue: startTaskQueue(req.taskQueue),
      input: req.input,
      header: req.header,
      memo: req.memo,
      searchAttributes: req.searchAttributes,
      ...cluster.normalizeTimeouts(req),
      identity: req.identity ?? identityFallback,
      requestId: req.requestId || randomUUID(),
      firstTaskDelayMs: toMillis(req.workflowStartDelay),
    };
  };

  /**
   * limit.blobSize.error, in the real server's words (common.CheckEventBlobSizeLimit): a start's or a signal's
   * payloads over it are refused before anything is recorded. Payloads over 4 MiB never get here: gRPC refuses the
   * whole message. Not done: an update's input (the real server hands it to the worker, fails the workflow task that
   * accepts it, and answers FAILED_PRECONDITION), and a worker's payloads (activity results, commands).
   */
  const checkBlobSize = (...inputs: (Payloads | null | undefined)[]) => {
    for (const input of inputs) {
      if (!input) continue;
      const size = temporal.api.common.v1.Payloads.encode(input as temporal.api.common.v1.IPayloads).finish().length;
      if (size > cluster.limits.blobSizeError) throw invalidArgument('Blob data size exceeds limit.');
    }
  };

  const startWorkflow = (req: Req) => {
    checkBlobSize(req.input);
    const { run, started } = cluster.start(ns(req), startParams(req), {
      reuse: req.workflowIdReusePolicy,
      conflict: req.workflowIdConflictPolicy,
    });
    return { runId: run.runId, started, status: run.status };
  };

  const updateResponse = (run: WorkflowRun, update: Awaited<ReturnType<WorkflowRun['update']>>) => ({
    updateRef: { workflowExecution: { workflowId: run.workflowId, runId: run.runId }, updateId: update.id },
    outcome: update.stage >= Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_COMPLETED ? update.outcome : undefined,
    stage: update.stage,
  });

  const updateWorkflow = async (run: WorkflowRun, req: Req, ctx: CallContext) => {
    const updateId = required(req.request?.meta?.updateId, 'Update ID');
    required(req.request?.input?.name, 'Update name');
    const stage = req.waitPolicy?.lifecycleStage || Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
    const update = await run.update(
      { ...req.request, meta: { ...req.request.meta, updateId } },
      stage,
      longPollMs(ctx, 20_000),
    );
    return updateResponse(run, update);
  };

  const activityTarget = (req: Req) => {
    const target = cluster.tokens.resolve(req.taskToken);
    if (target?.kind !== 'activity')
      throw notFound('activity task not found (already completed, timed out or cancelled)');
    return target.activity;
  };
  const activityById = (req: Req) => {
    const run = cluster.run(ns(req).name, req.workflowId, req.runId);
    const activity = [...run.activities.values()].find((a) => a.spec.activityId === req.activityId);
    if (!activity || activity.state !== 'started') throw notFound(`activity ${req.activityId} is not running`);
    return activity;
  };

  const executionInfo = (run: WorkflowRun) => ({
    execution: { workflowId: run.workflowId, runId: run.runId },
    type: { name: run.workflowType },
    startTime: timestamp(run.startTime),
    closeTime: run.closed ? timestamp(run.closeTime) : undefined,
    status: run.status,
    historyLength: run.history.length,
    parentExecution: run.parent && { workflowId: run.parent.workflowId, runId: run.parent.runId },
    executionTime: timestamp(run.executionTime),
    memo: { fields: run.memo },
    searchAttributes: { indexedFields: run.searchAttributes },
    taskQueue: run.taskQueue,
    firstRunId: run.params.firstRunId ?? run.runId,
    historySizeBytes: run.historySizeBytes,
  });

  const matching = (req: Req) => {
    const namespace = ns(req);
    const predicate = parseQuery(req.query ?? '', (name) => cluster.attributeTypeName(namespace, name));
    return cluster
      .allRuns(namespace.name)
      .filter((run) => predicate((name) => cluster.attributeValue(run, name)))
      .sort((a, b) => b.startTime - a.startTime);
  };

  return {
    GetSystemInfo: () => ({
      serverVersion: '1.29.0-vigil-test-server',
      capabilities: {
        signalAndQueryHeader: true,
        internalErrorDifferentiation: true,
        activityFailureIncludeHeartbeat: true,
        supportsSchedules: true,
        encodedFailureAttributes: true,
        upsertMemo: true,
        eagerWorkflowStart: false,
        sdkMetadata: true,
        countGroupByExecutionStatus: false,
      },
    }),
    GetClusterInfo: () => ({
      supportedClients: {},
      serverVersion: '1.29.0-vigil-test-server',
      clusterId: 'vigil-test-server',
      clusterName: 'active',
      historyShardCount: 1,
      persistenceStore: 'memory',
      visibilityStore: 'memory',
    }),

    // ---- namespaces ----
    RegisterNamespace: (req) => {
      const name = required(req.namespace, 'Namespace');
      if (!/^[a-zA-Z0-9][a-zA-Z0-9._-]*$/.test(name)) throw invalidArgument(`Namespace name ${name} is invalid.`);
      cluster.registerNamespace(
        name,
        req.description ?? '',
        toMillis(req.workflowExecutionRetentionPeriod) || undefined,
      );
      return {};
    },
    DescribeNamespace: (req) => {
      const namespace = req.id
        ? [...cluster.namespaces.values()].find((n) => n.id === req.id)
        : cluster.namespaces.get(required(req.namespace, 'Namespace'));
      if (!namespace) throw notFound(`Namespace ${req.namespace || req.id} is not found.`);
      return describeNamespace(namespace);
    },
    ListNamespaces: () => ({ namespaces: [...cluster.namespaces.values()].map(describeNamespace) }),

    // ---- starting and signalling ----
    StartWorkflowExecution: startWorkflow,
    SignalWorkflowExecution: (req) => {
      checkBlobSize(req.input);
      const run = openRunOf(req);
      run.signal({
        name: required(req.signalName, 'SignalName'),
        input: req.input,
        header: req.header,
        identity: req.identity ?? '',
      });
      return {};
    },
    SignalWithStartWorkflowExecution: (req) => {
      checkBlobSize(req.input, req.signalInput);
      const namespace = ns(req);
      const signal = {
        name: required(req.signalName, 'SignalName'),
        input: req.signalInput,
        header: req.header,
        identity: req.identity ?? '',
      };
      const params = startParams(req);
      const current = cluster.findOpenRun(namespace.name, params.workflowId, '');
      if (
        current &&
        req.workflowIdConflictPolicy !== enums.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
      ) {
        current.signal(signal);
        return { runId: current.runId, started: false };
      }
      const { run, started } = cluster.start(
        namespace,
        { ...params, signal },
        {
          reuse: req.workflowIdReusePolicy,
          conflict: req.workflowIdConflictPolicy,
        },
      );
      return { runId: run.runId, started };
    },
    ExecuteMultiOperation: async (req, ctx) => {
      const operations = req.operations ?? [];
      const start = operations[0]?.startWorkflow;
      const update = operations[1]?.updateWorkflow;
      if (operations.length !== 2 || !start || !update) {
        throw invalidArgument(
          'ExecuteMultiOperation supports exactly one StartWorkflow followed by one UpdateWorkflow.',
        );
      }
      if (
        !start.workflowIdConflictPolicy ||
        start.workflowIdConflictPolicy === enums.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
      ) {
        throw invalidArgument('Update-with-start requires WorkflowIdConflictPolicy USE_EXISTING or FAIL.');
      }
      if (update.workflowExecution?.workflowId && update.workflowExecution.workflowId !== start.workflowId) {
        throw invalidArgument('Update-with-start: the update must target the workflow being started.');
      }
      const namespace = ns(req);
      checkBlobSize(start.input);
      const params = startParams(start);
      const updateId = required(update.request?.meta?.updateId, 'Update ID');
      const attempt = async () => {
        // A retried request for an update that is already known joins it instead of starting anything.
        const existing = cluster.findOpenRun(namespace.name, params.workflowId, '');
        const known = existing?.updates.get(updateId);
        const { run, started } = known
          ? { run: existing!, started: false }
          : cluster.start(namespace, params, {
              reuse: start.workflowIdReusePolicy,
              conflict: start.workflowIdConflictPolicy,
            });
        const updateResp = await updateWorkflow(run, update, ctx).catch((error: unknown) => {
          throw started ? error : new AbortedByClosing(error);
        });
        return {
          responses: [
            { startWorkflow: { runId: run.runId, started, status: run.status } },
            { updateWorkflow: updateResp },
          ],
        };
      };
      // As the real server does (history/api/multioperation): an update that an existing run aborted by completing
      // is tried once more as a whole, start included, since update-with-start can start the workflow anew (the
      // reuse policy decides); aborted again, it is ABORTED, which clients retry.
      for (let tries = 1; ; tries++) {
        try {
          return await attempt();
        } catch (error) {
          const cause = error instanceof AbortedByClosing ? error.cause : error;
          const abortedByClosing =
            error instanceof AbortedByClosing &&
            cause instanceof RpcError &&
            cause.message === UPDATE_ABORTED_BY_CLOSING;
          if (!abortedByClosing) throw cause instanceof UpdateLimitError ? multiOperationFailure(cause) : cause;
          if (tries === 2) throw aborted(UPDATE_ABORTED_BY_CLOSING);
        }
      }
    },
    RequestCancelWorkflowExecution: (req) => {
      openRunOf(req).requestCancel({ identity: req.identity, reason: req.reason });
      return {};
    },
    TerminateWorkflowExecution: (req) => {
      openRunOf(req).terminate(req.reason ?? '', req.details, req.identity ?? '');
      return {};
    },

    // ---- queries and updates ----
    QueryWorkflow: async (req, ctx) => {
      const run = runOf(req);
      const queryType = required(req.query?.queryType, 'QueryType');
      const answer = await run.query({ ...req.query, queryType }, longPollMs(ctx, 30_000));
      return { queryResult: answer ?? { payloads: [] } };
    },
    UpdateWorkflowExecution: (req, ctx) => {
      const run = runOf(req);
      if (req.firstExecutionRunId && (run.params.firstRunId ?? run.runId) !== req.firstExecutionRunId) {
        throw notFound('workflow execution not found for the given first execution run id');
      }
      return updateWorkflow(run, req, ctx);
    },
    PollWorkflowExecutionUpdate: async (req, ctx) => {
      const ref = req.updateRef;
      const run = cluster.run(ns(req).name, ref?.workflowExecution?.workflowId, ref?.workflowExecution?.runId);
      const updateId = required(ref?.updateId, 'UpdateId');
      const known = run.updates.get(updateId);
      if (!known) throw notFound(`update ${updateId} not found`);
      const stage = req.waitPolicy?.lifecycleStage || Stage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED;
      const update = await run.update(known.request, stage, longPollMs(ctx, 20_000));
      return updateResponse(run, update);
    },

    // ---- inspection ----
    DescribeWorkflowExecution: (req) => {
      const run = runOf(req);
      const wft = run.wft;
      return {
        executionConfig: {
          taskQueue: { name: run.taskQueue, kind: enums.TaskQueueKind.TASK_QUEUE_KIND_NORMAL },
          workflowExecutionTimeout: duration(run.params.executionTimeoutMs),
          workflowRunTimeout: duration(run.params.runTimeoutMs),
          defaultWorkflowTaskTimeout: duration(run.params.taskTimeoutMs),
        },
        workflowExecutionInfo: executionInfo(run),
        pendingActivities: [...run.activities.values()].map((a) => ({
          activityId: a.spec.activityId,
          activityType: { name: a.spec.activityType },
          state: a.cancelRequested
            ? enums.PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED
            : a.state === 'started'
              ? enums.PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
              : enums.PendingActivityState.PENDING_ACTIVITY_STATE_SCHEDULED,
          heartbeatDetails: a.heartbeatDetails,
          lastHeartbeatTime: a.lastHeartbeatTime ? timestamp(a.lastHeartbeatTime) : undefined,
          lastStartedTime: a.startedTime ? timestamp(a.startedTime) : undefined,
          attempt: a.attempt,
          maximumAttempts: a.spec.retry.maximumAttempts,
          scheduledTime: timestamp(a.attemptScheduledTime),
          lastFailure: a.lastFailure,
          lastWorkerIdentity: a.identity,
        })),
        pendingChildren: [...run.children.entries()]
          .filter(([, c]) => !c.closed)
          .map(([initiatedId, c]) => ({
            workflowId: c.workflowId,
            runId: c.runId,
            workflowTypeName: c.workflowType,
            initiatedId,
            parentClosePolicy: c.parentClosePolicy,
          })),
        pendingWorkflowTask: wft && {
          state:
            wft.state === 'started'
              ? enums.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_STARTED
              : enums.PendingWorkflowTaskState.PENDING_WORKFLOW_TASK_STATE_SCHEDULED,
          scheduledTime: timestamp(wft.scheduledTime),
          originalScheduledTime: timestamp(wft.scheduledTime),
          startedTime: wft.startedTime ? timestamp(wft.startedTime) : undefined,
          attempt: wft.attempt,
        },
      };
    },
    GetWorkflowExecutionHistory: async (req, ctx) => {
      const run = runOf(req);
      const closeOnly =
        req.historyEventFilterType === enums.HistoryEventFilterType.HISTORY_EVENT_FILTER_TYPE_CLOSE_EVENT;
      if (closeOnly) {
        // As on the real server, a close-event long poll waits for the close itself, not for any new event:
        // answering on every event only makes the caller poll again.
        const deadline = Date.now() + longPollMs(ctx);
        while (!run.closed && req.waitNewEvent && !ctx.isCancelled() && Date.now() < deadline) {
          await run.waitForChange(deadline - Date.now());
        }
        const close = run.closeEvent;
        return close ? { history: { events: [close] } } : { history: { events: [] }, nextPageToken: pageToken(0) };
      }
      const offset = readPageToken(req.nextPageToken);
      const pageSize = req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
      if (req.waitNewEvent && offset >= run.history.length && !run.closed) {
        await run.waitForChange(longPollMs(ctx));
      }
      const events: HistoryEvent[] = run.history.slice(offset, offset + pageSize);
      const next = offset + events.length;
      const more = next < run.history.length || (req.waitNewEvent && !run.closed);
      return { history: { events }, nextPageToken: more ? pageToken(next) : undefined };
    },
    GetWorkflowExecutionHistoryReverse: (req) => {
      const run = runOf(req);
      const offset = readPageToken(req.nextPageToken);
      const pageSize = req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
      const reversed = [...run.history].reverse();
      const events = reversed.slice(offset, offset + pageSize);
      const next = offset + events.length;
      return { history: { events }, nextPageToken: next < reversed.length ? pageToken(next) : undefined };
    },
    ListWorkflowExecutions: (req) => {
      const all = matching(req);
      const offset = readPageToken(req.nextPageToken);
      const pageSize = req.pageSize > 0 ? req.pageSize : 1000;
      const page = all.slice(offset, offset + pageSize);
      const next = offset + page.length;
      return { executions: page.map(executionInfo), nextPageToken: next < all.length ? pageToken(next) : undefined };
    },
    CountWorkflowExecutions: (req) => ({ count: matching(req).length }),
    GetSearchAttributes: () => ({
      keys: Object.fromEntries([
        ...Object.entries(SYSTEM_ATTRIBUTES),
        ...[...cluster.namespace('default').customAttributes],
      ]),
    }),

    // ---- schedules (schedules.ts) ----
    ...cluster.schedules.handlers(),

    // ---- workers: workflow tasks ----
    PollWorkflowTaskQueue: async (req, ctx) => {
      const namespace = ns(req);
      const name = required(req.taskQueue?.name, 'TaskQueue');
      const poller = { identity: req.identity ?? '' };
      if (req.taskQueue?.kind === enums.TaskQueueKind.TASK_QUEUE_KIND_STICKY) {
        // A worker's own queue for the runs it has cached; polling it is also how the server knows it is alive.
        const task = await cluster.pollSticky(namespace.name, name, () =>
          cluster.stickyQueue(namespace.name, name).poll(poller, longPollMs(ctx), ctx.isCancelled, ctx.onCancel),
        );
        return task ?? {};
      }
      cluster.pollers.record(namespace.name, name, 'workflow', poller.identity);
      const task = await cluster
        .workflowQueue(namespace.name, name)
        .poll(poller, longPollMs(ctx), ctx.isCancelled, ctx.onCancel);
      return task ?? {};
    },
    // The pollers of a task queue (the legacy mode's answer); no backlog statistics or versioning.
    DescribeTaskQueue: (req) => {
      const namespace = ns(req);
      const name = required(req.taskQueue?.name, 'TaskQueue');
      const kind = req.taskQueueType === enums.TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY ? 'activity' : 'workflow';
      return {
        pollers: cluster.pollers.pollers(namespace.name, name, kind).map(({ identity, lastAccessMs }) => ({
          identity,
          lastAccessTime: { seconds: Math.floor(lastAccessMs / 1000), nanos: (lastAccessMs % 1000) * 1_000_000 },
          ratePerSecond: 100_000,
        })),
      };
    },
    RespondWorkflowTaskCompleted: (req) => {
      const target = cluster.tokens.resolve(req.taskToken);
      if (target?.kind === 'query') throw invalidArgument('a query task is answered with RespondQueryTaskCompleted');
      if (target?.kind !== 'workflowTask') throw notFound('Workflow task not found.');
      return target.run.completeWft(target.wft, req);
    },
    RespondWorkflowTaskFailed: (req) => {
      const target = cluster.tokens.resolve(req.taskToken);
      if (target?.kind === 'query') {
        target.settle({ error: invalidArgument(req.failure?.message ?? 'query failed') });
        return {};
      }
      if (target?.kind !== 'workflowTask') throw notFound('Workflow task not found.');
      target.run.failWft(target.wft, req);
      return {};
    },
    RespondQueryTaskCompleted: (req) => {
      const target = cluster.tokens.resolve(req.taskToken);
      if (target?.kind !== 'query') throw notFound('Query task not found.');
      cluster.tokens.revoke(Buffer.from(req.taskToken).toString());
      if (req.completedType === enums.QueryResultType.QUERY_RESULT_TYPE_ANSWERED) {
        target.settle({ answer: req.queryResult });
      } else {
        target.settle({ error: invalidArgument(req.errorMessage || req.failure?.message || 'query failed') });
      }
      return {};
    },
    ShutdownWorker: (req) => {
      if (req.stickyTaskQueue) cluster.stickyWorkerGone(ns(req).name, req.stickyTaskQueue);
      return {};
    },
    ResetStickyTaskQueue: (req) => {
      if (!req.execution?.workflowId) throw invalidArgument('Execution is not set on request.');
      openRunOf(req).resetSticky();
      return {};
    },

    // ---- workers: activity tasks ----
    PollActivityTaskQueue: async (req, ctx) => {
      const namespace = ns(req);
      const name = required(req.taskQueue?.name, 'TaskQueue');
      cluster.pollers.record(namespace.name, name, 'activity', req.identity ?? '');
      const task = await cluster
        .activityQueue(namespace.name, name)
        .poll({ identity: req.identity ?? '' }, longPollMs(ctx), ctx.isCancelled, ctx.onCancel);
      return task ?? {};
    },
    RecordActivityTaskHeartbeat: (req) => activityTarget(req).heartbeat(req.details),
    RecordActivityTaskHeartbeatById: (req) => activityById(req).heartbeat(req.details),
    RespondActivityTaskCompleted: (req) => (activityTarget(req).complete(req.result, req.identity ?? ''), {}),
    RespondActivityTaskCompletedById: (req) => (activityById(req).complete(req.result, req.identity ?? ''), {}),
    RespondActivityTaskFailed: (req) => (
      activityTarget(req).fail(req.failure, req.identity ?? '', req.lastHeartbeatDetails),
      {}
    ),
    RespondActivityTaskFailedById: (req) => (
      activityById(req).fail(req.failure, req.identity ?? '', req.lastHeartbeatDetails),
      {}
    ),
    RespondActivityTaskCanceled: (req) => (activityTarget(req).canceled(req.details, req.identity ?? ''), {}),
    RespondActivityTaskCanceledById: (req) => (activityById(req).canceled(req.details, req.identity ?? ''), {}),
  };

  function describeNamespace(n: { name: string; id: string; description: string; retentionMs: number }) {
    return {
      namespaceInfo: {
        name: n.name,
        id: n.id,
        description: n.description,
        state: enums.NamespaceState.NAMESPACE_STATE_REGISTERED,
        capabilities: { eagerWorkflowStart: false, syncUpdate: true, asyncUpdate: true },
      },
      config: { workflowExecutionRetentionTtl: duration(n.retentionMs) },
      replicationConfig: { activeClusterName: 'active', clusters: [{ clusterName: 'active' }] },
      isGlobalNamespace: false,
    };
  }
}

export function operatorService(cluster: Cluster): Record<string, Handler> {
  return {
    AddSearchAttributes: (req) => {
      const namespace = cluster.namespace(req.namespace || 'default');
      const entries = Object.entries((req.searchAttributes ?? {}) as Record<string, number>);
      if (entries.length === 0) throw invalidArgument('SearchAttributes are not set on request.');
      for (const [name, type] of entries) {
        if (!ATTRIBUTE_TYPES[type]) throw invalidArgument(`Unknown search attribute type ${type} for ${name}.`);
        if (SYSTEM_ATTRIBUTES[name] !== undefined)
          throw invalidArgument(`Search attribute ${name} is reserved by system.`);
        const existing = namespace.customAttributes.get(name);
        if (existing !== undefined && existing !== type) {
          throw new RpcError(GrpcStatus.ALREADY_EXISTS, `Search attribute ${name} already exists with another type.`);
        }
      }
      for (const [name, type] of entries) namespace.customAttributes.set(name, type);
      return {};
    },
    RemoveSearchAttributes: (req) => {
      const namespace = cluster.namespace(req.namespace || 'default');
      for (const name of (req.searchAttributes ?? []) as string[]) {
        if (!namespace.customAttributes.delete(name)) throw notFound(`Search attribute ${name} doesn't exist.`);
      }
      return {};
    },
    ListSearchAttributes: (req) => {
      const namespace = cluster.namespace(req.namespace || 'default');
      return {
        customAttributes: Object.fromEntries(namespace.customAttributes),
        systemAttributes: SYSTEM_ATTRIBUTES,
        storageSchema: {},
      };
    },
  };
}

export function testService(cluster: Cluster): Record<string, Handler> {
  const clock = cluster.clock;
  const ensureSkipping = () => {
    if (!clock.timeSkipping) throw failedPrecondition('time skipping is off: start the test server with timeSkipping');
  };
  const sleepUntil = (due: number) => new Promise<void>((resolve) => clock.at(due, resolve));
  return {
    LockTimeSkipping: () => (ensureSkipping(), clock.lock(), {}),
    UnlockTimeSkipping: () => {
      ensureSkipping();
      if (!clock.unlock()) throw failedPrecondition('time skipping is not locked');
      return {};
    },
    Sleep: async (req) => (ensureSkipping(), await sleepUntil(clock.now() + toMillis(req.duration)), {}),
    SleepUntil: async (req) => (ensureSkipping(), await sleepUntil(toMillis(req.timestamp)), {}),
    UnlockTimeSkippingWithSleep: async (req) => {
      ensureSkipping();
      const due = clock.now() + toMillis(req.duration);
      const unlocked = clock.unlock();
      await sleepUntil(due);
      if (unlocked) clock.lock();
      return {};
    },
    GetCurrentTime: () => ({ time: timestamp(clock.now()) }),
  };
}

export function healthService(): Record<string, Handler> {
  return { Check: () => ({ status: 1 /* SERVING */ }) };
}

/** The task queue of a start, refused in the real server's words (tqid.NormalizeAndValidate). */
function startTaskQueue(taskQueue: { name?: string | null } | null | undefined): string {
  if (!taskQueue) throw invalidArgument('taskQueue is not set');
  if (!taskQueue.name) throw invalidArgument('missing task queue name');
  return taskQueue.name;
}

/** An update error from a run this update-with-start did not start, which may be retried as a whole. */
class AbortedByClosing extends Error {
  constructor(readonly cause: unknown) {
    super('update aborted by a closing run');
  }
}
