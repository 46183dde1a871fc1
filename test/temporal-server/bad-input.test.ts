/**
 * Malformed and impossible requests get the gRPC status a real Temporal server answers them with, and a clear
 * message; none of them crashes the server or touches another workflow.
 *
 * A `counter` workflow is started before any bad request and checked after every test (afterEach): a signal
 * adds to it, a query reads the sum back, describe shows the same run still RUNNING, and the last test finishes
 * it and reads the result. Several bad requests below aim signals that would change that sum at the wrong
 * workflow; the running total proves none of them landed.
 *
 * Runs against the in-process server by default and unchanged against a real one (TEMPORAL_TEST_ADDRESS). The
 * few assertions that only hold in-process are guarded by `env.backend === 'in-process'` and say why.
 */
import * as grpc from '@grpc/grpc-js';
import { status } from '@grpc/grpc-js';
import {
  Client,
  NamespaceNotFoundError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowHandleWithFirstExecutionRunId,
  WorkflowNotFoundError,
} from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { msNumberToTs } from '@temporalio/common/lib/time';
import { temporal } from '@temporalio/proto';
import type { Worker } from '@temporalio/worker';
import { randomUUID } from 'node:crypto';
import { createTemporalTestEnv, TemporalTestEnv } from '../../src/testing/temporal-env';
import { longPoll } from '../helpers/conformance';
import { createWorker, uniqueTaskQueue } from '../helpers/worker';

const IDENTITY = 'bad-input-test';
const NORMAL = temporal.api.enums.v1.TaskQueueKind.TASK_QUEUE_KIND_NORMAL;
const ONE_DAY = msNumberToTs(24 * 3600 * 1000);
/** Input for an 'add' signal that must never arrive: if one did, the healthy workflow's sum would be off by 1000. */
const STRAY_ADD = { payloads: [defaultPayloadConverter.toPayload(1000)] };

let env: TemporalTestEnv;
let worker: Worker;
let running: Promise<void>;
let taskQueue: string;
let healthy: WorkflowHandleWithFirstExecutionRunId;
let expectedTotal = 0;
let nextAddend = 1;
let healthyFinished = false;

const service = () => env.client.workflowService;
const unique = (prefix: string) => `${prefix}-${randomUUID()}`;

beforeAll(async () => {
  env = await createTemporalTestEnv();
  taskQueue = uniqueTaskQueue('bad-input');
  worker = await createWorker(env, { taskQueue });
  running = worker.run();
  healthy = await env.client.workflow.start('counter', { taskQueue, workflowId: unique('healthy'), args: [0] });
  await expectHealthy();
});

afterEach(async () => {
  if (!healthyFinished) await expectHealthy();
});

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running;
  await env?.teardown();
});

/** The workflow started before the bad requests still takes signals, answers queries and runs the same run. */
async function expectHealthy(): Promise<void> {
  const addend = nextAddend++;
  await healthy.signal('add', addend);
  expectedTotal += addend;
  expect(await healthy.query('total')).toBe(expectedTotal);
  const description = await healthy.describe();
  expect({ status: description.status.name, runId: description.runId }).toEqual({
    status: 'RUNNING',
    runId: healthy.firstExecutionRunId,
  });
}

/** The error a call fails with; fails the test if the call succeeds. */
async function failure(call: Promise<unknown>): Promise<grpc.ServiceError> {
  try {
    await call;
  } catch (err) {
    return err as grpc.ServiceError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Asserts the call fails with `code` (compared by name, so a mismatch reads well) and a message matching `message`. */
async function expectStatus(call: Promise<unknown>, code: status, message: RegExp): Promise<grpc.ServiceError> {
  const err = await failure(call);
  expect({ code: status[err.code] ?? err.code, details: err.details }).toEqual({
    code: status[code],
    details: expect.stringMatching(message),
  });
  return err;
}

/** A start request that the server accepts; tests break one field at a time. */
function startRequest(overrides: Record<string, unknown> = {}) {
  return {
    namespace: env.namespace,
    workflowId: unique('bad-start'),
    workflowType: { name: 'counter' },
    taskQueue: { name: taskQueue, kind: NORMAL },
    requestId: randomUUID(),
    identity: IDENTITY,
    ...overrides,
  };
}

async function expectNoSuchWorkflow(workflowId: string): Promise<void> {
  await expectStatus(
    service().describeWorkflowExecution({ namespace: env.namespace, execution: { workflowId } }),
    status.NOT_FOUND,
    /not found/i,
  );
}

/** A unary call with raw bytes, bypassing the protobuf encoder, on a connection of its own. */
function rawCall(client: grpc.Client, path: string, body: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    client.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      new grpc.Metadata(),
      { deadline: Date.now() + 10_000 },
      (err, value) => (err ? reject(err) : resolve(value!)),
    ),
  );
}

/** Deterministic pseudo-random bytes (mulberry32), so a failing input can be reproduced from its seed. */
function pseudoRandomBytes(seed: number, length: number): Buffer {
  let a = seed >>> 0;
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

describe('starting a workflow', () => {
  test('an empty workflow id, a missing workflow type or task queue is INVALID_ARGUMENT, and nothing is created', async () => {
    await expectStatus(
      service().startWorkflowExecution(startRequest({ workflowId: '' })),
      status.INVALID_ARGUMENT,
      /WorkflowId is not set/,
    );

    for (const [broken, message] of [
      [{ workflowType: undefined }, /WorkflowType is not set/],
      [{ workflowType: { name: '' } }, /WorkflowType is not set/],
      [{ taskQueue: undefined }, /^taskQueue is not set$/],
      [{ taskQueue: { name: '', kind: NORMAL } }, /^missing task queue name$/],
      // The real server's default limit on ids is 1000 characters.
      [{ workflowId: 'x'.repeat(1001) }, /WorkflowId length exceeds limit/],
      [{ workflowExecutionTimeout: msNumberToTs(-5_000) }, /timeout/i],
    ] as const) {
      const request = startRequest(broken);
      await expectStatus(service().startWorkflowExecution(request), status.INVALID_ARGUMENT, message);
      if (request.workflowId.length <= 1000) await expectNoSuchWorkflow(request.workflowId);
    }
  });

  test('an unregistered search attribute is INVALID_ARGUMENT naming it, and nothing is created', async () => {
    const request = startRequest({
      searchAttributes: {
        indexedFields: {
          VigilNoSuchAttribute: {
            metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from('Keyword') },
            data: Buffer.from(JSON.stringify('x')),
          },
        },
      },
    });
    await expectStatus(service().startWorkflowExecution(request), status.INVALID_ARGUMENT, /VigilNoSuchAttribute/);
    await expectNoSuchWorkflow(request.workflowId);
  });

  test('starting a running workflow id again is ALREADY_EXISTS, and the running one is untouched', async () => {
    const workflowId = unique('duplicate');
    const first = await env.client.workflow.start('counter', { taskQueue, workflowId, args: [0] });
    try {
      const err = await expectStatus(
        service().startWorkflowExecution(startRequest({ workflowId })),
        status.ALREADY_EXISTS,
        /already running|already started/i,
      );
      // The real server packs WorkflowExecutionAlreadyStartedFailure into the status details; clients rely on it.
      expect(err.metadata.get('grpc-status-details-bin')).toHaveLength(1);

      const again = await failure(env.client.workflow.start('counter', { taskQueue, workflowId, args: [7] }));
      expect(again).toBeInstanceOf(WorkflowExecutionAlreadyStartedError);
      expect(again).toMatchObject({ workflowId, workflowType: 'counter' });

      const description = await first.describe();
      expect({ status: description.status.name, runId: description.runId }).toEqual({
        status: 'RUNNING',
        runId: first.firstExecutionRunId,
      });
      await first.signal('add', 2);
      expect(await first.query('total')).toBe(2);
    } finally {
      await first.terminate('bad-input test cleanup');
    }
  });
});

describe('unknown names', () => {
  test('an unknown namespace is NOT_FOUND, and the client reports NamespaceNotFoundError', async () => {
    const namespace = unique('vigil-no-such-namespace');
    const execution = { workflowId: healthy.workflowId };
    const notFound = /Namespace .* is not found/;
    await expectStatus(service().startWorkflowExecution(startRequest({ namespace })), status.NOT_FOUND, notFound);
    // The healthy workflow's id, in the wrong namespace: must not reach it (afterEach checks its sum).
    await expectStatus(
      service().signalWorkflowExecution({
        namespace,
        workflowExecution: execution,
        signalName: 'add',
        input: STRAY_ADD,
        identity: IDENTITY,
      }),
      status.NOT_FOUND,
      notFound,
    );
    await expectStatus(service().describeWorkflowExecution({ namespace, execution }), status.NOT_FOUND, notFound);
    await expectStatus(service().listWorkflowExecutions({ namespace, query: '' }), status.NOT_FOUND, notFound);

    const client = new Client({ connection: env.client.connection, namespace });
    const err = await failure(client.workflow.start('counter', { taskQueue, workflowId: unique('wrong-namespace') }));
    expect(err).toBeInstanceOf(NamespaceNotFoundError);
    expect(err).toMatchObject({ namespace });
  });

  test('signal, query, describe, cancel, terminate and history of an unknown workflow are NOT_FOUND', async () => {
    const namespace = env.namespace;
    const execution = { workflowId: unique('no-such-workflow') };
    const notFound = /not found/i;
    await expectStatus(
      service().signalWorkflowExecution({
        namespace,
        workflowExecution: execution,
        signalName: 'add',
        identity: IDENTITY,
      }),
      status.NOT_FOUND,
      notFound,
    );
    await expectStatus(
      service().queryWorkflow({ namespace, execution, query: { queryType: 'total' } }),
      status.NOT_FOUND,
      notFound,
    );
    await expectStatus(service().describeWorkflowExecution({ namespace, execution }), status.NOT_FOUND, notFound);
    await expectStatus(
      service().requestCancelWorkflowExecution({
        namespace,
        workflowExecution: execution,
        identity: IDENTITY,
        requestId: randomUUID(),
      }),
      status.NOT_FOUND,
      notFound,
    );
    await expectStatus(
      service().terminateWorkflowExecution({
        namespace,
        workflowExecution: execution,
        identity: IDENTITY,
        reason: 'test',
      }),
      status.NOT_FOUND,
      notFound,
    );
    await expectStatus(service().getWorkflowExecutionHistory({ namespace, execution }), status.NOT_FOUND, notFound);

    // Through the client's handle API, the same answers are WorkflowNotFoundError.
    const handle = env.client.workflow.getHandle(execution.workflowId);
    for (const call of [
      () => handle.signal('add', 1000),
      () => handle.query('total'),
      () => handle.describe(),
      () => handle.terminate(),
    ]) {
      expect(await failure(call())).toBeInstanceOf(WorkflowNotFoundError);
    }
  });

  test("another workflow's run id, or a run id that is not a UUID, never reaches the healthy workflow", async () => {
    const namespace = env.namespace;
    // The healthy run's id under another workflow id: NOT_FOUND, and the 1000 is not added (afterEach).
    await expectStatus(
      service().signalWorkflowExecution({
        namespace,
        workflowExecution: { workflowId: unique('other'), runId: healthy.firstExecutionRunId },
        signalName: 'add',
        input: STRAY_ADD,
        identity: IDENTITY,
      }),
      status.NOT_FOUND,
      /not found/i,
    );
    // The real frontend validates the run id's format before anything else: INVALID_ARGUMENT "Invalid RunId.".
    await expectStatus(
      service().signalWorkflowExecution({
        namespace,
        workflowExecution: { workflowId: healthy.workflowId, runId: 'not-a-run-id' },
        signalName: 'add',
        input: STRAY_ADD,
        identity: IDENTITY,
      }),
      status.INVALID_ARGUMENT,
      /RunId/,
    );
    await expectStatus(
      service().describeWorkflowExecution({
        namespace,
        execution: { workflowId: healthy.workflowId, runId: 'not-a-run-id' },
      }),
      status.INVALID_ARGUMENT,
      /RunId/,
    );
    // A workflow id is required wherever one is named.
    await expectStatus(
      service().describeWorkflowExecution({ namespace, execution: { workflowId: '' } }),
      status.INVALID_ARGUMENT,
      /WorkflowId is not set/,
    );
  });

  test('signalling or terminating a workflow that has completed is NOT_FOUND', async () => {
    const done = await env.client.workflow.start('echo', { taskQueue, workflowId: unique('done'), args: ['x'] });
    expect(await done.result()).toBe('x');
    await expectStatus(
      service().signalWorkflowExecution({
        namespace: env.namespace,
        workflowExecution: { workflowId: done.workflowId },
        signalName: 'add',
        input: STRAY_ADD,
        identity: IDENTITY,
      }),
      status.NOT_FOUND,
      /completed/i,
    );
    expect(await failure(done.terminate())).toBeInstanceOf(WorkflowNotFoundError);
    expect((await done.describe()).status.name).toBe('COMPLETED');
  });
});

describe('payloads over limit.blobSize.error (2 MiB)', () => {
  test('a start, signal or signal-with-start carrying one is INVALID_ARGUMENT, and nothing is recorded', async () => {
    // 2.2 MB: over the 2 MiB a payload may have, under the 4 MiB gRPC takes in one message.
    const input = { payloads: [defaultPayloadConverter.toPayload('x'.repeat(2_200_000))] };
    const tooLarge = /^Blob data size exceeds limit\.$/;
    const started = startRequest({ input });
    await expectStatus(service().startWorkflowExecution(started), status.INVALID_ARGUMENT, tooLarge);
    await expectNoSuchWorkflow(started.workflowId);
    await expectStatus(
      service().signalWorkflowExecution({
        namespace: env.namespace,
        workflowExecution: { workflowId: healthy.workflowId },
        signalName: 'add',
        input,
        identity: IDENTITY,
      }),
      status.INVALID_ARGUMENT,
      tooLarge,
    );
    const signalled = startRequest({ signalName: 'add', signalInput: input });
    await expectStatus(service().signalWithStartWorkflowExecution(signalled), status.INVALID_ARGUMENT, tooLarge);
    await expectNoSuchWorkflow(signalled.workflowId);
    // An update's input is not checked here: the real server hands it to the worker, fails the workflow task that
    // would accept it, and answers FAILED_PRECONDITION; the in-process one takes it (docs/08-testing.md).
  });
});

describe('namespaces', () => {
  test('registering a namespace twice is ALREADY_EXISTS', async () => {
    const namespace = unique('vigil-bad-input');
    const register = () =>
      service().registerNamespace({
        namespace,
        description: 'registered twice by bad-input.test.ts',
        workflowExecutionRetentionPeriod: ONE_DAY,
      });
    await register();
    await expectStatus(register(), status.ALREADY_EXISTS, /already exists/i);
    // The test's own namespace exists too.
    await expectStatus(
      service().registerNamespace({ namespace: env.namespace, workflowExecutionRetentionPeriod: ONE_DAY }),
      status.ALREADY_EXISTS,
      /already exists/i,
    );
    const described = await service().describeNamespace({ namespace });
    expect(described.namespaceInfo?.description).toBe('registered twice by bad-input.test.ts');
  });
});

/** Starts a workflow on a queue no worker polls, and takes its first workflow task by hand, as a worker would. */
async function takeWorkflowTask() {
  const queue = uniqueTaskQueue('bad-input-manual');
  const handle = await env.client.workflow.start('counter', {
    taskQueue: queue,
    workflowId: unique('manual'),
    args: [0],
  });
  const task = await pollWorkflowTask(queue);
  expect(task.workflowExecution?.workflowId).toBe(handle.workflowId);
  expect(task.taskToken?.length).toBeGreaterThan(0);
  return { handle, queue, token: task.taskToken! };
}

const pollWorkflowTask = (queue: string) =>
  longPoll(env.connection, () =>
    service().pollWorkflowTaskQueue({
      namespace: env.namespace,
      taskQueue: { name: queue, kind: NORMAL },
      identity: IDENTITY,
    }),
  );

const complete = (taskToken: Uint8Array, commands: temporal.api.command.v1.ICommand[] = []) =>
  service().respondWorkflowTaskCompleted({ namespace: env.namespace, taskToken, commands, identity: IDENTITY });

describe('task polls', () => {
  test('a poll without a deadline is INVALID_ARGUMENT, one under a second FAILED_PRECONDITION, as workers always set one', async () => {
    const request = {
      namespace: env.namespace,
      taskQueue: { name: uniqueTaskQueue('no-deadline'), kind: NORMAL },
      identity: IDENTITY,
    };
    await expectStatus(
      service().pollWorkflowTaskQueue(request),
      status.INVALID_ARGUMENT,
      /^Context timeout is not set\.$/,
    );
    await expectStatus(
      service().pollActivityTaskQueue(request),
      status.INVALID_ARGUMENT,
      /^Context timeout is not set\.$/,
    );
    await expectStatus(
      env.connection.withDeadline(Date.now() + 500, () => service().pollWorkflowTaskQueue(request)),
      status.FAILED_PRECONDITION,
      /^Context timeout is too short\.$/,
    );
  });
});

describe('task tokens', () => {
  test('a token for a task that is already completed is NOT_FOUND', async () => {
    const { handle, token } = await takeWorkflowTask();
    try {
      await complete(token);
      await expectStatus(complete(token), status.NOT_FOUND, /not found/i);
      await expectStatus(
        service().respondWorkflowTaskFailed({ namespace: env.namespace, taskToken: token, identity: IDENTITY }),
        status.NOT_FOUND,
        /not found/i,
      );
    } finally {
      await handle.terminate('bad-input test cleanup');
    }
  });

  test('a token for a task whose workflow was terminated is NOT_FOUND', async () => {
    const { handle, token } = await takeWorkflowTask();
    await handle.terminate('terminated while its task was out');
    await expectStatus(complete(token), status.NOT_FOUND, /not found|completed/i);
  });

  test('bytes that are no task token at all are INVALID_ARGUMENT', async () => {
    // The real server cannot deserialize these ('n' is an invalid protobuf tag): "error deserializing task token".
    const garbage = Buffer.from('not-a-task-token');
    const namespace = env.namespace;
    await expectStatus(complete(garbage), status.INVALID_ARGUMENT, /task token/i);
    await expectStatus(
      service().respondActivityTaskCompleted({ namespace, taskToken: garbage, identity: IDENTITY }),
      status.INVALID_ARGUMENT,
      /task token/i,
    );
    await expectStatus(
      service().recordActivityTaskHeartbeat({ namespace, taskToken: garbage, identity: IDENTITY }),
      status.INVALID_ARGUMENT,
      /task token/i,
    );
    await expectStatus(
      service().respondQueryTaskCompleted({ namespace, taskToken: garbage }),
      status.INVALID_ARGUMENT,
      /task token/i,
    );
  });
});

describe('workflow task completions', () => {
  const CT = temporal.api.enums.v1.CommandType;
  test.each<[string, temporal.api.command.v1.ICommand, RegExp]>([
    ['RecordMarker without attributes', { commandType: CT.COMMAND_TYPE_RECORD_MARKER }, /RecordMarker/],
    [
      'RecordMarker without a name',
      { commandType: CT.COMMAND_TYPE_RECORD_MARKER, recordMarkerCommandAttributes: {} },
      /MarkerName/,
    ],
    [
      'ContinueAsNew without attributes',
      { commandType: CT.COMMAND_TYPE_CONTINUE_AS_NEW_WORKFLOW_EXECUTION },
      /ContinueAsNew/,
    ],
    [
      'StartChild without attributes',
      { commandType: CT.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION },
      /StartChildWorkflowExecution/,
    ],
    [
      'StartChild without a workflow id',
      {
        commandType: CT.COMMAND_TYPE_START_CHILD_WORKFLOW_EXECUTION,
        startChildWorkflowExecutionCommandAttributes: { workflowType: { name: 'echo' } },
      },
      /WorkflowId is not set/,
    ],
    [
      'SignalExternal without attributes',
      { commandType: CT.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION },
      /SignalExternalWorkflowExecution/,
    ],
    [
      'SignalExternal without a signal name',
      {
        commandType: CT.COMMAND_TYPE_SIGNAL_EXTERNAL_WORKFLOW_EXECUTION,
        signalExternalWorkflowExecutionCommandAttributes: { execution: { workflowId: 'elsewhere' } },
      },
      /SignalName is not set/,
    ],
    [
      'RequestCancelExternal without attributes',
      { commandType: CT.COMMAND_TYPE_REQUEST_CANCEL_EXTERNAL_WORKFLOW_EXECUTION },
      /RequestCancelExternalWorkflowExecution/,
    ],
    [
      'FailWorkflowExecution without a failure',
      { commandType: CT.COMMAND_TYPE_FAIL_WORKFLOW_EXECUTION },
      /FailWorkflowExecution/,
    ],
  ])('%s is INVALID_ARGUMENT, and the task is offered again', async (name, command, message) => {
    const { handle, queue, token } = await takeWorkflowTask();
    try {
      // As on the real server: the command validator fails the workflow task and answers INVALID_ARGUMENT. Except
      // where server v1.29.1 fails itself on a StartChild command without attributes (INTERNAL, "something went
      // wrong, please retry"); the in-process server answers that as the validator does the others (README: the
      // remaining differences).
      const internal = name === 'StartChild without attributes' && env.backend === 'external';
      await expectStatus(
        complete(token, [command]),
        internal ? status.INTERNAL : status.INVALID_ARGUMENT,
        internal ? /^something went wrong, please retry/ : message,
      );
      // Nothing was half-applied: the run is still open, and its next attempt is handed out as usual.
      expect((await handle.describe()).status.name).toBe('RUNNING');
      const retry = await pollWorkflowTask(queue);
      expect({ workflowId: retry.workflowExecution?.workflowId, attempt: retry.attempt }).toEqual({
        workflowId: handle.workflowId,
        attempt: 2,
      });
      await expectStatus(complete(token), status.NOT_FOUND, /not found/i);
      await complete(retry.taskToken!);
      expect((await handle.describe()).status.name).toBe('RUNNING');
    } finally {
      await handle.terminate('bad-input test cleanup');
    }
  });
});

describe('preconditions', () => {
  test('querying a workflow that closed before its first workflow task is FAILED_PRECONDITION', async () => {
    const handle = await env.client.workflow.start('counter', {
      taskQueue: uniqueTaskQueue('bad-input-no-worker'),
      workflowId: unique('never-ran'),
      args: [0],
    });
    await handle.terminate('closed before any worker saw it');
    // Nothing can answer the query: no worker ever built this workflow's state. (Real server: WorkflowNotReady.)
    await expectStatus(
      service().queryWorkflow({
        namespace: env.namespace,
        execution: { workflowId: handle.workflowId },
        query: { queryType: 'total' },
      }),
      status.FAILED_PRECONDITION,
      /closed before/i,
    );
  });

  test('time-skipping calls on a server started without time skipping are refused', async () => {
    const raw = new grpc.Client(env.address, grpc.credentials.createInsecure());
    try {
      const err = await failure(
        rawCall(raw, '/temporal.api.testservice.v1.TestService/UnlockTimeSkipping', Buffer.alloc(0)),
      );
      // A real Temporal has no TestService at all; the in-process server has one, and says time skipping is off.
      if (env.backend === 'in-process') {
        expect({ code: status[err.code], details: err.details }).toEqual({
          code: 'FAILED_PRECONDITION',
          details: expect.stringMatching(/time skipping is off/),
        });
      } else {
        expect(status[err.code]).toBe('UNIMPLEMENTED');
      }
    } finally {
      raw.close();
    }
  });
});

describe('visibility queries', () => {
  test.each([
    ["WorkflowId = 'unterminated"],
    ['WorkflowId = '],
    ["WorkflowId = 'a' AND"],
    ["(WorkflowId = 'a'"],
    ["VigilNoSuchAttribute = 'x'"],
  ])('list and count with %j are INVALID_ARGUMENT', async (query) => {
    const namespace = env.namespace;
    await expectStatus(service().listWorkflowExecutions({ namespace, query }), status.INVALID_ARGUMENT, /./);
    await expectStatus(service().countWorkflowExecutions({ namespace, query }), status.INVALID_ARGUMENT, /./);
  });
});

describe('what the server does not support', () => {
  test('a method that does not exist is UNIMPLEMENTED', async () => {
    const raw = new grpc.Client(env.address, grpc.credentials.createInsecure());
    try {
      await expectStatus(
        rawCall(raw, '/temporal.api.workflowservice.v1.WorkflowService/NoSuchMethod', Buffer.alloc(0)),
        status.UNIMPLEMENTED,
        /./,
      );
    } finally {
      raw.close();
    }
  });

  test('methods of the API the in-process server leaves out are UNIMPLEMENTED with a message saying so', async () => {
    // Only meaningful in-process: a real Temporal implements worker deployments, so the same calls would do real
    // work there. Everything else in this file runs on both.
    if (env.backend === 'in-process') {
      await expectStatus(
        service().deleteWorkerDeployment({
          namespace: env.namespace,
          deploymentName: 'no-such-deployment',
          identity: IDENTITY,
        }),
        status.UNIMPLEMENTED,
        /DeleteWorkerDeployment is not supported/,
      );
      await expectStatus(
        env.client.connection.operatorService.deleteNamespace({ namespace: 'no-such-namespace' }),
        status.UNIMPLEMENTED,
        /DeleteNamespace is not supported/,
      );
    }
  });
});

describe('bytes that are not a request', () => {
  const methods = [
    'StartWorkflowExecution',
    'SignalWorkflowExecution',
    'RespondWorkflowTaskCompleted',
    'QueryWorkflow',
  ];
  let raw: grpc.Client;
  beforeAll(() => {
    raw = new grpc.Client(env.address, grpc.credentials.createInsecure());
  });
  afterAll(() => raw.close());

  test('a truncated message is an error status, and the server keeps serving', async () => {
    // Field 1 (namespace) announces 100 bytes and carries one.
    const truncated = Buffer.from([0x0a, 0x64, 0x01]);
    const err = await failure(
      rawCall(raw, '/temporal.api.workflowservice.v1.WorkflowService/StartWorkflowExecution', truncated),
    );
    expect(err.code).toEqual(expect.any(Number));
    expect(err.code).not.toBe(status.OK);
    // A real server (grpc-go) answers an undecodable request with INTERNAL; the in-process server says what it is.
    if (env.backend === 'in-process') {
      expect(status[err.code]).toBe('INVALID_ARGUMENT');
      expect(err.details).toMatch(/malformed StartWorkflowExecution request/);
    }
    const info = await service().getSystemInfo({});
    expect(info.serverVersion).toBeTruthy();
  });

  test('random bytes to workflow methods are error statuses, never a success or a crash', async () => {
    const codes = new Set<string>();
    for (let seed = 1; seed <= 40; seed++) {
      for (const method of methods) {
        const body = pseudoRandomBytes(seed, 16 + ((seed * 37) % 400));
        const err = await failure(
          rawCall(raw, `/temporal.api.workflowservice.v1.WorkflowService/${method}`, body),
        ).catch((e: Error) => {
          throw new Error(`${method} accepted random bytes (seed ${seed}): ${e.message}`);
        });
        codes.add(status[err.code] ?? String(err.code));
        // In-process, anything but a client error means a handler threw on input it should have rejected.
        if (env.backend === 'in-process' && !['INVALID_ARGUMENT', 'NOT_FOUND'].includes(status[err.code])) {
          throw new Error(`${method} with random bytes (seed ${seed}) answered ${status[err.code]}: ${err.details}`);
        }
      }
    }
    expect(codes.has('OK')).toBe(false);
    const info = await service().getSystemInfo({});
    expect(info.serverVersion).toBeTruthy();
  });
});

// Declared last, so it runs after every test above (jest runs tests in declaration order).
describe('afterwards', () => {
  test('the healthy workflow ends with every number it was sent, and nothing else', async () => {
    const checks = nextAddend - 1;
    // The baseline check in beforeAll plus one after each test above.
    expect(checks).toBeGreaterThan(10);
    await healthy.signal('finish');
    expect(await healthy.result()).toBe(expectedTotal);
    healthyFinished = true;
    const history = await healthy.fetchHistory();
    const signals = (history.events ?? []).flatMap((e) => e.workflowExecutionSignaledEventAttributes?.signalName ?? []);
    // One 'add' per health check, then the 'finish': no bad request delivered a signal to it.
    expect(signals).toEqual([...Array<string>(checks).fill('add'), 'finish']);
  });
});
