/**
 * The typed way into a conversation from an app: each method checks its input against the protocol's schemas
 * before anything reaches Temporal, addresses the conversation by (agent, conversation id), and turns
 * Temporal's failures into Vigil's errors (ValidationError, ConversationNotFoundError, TimeoutError,
 * SystemError).
 */
import { FailureTypes } from '../conversation/failure-types';
import { ServedAgents, type ServedAgentsOption } from './served-agents';
import { status } from '@grpc/grpc-js';
import {
  Client,
  isGrpcDeadlineError,
  isGrpcServiceError,
  WithStartWorkflowOperation,
  type WorkflowHandle,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import {
  ApplicationFailure,
  type Payload,
  type UpdateDefinition,
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
} from '@temporalio/common';
import { WorkflowStreamClient } from '@temporalio/workflow-streams/client';
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import {
  ConfigError,
  ConversationBusyError,
  ConversationEndedError,
  ConversationExistsError,
  ConversationNotFoundError,
  SystemError,
  TimeoutError,
  TurnInProgressError,
  UnknownAgentError,
  ValidationError,
  VigilError,
} from '../errors';
import {
  CancelTurnRequest,
  cancelTurnUpdate,
  CancelTurnResult,
  ConversationEvent,
  type ConversationEventEnvelope,
  ConversationView,
  conversationWorkflowId,
  Decision,
  decideUpdate,
  DEFAULT_TASK_QUEUE,
  endSignal,
  ForkOptions,
  ForkPointAnswer,
  forkPointQuery,
  type ForkResult,
  type HeldTranscriptPage,
  MAX_ID_LENGTH,
  InboundMessage,
  messageSignal,
  Reply,
  sendUpdate,
  ConversationAddress,
  ConversationSeed,
  type StartConversation,
  stateQuery,
  type TranscriptEntry,
  TranscriptPage,
  TranscriptPageRequest,
  transcriptQuery,
  WORKFLOW_TYPE,
} from '../conversation/protocol';
import { readStoredEntries } from '../store/transcript-chain';
import type { ContentStore } from '../store';
import { operationFailures, RUN_LIMIT_REFUSALS } from './run-limits';
// Types only: the client never loads workflow code, which belongs to the worker's sandbox.
import type { conversation } from '../workflows';

export interface AgentClientOptions {
  client: Client;
  /** Where new conversations are started; the workers' VIGIL_TASK_QUEUE. Default `vigil`. */
  taskQueue?: string;
  /**
   * The workers' content store (the one `createVigilClient` takes). A conversation that has continued as new
   * holds its older entries there only, so `transcript` needs it to show them; without it, asking for such
   * entries is a ConfigError.
   */
  store?: ContentStore;
  /**
   * The agents the workers serve: their names, or `'from-workers'` to ask Temporal which agents the workers
   * polling the task queue serve (they say so in their identity; see src/client/served-agents.ts). Known, a
   * message (send, post) or an open naming another agent is refused with UnknownAgentError before anything
   * reaches Temporal, so no conversation is left behind. Calls on existing conversations (state, transcript,
   * events, decide, end) are not checked: an agent retired from the config keeps its conversations readable.
   * Unknown (absent, or no worker polling), nothing is checked, and a message to an agent no worker serves ends
   * its turn with an error reply.
   */
  agents?: ServedAgentsOption;
}

export interface SendOptions {
  /**
   * How long to wait for the reply. When it runs out, `send` throws TimeoutError, and the turn goes on: its
   * reply can be read from the transcript, or fetched by sending the same message id again.
   */
  timeoutMs?: number;
  /**
   * What the conversation starts with when this message starts it: instructions of its own and earlier turns
   * (ConversationSeed). A running conversation keeps what it has and ignores the seed.
   */
  seed?: ConversationSeed;
}

export interface OpenOptions {
  /** As SendOptions.seed. */
  seed?: ConversationSeed;
}

export interface EventsOptions {
  /** The first offset wanted: 0 (the default) for everything still kept, or one past the last offset seen. */
  fromOffset?: number;
  /** Stops the stream; the iteration then ends without an error. */
  signal?: AbortSignal;
}

/** A message as sent: the full protocol message, or just its text (then it gets a random id). */
export type MessageInput = InboundMessage | string;

type ConversationHandle = WorkflowHandle<typeof conversation>;

/** What each call takes, checked as a whole so every problem is reported together. */
const Address = ConversationAddress;
type Address = z.infer<typeof Address>;
const SendInput = Address.extend({
  message: InboundMessage,
  timeoutMs: z
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1)
    .optional(),
  seed: ConversationSeed.optional(),
});
const OpenInput = Address.extend({ seed: ConversationSeed.optional() });
const PostInput = Address.extend({ message: InboundMessage });
const TranscriptInput = Address.extend({ page: TranscriptPageRequest.optional() });
const DecideInput = Address.extend({ decision: Decision });
const EventsInput = Address.extend({ fromOffset: z.number().int().nonnegative().optional() });

/** The least time between two polls of a busy event stream: events arrive in batches of at most this age. */
const EVENT_POLL_COOLDOWN_MS = 50;
const CancelTurnInput = Address.extend({ request: CancelTurnRequest.optional() });
const ForkInput = Address.extend(ForkOptions.shape);
/**
 * The SDK's executeUpdate has no overload for an update whose only argument is optional; the handler takes
 * the argument either way, so the client always sends one.
 */
const cancelTurnWithRequest = cancelTurnUpdate as UpdateDefinition<CancelTurnResult, [CancelTurnRequest]>;
const FailureIssues = z.array(z.object({ path: z.string(), message: z.string() }));

/**
 * @example
 * const agents = new AgentClient({ client: new Client({ connection }) });
 * const reply = await agents.send('assistant', 'user-42', 'What time is it in Tokyo?');
 * console.log(reply.content);
 */
export class AgentClient {
  private readonly client: Client;
  private readonly taskQueue: string;
  private readonly store: ContentStore | undefined;
  private readonly agents: ServedAgents;

  constructor(options: AgentClientOptions) {
    this.client = options.client;
    this.store = options.store;
    this.taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
    if (this.taskQueue.trim() === '') throw new ConfigError(['AgentClient taskQueue must not be empty']);
    this.agents = new ServedAgents(this.client, this.taskQueue, options.agents);
  }

  /**
   * Sends a message and waits for the turn's reply, starting the conversation if it is not running. Sending a
   * message id again returns the first reply instead of running a second turn, so a retry after a timeout or a
   * lost connection is safe. An id whose reply is no longer kept (after 10,000 newer ones) is refused with a
   * ValidationError that says so, never answered twice.
   */
  async send(agent: string, conversationId: string, message: MessageInput, options: SendOptions = {}): Promise<Reply> {
    const input = await this.served(
      check('send', SendInput, {
        agent,
        conversationId,
        message: toMessage(message),
        timeoutMs: options.timeoutMs,
        seed: options.seed,
      }),
    );
    // One operation per attempt: the SDK runs each only once.
    const start = () =>
      new WithStartWorkflowOperation<typeof conversation>(WORKFLOW_TYPE, {
        workflowId: conversationWorkflowId(input.agent, input.conversationId),
        taskQueue: this.taskQueue,
        args: [startInput(input)],
        // A running conversation takes the message; only a missing one is started.
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: ENDED_STAYS_ENDED,
      });
    const call = async (): Promise<Reply> => {
      for (let attempt = 0; ; attempt++) {
        try {
          return await this.client.workflow.executeUpdateWithStart(sendUpdate, {
            args: [input.message],
            // The server then answers a repeated send of the same message with the same update, not a new one.
            updateId: `send:${input.message.id}`,
            startWorkflowOperation: start(),
          });
        } catch (error) {
          // A busy conversation refuses new sends while it moves to its next run; the next run takes them. One
          // whose workflow task keeps failing (workers died holding it) takes them once a worker has run it.
          if (!isSwitchingRuns(error) && !isWorkflowNotReady(error)) throw error;
          await transientPause(attempt);
        }
      }
    };
    return this.mapped('send', input, () =>
      input.timeoutMs === undefined ? call() : this.client.withDeadline(Date.now() + input.timeoutMs, call),
    );
  }

  /** Sends a message without waiting, starting the conversation if need be; the reply goes to its channel. */
  async post(agent: string, conversationId: string, message: MessageInput): Promise<void> {
    const input = await this.served(
      check('post', PostInput, {
        agent,
        conversationId,
        message: toMessage(message),
      }),
    );
    await this.mapped('post', input, () =>
      this.client.workflow.signalWithStart<typeof conversation, [InboundMessage]>(WORKFLOW_TYPE, {
        workflowId: conversationWorkflowId(input.agent, input.conversationId),
        taskQueue: this.taskQueue,
        args: [{ agent: input.agent, conversationId: input.conversationId }],
        signal: messageSignal,
        signalArgs: [input.message],
        workflowIdReusePolicy: ENDED_STAYS_ENDED,
      }),
    );
  }

  /** The conversation's status, turn in flight, queue, pending approvals and usage. */
  async state(agent: string, conversationId: string): Promise<ConversationView> {
    const address = check('state', Address, { agent, conversationId });
    return this.mapped('state', address, () => this.workflowHandle(address).query(stateQuery));
  }

  /** A page of the conversation's transcript; follow `nextOffset` for the next one. */
  async transcript(agent: string, conversationId: string, page?: TranscriptPageRequest): Promise<TranscriptPage> {
    const input = check('transcript', TranscriptInput, {
      agent,
      conversationId,
      page,
    });
    const held = await this.mapped('transcript', input, () =>
      this.workflowHandle(input).query(transcriptQuery, input.page),
    );
    return { ...held, entries: await this.wholeEntries(held.entries) };
  }

  /** Entries the conversation holds as stored references, read from the content store; the rest as they are. */
  private async wholeEntries(entries: HeldTranscriptPage['entries']): Promise<TranscriptEntry[]> {
    const refs = entries.flatMap((e) => ('stored' in e ? [e.stored] : []));
    if (refs.length === 0) return entries as TranscriptEntry[];
    if (!this.store) {
      throw new ConfigError([
        "this part of the transcript is kept in the content store only (the conversation continued as new): give AgentClient the workers' store ({ store })",
      ]);
    }
    const stored = await readStoredEntries(this.store, refs);
    let next = 0;
    return entries.map((e) => ('stored' in e ? stored[next++] : e));
  }

  /** Approves or rejects a pending tool call. */
  async decide(agent: string, conversationId: string, decision: Decision): Promise<void> {
    const input = check('decide', DecideInput, { agent, conversationId, decision });
    await this.mapped('decide', input, () =>
      whenReady(() => this.workflowHandle(input).executeUpdate(decideUpdate, { args: [input.decision] })),
    );
  }

  /** Cancels the turn in flight, if there is one; `cancelled: false` when there was none. */
  async cancelTurn(agent: string, conversationId: string, request?: CancelTurnRequest): Promise<CancelTurnResult> {
    const input = check('cancelTurn', CancelTurnInput, {
      agent,
      conversationId,
      request,
    });
    return this.mapped('cancelTurn', input, () =>
      whenReady(() => this.workflowHandle(input).executeUpdate(cancelTurnWithRequest, { args: [input.request ?? {}] })),
    );
  }

  /** Ends the conversation once the current turn and the queued messages are done. */
  async end(agent: string, conversationId: string): Promise<void> {
    const address = check('end', Address, { agent, conversationId });
    await this.mapped('end', address, () => this.workflowHandle(address).signal(endSignal));
  }

  /**
   * Forks the conversation at a past turn: a new conversation of the same agent, `to` (or a generated id,
   * `<conversationId>.fork-<8 hex digits>`), whose transcript is this one's up to the end of turn `atTurn` (the
   * stored entries shared with the original, not copied), its instructions this one's (or `instructions`), its
   * rolling summary only when that covers no later entry, and everything else its own from then on: usage from
   * zero, no message ids taken, no queued messages, pending approvals, remembered tool approvals or channels. Its
   * next message is turn `atTurn + 1`. The original is only read, never changed.
   *
   * @throws ConversationExistsError when `to` names a conversation that exists (running or closed).
   * @throws ValidationError when `atTurn` is beyond the original's finished turns; TurnInProgressError when turn
   *   `atTurn` is still running; ConversationNotFoundError when there is no original.
   *
   * @example
   * const fork = await agents.fork('assistant', 'user-42', { atTurn: 2, to: 'user-42-retry' });
   * await agents.send('assistant', fork.conversationId, 'Answer that again, more briefly.');
   */
  async fork(agent: string, conversationId: string, options: ForkOptions): Promise<ForkResult> {
    const input = await this.served(check('fork', ForkInput, { agent, conversationId, ...options }));
    const to = input.to ?? forkId(input.conversationId);
    const answer = await this.mapped('fork', input, () =>
      this.workflowHandle(input).query(forkPointQuery, { atTurn: input.atTurn }),
    );
    const parsed = ForkPointAnswer.safeParse(answer);
    if (!parsed.success) {
      throw new SystemError(
        `fork failed: the conversation answered with no usable fork point: ${parsed.error.message}`,
      );
    }
    if (parsed.data.kind === 'refused') {
      if (parsed.data.reason === 'running') {
        throw new TurnInProgressError(input.agent, input.conversationId, parsed.data.message);
      }
      throw new ValidationError(`invalid fork request: atTurn: ${parsed.data.message}`, [
        { path: 'atTurn', message: parsed.data.message },
      ]);
    }
    const point = {
      ...parsed.data.point,
      ...(input.instructions !== undefined ? { instructions: input.instructions } : {}),
    };
    const fork = { agent: input.agent, conversationId: to };
    try {
      await this.client.workflow.start<typeof conversation>(WORKFLOW_TYPE, {
        workflowId: conversationWorkflowId(fork.agent, fork.conversationId),
        taskQueue: this.taskQueue,
        args: [{ ...fork, fork: point }],
        // Never onto an existing conversation, running or closed: a fork is always a new one.
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    } catch (error) {
      if (isAlreadyStarted(error)) throw new ConversationExistsError(fork.agent, fork.conversationId, { cause: error });
      throw toVigilError(error, 'fork', fork);
    }
    return { ...fork, forkedFrom: point.from, turns: point.turns };
  }

  /**
   * Starts the conversation if it is not running, without sending anything: for a watcher that subscribes to
   * `events` before the first message. Idempotent.
   */
  async open(agent: string, conversationId: string, options: OpenOptions = {}): Promise<void> {
    const address = await this.served(check('open', OpenInput, { agent, conversationId, seed: options.seed }));
    await this.mapped('open', address, () =>
      this.client.workflow.start<typeof conversation>(WORKFLOW_TYPE, {
        workflowId: conversationWorkflowId(address.agent, address.conversationId),
        taskQueue: this.taskQueue,
        args: [startInput(address)],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: ENDED_STAYS_ENDED,
      }),
    );
  }

  /**
   * The conversation's events as they happen (see ConversationEvent), from `fromOffset` on, until the
   * conversation ends (`conversation.ended` is the last event) or `signal` aborts. Offsets only grow: resuming from one past the last offset seen misses
   * nothing and repeats nothing. When the events wanted were already dropped (a conversation keeps the last
   * turns' events), a `stream.gap` event with a null offset comes first, then the oldest kept.
   *
   * @example
   * for await (const { offset, event } of agents.events('assistant', 'user-42', { fromOffset: last + 1 })) {
   *   if (event.type === 'model.delta') process.stdout.write(event.text);
   * }
   */
  async *events(
    agent: string,
    conversationId: string,
    options: EventsOptions = {},
  ): AsyncGenerator<ConversationEventEnvelope> {
    const input = check('events', EventsInput, { agent, conversationId, fromOffset: options.fromOffset });
    const { signal } = options;
    // A missing conversation is reported as such, before any waiting.
    await this.mapped('events', input, () => this.workflowHandle(input).describe());
    const stream = WorkflowStreamClient.create(
      signal ? pollsUntil(this.client, signal) : this.client,
      conversationWorkflowId(input.agent, input.conversationId),
    );
    const items = stream.subscribe(undefined, input.fromOffset ?? 0, { pollCooldown: EVENT_POLL_COOLDOWN_MS });
    let expected = input.fromOffset ?? 0;
    const left = new Promise<IteratorReturnResult<undefined>>((resolve) => {
      if (signal?.aborted) resolve({ done: true, value: undefined });
      signal?.addEventListener('abort', () => resolve({ done: true, value: undefined }), { once: true });
    });
    try {
      for (;;) {
        // A caller that left between two events (it aborted in its loop, then asked for the next) gets no new poll:
        // the SDK cancels only calls under way when a signal aborts, so that poll would wait in the conversation
        // for its next event, for nobody.
        if (signal?.aborted) return;
        // Each poll gets its own abort signal, linked to the caller's: the SDK hangs a listener on the signal of
        // every call, and one long-lived signal would collect them for as long as the watcher stays.
        const poll = new AbortController();
        const abortPoll = () => poll.abort();
        signal?.addEventListener('abort', abortPoll, { once: true });
        let next: IteratorResult<{ data: Payload; offset: number }, void>;
        try {
          // Leaving does not wait for the poll in flight: it is cancelled, and the watcher is released at once.
          next = await Promise.race([
            this.client.connection
              .withAbortSignal(poll.signal, () => items.next())
              .catch((error: unknown) => {
                if (signal?.aborted) return { done: true as const, value: undefined };
                throw toVigilError(error, 'events', input);
              }),
            left,
          ]);
        } finally {
          signal?.removeEventListener('abort', abortPoll);
        }
        if (next.done) return;
        const parsed = ConversationEvent.safeParse(
          this.client.options.loadedDataConverter.payloadConverter.fromPayload(next.value.data),
        );
        if (next.value.offset > expected) {
          yield { offset: null, event: { type: 'stream.gap', missedFrom: expected, resumedAt: next.value.offset } };
        }
        expected = next.value.offset + 1;
        // An event type this client does not know (from newer workers) is skipped rather than failing the stream.
        if (parsed.success) yield { offset: next.value.offset, event: parsed.data };
        if (parsed.success && parsed.data.type === 'conversation.ended') return;
      }
    } finally {
      // Never awaited: a generator parked on a poll finishes that poll first (see the abort above).
      void items.return(undefined).catch(() => undefined);
    }
  }

  /** The offset the conversation's next event will have: watch from here to see only what happens next. */
  async eventOffset(agent: string, conversationId: string): Promise<number> {
    const address = check('eventOffset', Address, { agent, conversationId });
    return this.mapped('eventOffset', address, () =>
      WorkflowStreamClient.create(
        this.client,
        conversationWorkflowId(address.agent, address.conversationId),
      ).getOffset(),
    );
  }

  /** The agents the workers serve, when that is known (AgentClientOptions.agents); undefined otherwise. */
  async servedAgents(): Promise<readonly string[] | undefined> {
    return this.agents.list();
  }

  /** The checked request, if its agent is one the workers serve (when that is known). */
  private async served<T extends { agent: string }>(input: T): Promise<T> {
    UnknownAgentError.check(input.agent, await this.agents.list());
    return input;
  }

  /** The conversation's Temporal handle, for what this client does not cover (describe, history, terminate). */
  handle(agent: string, conversationId: string): ConversationHandle {
    return this.workflowHandle(check('handle', Address, { agent, conversationId }));
  }

  private workflowHandle(address: Address): ConversationHandle {
    const workflowId = conversationWorkflowId(address.agent, address.conversationId);
    return this.client.workflow.getHandle<typeof conversation>(workflowId);
  }

  private async mapped<T>(operation: string, address: Address, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (error) {
      throw toVigilError(error, operation, address);
    }
  }
}

/** The workflow's input for a conversation this call may start. */
function startInput(input: Address & { seed?: ConversationSeed }): StartConversation {
  return { agent: input.agent, conversationId: input.conversationId, ...(input.seed ? { seed: input.seed } : {}) };
}

/** A fork's id when none is given: the original's, marked and made unique, within the id grammar's length. */
function forkId(original: string): string {
  const suffix = `.fork-${randomUUID().slice(0, 8)}`;
  return `${original.slice(0, MAX_ID_LENGTH - suffix.length)}${suffix}`;
}

function toMessage(message: MessageInput): unknown {
  return typeof message === 'string' ? { id: randomUUID(), content: message } : message;
}

/** Parses an operation's whole input at once, so every problem is reported together. */
function check<T extends z.ZodType>(operation: string, schema: T, value: unknown): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => ({ path: issue.path.join('.'), message: issue.message }));
  throw new ValidationError(
    `invalid ${operation} request: ${issues.map((i) => `${i.path || 'value'}: ${i.message}`).join('; ')}`,
    issues,
  );
}

/**
 * Temporal's failure -> Vigil's error; the original stays as `cause` for logs. Exported for other front doors
 * (the gateway) that talk to conversations through a raw Temporal client.
 */
export function toVigilError(error: unknown, operation: string, address: Address): Error {
  if (error instanceof VigilError) return error;
  if (isAlreadyStarted(error)) return new ConversationEndedError(address.agent, address.conversationId);
  if (error instanceof WorkflowNotFoundError || hasGrpcCode(error, status.NOT_FOUND)) {
    return new ConversationNotFoundError(address.agent, address.conversationId);
  }
  if (error instanceof WorkflowUpdateFailedError) {
    // The conversation refused or failed the request: validators and handlers throw ApplicationFailures.
    const cause = error.cause;
    if (cause instanceof ApplicationFailure && cause.type === FailureTypes.Refused) {
      const issues = FailureIssues.safeParse(cause.details?.[0]);
      return new ValidationError(cause.message, issues.success ? issues.data : []);
    }
    if (cause instanceof ApplicationFailure && cause.type === FailureTypes.TurnInProgress) {
      return new TurnInProgressError(address.agent, address.conversationId, cause.message, { cause: error });
    }
    const message = cause?.message ?? error.message;
    return new SystemError(`${operation} failed in the conversation: ${message}`, { cause: error });
  }
  if (isWorkflowNotReady(error)) {
    return new SystemError(
      `${operation} failed: conversation ${address.conversationId} of agent ${address.agent} is recovering: its ` +
        'workflow task failed or timed out several times in a row (workers stopped or failed running it); ' +
        'Temporal answers again once a worker has run it',
      { cause: error },
    );
  }
  if (error instanceof WorkflowUpdateRPCTimeoutOrCancelledError || isGrpcDeadlineError(error)) {
    return new TimeoutError(
      `${operation} timed out waiting for conversation ${address.conversationId} of agent ${address.agent}; ` +
        'the request may still complete',
      { cause: error },
    );
  }
  const described = describeChain(error);
  const refusal = RUN_LIMIT_REFUSALS.find(([words]) => described.includes(words));
  if (refusal) {
    // Temporal's own words, up to the end of their first sentence: "… has been reached (2000)".
    const words = described.slice(described.indexOf(refusal[0])).split(/\.(\s|$)/)[0];
    return new ConversationBusyError(address.agent, address.conversationId, refusal[1], operation, words, {
      cause: error,
    });
  }
  return new SystemError(`${operation} failed: ${described}`, { cause: error });
}

/**
 * The error's message and those of the errors it wraps: the SDK's "Update-With-Start failed" says what failed,
 * the gRPC error inside it why ("The limit on the total number of distinct updates in this workflow has been reached (2000)").
 */
function describeChain(error: unknown): string {
  const parts: string[] = [];
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    const texts = isGrpcServiceError(current)
      ? [readable(current.details) ? current.details : current.message, ...operationFailures(current)]
      : [current.message];
    for (const text of texts) if (text && !parts.some((part) => part.includes(text))) parts.push(text);
  }
  return parts.length > 0 ? parts.join(': ') : String(error);
}

/**
 * Whether a gRPC error's `details` is words: for a multi-operation failure the SDK puts there the failed operation's
 * first detail as raw protobuf bytes (a ResourceExhaustedFailure, say), and its status message in `message`.
 */
function readable(details: string | undefined): details is string {
  // eslint-disable-next-line no-control-regex
  return !!details && !/[\x00-\x08\x0e-\x1f]/.test(details);
}

/**
 * Which closed conversations a send, post or open may start again: those that failed, timed out or were terminated
 * (a new run recovers them), never one that ended. On a real server a send that races `end` (it reached the run
 * while its closing task was in flight) is retried by the server as a start (update-with-start does that once);
 * with this policy the start is refused and the sender told, rather than given a new, empty conversation.
 */
const ENDED_STAYS_ENDED = 'ALLOW_DUPLICATE_FAILED_ONLY' as const;

/** The start was refused because a closed run of that id exists that the reuse policy keeps: it ended. */
function isAlreadyStarted(error: unknown): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (current instanceof WorkflowExecutionAlreadyStartedError) return true;
  }
  return hasGrpcCode(error, status.ALREADY_EXISTS);
}

/** How soon a request refused for a passing reason is made again: doubling from the first, up to the max. */
const TRANSIENT_RETRY_FIRST_MS = 50;
const TRANSIENT_RETRY_MAX_MS = 2_000;

function transientPause(attempt: number): Promise<void> {
  return new Promise((resolve) =>
    setTimeout(resolve, Math.min(TRANSIENT_RETRY_FIRST_MS * 2 ** attempt, TRANSIENT_RETRY_MAX_MS)),
  );
}

/**
 * The server refuses updates and queries at once to a run whose workflow task is on its third attempt or later
 * (WorkflowNotReady: the last ones failed or timed out, as when workers die holding them) until a worker completes
 * one. After a crash that is seconds away, so an update waits it out, as it would wait for a worker anyway; a
 * query does not (it reports the conversation as recovering: the gateway's 503).
 */
export function isWorkflowNotReady(error: unknown): boolean {
  return (
    hasGrpcCode(error, status.FAILED_PRECONDITION) && describeChain(error).includes('Workflow Task in failed state')
  );
}

/** Makes an update again while its run refuses it as not ready (see isWorkflowNotReady). */
async function whenReady<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (error) {
      if (!isWorkflowNotReady(error)) throw error;
      await transientPause(attempt);
    }
  }
}

function isSwitchingRuns(error: unknown): boolean {
  return (
    error instanceof WorkflowUpdateFailedError &&
    error.cause instanceof ApplicationFailure &&
    error.cause.type === FailureTypes.SwitchingRuns
  );
}

/**
 * The client as an event stream's subscription sees it: once `signal` has aborted, it starts no more polls (it
 * throws instead, which ends the subscription). The caller's abort cancels the call under way, but the SDK hangs
 * its cancel listener on a signal at each call, and an aborted signal fires no more: a poll the subscription starts
 * after the abort (at the end of its cool-down between polls, after a StreamDraining back-off, following a
 * continue-as-new) would go out and wait in the conversation for its next event, with nobody reading.
 */
function pollsUntil(client: Client, signal: AbortSignal): Client {
  const getHandle: Client['workflow']['getHandle'] = (workflowId, runId, options) => {
    const handle = client.workflow.getHandle(workflowId, runId, options);
    const startUpdate = ((...args: Parameters<typeof handle.startUpdate>) =>
      signal.aborted
        ? Promise.reject(new Error('the watcher left the event stream'))
        : handle.startUpdate(...args)) as typeof handle.startUpdate;
    // Prototypes, not copies: everything else (options, the data converter, the handle's other calls) is the client's.
    return Object.assign(Object.create(handle) as typeof handle, { startUpdate });
  };
  const workflow = Object.assign(Object.create(client.workflow) as Client['workflow'], { getHandle });
  return Object.assign(Object.create(client) as Client, { workflow });
}

/** Whether the error, or one it wraps, is a gRPC error with this status. */
function hasGrpcCode(error: unknown, code: status): boolean {
  for (let current: unknown = error; current instanceof Error; current = current.cause) {
    if (isGrpcServiceError(current) && current.code === code) return true;
  }
  return false;
}
