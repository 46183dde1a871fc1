/**
 * The contract between the conversation workflow and its activities: inputs and results (the failure types the
 * workflow reacts to are in failure-types.ts). Sandbox-safe: types only; implementations live beside this file.
 */
import type { AgentSpec, ModelToolSpec } from './agent-spec';
import type { McpListInput, McpListResult } from './mcp-tools';
import type { PaymentCheckInput, PaymentOutcome } from './payment';
import type { ChannelRef, Reply, TokenUsage, ToolCall, TranscriptEntry } from './protocol';

export interface ModelCallInput {
  agent: string;
  conversationId: string;
  turn: number;
  /** 1 for the first model call of a turn. */
  step: number;
  model: string;
  instructions: string;
  /** The conversation's own instructions (a seed's), which the model gets after the agent's. */
  conversationInstructions?: string;
  /**
   * The transcript entries the model sees: with `window`, only the context window's (in order); without it
   * (runs recorded before short-term memory), the whole conversation.
   */
  transcript: TranscriptEntry[];
  tools: ModelToolSpec[];
  /** The context window the workflow chose (src/conversation/context-window.ts). */
  window?: ModelWindow;
  /**
   * The agent's `limits.modelIdleTimeoutMs`: the attempt gives up on a provider that sends nothing for this long.
   * Absent in calls recorded before it existed: DEFAULT_MODEL_IDLE_TIMEOUT_MS.
   */
  idleTimeoutMs?: number;
  /** The version (Agent.version) of the agent's spec the conversation holds, from an earlier answer; see `agent`. */
  agentVersion?: string;
}

/**
 * A model call as the workflow sends it: once it holds the agent's version (`agentVersion`), without the agent's
 * instructions and tools, which the worker takes from its definition of the agent, so they are not written to
 * history with every call. Calls recorded before, and the first call of a run, carry them.
 */
export type ModelCallRequest = Omit<ModelCallInput, 'instructions' | 'tools'> &
  Partial<Pick<ModelCallInput, 'instructions' | 'tools'>> & {
    /**
     * With `agentVersion` and an agent with MCP servers: the tools of the lists recorded in history, which the
     * worker offers after the agent's own (src/conversation/mcp-tools.ts). Absent otherwise.
     */
    mcpTools?: ModelToolSpec[];
  };

export interface ModelWindow {
  /**
   * The entries the model sees, as ranges of transcript indices `[first, last]` (notices inside a range are left
   * out by the activity): a window is one or two runs of entries, so its description stays small however many
   * entries it holds.
   */
  ranges: [number, number][];
  /** Indices the activity must keep even when the exact token count is over the budget. */
  pinned: number[];
  /** Prompt tokens the call must stay under. */
  budget: number;
  /** The rolling summary of the turns before the window. */
  summary?: string;
  /**
   * The transcript is in the content store (see transcript-chain.ts): the activity appends the new entries,
   * then reads the window from `from` to the end and the pinned entries by reference. `transcript` is empty.
   */
  chain?: ChainInput & { from: number; pinnedRefs: string[]; summaryRef?: string };
}

/** Where the stored transcript ends: its newest record and how many entries it holds. */
export interface ChainState {
  head: string | null;
  length: number;
}

/** The stored transcript, and the entries to store after it (the transcript's entries from `length` on). */
export interface ChainInput extends ChainState {
  append: TranscriptEntry[];
}

/** What an activity that appended to the stored transcript reports: the new end, and each new record's ref. */
export interface ChainUpdate extends ChainState {
  refs: string[];
}

export interface ModelCallResult {
  content: string;
  /** Arguments are the model's raw JSON; a malformed one is reported back to the model by the tool step. */
  toolCalls: ToolCall[];
  /** The model that answered, as the provider names it. */
  model: string;
  usage: TokenUsage;
  /** True when the provider reported no usage and `usage` was counted by the worker (usage-estimate.ts). */
  usageEstimated?: boolean;
  /** Whole micro-USD by the worker's price table (src/pricing/price-table.ts); 0 when `priced` is false. */
  costMicros?: number;
  /** False when the price table has no entry for the model: the cost is unknown, not zero. */
  priced?: boolean;
  finishReason: string;
  /**
   * Transcript entries (by index) whose content the call cut to fit the context window's budget, with their length
   * and how much of it the model was sent, in characters; absent when none was cut (and in calls recorded before it).
   */
  cutEntries?: CutEntry[];
  /**
   * The agent's definition on the worker that made the call, when it has one and it is not the version the
   * input named (calls recorded before `agentVersion` carry it always).
   */
  agent?: AgentSpec;
  /** The version of `agent`, to send with the next call. */
  agentVersion?: string;
  /** With a stored transcript: where it ends after the call stored the input's new entries (and its answer). */
  chain?: ChainUpdate;
  /**
   * Set when the call also stored its answer, as the assistant entry after the input's new entries (the last of
   * `chain.refs`), at this time: the workflow records that entry with this time, and the next call does not carry
   * the answer back to the store. Calls recorded before it existed stored only their input's entries.
   */
  answerAt?: string;
}

/** An entry the model was sent only the beginning of: its first `sentChars` of `chars` characters. */
export interface CutEntry {
  index: number;
  chars: number;
  sentChars: number;
}

export interface ToolRunInput {
  agent: string;
  conversationId: string;
  turn: number;
  toolCall: ToolCall;
}

export interface ToolRunResult {
  content: string;
  /** True when the result reports an error to the model (bad arguments, a failing tool). */
  isError: boolean;
}

export interface DeliveryInput {
  agent: string;
  conversationId: string;
  channel: ChannelRef;
  reply: Reply;
  /**
   * `busy`: the reply refuses a post that came while the conversation was busy (`onBusy: 'reject'`). Its sender is
   * told to post the same id again later, whose real reply must not share the refusal's idempotency key, or a
   * receiver that dedupes would drop it (src/channels/delivery-key.ts). Absent on every other delivery.
   */
  refusal?: 'busy';
}

export interface DeliveryResult {
  /** The channel's own answer, e.g. the webhook's HTTP status. */
  detail: string;
}

/**
 * Folds older transcript entries into a conversation's rolling summary (short-term memory, src/memory). With
 * `chain` (every run since the content store), the activity reads the entries from the store; runs recorded
 * before it carry them in `entries`.
 */
export interface SummarizeInput {
  agent: string;
  conversationId: string;
  turn: number;
  /** The model that writes the summary: the agent's own. */
  model: string;
  /** The summary so far, if any: the new one replaces it. */
  previous?: string;
  /** The entries to fold, oldest first (the plan's `fold`); empty with `chain`. */
  entries: TranscriptEntry[];
  /**
   * The transcript is in the content store: fold its entries `from` to `through` (notices left out); the
   * summary so far is `previousRef`, and the result is stored, its reference returned.
   */
  chain?: ChainInput & { from: number; through: number; previousRef?: string };
  /** How long the summary may be (the policy's `summaryTargetTokens`). */
  targetTokens: number;
}

export interface SummarizeResult {
  /** The summary; left out (empty) when it was stored and `ref` names it. */
  text: string;
  /** With a stored transcript: the stored summary. */
  ref?: string;
  chain?: ChainUpdate;
  /** The summary's exact token count for `model` (or the documented estimate for models without a tokenizer). */
  tokens: number;
  /** The model that answered, as the provider names it. */
  model: string;
  /** What the summarization used: the conversation's usage, like any model call. */
  usage: TokenUsage;
  /** Whole micro-USD by the worker's price table, as for a model call; 0 when `priced` is false. */
  costMicros?: number;
  priced?: boolean;
}

/** The activities a conversation uses, by name. */
export interface ConversationActivities {
  loadAgent(agent: string): Promise<AgentSpec>;
  callModel(input: ModelCallRequest): Promise<ModelCallResult>;
  runTool(input: ToolRunInput): Promise<ToolRunResult>;
  deliverReply(input: DeliveryInput): Promise<DeliveryResult>;
  /** Folds older turns into the rolling summary (src/activities/summarize.ts). */
  summarize(input: SummarizeInput): Promise<SummarizeResult>;
  /** Checks and consumes a message's payment in one idempotent call, keyed by the reference (src/activities/payment.ts). */
  verifyPayment(input: PaymentCheckInput): Promise<PaymentOutcome>;
  /** Lists one MCP server's tools, at the start of a turn that finds its recorded list missing or old. */
  listMcpTools(input: McpListInput): Promise<McpListResult>;
}

/** One scheduled message, posted to its conversation with the firing's workflow id as message id. */
export interface ScheduledPostInput {
  agent: string;
  conversationId: string;
  messageId: string;
  content: string;
  author?: string;
  channel?: ChannelRef;
}

/** The activity of the `scheduledMessage` workflow. */
export interface ScheduledMessageActivities {
  postScheduledMessage(input: ScheduledPostInput): Promise<void>;
}

/** Every activity the Vigil worker registers. */
export type WorkerActivities = ConversationActivities & ScheduledMessageActivities;
