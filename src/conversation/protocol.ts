/**
 * Vigil's public message protocol: every signal, update and query of a conversation, with its zod schema and
 * TypeScript type. Apps may send these as raw Temporal signals and updates, so the names and shapes here are
 * a contract; the workflow, the typed client, the gateway and the tests all import them from this one module.
 *
 * This module is loaded inside the workflow sandbox: no Node built-ins, no I/O.
 */
import { FailureTypes } from './failure-types';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { z } from 'zod';
import { sharedSchema } from './shared-schema';

export const WORKFLOW_TYPE = 'conversation';
export const DEFAULT_TASK_QUEUE = 'vigil';

/**
 * `conversation:<agent>:<conversationId>`: one workflow per (agent, conversation id). Unambiguous because an agent
 * name has no `:` (AgentName): the agent is what comes before the first `:` after the prefix.
 */
export function conversationWorkflowId(agent: string, conversationId: string): string {
  return `conversation:${agent}:${conversationId}`;
}

// ---- The id grammar: checked at every boundary (client, gateway, webhooks, schedules, CLI) ------------------

/** The longest agent name, conversation id or message id; the gateway takes ids this long in its paths too. */
export const MAX_ID_LENGTH = 200;

/**
 * An agent's name (and a schedule's): no `:`, which separates the parts of workflow and schedule ids, so two
 * different (agent, conversation) pairs can never share a workflow id.
 */
export const AgentName = sharedSchema('protocol.AgentName', () =>
  z
    .string()
    .min(1)
    .max(MAX_ID_LENGTH)
    .regex(/^[A-Za-z0-9._@-]*$/, "use letters, digits and . _ @ - only (':' would make ids ambiguous)"),
);

/** A conversation's id: `:` is allowed (`acct:42`), since it comes last in the ids built from it. */
export const ConversationId = sharedSchema('protocol.ConversationId', () =>
  z
    .string()
    .min(1)
    .max(MAX_ID_LENGTH)
    .regex(/^[A-Za-z0-9._:@-]+$/, 'use letters, digits and . _ : @ - only'),
);

/**
 * A message's id: visible ASCII, since it travels in HTTP headers (`Idempotency-Key`, `x-vigil-message-id`, a
 * delivery's `idempotency-key`), which cannot carry spaces at their ends, control characters or other text.
 */
export const MessageId = sharedSchema('protocol.MessageId', () =>
  z
    .string()
    .min(1)
    .max(MAX_ID_LENGTH)
    .regex(
      /^[\x21-\x7E]*$/,
      'use visible ASCII characters only (no spaces, control characters or other text): message ids travel in HTTP headers',
    ),
);

/**
 * Names as conversations recorded before the grammar above were started with (an agent name could hold `:`):
 * what the workflow itself accepts, so that their runs still replay and continue. New ones are checked at the
 * boundaries with AgentName and ConversationId.
 */
const RecordedName = sharedSchema('protocol.RecordedName', () =>
  z
    .string()
    .min(1)
    .max(MAX_ID_LENGTH)
    .regex(/^[A-Za-z0-9._:@-]+$/, 'use letters, digits and . _ : @ - only'),
);

/** An agent and one of its conversations, as every boundary takes them. */
export const ConversationAddress = sharedSchema('protocol.ConversationAddress', () =>
  z.object({ agent: AgentName, conversationId: ConversationId }).strict(),
);
export type ConversationAddress = z.infer<typeof ConversationAddress>;

/**
 * A webhook's URL: absolute http(s), without credentials. A URL is recorded in history with the message, so
 * `user:password@` would put a secret there; receivers authenticate deliveries by their signature instead.
 */
export const WebhookUrl = sharedSchema('protocol.WebhookUrl', () =>
  z
    .string()
    .url()
    .max(2000)
    .refine((text) => {
      // What is no URL at all, `.url()` reports already.
      if (!URL.canParse(text)) return true;
      const url = new URL(text);
      return (url.protocol === 'http:' || url.protocol === 'https:') && !url.username && !url.password;
    }, 'use an http or https URL without credentials (user:password@)'),
);

/** Where a reply goes besides the caller that waits for it. Secrets (signing keys) stay in worker config. */
export const ChannelRef = sharedSchema('protocol.ChannelRef', () =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('log') }).strict(),
    z.object({ type: z.literal('webhook'), url: WebhookUrl }).strict(),
  ]),
);
export type ChannelRef = z.infer<typeof ChannelRef>;

/** A channel as recorded before WebhookUrl (see RecordedInboundMessage); the delivery refuses what it cannot send. */
const RecordedChannelRef = sharedSchema('protocol.RecordedChannelRef', () =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('log') }).strict(),
    z.object({ type: z.literal('webhook'), url: z.string().url().max(2000) }).strict(),
  ]),
);

/**
 * Metadata travels with the message into history and to tools: plain JSON, at most this deep and this large, so
 * a hostile body cannot exhaust a parser or a stack on the way (src/gateway, the workflow, deliveries).
 */
export const MAX_METADATA_DEPTH = 16;
export const MAX_METADATA_BYTES = 16 * 1024;

const Metadata = sharedSchema('protocol.Metadata', () =>
  z.record(z.string(), z.unknown()).superRefine((value, ctx) => {
    const problem = metadataProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
);

/** Why metadata is refused, or undefined: deeper than MAX_METADATA_DEPTH, or larger than MAX_METADATA_BYTES as JSON. */
function metadataProblem(value: unknown): string | undefined {
  // Iterative, so the check itself cannot overflow the stack on the input it exists to refuse.
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (node === null || typeof node !== 'object') continue;
    if (depth > MAX_METADATA_DEPTH) return `nested deeper than ${MAX_METADATA_DEPTH} levels`;
    for (const child of Object.values(node)) stack.push([child, depth + 1]);
  }
  const bytes = new TextEncoder().encode(JSON.stringify(value)).length;
  return bytes > MAX_METADATA_BYTES ? `${bytes} bytes as JSON, more than ${MAX_METADATA_BYTES}` : undefined;
}

/**
 * An inbound message, for the `send` update and the `message` signal: what every boundary takes, and what the
 * `send` validator checks.
 */
export const InboundMessage = sharedSchema('protocol.InboundMessage', () =>
  z
    .object({
      id: MessageId,
      content: z.string().min(1).max(100_000),
      author: z.string().min(1).max(200).optional(),
      channel: ChannelRef.optional(),
      metadata: Metadata.optional(),
      /** Pays for the message when the agent sets a price: a reference the agent's payment verifier knows. */
      payment: z
        .object({ reference: z.string().min(1).max(200) })
        .strict()
        .optional(),
    })
    .strict(),
);
export type InboundMessage = z.infer<typeof InboundMessage>;

/**
 * A message as the workflow's `message` signal handler accepted it before the id grammar and metadata limits: a
 * signal is recorded before it is checked, and one admitted in a recorded history must be admitted again when that
 * history replays. Boundaries check InboundMessage before they signal, and runs recorded since the
 * `vigil-post-grammar-1` patch drop a signal that does not pass it (src/workflows/conversation.ts).
 */
export const RecordedInboundMessage = sharedSchema('protocol.RecordedInboundMessage', () =>
  InboundMessage.extend({
    id: z.string().min(1).max(MAX_ID_LENGTH),
    channel: RecordedChannelRef.optional(),
    metadata: z.record(z.string(), z.unknown()).optional(),
  }),
);

export const TokenUsage = sharedSchema('protocol.TokenUsage', () =>
  z.object({
    inputTokens: z.number().int().nonnegative(),
    outputTokens: z.number().int().nonnegative(),
    /** Micro-USD (1 USD = 1,000,000) by the worker's price table; absent where the model had no price. */
    costMicros: z.number().int().nonnegative().optional(),
  }),
);
export type TokenUsage = z.infer<typeof TokenUsage>;

/**
 * `budget_exceeded` and `payment_required` turns made no model call: the agent's budget was used up, or the
 * message did not carry a payment its verifier accepted.
 */
export const ReplyStatus = sharedSchema('protocol.ReplyStatus', () =>
  z.enum(['completed', 'step_limit', 'cancelled', 'error', 'budget_exceeded', 'payment_required']),
);
export type ReplyStatus = z.infer<typeof ReplyStatus>;

/**
 * What of a turn was cut short, each part present only when it was; a transcript notice of the turn says the same
 * in words. Beside `status` rather than a status of its own, so a client that does not know it still reads the reply.
 */
export const ReplyCut = sharedSchema('protocol.ReplyCut', () =>
  z.object({
    /** The model stopped at its output limit (finish_reason `length`): `content` ends where it stopped. */
    answer: z.literal('output_limit').optional(),
    /**
     * The message was longer than the agent's context window (its `memory.maxContextTokens`): the model was sent
     * only its first `sentChars` of `chars` characters.
     */
    message: z.object({ chars: z.number().int().nonnegative(), sentChars: z.number().int().nonnegative() }).optional(),
  }),
);
export type ReplyCut = z.infer<typeof ReplyCut>;

/** The outcome of one turn: what `send` returns and what is delivered to the message's channel. */
export const Reply = sharedSchema('protocol.Reply', () =>
  z.object({
    messageId: z.string(),
    turn: z.number().int().positive(),
    status: ReplyStatus,
    content: z.string(),
    /** The models that answered in this turn, in call order (a model change is visible per turn). */
    models: z.array(z.string()),
    usage: TokenUsage,
    /** Absent when nothing was cut (and in replies from before it existed). */
    cut: ReplyCut.optional(),
  }),
);
export type Reply = z.infer<typeof Reply>;

export const ToolCall = sharedSchema('protocol.ToolCall', () =>
  z.object({
    id: z.string(),
    name: z.string(),
    /** The raw JSON arguments as the model produced them; validated against the tool's schema before it runs. */
    arguments: z.string(),
  }),
);
export type ToolCall = z.infer<typeof ToolCall>;

/** One entry of the conversation as it is kept and shown. */
export const TranscriptEntry = sharedSchema('protocol.TranscriptEntry', () =>
  z.discriminatedUnion('role', [
    z.object({
      role: z.literal('user'),
      turn: z.number().int(),
      messageId: z.string(),
      content: z.string(),
      author: z.string().optional(),
      at: z.string(),
    }),
    z.object({
      role: z.literal('assistant'),
      turn: z.number().int(),
      content: z.string(),
      toolCalls: z.array(ToolCall),
      model: z.string(),
      usage: TokenUsage,
      at: z.string(),
    }),
    z.object({
      role: z.literal('tool'),
      turn: z.number().int(),
      toolCallId: z.string(),
      name: z.string(),
      content: z.string(),
      isError: z.boolean(),
      at: z.string(),
    }),
    /** What the runtime itself says: limits reached, cancellations, errors shown to the user. */
    z.object({
      role: z.literal('notice'),
      turn: z.number().int(),
      content: z.string(),
      /** On the notice of a handoff: the agent that handed the conversation over, and the one that answers now. */
      handoff: z.object({ from: z.string(), to: z.string() }).optional(),
      at: z.string(),
    }),
  ]),
);
export type TranscriptEntry = z.infer<typeof TranscriptEntry>;

export const Decision = sharedSchema('protocol.Decision', () =>
  z
    .object({
      toolCallId: z.string().min(1),
      decision: z.enum(['approve', 'reject']),
      reason: z.string().max(2000).optional(),
      /** Approve this tool for the rest of the conversation. */
      remember: z.boolean().optional(),
    })
    .strict(),
);
export type Decision = z.infer<typeof Decision>;

export const PendingApproval = sharedSchema('protocol.PendingApproval', () =>
  z.object({
    toolCallId: z.string(),
    tool: z.string(),
    arguments: z.string(),
    requestedAt: z.string(),
    /** When an unanswered request is rejected, if the agent sets an approval timeout. */
    expiresAt: z.string().optional(),
  }),
);
export type PendingApproval = z.infer<typeof PendingApproval>;

const UsageTotals = sharedSchema('protocol.UsageTotals', () =>
  z.object({
    inputTokens: z.number().int(),
    outputTokens: z.number().int(),
    costMicros: z.number().int(),
    modelCalls: z.number().int(),
    unpricedCalls: z.number().int(),
  }),
);

export const ConversationStatus = sharedSchema('protocol.ConversationStatus', () =>
  z.enum(['idle', 'running', 'awaiting_approval', 'ended']),
);
export type ConversationStatus = z.infer<typeof ConversationStatus>;

/** The parent of a sub-agent conversation (agentAsTool): the conversation, turn and tool call it answers. */
export const ChildOf = sharedSchema('protocol.ChildOf', () =>
  z
    .object({
      agent: RecordedName,
      conversationId: RecordedName,
      turn: z.number().int().nonnegative(),
      toolCallId: z.string().min(1).max(MAX_ID_LENGTH),
    })
    .strict(),
);
export type ChildOf = z.infer<typeof ChildOf>;

/** A sub-agent conversation (agentAsTool) a turn waits for: its address, and whether it waits for approvals. */
export const SubConversation = sharedSchema('protocol.SubConversation', () =>
  z.object({
    toolCallId: z.string(),
    agent: z.string(),
    conversationId: z.string(),
    status: z.enum(['running', 'awaiting_approval']),
    /** Its tool calls waiting for a decision: answer them on the sub-conversation (`decide` to its address). */
    pendingApprovals: z.array(PendingApproval),
  }),
);
export type SubConversation = z.infer<typeof SubConversation>;

/** What a sub-agent conversation tells its parent when it starts or stops waiting for approvals. */
export const SubConversationUpdate = sharedSchema('protocol.SubConversationUpdate', () =>
  z
    .object({
      toolCallId: z.string().min(1).max(MAX_ID_LENGTH),
      status: z.enum(['running', 'awaiting_approval']),
      pendingApprovals: z.array(PendingApproval),
    })
    .strict(),
);
export type SubConversationUpdate = z.infer<typeof SubConversationUpdate>;

/** What the `state` query answers. */
export const ConversationView = sharedSchema('protocol.ConversationView', () =>
  z.object({
    /** The conversation's own agent: part of its address, whoever answers now. */
    agent: z.string(),
    /** The agent that answers now: `agent`, or the one a handoff gave the conversation to (absent from older workers). */
    currentAgent: z.string().optional(),
    conversationId: z.string(),
    status: ConversationStatus,
    currentTurn: z
      .object({ turn: z.number().int(), messageId: z.string(), step: z.number().int(), startedAt: z.string() })
      .nullable(),
    queued: z.array(z.object({ id: z.string(), author: z.string().optional() })),
    /** The message whose reply is being delivered to its channel (retried while the channel is down), between turns. */
    delivering: z.string().nullable().optional(),
    pendingApprovals: z.array(PendingApproval),
    rememberedTools: z.array(z.string()),
    /** Totals, and per model and per message author (see ConversationUsage in src/conversation/usage.ts). */
    usage: UsageTotals.extend({
      byModel: z.record(z.string(), UsageTotals),
      byAuthor: z.record(z.string(), UsageTotals),
      otherModels: UsageTotals.nullable(),
      otherAuthors: UsageTotals.nullable(),
    }),
    /** Short-term memory: how much of the transcript the rolling summary covers, when there is one. */
    memory: z.object({ summarizedThrough: z.number().int(), summaryTokens: z.number().int() }).nullable(),
    turns: z.number().int(),
    ending: z.boolean(),
    /** The conversation this one was forked from, and at which of its turns; absent for one that was not. */
    forkedFrom: z.object({ conversationId: z.string(), turn: z.number().int() }).optional(),
    /** The sub-agent conversations the turn waits for (agentAsTool); absent when none. */
    subConversations: z.array(SubConversation).optional(),
    /** For a sub-agent conversation: the conversation, turn and tool call it answers. */
    childOf: ChildOf.optional(),
  }),
);
export type ConversationView = z.infer<typeof ConversationView>;

export const TranscriptPageRequest = sharedSchema('protocol.TranscriptPageRequest', () =>
  z
    .object({
      /** Index of the first entry; 0 when absent. */
      offset: z.number().int().nonnegative().optional(),
      limit: z.number().int().min(1).max(500).optional(),
    })
    .strict(),
);
export type TranscriptPageRequest = z.infer<typeof TranscriptPageRequest>;

export const TranscriptPage = sharedSchema('protocol.TranscriptPage', () =>
  z.object({
    entries: z.array(TranscriptEntry),
    offset: z.number().int(),
    total: z.number().int(),
    nextOffset: z.number().int().nullable(),
  }),
);
export type TranscriptPage = z.infer<typeof TranscriptPage>;

/**
 * An entry a long conversation keeps only in the content store: what the workflow still needs to plan context
 * windows (its role, turn and token count) and the reference to the stored record. A conversation carries its
 * older entries this way across continue-as-new, so its memory and the state it carries stay small.
 */
export const StoredTranscriptEntry = sharedSchema('protocol.StoredTranscriptEntry', () =>
  z.object({
    role: z.enum(['user', 'assistant', 'tool', 'notice']),
    turn: z.number().int(),
    at: z.string(),
    /** The entry's content tokens (the model's output tokens for an answer), as the window planner counts them. */
    tokens: z.number().int().nonnegative(),
    /** The transcript record in the content store (src/store/transcript-chain.ts). */
    stored: z.string(),
  }),
);
export type StoredTranscriptEntry = z.infer<typeof StoredTranscriptEntry>;

/**
 * What the `transcript` query answers: entries as the conversation holds them, older ones possibly as stored
 * references. `AgentClient.transcript` reads those from the content store and returns a TranscriptPage.
 */
export const HeldTranscriptPage = sharedSchema('protocol.HeldTranscriptPage', () =>
  TranscriptPage.extend({ entries: z.array(z.union([TranscriptEntry, StoredTranscriptEntry])) }),
);
export type HeldTranscriptPage = z.infer<typeof HeldTranscriptPage>;

export const CancelTurnRequest = sharedSchema('protocol.CancelTurnRequest', () =>
  z
    .object({
      reason: z.string().max(2000).optional(),
      /** Cancel only this message's turn: a turn of another message in flight is left alone. */
      messageId: z.string().min(1).max(MAX_ID_LENGTH).optional(),
    })
    .strict(),
);
export type CancelTurnRequest = z.infer<typeof CancelTurnRequest>;

export const CancelTurnResult = sharedSchema('protocol.CancelTurnResult', () =>
  z.object({ cancelled: z.boolean(), turn: z.number().int().nullable() }),
);
export type CancelTurnResult = z.infer<typeof CancelTurnResult>;

/** The most text a seed may carry, all turns and instructions together: it is written to history whole. */
export const MAX_SEED_CHARS = 1_000_000;

/**
 * What a new conversation starts with besides its agent's definition: instructions of its own (a chat client's
 * system prompt, added after the agent's) and earlier turns (the history a chat client holds), which the model
 * sees as the conversation's first entries. A seed takes effect only when it starts the conversation; a running
 * one keeps what it has.
 */
export const ConversationSeed = sharedSchema('protocol.ConversationSeed', () =>
  z
    .object({
      instructions: z.string().min(1).max(100_000).optional(),
      turns: z
        .array(
          z
            .object({
              role: z.enum(['user', 'assistant']),
              content: z.string().max(100_000),
              author: InboundMessage.shape.author,
            })
            .strict(),
        )
        .max(1000)
        .default([]),
    })
    .strict()
    .refine(
      (seed) =>
        (seed.instructions?.length ?? 0) + seed.turns.reduce((sum, turn) => sum + turn.content.length, 0) <=
        MAX_SEED_CHARS,
      `holds more than ${MAX_SEED_CHARS} characters; send fewer earlier turns`,
    ),
);
export type ConversationSeed = z.infer<typeof ConversationSeed>;

// ---- Forking: a new conversation from the first turns of another -------------------------------------------

/**
 * A reference to a record in the content store, as src/store/content-ref.ts makes them (`sha256:<64 hex>`); spelt
 * out here because workflow code may not import the store.
 */
const ContentRefSchema = sharedSchema('protocol.ContentRef', () =>
  z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be a content reference, sha256:<64 lowercase hex digits>'),
);

/**
 * What a fork is asked for (`AgentClient.fork`, the gateway's `POST .../fork`, `vigil fork`): the last turn of the
 * original it keeps, the new conversation's id (generated when absent), and instructions of its own to replace the
 * original's (its seed's), for a retry with another instruction.
 */
export const ForkOptions = sharedSchema('protocol.ForkOptions', () =>
  z
    .object({
      atTurn: z.number().int().positive(),
      to: ConversationId.optional(),
      instructions: z.string().min(1).max(100_000).optional(),
    })
    .strict(),
);
export type ForkOptions = z.infer<typeof ForkOptions>;

/** The `forkPoint` query's argument: the original's last turn the fork keeps. */
export const ForkPointRequest = sharedSchema('protocol.ForkPointRequest', () =>
  ForkOptions.pick({ atTurn: true }).strict(),
);
export type ForkPointRequest = z.infer<typeof ForkPointRequest>;

/**
 * What a fork starts from (StartConversation.fork), as the original answers the `forkPoint` query: its transcript
 * up to the end of turn `turns`, the entries already in the content store as references to the original's own
 * records (shared, not copied: a stored record names the one before it, so the record of entry i is the head of
 * a chain of exactly entries 0..i), only the newest not yet stored whole. Also its own instructions, its busy
 * policy, and its rolling summary when that covers only these entries. Its message ids, usage, queue, approvals,
 * remembered tools and channels stay with the original.
 */
export const ForkPoint = sharedSchema('protocol.ForkPoint', () =>
  z
    .object({
      from: z.object({ conversationId: RecordedName, turn: z.number().int().positive() }).strict(),
      turns: z.number().int().positive(),
      transcript: z.array(z.union([TranscriptEntry, StoredTranscriptEntry.extend({ stored: ContentRefSchema })])),
      chain: z.object({ head: ContentRefSchema.nullable(), length: z.number().int().nonnegative() }).strict(),
      entryRefs: z.array(ContentRefSchema),
      instructions: z.string().min(1).max(100_000).optional(),
      summary: z
        .object({
          text: z.string(),
          ref: ContentRefSchema.optional(),
          tokens: z.number().int().nonnegative(),
          coversThrough: z.number().int().nonnegative(),
          model: z.string(),
        })
        .strict()
        .optional(),
      /** The agent's busy policy as last seen (ConversationState.onBusy): absent for `queue`. */
      onBusy: z.enum(['reject', 'interrupt']).optional(),
    })
    .strict()
    .superRefine((point, ctx) => {
      const problem = forkPointProblem(point);
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    }),
);
export type ForkPoint = z.infer<typeof ForkPoint>;

/** Why a fork point does not hang together (its chain, references and turns), or undefined when it does. */
function forkPointProblem(point: Omit<ForkPoint, never>): string | undefined {
  const { chain, entryRefs, transcript } = point;
  if (point.from.turn !== point.turns) return `from.turn ${point.from.turn} is not turns ${point.turns}`;
  if (entryRefs.length !== chain.length) return `${entryRefs.length} entry references for a chain of ${chain.length}`;
  if (chain.length > transcript.length) return `a chain of ${chain.length} for ${transcript.length} entries`;
  if (chain.head !== (entryRefs.at(-1) ?? null)) return 'the chain head is not the last entry reference';
  for (const [index, entry] of transcript.entries()) {
    if (entry.turn > point.turns) return `entry ${index} is of turn ${entry.turn}, after turn ${point.turns}`;
    if ('stored' in entry && entry.stored !== entryRefs[index]) {
      return `entry ${index} is held as stored but is not the chain's entry ${index}`;
    }
  }
  if (point.summary && point.summary.coversThrough >= transcript.length) {
    return `the summary covers entries through ${point.summary.coversThrough}, beyond the ${transcript.length} kept`;
  }
  return undefined;
}

/**
 * What the `forkPoint` query answers: the point, or why there is none (the turn is beyond the finished ones, or
 * is still running): an answer rather than a failed query, so the client can tell the caller which.
 */
export const ForkPointAnswer = sharedSchema('protocol.ForkPointAnswer', () =>
  z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('point'), point: ForkPoint }),
    z.object({ kind: z.literal('refused'), reason: z.enum(['beyond', 'running']), message: z.string() }),
  ]),
);
export type ForkPointAnswer = z.infer<typeof ForkPointAnswer>;

/** What `AgentClient.fork` returns (and the gateway's 201): the new conversation and where it came from. */
export interface ForkResult {
  agent: string;
  conversationId: string;
  forkedFrom: { conversationId: string; turn: number };
  /** Its finished turns, the original's first ones: its next message is turn `turns + 1`. */
  turns: number;
}

/** The workflow's input. Its names are checked as recorded ones (RecordedName); boundaries use ConversationAddress. */
export const StartConversation = sharedSchema('protocol.StartConversation', () =>
  z
    .object({
      agent: RecordedName,
      conversationId: RecordedName,
      /** A state carried over from an earlier run (continue-as-new) or seeded by the app. */
      state: z.unknown().optional(),
      /** The event stream's state, carried over from the earlier run by continue-as-new. */
      events: z.unknown().optional(),
      /** What a new conversation starts with (see ConversationSeed); a run with `state` has it already. */
      seed: ConversationSeed.optional(),
      /** A fork of another conversation's first turns (see ForkPoint); a run with `state` has it already. */
      fork: ForkPoint.optional(),
      /**
       * A sub-agent conversation (agentAsTool) started by another conversation's tool call: it takes `message`, its
       * only one, answers it, and ends; its parent reads the reply from its result. Both or neither.
       */
      childOf: ChildOf.optional(),
      message: InboundMessage.optional(),
    })
    .strict(),
);
export type StartConversation = z.infer<typeof StartConversation>;

/** Workflow type of one firing of a schedule (src/schedules): it posts one message to a conversation. */
export const SCHEDULED_MESSAGE_WORKFLOW_TYPE = 'scheduledMessage';

/**
 * Input of `scheduledMessage`. The message id is the firing's own workflow id (schedule id + fire time), so a
 * retried or re-run firing never makes a second turn; `channel` is where the reply goes (the schedule's origin).
 */
export const ScheduledMessageInput = sharedSchema('protocol.ScheduledMessageInput', () =>
  z
    .object({
      agent: RecordedName,
      conversationId: RecordedName,
      content: InboundMessage.shape.content,
      author: InboundMessage.shape.author,
      channel: ChannelRef.optional(),
    })
    .strict(),
);
export type ScheduledMessageInput = z.infer<typeof ScheduledMessageInput>;

/**
 * What a conversation tells its watchers as it goes: the `events` stream of the gateway (SSE), `vigil chat`
 * and `AgentClient.events()`. Lifecycle events are published by the workflow; `model.delta` by the model
 * activity while the completion streams. Deltas are a preview: a retried model call streams again from the
 * start with a higher `attempt`, and the `reply` event is the authoritative text.
 */
export const ConversationEvent = sharedSchema('protocol.ConversationEvent', () =>
  z.discriminatedUnion('type', [
    z.object({ type: z.literal('turn.started'), turn: z.number().int(), messageId: z.string(), at: z.string() }),
    z.object({
      type: z.literal('model.delta'),
      turn: z.number().int(),
      step: z.number().int(),
      attempt: z.number().int(),
      text: z.string(),
    }),
    z.object({ type: z.literal('tool.requested'), turn: z.number().int(), toolCall: ToolCall }),
    z.object({ type: z.literal('tool.awaiting_approval'), turn: z.number().int(), approval: PendingApproval }),
    z.object({
      type: z.literal('tool.decided'),
      turn: z.number().int(),
      toolCallId: z.string(),
      decision: z.enum(['approve', 'reject', 'expired']),
    }),
    z.object({
      type: z.literal('tool.finished'),
      turn: z.number().int(),
      toolCallId: z.string(),
      name: z.string(),
      isError: z.boolean(),
      /** The result as the model sees it, cut to 2,000 characters. */
      content: z.string(),
    }),
    z.object({
      type: z.literal('notice'),
      turn: z.number().int(),
      content: z.string(),
      handoff: z.object({ from: z.string(), to: z.string() }).optional(),
    }),
    z.object({ type: z.literal('reply'), reply: Reply }),
    /** A sub-agent conversation of the turn started, waits for approvals, or goes on (see SubConversation). */
    z.object({ type: z.literal('sub_conversation'), turn: z.number().int(), subConversation: SubConversation }),
    z.object({ type: z.literal('conversation.ended'), turns: z.number().int() }),
    /** Not from the conversation: the watcher asked for events older than those kept, and resumes at the oldest. */
    z.object({ type: z.literal('stream.gap'), missedFrom: z.number().int(), resumedAt: z.number().int() }),
  ]),
);
export type ConversationEvent = z.infer<typeof ConversationEvent>;
export type ConversationEventType = ConversationEvent['type'];

/**
 * One event with its position in the conversation's stream: resume after `offset` to miss nothing. `null` only
 * for `stream.gap`, which is not a position.
 */
export interface ConversationEventEnvelope {
  offset: number | null;
  event: ConversationEvent;
}

/** The workflow-streams topics the conversation uses: lifecycle events, and model token deltas. */
export const EVENT_TOPICS = { lifecycle: 'events', tokens: 'tokens' } as const;

// ---- Temporal definitions: the wire names apps use ---------------------------------------------------------

/** Sends a message and waits for the turn's reply. A seen message id returns the original reply. */
export const sendUpdate = defineUpdate<Reply, [InboundMessage]>('send');
/** Sends a message without waiting; the reply goes to the message's channel. */
export const messageSignal = defineSignal<[InboundMessage]>('message');
/** Answers a pending tool approval. */
export const decideUpdate = defineUpdate<{ accepted: true }, [Decision]>('decide');
/** Cancels the turn in flight: its running model or tool activity is cancelled and the turn recorded so. */
export const cancelTurnUpdate = defineUpdate<CancelTurnResult, [CancelTurnRequest?]>('cancelTurn');
/** Closes the conversation after the current turn and any queued messages. */
export const endSignal = defineSignal('end');
/** Sent by a sub-agent conversation to its parent (agentAsTool): it waits for approvals, or no longer does. */
export const subConversationSignal = defineSignal<[SubConversationUpdate]>('subConversation');
export const stateQuery = defineQuery<ConversationView>('state');
export const transcriptQuery = defineQuery<HeldTranscriptPage, [TranscriptPageRequest?]>('transcript');
/** What a fork at a past turn starts from (ForkPointAnswer); read-only, so the original is left as it was. */
export const forkPointQuery = defineQuery<ForkPointAnswer, [ForkPointRequest]>('forkPoint');

/** The failure type a `send` is refused with while a busy conversation moves to its next run (FailureTypes.SwitchingRuns). */
export const SWITCHING_RUNS = FailureTypes.SwitchingRuns;

/** zod error -> one readable line, for validators, the client and the gateway. */
export function describeZodError(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.length ? i.path.join('.') : 'value'}: ${i.message}`).join('; ');
}
