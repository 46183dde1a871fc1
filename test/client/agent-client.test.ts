/**
 * The client's own behaviour, with a Temporal and no worker: input is checked before any RPC, and Temporal's
 * failures arrive as Vigil's errors. End-to-end behaviour with the conversation workflow is tested beside it.
 */
import { Metadata, status } from '@grpc/grpc-js';
import { ServiceError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { randomUUID } from 'node:crypto';
import { AgentClient, toVigilError } from '../../src/client/agent-client';
import {
  ConversationBusyError,
  ConversationNotFoundError,
  SystemError,
  TimeoutError,
  ValidationError,
} from '../../src/errors';
import { conversationWorkflowId, type InboundMessage } from '../../src/conversation/protocol';
import { createTemporalTestEnv, type TemporalTestEnv } from '../../src/testing/temporal-env';
import { uniqueTaskQueue } from '../helpers/worker';

let env: TemporalTestEnv;
let agents: AgentClient;
let taskQueue: string;

beforeAll(async () => {
  env = await createTemporalTestEnv();
  taskQueue = uniqueTaskQueue('agent-client');
  agents = new AgentClient({ client: env.client, taskQueue });
});

afterAll(async () => {
  await env?.teardown();
});

const agent = 'assistant';
const newConversationId = () => `c-${randomUUID()}`;

/** Whether Temporal has any workflow for the conversation: describe is consistent, unlike listing. */
async function conversationExists(conversationId: string): Promise<boolean> {
  try {
    await env.client.workflow.getHandle(conversationWorkflowId(agent, conversationId)).describe();
    return true;
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return false;
    throw error;
  }
}

async function validationError(promise: Promise<unknown>): Promise<ValidationError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ValidationError);
  return error as ValidationError;
}

describe('input is checked before anything reaches Temporal', () => {
  test('send rejects a malformed message, lists every problem, and starts no conversation', async () => {
    const conversationId = newConversationId();
    const message = { id: '', content: '', extra: true } as unknown as InboundMessage;

    const error = await validationError(agents.send(agent, conversationId, message));

    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['message', 'message.content', 'message.id']);
    expect(error.message).toMatch(/^invalid send request: /);
    expect(await conversationExists(conversationId)).toBe(false);
  });

  test('post rejects a malformed message and starts no conversation', async () => {
    const conversationId = newConversationId();
    const message = { id: 'm1', content: 'hi', channel: { type: 'webhook', url: 'not a url' } } as InboundMessage;

    const error = await validationError(agents.post(agent, conversationId, message));

    expect(error.issues.map((issue) => issue.path)).toEqual(['message.channel.url']);
    expect(await conversationExists(conversationId)).toBe(false);
  });

  test('an agent or conversation id outside the id alphabet is refused, both reported', async () => {
    const error = await validationError(agents.send('my agent', 'id with spaces', 'hello'));
    expect(error.issues.map((issue) => issue.path).sort()).toEqual(['agent', 'conversationId']);
  });

  test('a bad timeout is refused like a bad message', async () => {
    const conversationId = newConversationId();
    const error = await validationError(agents.send(agent, conversationId, 'hello', { timeoutMs: -1 }));
    expect(error.issues.map((issue) => issue.path)).toEqual(['timeoutMs']);
    expect(await conversationExists(conversationId)).toBe(false);
  });

  // The conversations below do not exist: an RPC would fail with ConversationNotFoundError, so a
  // ValidationError shows the check came first.
  test('decide, cancelTurn, transcript and handle check their input first', async () => {
    const id = newConversationId();
    await validationError(agents.decide(agent, id, { toolCallId: '', decision: 'maybe' } as never));
    await validationError(agents.cancelTurn(agent, id, { reason: 'x', force: true } as never));
    await validationError(agents.transcript(agent, id, { limit: 0 }));
    expect(() => agents.handle(agent, 'bad id')).toThrow(ValidationError);
  });
});

describe('a conversation that does not exist', () => {
  test('state() throws ConversationNotFoundError naming the agent and conversation', async () => {
    const conversationId = newConversationId();
    const error = await agents.state(agent, conversationId).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConversationNotFoundError);
    expect(error).toMatchObject({ agent, conversationId });
  });

  test('transcript, decide, cancelTurn and end throw ConversationNotFoundError too', async () => {
    const id = newConversationId();
    const calls: (() => Promise<unknown>)[] = [
      () => agents.transcript(agent, id),
      () => agents.decide(agent, id, { toolCallId: 'call-1', decision: 'approve' }),
      () => agents.cancelTurn(agent, id),
      () => agents.end(agent, id),
    ];
    for (const call of calls) await expect(call()).rejects.toBeInstanceOf(ConversationNotFoundError);
  });
});

test('send gives up with a TimeoutError when no worker answers in time, and the conversation stays', async () => {
  const conversationId = newConversationId();
  const started = Date.now();

  await expect(agents.send(agent, conversationId, 'hello?', { timeoutMs: 1_000 })).rejects.toBeInstanceOf(TimeoutError);

  expect(Date.now() - started).toBeLessThan(15_000);
  // The message was accepted for delivery: the conversation was started and waits for a worker.
  expect(await conversationExists(conversationId)).toBe(true);
  await agents.handle(agent, conversationId).terminate('test cleanup');
});

describe('toVigilError', () => {
  const address = { agent, conversationId: 'c1' };

  test("a rejected update of type ValidationError is the caller's mistake, with the workflow's issues", () => {
    const cause = ApplicationFailure.nonRetryable('tool call call-9 is not awaiting a decision', 'ValidationError', [
      { path: 'toolCallId', message: 'unknown' },
    ]);
    const error = toVigilError(new WorkflowUpdateFailedError('Workflow Update failed', cause), 'decide', address);
    expect(error).toBeInstanceOf(ValidationError);
    expect(error.message).toBe('tool call call-9 is not awaiting a decision');
    expect((error as ValidationError).issues).toEqual([{ path: 'toolCallId', message: 'unknown' }]);
  });

  test('any other failed update is a SystemError that keeps the failure', () => {
    const failed = new WorkflowUpdateFailedError(
      'Workflow Update failed',
      ApplicationFailure.create({ message: 'boom' }),
    );
    const error = toVigilError(failed, 'send', address);
    expect(error).toBeInstanceOf(SystemError);
    expect(error.message).toContain('boom');
    expect(error.cause).toBe(failed);
  });

  test('NOT_FOUND from the server, raw or wrapped, is ConversationNotFoundError', () => {
    const grpc = Object.assign(new Error('5 NOT_FOUND: workflow not found'), {
      code: status.NOT_FOUND,
      details: 'workflow not found',
      metadata: {},
    });
    expect(
      toVigilError(new ServiceError('Failed to query Workflow', { cause: grpc }), 'state', address),
    ).toBeInstanceOf(ConversationNotFoundError);
    expect(toVigilError(new WorkflowNotFoundError('gone', 'x', undefined), 'end', address)).toBeInstanceOf(
      ConversationNotFoundError,
    );
  });

  test('deadlines, raw or from an update poll, are TimeoutErrors', () => {
    const deadline = Object.assign(new Error('4 DEADLINE_EXCEEDED'), {
      code: status.DEADLINE_EXCEEDED,
      details: 'Deadline exceeded',
      metadata: {},
    });
    expect(
      toVigilError(new ServiceError('Failed to query Workflow', { cause: deadline }), 'state', address),
    ).toBeInstanceOf(TimeoutError);
    expect(toVigilError(new WorkflowUpdateRPCTimeoutOrCancelledError('timed out'), 'send', address)).toBeInstanceOf(
      TimeoutError,
    );
  });

  test("Temporal's refusal past a run's signal or update limit is a ConversationBusyError that says so", () => {
    const refused = (code: number, details: string) =>
      new ServiceError('Failed to signalWithStart Workflow', {
        cause: Object.assign(new Error(`${code} ${details}`), { code, details, metadata: new Metadata() }),
      });
    const signals = toVigilError(
      refused(status.INVALID_ARGUMENT, 'exceeded workflow execution limit for signal events'),
      'post',
      address,
    );
    expect(signals).toBeInstanceOf(ConversationBusyError);
    expect(signals).toMatchObject({ limit: 'signals', conversationId: 'c1' });
    expect(signals.message).toBe(
      `post refused: conversation c1 of agent ${agent} has taken all the messages (signals) one Temporal run may take ` +
        '(Temporal: "exceeded workflow execution limit for signal events"); it moves to a new run between two turns ' +
        'and then takes more: try again shortly',
    );
    const updates = toVigilError(
      refused(
        status.RESOURCE_EXHAUSTED,
        'The limit on the total number of distinct updates in this workflow has been reached (2000). Make sure any duplicate updates share an Update ID.',
      ),
      'send',
      address,
    );
    expect(updates).toMatchObject({ limit: 'updates' });
    expect(updates.message).toContain(
      '(Temporal: "limit on the total number of distinct updates in this workflow has been reached (2000)")',
    );
  });

  test("Temporal's refusal of an update past the run's in-flight limit is a ConversationBusyError that says so", () => {
    const words = 'limit on number of concurrent in-flight updates has been reached (10)';
    // A plain update (decide, cancelTurn, an event poll), as the server answers it.
    const update = new ServiceError('Workflow Update failed', {
      cause: Object.assign(new Error(`8 RESOURCE_EXHAUSTED: ${words}`), {
        code: status.RESOURCE_EXHAUSTED,
        details: words,
        metadata: new Metadata(),
      }),
    });
    // A send (update-with-start), as the SDK leaves it: the operation's status copied onto the gRPC error, its
    // ResourceExhaustedFailure's raw bytes in `details`.
    const send = Object.assign(new Error(words), {
      code: status.RESOURCE_EXHAUSTED,
      details: '\b\u0002\u0010\u0001',
      metadata: new Metadata(),
    });
    for (const [error, operation] of [
      [update, 'cancelTurn'],
      [send, 'send'],
    ] as const) {
      const busy = toVigilError(error, operation, address);
      expect(busy).toBeInstanceOf(ConversationBusyError);
      expect(busy).toMatchObject({ limit: 'in-flight updates', conversationId: 'c1' });
      expect(busy.message).toBe(
        `${operation} refused: too many requests are in flight to conversation c1 of agent ${agent} ` +
          `(sends waiting for their replies, watchers for events; Temporal: "${words}"); try again when a turn finishes`,
      );
    }
  });

  test('anything else is a SystemError with the original as cause', () => {
    const original = new Error('connection refused');
    const error = toVigilError(original, 'post', address);
    expect(error).toBeInstanceOf(SystemError);
    expect(error.message).toBe('post failed: connection refused');
    expect(error.cause).toBe(original);
  });
});
