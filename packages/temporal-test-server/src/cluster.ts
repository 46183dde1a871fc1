/**
 * The server's whole state: namespaces, executions, task queues and task tokens, and the rules for starting
 * executions (id conflict and reuse policies, request-id dedupe, continue-as-new chains, children).
 */
import { PollerHistory } from './poller-history';
import { randomUUID } from 'node:crypto';
import { Clock } from './clock';
import { resolveDynamicConfig, type RunLimits } from './dynamic-config';
import { alreadyExists, invalidArgument, notFound, RpcError } from './errors';
import { ATTRIBUTE_TYPES, Namespace } from './namespace';
import {
  Command,
  enums,
  Failure,
  Header,
  Loose,
  Memo,
  packAny,
  Payloads,
  SearchAttributes,
  Status,
  temporal,
  toMillis,
} from './proto';
import { Schedules } from './schedules';
import { TaskQueue } from './task-queue';
import type { Activity } from './activity';
import type { ParentLink, WorkflowRun as Run } from './workflow-run';
import { WorkflowRun } from './workflow-run';
import type { AttributeType, Value } from './visibility';
import { status as GrpcStatus } from '@grpc/grpc-js';

export interface Poller {
  identity: string;
}

/** What the server handed a worker in one workflow or query task: for tests that watch sticky execution. */
export interface WorkflowTaskDispatch {
  namespace: string;
  workflowId: string;
  runId: string;
  /** The queue the worker polled: the normal one, or its sticky queue. */
  taskQueue: string;
  sticky: boolean;
  /** A legacy query task rather than a workflow task. */
  query: boolean;
  /** Id of the first history event sent (0 when none), and how many were sent. */
  firstEventId: number;
  eventCount: number;
  previousStartedEventId: number;
  startedEventId: number;
  attempt: number;
}

export interface ClusterHooks {
  onWorkflowTask?: (task: WorkflowTaskDispatch) => void;
}

/**
 * How long a sticky queue counts as served after its last poll, as matching's stickyPollerUnavailableWindow:
 * a task for a sticky queue nobody polled for this long goes to the normal queue straight away.
 */
const STICKY_POLLER_WINDOW_MS = 10_000;

export interface StartParams {
  workflowId: string;
  workflowType: string;
  taskQueue: string;
  input?: Payloads | null;
  header?: Header | null;
  memo?: Memo | null;
  searchAttributes?: SearchAttributes | null;
  runTimeoutMs: number;
  executionTimeoutMs: number;
  taskTimeoutMs: number;
  /** Absolute deadline of the whole chain of runs (execution timeout). */
  executionDeadline?: number;
  identity: string;
  requestId: string;
  firstRunId?: string;
  continuedFromRunId?: string;
  parent?: ParentLink;
  firstTaskDelayMs: number;
  initiator?: number;
  lastCompletionResult?: Payloads | null;
  continuedFailure?: Failure | null;
  signal?: {
    name: string;
    input?: Payloads | null;
    header?: Header | null;
    identity: string;
    external?: { workflowId: string; runId: string };
  };
}

export type TokenTarget =
  | { kind: 'workflowTask'; run: Run; wft: NonNullable<Run['wft']> }
  | { kind: 'activity'; activity: Activity; attempt: number }
  | { kind: 'query'; settle: (result: { answer?: Payloads | null; error?: RpcError }) => void };

/** The shape of the tokens `Tokens.issue` makes. */
const TOKEN_FORMAT = /^(workflowTask|activity|query):\d+:[0-9a-f-]{36}$/;

class Tokens {
  private readonly targets = new Map<string, TokenTarget>();
  private seq = 0;

  issue(target: TokenTarget): string {
    const token = `${target.kind}:${++this.seq}:${randomUUID()}`;
    this.targets.set(token, target);
    return token;
  }

  resolve(token: Uint8Array | null | undefined): TokenTarget | undefined {
    if (!token || token.length === 0) return undefined;
    const text = Buffer.from(token).toString();
    // As on the real server: bytes that are no token at all are INVALID_ARGUMENT; a token this server issued
    // whose task is gone (completed, timed out, workflow closed) is not found, and the caller answers NOT_FOUND.
    if (!TOKEN_FORMAT.test(text)) throw invalidArgument('Error deserializing task token.');
    return this.targets.get(text);
  }

  revoke(token: string): void {
    this.targets.delete(token);
  }
}

type WorkflowTaskResponse = Loose<temporal.api.workflowservice.v1.PollWorkflowTaskQueueResponse.$Properties>;
type ActivityTaskResponse = Loose<temporal.api.workflowservice.v1.PollActivityTaskQueueResponse.$Properties>;

/** The UUID spellings Go's uuid.Parse accepts (plain, urn:uuid:, braces, 32 hex digits). */
const RUN_ID_FORMAT =
  /^(?:(?:urn:uuid:)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\{[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\}|[0-9a-f]{32})$/i;
const DEFAULT_TASK_TIMEOUT_MS = 10_000;
const MAX_TASK_TIMEOUT_MS = 120_000;

export class Cluster {
  readonly clock: Clock;
  readonly tokens = new Tokens();
  readonly namespaces = new Map<string, Namespace>();
  readonly runs = new Map<string, WorkflowRun>();
  /** All runs of each workflow id, oldest first; the last is the current one. */
  private readonly chains = new Map<string, WorkflowRun[]>();
  private readonly openRuns = new Set<WorkflowRun>();
  private readonly workflowQueues = new Map<string, TaskQueue<WorkflowTaskResponse, Poller>>();
  private readonly activityQueues = new Map<string, TaskQueue<ActivityTaskResponse, Poller>>();
  /** Sticky queues by namespace and name: polls waiting now, when the last one ended (real time), gone. */
  private readonly stickyPollers = new Map<string, { waiting: number; lastSeen: number; gone: boolean }>();
  private taskId = 0;
  readonly schedules: Schedules = new Schedules(this);
  /** Who polled which task queue lately (DescribeTaskQueue). */
  readonly pollers = new PollerHistory();

  constructor(
    timeSkipping: boolean,
    readonly hooks: ClusterHooks = {},
    /** From the server's dynamic config: every run checks these (continue-as-new advice, total updates). */
    readonly limits: RunLimits = resolveDynamicConfig(),
  ) {
    this.clock = new Clock(timeSkipping, () => [...this.openRuns].every((r) => !r.busy));
    this.registerNamespace('default', 'Default namespace');
  }

  nextTaskId(): number {
    return ++this.taskId;
  }

  registerNamespace(name: string, description = '', retentionMs?: number): Namespace {
    if (this.namespaces.has(name)) throw alreadyExists('Namespace already exists.');
    const ns = new Namespace(name, randomUUID(), description, retentionMs);
    this.namespaces.set(name, ns);
    return ns;
  }

  namespace(name: string | null | undefined): Namespace {
    const ns = this.namespaces.get(name || '');
    if (!ns) throw namespaceNotFound(name || '');
    return ns;
  }

  workflowQueue(namespace: string, name: string): TaskQueue<WorkflowTaskResponse, Poller> {
    return getOrCreate(this.workflowQueues, `${namespace}\u0000${name}`, () => new TaskQueue());
  }

  /** A worker's sticky queue (a TaskQueue of kind STICKY): tasks of the runs it has cached. */
  stickyQueue(namespace: string, name: string): TaskQueue<WorkflowTaskResponse, Poller> {
    return this.workflowQueue(namespace, `sticky\u0000${name}`);
  }

  /** Wraps a poll of a sticky queue, so that the server knows whether its worker is alive. */
  async pollSticky<T>(namespace: string, name: string, poll: () => Promise<T>): Promise<T> {
    const key = `${namespace}\u0000${name}`;
    const entry = getOrCreate(this.stickyPollers, key, () => ({ waiting: 0, lastSeen: 0, gone: false }));
    entry.waiting++;
    entry.gone = false;
    try {
      return await poll();
    } finally {
      entry.waiting--;
      entry.lastSeen = Date.now();
    }
  }

  /**
   * Whether a task offered on this sticky queue can be expected to be taken: a poll waits on it, or one ended
   * within the last 10 s, and its worker has not said it shut down. Otherwise the task goes to the normal queue
   * (the real server's StickyWorkerUnavailable).
   */
  stickyWorkerAvailable(namespace: string, name: string): boolean {
    const entry = this.stickyPollers.get(`${namespace}\u0000${name}`);
    if (!entry || entry.gone) return false;
    return entry.waiting > 0 || Date.now() - entry.lastSeen < STICKY_POLLER_WINDOW_MS;
  }

  /**
   * ShutdownWorker named this sticky queue: nothing will poll it again. Tasks waiting on it fall back to the
   * normal queue now instead of when their schedule-to-start timeout passes.
   */
  stickyWorkerGone(namespace: string, name: string): void {
    const entry = this.stickyPollers.get(`${namespace}\u0000${name}`);
    if (entry) entry.gone = true;
    for (const run of [...this.openRuns]) if (run.namespace.name === namespace) run.stickyWorkerGone(name);
  }

  activityQueue(namespace: string, name: string): TaskQueue<ActivityTaskResponse, Poller> {
    return getOrCreate(this.activityQueues, `${namespace}\u0000${name}`, () => new TaskQueue());
  }

  /** The run a request names: the given run id, or the current (latest) run of the workflow id. */
  run(namespace: string, workflowId: string | null | undefined, runId?: string | null): WorkflowRun {
    if (!workflowId) throw invalidArgument('WorkflowId is not set on request.');
    // The real frontend rejects a run id that is not a UUID before looking anything up.
    if (runId && !RUN_ID_FORMAT.test(runId)) throw invalidArgument('Invalid RunId.');
    if (runId) {
      const run = this.runs.get(runId);
      if (!run || run.workflowId !== workflowId || run.namespace.name !== namespace) {
        throw notFound(`workflow not found for ID: ${workflowId}`);
      }
      return run;
    }
    const chain = this.chains.get(`${namespace}\u0000${workflowId}`);
    if (!chain) throw notFound(`workflow not found for ID: ${workflowId}`);
    return chain[chain.length - 1];
  }

  findOpenRun(namespace: string, workflowId: string, runId: string): WorkflowRun | undefined {
    try {
      const run = this.run(namespace, workflowId, runId || undefined);
      return run.closed ? undefined : run;
    } catch {
      return undefined;
    }
  }

  allRuns(namespace: string): WorkflowRun[] {
    return [...this.runs.values()].filter((r) => r.namespace.name === namespace);
  }

  runClosed(run: WorkflowRun): void {
    this.openRuns.delete(run);
    this.schedules.runClosed();
  }

  /**
   * Starts an execution, applying the id conflict policy (for a running one) and the id reuse policy (for a
   * closed one). Returns the run and whether it was started by this call.
   */
  start(
    ns: Namespace,
    params: StartParams,
    policies: { reuse?: number | null; conflict?: number | null },
  ): { run: WorkflowRun; started: boolean } {
    this.validateStart(ns, params);
    const chain = this.chains.get(`${ns.name}\u0000${params.workflowId}`);
    const current = chain?.[chain.length - 1];
    const Reuse = enums.WorkflowIdReusePolicy;
    const Conflict = enums.WorkflowIdConflictPolicy;
    if (current && current.params.requestId === params.requestId && params.requestId) {
      return { run: current, started: false };
    }
    if (current && !current.closed) {
      const conflict =
        policies.reuse === Reuse.WORKFLOW_ID_REUSE_POLICY_TERMINATE_IF_RUNNING
          ? Conflict.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING
          : policies.conflict || Conflict.WORKFLOW_ID_CONFLICT_POLICY_FAIL;
      if (conflict === Conflict.WORKFLOW_ID_CONFLICT_POLICY_USE_EXISTING) return { run: current, started: false };
      if (conflict === Conflict.WORKFLOW_ID_CONFLICT_POLICY_TERMINATE_EXISTING) {
        current.terminate(
          'terminated by a start request with the TERMINATE_EXISTING conflict policy',
          undefined,
          params.identity,
        );
      } else {
        throw alreadyStarted(current);
      }
    } else if (current) {
      const reuse = policies.reuse || Reuse.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE;
      if (reuse === Reuse.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE) throw alreadyStarted(current);
      if (
        reuse === Reuse.WORKFLOW_ID_REUSE_POLICY_ALLOW_DUPLICATE_FAILED_ONLY &&
        [Status.WORKFLOW_EXECUTION_STATUS_COMPLETED, Status.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW].includes(
          current.status,
        )
      ) {
        throw alreadyStarted(current);
      }
    }
    return { run: this.create(ns, params), started: true };
  }

  continueAsNew(prev: WorkflowRun, next: Partial<StartParams>): WorkflowRun {
    return this.create(prev.namespace, {
      ...prev.params,
      ...next,
      firstRunId: prev.params.firstRunId ?? prev.runId,
      continuedFromRunId: prev.runId,
      requestId: randomUUID(),
      signal: undefined,
      parent: prev.parent,
    });
  }

  startChild(
    parent: WorkflowRun,
    a: NonNullable<Command['startChildWorkflowExecutionCommandAttributes']>,
    initiatedEventId: number,
  ): WorkflowRun {
    const ns = this.namespace(a.namespace || parent.namespace.name);
    const { run } = this.start(
      ns,
      {
        workflowId: a.workflowId ?? '',
        workflowType: a.workflowType?.name ?? '',
        taskQueue: a.taskQueue?.name || parent.taskQueue,
        input: a.input,
        header: a.header,
        memo: a.memo,
        searchAttributes: a.searchAttributes,
        runTimeoutMs: toMillis(a.workflowRunTimeout),
        executionTimeoutMs: toMillis(a.workflowExecutionTimeout),
        taskTimeoutMs: toMillis(a.workflowTaskTimeout) || DEFAULT_TASK_TIMEOUT_MS,
        identity: '',
        requestId: randomUUID(),
        firstTaskDelayMs: 0,
        parent: {
          namespace: parent.namespace.name,
          workflowId: parent.workflowId,
          runId: parent.runId,
          initiatedEventId,
        },
      },
      { reuse: a.workflowIdReusePolicy, conflict: enums.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL },
    );
    return run;
  }

  /** Fills defaults and rejects what a real server rejects, before anything is created. */
  normalizeTimeouts(req: {
    workflowExecutionTimeout?: unknown;
    workflowRunTimeout?: unknown;
    workflowTaskTimeout?: unknown;
  }): Pick<StartParams, 'runTimeoutMs' | 'executionTimeoutMs' | 'taskTimeoutMs'> {
    const executionTimeoutMs = toMillis(req.workflowExecutionTimeout as never);
    const runTimeoutMs = toMillis(req.workflowRunTimeout as never) || executionTimeoutMs;
    const taskTimeoutMs = Math.min(
      toMillis(req.workflowTaskTimeout as never) || DEFAULT_TASK_TIMEOUT_MS,
      MAX_TASK_TIMEOUT_MS,
    );
    if (executionTimeoutMs < 0 || runTimeoutMs < 0)
      throw invalidArgument('Invalid WorkflowExecutionTimeout or WorkflowRunTimeout.');
    return {
      executionTimeoutMs,
      runTimeoutMs: executionTimeoutMs ? Math.min(runTimeoutMs, executionTimeoutMs) : runTimeoutMs,
      taskTimeoutMs,
    };
  }

  /** A search attribute's value as the visibility query compares it. */
  attributeValue(run: WorkflowRun, name: string): Value | undefined {
    switch (name) {
      case 'WorkflowType':
        return run.workflowType;
      case 'WorkflowId':
        return run.workflowId;
      case 'RunId':
        return run.runId;
      case 'TaskQueue':
        return run.taskQueue;
      case 'ExecutionStatus':
        return STATUS_NAMES[run.status];
      case 'StartTime':
        return run.startTime;
      case 'ExecutionTime':
        return run.executionTime;
      case 'CloseTime':
        return run.closed ? run.closeTime : null;
      case 'HistoryLength':
        return run.history.length;
    }
    const payload = run.searchAttributes[name];
    if (!payload?.data) return undefined;
    try {
      const value = JSON.parse(Buffer.from(payload.data).toString()) as Value;
      if (this.attributeTypeName(run.namespace, name) === 'Datetime' && typeof value === 'string')
        return Date.parse(value);
      return value;
    } catch {
      return undefined;
    }
  }

  attributeTypeName(ns: Namespace, name: string): AttributeType | undefined {
    const t = ns.attributeType(name);
    return t === undefined ? undefined : ATTRIBUTE_TYPES[t];
  }

  close(): void {
    this.clock.close();
    for (const q of this.workflowQueues.values()) q.release({});
    for (const q of this.activityQueues.values()) q.release({});
  }

  private validateStart(ns: Namespace, params: StartParams): void {
    if (!params.workflowId) throw invalidArgument('WorkflowId is not set on request.');
    if (params.workflowId.length > 1000) throw invalidArgument('WorkflowId length exceeds limit.');
    if (!params.workflowType) throw invalidArgument('WorkflowType is not set on request.');
    if (!params.taskQueue) throw invalidArgument('missing task queue name');
    for (const name of Object.keys(params.searchAttributes?.indexedFields ?? {})) {
      if (ns.attributeType(name) === undefined) {
        throw invalidArgument(`search attribute ${name} is not defined`);
      }
    }
  }

  private create(ns: Namespace, params: StartParams): WorkflowRun {
    const runId = randomUUID();
    const executionDeadline =
      params.executionDeadline ??
      (params.executionTimeoutMs ? this.clock.now() + params.executionTimeoutMs : undefined);
    const run = new WorkflowRun(this, ns, runId, { ...params, executionDeadline });
    this.runs.set(runId, run);
    this.openRuns.add(run);
    getOrCreate(this.chains, `${ns.name}\u0000${params.workflowId}`, () => []).push(run);
    return run;
  }
}

export const STATUS_NAMES: Record<number, string> = {
  [Status.WORKFLOW_EXECUTION_STATUS_RUNNING]: 'Running',
  [Status.WORKFLOW_EXECUTION_STATUS_COMPLETED]: 'Completed',
  [Status.WORKFLOW_EXECUTION_STATUS_FAILED]: 'Failed',
  [Status.WORKFLOW_EXECUTION_STATUS_CANCELED]: 'Canceled',
  [Status.WORKFLOW_EXECUTION_STATUS_TERMINATED]: 'Terminated',
  [Status.WORKFLOW_EXECUTION_STATUS_CONTINUED_AS_NEW]: 'ContinuedAsNew',
  [Status.WORKFLOW_EXECUTION_STATUS_TIMED_OUT]: 'TimedOut',
};

function alreadyStarted(run: WorkflowRun): RpcError {
  const failure = temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure;
  return new RpcError(
    GrpcStatus.ALREADY_EXISTS,
    `Workflow execution is already running. WorkflowId: ${run.workflowId}, RunId: ${run.runId}.`,
    packAny(
      'temporal.api.errordetails.v1.WorkflowExecutionAlreadyStartedFailure',
      failure.encode(failure.fromObject({ startRequestId: run.params.requestId, runId: run.runId })).finish(),
    ),
  );
}

/** NOT_FOUND with the NamespaceNotFoundFailure detail the real server sends: clients turn it into NamespaceNotFoundError. */
function namespaceNotFound(name: string): RpcError {
  const failure = temporal.api.errordetails.v1.NamespaceNotFoundFailure;
  return new RpcError(
    GrpcStatus.NOT_FOUND,
    `Namespace ${name || '(empty)'} is not found.`,
    packAny(
      'temporal.api.errordetails.v1.NamespaceNotFoundFailure',
      failure.encode(failure.fromObject({ namespace: name })).finish(),
    ),
  );
}

function getOrCreate<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let value = map.get(key);
  if (value === undefined) {
    value = make();
    map.set(key, value);
  }
  return value;
}
