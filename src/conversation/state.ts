/**
 * A conversation's state and the pure rules of a turn: what happens next given the state and the model's
 * answer. No Temporal here, so every rule is unit-tested without a server; the workflow only carries out the
 * steps these functions choose. State is plain JSON with a schema version, so it can travel through
 * continue-as-new and be read back by newer code.
 */
import { type AgentSpec, type HandoffSpec, modelTools } from './agent-spec';
import { assistantEntry } from './assistant-entry';
import type { McpListing } from './mcp-tools';
import type {
  ChainUpdate,
  ModelCallInput,
  ModelCallResult,
  SummarizeInput,
  SummarizeResult,
  ToolRunResult,
} from './activity-contract';
import { estimateEntryTokens, estimateFixedTokens, planContext, type WindowEntry } from './context-window';
import { memoryPolicy } from './memory-policy';
import type { PaymentCheckInput, PaymentOutcome } from './payment';
import { paymentRefusedReply, paymentRequiredReply } from './payment';
import { budgetRefusal } from './budget';
import { addModelCall, type ConversationUsage, emptyUsage, restoreUsage } from './usage';
import { addChildUsage } from './sub-agent';
import {
  addOlderId,
  type CarriedOlderIds,
  carriedOlderIds,
  emptyOlderIds,
  mayHoldId,
  type OlderIds,
  restoreOlderIds,
} from './older-ids';
import type {
  ChildOf,
  ConversationSeed,
  ConversationView,
  Decision,
  InboundMessage,
  PendingApproval,
  HeldTranscriptPage,
  Reply,
  ReplyCut,
  ReplyStatus,
  StoredTranscriptEntry,
  SubConversation,
  SubConversationUpdate,
  TokenUsage,
  ToolCall,
  TranscriptEntry,
  TranscriptPageRequest,
} from './protocol';

/**
 * 2: usage with cost, per model and per author; the rolling summary; the dedupe window's order.
 * 3: older transcript entries may be carried as stored references (StoredTranscriptEntry).
 * 4: the ids that left the dedupe window, in a filter of fixed size (`olderIds`, carried as CarriedOlderIds).
 *    Earlier versions start without one: the ids in their window go into it as they leave.
 */
export const STATE_SCHEMA_VERSION = 4;

/**
 * The newest transcript entries a continue-as-new carries whole; older ones that are in the content store go
 * as references with their token counts, which is all the rules need of them (the activities read entries from
 * the store, and `AgentClient.transcript` reads them there for people). So a conversation's state stays a few
 * hundred entries of text however long it runs.
 */
export const CARRIED_ENTRIES = 200;

/** A transcript entry as the conversation holds it: whole, or (older ones, after a continue-as-new) stored. */
export type HeldEntry = TranscriptEntry | StoredTranscriptEntry;

export function isStored(entry: HeldEntry): entry is StoredTranscriptEntry {
  return 'stored' in entry;
}

/** How many past replies are kept for `send` retries with a seen message id. */
export const REMEMBERED_REPLIES = 500;

/**
 * How many message ids are remembered exactly, with the turn each got. Older ids leave the window oldest first
 * for `olderIds`, a filter of fixed size: still never a second turn, but no reply and, rarely, a new id refused.
 */
export const DEDUPE_WINDOW = 10_000;

export interface TurnState {
  turn: number;
  message: InboundMessage;
  startedAt: string;
  /** Model calls made so far in this turn. */
  step: number;
  models: string[];
  usage: TokenUsage;
  /** The last model answer's content, returned when it asked for no tools. */
  lastAnswer: { content: string; toolCalls: ToolCall[] } | null;
  /** Tool calls of the last answer that have no result yet. */
  pendingToolCalls: ToolCall[];
  approvals: PendingApproval[];
  decisions: Record<string, Decision>;
  cancelled: { reason: string } | null;
  /** The message's payment, once its verifier answered (agents with a price only). */
  payment?: PaymentOutcome | null;
  /** What of the turn was cut short and the user was told of (turnCuts), for its reply. */
  cut?: ReplyCut;
  /** Sub-agent conversations (agentAsTool) the turn waits for; absent until the first. */
  subConversations?: SubConversation[];
}

/** The rolling summary of the turns that no longer fit the model's context window. */
export interface ConversationSummary {
  /** Empty when the summary is in the content store (`ref`). */
  text: string;
  ref?: string;
  tokens: number;
  /** Index of the last transcript entry folded into it. */
  coversThrough: number;
  model: string;
}

export interface ConversationState {
  schemaVersion: typeof STATE_SCHEMA_VERSION;
  agent: string;
  conversationId: string;
  /** Every entry, in order: whole, or stored (older entries carried over from an earlier run). */
  transcript: HeldEntry[];
  /** Accepted messages waiting for their turn, in arrival order. */
  queue: InboundMessage[];
  /** The last DEDUPE_WINDOW message ids taken, with the turn each got and, once done, its reply. */
  seen: Record<string, { turn: number | null; reply: Reply | null }>;
  /** The ids in `seen`, oldest first (object key order is not arrival order for ids that look like numbers). */
  seenOrder: string[];
  /**
   * Every id that has left `seen`, in a filter of fixed size (null until the first one leaves): such an id
   * never starts a turn again. Carried encoded (carriedState), so the state does not grow with the ids.
   */
  olderIds: OlderIds | null;
  turn: TurnState | null;
  turns: number;
  usage: ConversationUsage;
  rememberedTools: string[];
  summary: ConversationSummary | null;
  /**
   * The transcript as stored in the content store (src/store/transcript-chain.ts): its newest record and
   * length, and each stored entry's reference. Activities read the transcript from there, so their inputs (and
   * the history) carry references and the newest entries only.
   */
  chain: { head: string | null; length: number };
  entryRefs: string[];
  ending: boolean;
  /** Instructions of this conversation's own, which the model gets after the agent's (ConversationSeed). */
  instructions?: string;
  /**
   * The agent's busy policy as last seen (AgentSpec.onBusy; absent for `queue`), kept here rather than with the
   * run's cached spec so that it goes along with a continue-as-new: the send validator needs it before the next
   * run has loaded its agent. An optional field, so no new schema version: older code carries it unread.
   */
  onBusy?: AgentSpec['onBusy'];
  /**
   * The conversation this one is a fork of, and the turn it forked at (src/conversation/fork.ts). Optional, so
   * no new schema version: older code carries it unread.
   */
  forkedFrom?: { conversationId: string; turn: number };
  /**
   * The tool lists of the agent's MCP servers, by server, as the turns that fetched them recorded them (see
   * mcp-tools.ts): carried by continue-as-new, so a new run fetches none before its TTL. Optional, absent for agents
   * without MCP servers, so no new schema version: older code carries it unread.
   */
  mcpTools?: Record<string, McpListing>;
  /**
   * The agent that answers now, when a handoff gave the conversation to another agent than the one it belongs to
   * (`agent`, which stays its address: its workflow id). Absent while the first agent answers. An optional field
   * that older code carries unread, so no new schema version.
   */
  currentAgent?: string;
  /** For a sub-agent conversation (agentAsTool): the conversation, turn and tool call it answers. */
  childOf?: ChildOf;
}

export function initialState(agent: string, conversationId: string): ConversationState {
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    agent,
    conversationId,
    transcript: [],
    queue: [],
    seen: {},
    seenOrder: [],
    olderIds: null,
    turn: null,
    turns: 0,
    usage: emptyUsage(),
    rememberedTools: [],
    summary: null,
    chain: { head: null, length: 0 },
    entryRefs: [],
    ending: false,
  };
}

/**
 * A new conversation that starts from a seed: its instructions, and its earlier turns as transcript entries that
 * no message of this conversation brought (ids `seed-<n>`, never admitted, so no message id is taken). The turn
 * count goes on from them, so the first message is the turn after the last seeded one.
 */
export function seededState(
  agent: string,
  conversationId: string,
  seed: ConversationSeed,
  now: string,
): ConversationState {
  const state = initialState(agent, conversationId);
  if (seed.instructions !== undefined) state.instructions = seed.instructions;
  for (const entry of seed.turns) {
    if (entry.role === 'user') {
      state.turns++;
      state.transcript.push({
        role: 'user',
        turn: state.turns,
        messageId: `seed-${state.turns}`,
        content: entry.content,
        ...(entry.author ? { author: entry.author } : {}),
        at: now,
      });
    } else {
      // The model of a seeded answer is not known: it is the client's history.
      const usage = { inputTokens: 0, outputTokens: 0 };
      state.transcript.push({
        role: 'assistant',
        turn: state.turns,
        content: entry.content,
        toolCalls: [],
        model: SEEDED_MODEL,
        usage,
        at: now,
      });
    }
  }
  return state;
}

/** The `model` of a seeded assistant entry. */
export const SEEDED_MODEL = 'seed';

/** The agent's instructions with the conversation's own (a seed's) after them, as the model gets them. */
export function joinInstructions(agentInstructions: string, own: string | undefined): string {
  if (own === undefined) return agentInstructions;
  return agentInstructions === '' ? own : `${agentInstructions}\n\n${own}`;
}

/** Reads a state handed over by an app or an earlier run; refuses versions this code does not know. */
export function restoreState(value: unknown, agent: string, conversationId: string): ConversationState {
  const state = value as
    | (Omit<Partial<ConversationState>, 'schemaVersion' | 'olderIds'> & { schemaVersion?: number; olderIds?: unknown })
    | null;
  if (!state || typeof state !== 'object') throw new Error('initial state must be an object');
  if (![1, 2, 3, STATE_SCHEMA_VERSION].includes(state.schemaVersion as number)) {
    throw new Error(
      `unsupported state schema version ${String(state.schemaVersion)}; this code reads 1 to ${STATE_SCHEMA_VERSION}`,
    );
  }
  if (state.agent !== agent || state.conversationId !== conversationId) {
    throw new Error('initial state belongs to another conversation');
  }
  // Version 1 had token totals only, no summary and no dedupe order (its ids were in arrival order then).
  // Versions before 4 had no older ids: those that had left their window then were forgotten.
  return {
    ...(state as Omit<ConversationState, 'olderIds'>),
    schemaVersion: STATE_SCHEMA_VERSION,
    usage: restoreUsage(state.usage),
    summary: state.summary ?? null,
    seenOrder: state.seenOrder ?? Object.keys(state.seen ?? {}),
    olderIds: state.olderIds == null ? null : restoreOlderIds(state.olderIds),
    chain: state.chain ?? { head: null, length: 0 },
    entryRefs: state.entryRefs ?? [],
  };
}

// ---- admitting messages ------------------------------------------------------------------------------------

/**
 * 'new' messages are queued; a 'duplicate' id never starts a second turn. An id that left the window is not
 * looked up here: the send validator and the message signal ask olderIdRefusal first (a history recorded before
 * older ids were kept admitted such an id, and must replay as it was recorded).
 */
export function admit(state: ConversationState, message: InboundMessage): 'new' | 'duplicate' {
  if (state.seen[message.id]) return 'duplicate';
  state.seen[message.id] = { turn: null, reply: null };
  state.seenOrder.push(message.id);
  state.queue.push(message);
  forgetOldIds(state);
  return 'new';
}

/** Keeps the dedupe window: the oldest answered ids go first; a queued or running message is never forgotten. */
function forgetOldIds(state: ConversationState): void {
  while (state.seenOrder.length > DEDUPE_WINDOW) {
    const oldest = state.seenOrder[0];
    const seen = state.seen[oldest];
    if (seen && seen.reply === null && (seen.turn === null || state.turn?.message.id === oldest)) return;
    state.seenOrder.shift();
    delete state.seen[oldest];
    addOlderId((state.olderIds ??= emptyOlderIds()), oldest);
  }
}

/** Why a new message cannot be taken now, or undefined when it can. */
export function refusal(state: ConversationState, message: InboundMessage): string | undefined {
  if (state.seen[message.id]) return undefined; // a retry of a known message always gets its reply
  if (state.ending) return 'the conversation is ending and takes no new messages';
  return undefined;
}

/**
 * Why a message whose id has left the dedupe window is not taken, or undefined when its id is new. The filter
 * cannot tell a used id from the rare new one it mistakes for one (see OLDER_IDS_CAPACITY), so the words cover
 * both: a message id is answered once, and a new message goes again under a new id.
 */
export function olderIdRefusal(state: ConversationState, message: Pick<InboundMessage, 'id'>): string | undefined {
  if (state.seen[message.id] || !state.olderIds || !mayHoldId(state.olderIds, message.id)) return undefined;
  return (
    `message id ${message.id} was used in this conversation before, and its reply is no longer kept: a message id is ` +
    'answered once. If this is a new message, send it again under a new id (rarely, a new id cannot be told from one used long ago)'
  );
}

/**
 * Why a `send` is refused, or undefined: what refuses any message (refusal), a used id (olderIdRefusal), and a
 * known message whose reply is no longer kept, which no send could wait for.
 */
export function sendRefusal(state: ConversationState, message: InboundMessage): string | undefined {
  const refused = refusal(state, message) ?? olderIdRefusal(state, message);
  if (refused) return refused;
  const seen = state.seen[message.id];
  if (seen && seen.turn !== null && seen.reply === null && state.turn?.message.id !== message.id) {
    return `message ${message.id} was answered too long ago for its reply to be kept`;
  }
  return undefined;
}

// ---- handoffs -----------------------------------------------------------------------------------------------

/** The agent that answers the conversation now: its own, or the one it was last handed to. */
export function answeringAgent(state: ConversationState): string {
  return state.currentAgent ?? state.agent;
}

/** The handoff a tool call asks for, when `agent` offers one by that tool name. */
export function handoffOf(agent: AgentSpec, call: Pick<ToolCall, 'name'>): HandoffSpec | undefined {
  return agent.handoffs?.find((h) => h.toolName === call.name);
}

/** The tool result of a handoff the workflow carried out: what the model, and the next agent, read of it. */
export function handoffResult(to: string): ToolRunResult {
  return { content: `Transferred to agent "${to}", which answers from now on.`, isError: false };
}

/**
 * The conversation is now answered by `to`, from the next step on: the state says so (and carries it over a
 * continue-as-new), and the transcript has a notice of it. Call after the handoff's tool result is recorded.
 */
export function applyHandoff(state: ConversationState, to: string, now: string): void {
  const turn = requireTurn(state);
  const from = answeringAgent(state);
  if (to === state.agent) delete state.currentAgent;
  else state.currentAgent = to;
  state.transcript.push({
    role: 'notice',
    turn: turn.turn,
    content: `The conversation was handed from agent "${from}" to agent "${to}", which answers from now on.`,
    handoff: { from, to },
    at: now,
  });
}

// ---- sub-agent conversations (agentAsTool) -------------------------------------------------------------------

/** A tool call of the turn now runs as the sub-agent conversation `agent`/`conversationId`. */
export function beginSubConversation(
  state: ConversationState,
  toolCallId: string,
  agent: string,
  conversationId: string,
): void {
  const turn = requireTurn(state);
  (turn.subConversations ??= []).push({ toolCallId, agent, conversationId, status: 'running', pendingApprovals: [] });
}

/** What a sub-conversation told its parent; the updated entry, or undefined when the turn waits for no such call. */
export function updateSubConversation(
  state: ConversationState,
  update: SubConversationUpdate,
): SubConversation | undefined {
  const sub = state.turn?.subConversations?.find((s) => s.toolCallId === update.toolCallId);
  if (!sub) return undefined;
  sub.status = update.status;
  sub.pendingApprovals = update.pendingApprovals;
  return sub;
}

/**
 * A sub-conversation finished: the turn no longer waits for it, and what it used counts in this conversation's
 * usage (to the author of the turn's message) and the turn's reply.
 */
export function endSubConversation(state: ConversationState, toolCallId: string, usage?: ConversationUsage): void {
  const turn = requireTurn(state);
  turn.subConversations = turn.subConversations?.filter((s) => s.toolCallId !== toolCallId);
  if (!usage) return;
  state.usage = addChildUsage(state.usage, usage, turn.message.author);
  turn.usage = sumTokenUsage(turn.usage, {
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    ...(usage.modelCalls > usage.unpricedCalls ? { costMicros: usage.costMicros } : {}),
  });
}

// ---- a message that arrives while a turn runs ---------------------------------------------------------------

/** Remembers the agent's busy policy (see ConversationState.onBusy) whenever the run learns the agent anew. */
export function rememberBusyPolicy(state: ConversationState, agent: AgentSpec): void {
  if (agent.onBusy) state.onBusy = agent.onBusy;
  else delete state.onBusy;
}

/** A turn is in flight or messages wait for theirs. */
export function isBusy(state: ConversationState): boolean {
  return state.turn !== null || state.queue.length > 0;
}

/**
 * Why a new message is refused because the conversation is busy and its agent rejects messages then (`reject`),
 * or undefined. A known id is never refused here: a retry of a message gets its reply.
 */
export function busyRefusal(state: ConversationState, message: Pick<InboundMessage, 'id'>): string | undefined {
  if (state.onBusy !== 'reject' || state.seen[message.id] || !isBusy(state)) return undefined;
  const running = state.turn ? `turn ${state.turn.turn} (message ${state.turn.message.id}) is running` : undefined;
  const waiting = state.queue.length > 0 ? `${state.queue.length} message(s) wait for their turn` : undefined;
  return (
    `the conversation is busy: ${[running, waiting].filter(Boolean).join(' and ')}, and its agent takes no new ` +
    `message until it is idle (onBusy: 'reject'); send message ${message.id} again then`
  );
}

/**
 * Whether a message just admitted (new, not a retry) interrupts the turn in flight: its agent says so
 * (`interrupt`), and a turn runs that is not cancelled already (a message that comes while it winds down queues
 * behind the one that cancelled it).
 */
export function interrupts(state: ConversationState, message: Pick<InboundMessage, 'id'>): boolean {
  const turn = state.turn;
  return state.onBusy === 'interrupt' && turn !== null && !turn.cancelled && turn.message.id !== message.id;
}

/** Why an interrupted turn was cancelled, in its reply and notice. */
export function interruptReason(message: Pick<InboundMessage, 'id'>): string {
  return `interrupted by message ${message.id}`;
}

// ---- a turn ------------------------------------------------------------------------------------------------

export function beginTurn(state: ConversationState, now: string): TurnState {
  const message = state.queue.shift();
  if (!message) throw new Error('no queued message to begin a turn with');
  const turn: TurnState = {
    turn: state.turns + 1,
    message,
    startedAt: now,
    step: 0,
    models: [],
    usage: { inputTokens: 0, outputTokens: 0 },
    lastAnswer: null,
    pendingToolCalls: [],
    approvals: [],
    decisions: {},
    cancelled: null,
  };
  state.turn = turn;
  state.seen[message.id] = { turn: turn.turn, reply: null };
  state.transcript.push({
    role: 'user',
    turn: turn.turn,
    messageId: message.id,
    content: message.content,
    ...(message.author ? { author: message.author } : {}),
    at: now,
  });
  return turn;
}

export type Step =
  | { kind: 'call_model'; input: ModelCallInput }
  | { kind: 'summarize'; input: SummarizeInput; coversThrough: number }
  | { kind: 'verify_payment'; input: PaymentCheckInput }
  | {
      kind: 'run_tools';
      calls: ToolCall[];
      settled: { toolCall: ToolCall; result: ToolRunResult }[];
      /** A handoff the answer asked for, carried out by the workflow (it loads the agent) after the other calls. */
      handoff?: { toolCall: ToolCall; to: string };
    }
  | { kind: 'await_approval'; requests: ToolCall[] }
  | { kind: 'finish'; status: ReplyStatus; content: string };

export interface StepOptions {
  /**
   * Short-term memory: the model sees a window of the transcript under the agent's token budget, with older
   * turns folded into a summary. False only while replaying runs recorded before memory existed.
   */
  memory: boolean;
  /** False after a summary failed in this turn: the window then leaves older turns out instead. */
  summaries?: boolean;
}

/** The next thing the turn must do. */
export function nextStep(state: ConversationState, agent: AgentSpec, options: StepOptions = { memory: true }): Step {
  const turn = requireTurn(state);
  if (turn.cancelled) {
    return {
      kind: 'finish',
      status: 'cancelled',
      content: `The turn was cancelled${turn.cancelled.reason ? `: ${turn.cancelled.reason}` : '.'}`,
    };
  }
  if (turn.step === 0) {
    // Before the first model call: a conversation over its budget, or an unpaid message, costs nothing more.
    const overBudget = budgetRefusal(state.usage, agent.budget, turn.message.author);
    if (overBudget) return { kind: 'finish', status: 'budget_exceeded', content: overBudget };
    const payment = paymentStep(state, turn, agent);
    if (payment) return payment;
  }
  if (turn.pendingToolCalls.length > 0) return toolStep(state, turn, agent);
  if (turn.lastAnswer && turn.lastAnswer.toolCalls.length === 0) {
    return { kind: 'finish', status: 'completed', content: turn.lastAnswer.content };
  }
  if (turn.step >= agent.limits.maxSteps) {
    return {
      kind: 'finish',
      status: 'step_limit',
      content: `I reached this agent's limit of ${agent.limits.maxSteps} model calls for one message before finishing. Send another message to let me continue.`,
    };
  }
  if (options.memory) return memoryStep(state, turn, agent, options.summaries !== false);
  // Runs recorded before short-term memory send the whole transcript; they never carried stored entries.
  return { kind: 'call_model', input: modelInput(state, turn, agent, state.transcript.map(whole)) };
}

function paymentStep(state: ConversationState, turn: TurnState, agent: AgentSpec): Step | undefined {
  const pricing = agent.pricing;
  if (!pricing) return undefined;
  const reference = turn.message.payment?.reference;
  if (!reference) return { kind: 'finish', status: 'payment_required', content: paymentRequiredReply(pricing) };
  if (!turn.payment) {
    return {
      kind: 'verify_payment',
      input: {
        verifier: pricing.verifier,
        reference,
        amountMicros: pricing.pricePerMessageMicros,
        agent: state.agent,
        conversationId: state.conversationId,
        messageId: turn.message.id,
        ...(turn.message.author ? { author: turn.message.author } : {}),
      },
    };
  }
  if (turn.payment.status === 'refused') {
    return { kind: 'finish', status: 'payment_required', content: paymentRefusedReply(pricing, turn.payment.reason) };
  }
  return undefined;
}

export function applyPayment(state: ConversationState, outcome: PaymentOutcome): void {
  requireTurn(state).payment = outcome;
}

/** The model call over the context window, or first the summary that makes the window fit. */
function memoryStep(state: ConversationState, turn: TurnState, agent: AgentSpec, summaries: boolean): Step {
  const agentPolicy = memoryPolicy(agent);
  const policy = summaries ? agentPolicy : { ...agentPolicy, summary: false };
  const tools = modelTools(agent);
  const entries: WindowEntry[] = state.transcript.map(windowEntry);
  const plan = planContext({
    entries,
    summary: state.summary ?? undefined,
    policy,
    fixedTokens: estimateFixedTokens(joinInstructions(agent.instructions, state.instructions), tools),
  });
  const summary = state.summary;
  if (plan.kind === 'summarize') {
    return {
      kind: 'summarize',
      coversThrough: plan.coversThrough,
      input: {
        agent: state.agent,
        conversationId: state.conversationId,
        turn: turn.turn,
        model: agent.model,
        ...(summary?.text ? { previous: summary.text } : {}),
        entries: [],
        targetTokens: policy.summaryTargetTokens,
        chain: {
          ...chainInput(state),
          from: summary ? summary.coversThrough + 1 : 0,
          through: plan.coversThrough,
          ...(summary?.ref ? { previousRef: summary.ref } : {}),
        },
      },
    };
  }
  // The window is the transcript from `from` on, plus pinned entries before it, read by reference.
  const pinned = new Set(plan.pinned);
  const unstoredPinned = plan.pinned.filter((i) => i >= state.chain.length);
  const from = Math.min(plan.entries.find((i) => !pinned.has(i)) ?? state.transcript.length, ...unstoredPinned);
  return {
    kind: 'call_model',
    input: {
      ...modelInput(state, turn, agent, []),
      window: {
        ranges: toRanges(plan.entries, state.transcript),
        pinned: plan.pinned,
        budget: plan.budget,
        ...(summary?.text ? { summary: summary.text } : {}),
        chain: {
          ...chainInput(state),
          from,
          pinnedRefs: plan.pinned.filter((i) => i < from).map((i) => state.entryRefs[i]),
          ...(summary?.ref ? { summaryRef: summary.ref } : {}),
        },
      },
    },
  };
}

/** Indices as runs `[first, last]`; a gap of notices only (never shown to the model) does not break a run. */
function toRanges(indices: number[], transcript: HeldEntry[]): [number, number][] {
  const ranges: [number, number][] = [];
  for (const index of indices) {
    const last = ranges.at(-1);
    if (last && transcript.slice(last[1] + 1, index).every((e) => e.role === 'notice')) last[1] = index;
    else ranges.push([index, index]);
  }
  return ranges;
}

/** The stored transcript and what it lacks: the entries since the last activity that stored some. */
function chainInput(state: ConversationState) {
  return {
    head: state.chain.head,
    length: state.chain.length,
    append: state.transcript.slice(state.chain.length).map(whole),
  };
}

/** What the window rules read of an entry: its content tokens as recorded (answers) or estimated. */
function windowEntry(entry: HeldEntry): WindowEntry {
  if (isStored(entry)) return { role: entry.role, turn: entry.turn, tokens: entry.tokens };
  return entry.role === 'assistant' ? { ...entry, tokens: entry.usage.outputTokens } : entry;
}

/** An entry the rules need whole: only ever a recent one, which a conversation never holds as stored. */
function whole(entry: HeldEntry): TranscriptEntry {
  if (isStored(entry))
    throw new Error(`transcript entry of turn ${entry.turn} is held as stored where its content is needed`);
  return entry;
}

/**
 * The state a continue-as-new carries: the newest CARRIED_ENTRIES entries whole, and the older ones that are in
 * the content store as references with the token count the window rules would give them, so the next run plans
 * exactly the windows this one would have; and the filter of older message ids as text.
 */
export function carriedState(state: ConversationState): CarriedState {
  const olderIds = state.olderIds && carriedOlderIds(state.olderIds);
  const storedBefore = Math.min(state.chain.length, state.transcript.length - CARRIED_ENTRIES);
  if (storedBefore <= 0) return { ...state, olderIds };
  const transcript = state.transcript.map((entry, index): HeldEntry =>
    index >= storedBefore || isStored(entry) ? entry : storedReference(entry, state.entryRefs[index]),
  );
  return { ...state, transcript, olderIds };
}

/**
 * An entry as a reference to its stored record, with the token count the window rules give it, so a state that
 * holds it so plans exactly the windows it would plan holding it whole (a continue-as-new, a fork).
 */
export function storedReference(entry: TranscriptEntry, stored: string): StoredTranscriptEntry {
  const tokens = windowEntry(entry).tokens ?? estimateEntryTokens(entry);
  return { role: entry.role, turn: entry.turn, at: entry.at, tokens: entry.role === 'notice' ? 0 : tokens, stored };
}

/** The state as continue-as-new carries it: plain JSON, read back by restoreState. */
export type CarriedState = Omit<ConversationState, 'olderIds'> & { olderIds: CarriedOlderIds | null };

/** An activity stored the transcript's newest entries: it now ends at `update.head`. */
function applyChain(state: ConversationState, update: ChainUpdate | undefined): void {
  if (!update) return;
  if (update.length !== state.chain.length + update.refs.length) {
    throw new Error(
      `stored transcript out of step: ${state.chain.length} + ${update.refs.length} entries stored, ${update.length} reported`,
    );
  }
  state.entryRefs.push(...update.refs);
  state.chain = { head: update.head, length: update.length };
}

/** The summary now covers the transcript through `coversThrough`; what it cost is the conversation's usage. */
export function applySummary(state: ConversationState, result: SummarizeResult, coversThrough: number): void {
  const turn = requireTurn(state);
  applyChain(state, result.chain);
  state.summary = {
    text: result.text,
    ...(result.ref ? { ref: result.ref } : {}),
    tokens: result.tokens,
    coversThrough,
    model: result.model,
  };
  const call = { model: result.model, ...result.usage, costMicros: result.costMicros, priced: result.priced };
  state.usage = addModelCall(state.usage, call, turn.message.author);
  turn.usage = sumTokenUsage(turn.usage, {
    ...result.usage,
    ...(result.priced ? { costMicros: result.costMicros } : {}),
  });
}

function toolStep(state: ConversationState, turn: TurnState, agent: AgentSpec): Step {
  const settled: { toolCall: ToolCall; result: ToolRunResult }[] = [];
  const calls: ToolCall[] = [];
  const requests: ToolCall[] = [];
  let handoff: { toolCall: ToolCall; to: string } | undefined;
  for (const call of turn.pendingToolCalls) {
    const tool = agent.tools.find((t) => t.name === call.name);
    const decision = turn.decisions[call.id];
    // Only for an agent with handoffs: every other agent takes the path it took before handoffs existed.
    const handsOffTo = !tool && agent.handoffs ? handoffOf(agent, call) : undefined;
    if (handsOffTo && !handoff) {
      handoff = { toolCall: call, to: handsOffTo.agent };
    } else if (handsOffTo) {
      settled.push({
        toolCall: call,
        result: {
          isError: true,
          content: `only one handoff is taken per answer: the conversation goes to agent "${handoff!.to}"`,
        },
      });
    } else if (!tool) {
      settled.push({
        toolCall: call,
        result: {
          isError: true,
          content: `unknown tool "${call.name}"; available: ${toolNames(agent).join(', ') || 'none'}`,
        },
      });
    } else if (tool.approval === 'deny') {
      settled.push({
        toolCall: call,
        result: { isError: true, content: `the tool "${call.name}" is not allowed for this agent` },
      });
    } else if (decision?.decision === 'reject') {
      settled.push({
        toolCall: call,
        result: {
          isError: true,
          content: `the user rejected this call${decision.reason ? `: ${decision.reason}` : ''}`,
        },
      });
    } else if (tool.approval === 'ask' && !decision && !state.rememberedTools.includes(tool.name)) {
      requests.push(call);
    } else {
      calls.push(call);
    }
  }
  // Nothing runs until every call that needs a decision has one: the model gets all results together.
  if (requests.length > 0) return { kind: 'await_approval', requests };
  return { kind: 'run_tools', calls, settled, ...(handoff ? { handoff } : {}) };
}

/** The names the model may call: the agent's tools, then its handoffs. */
function toolNames(agent: AgentSpec): string[] {
  return [...agent.tools.map((t) => t.name), ...(agent.handoffs ?? []).map((h) => h.toolName)];
}

function modelInput(
  state: ConversationState,
  turn: TurnState,
  agent: AgentSpec,
  transcript: TranscriptEntry[],
): ModelCallInput {
  return {
    // The agent whose definition the worker answers with: the one handed to, if any.
    agent: answeringAgent(state),
    conversationId: state.conversationId,
    turn: turn.turn,
    step: turn.step + 1,
    model: agent.model,
    instructions: agent.instructions,
    ...(state.instructions !== undefined ? { conversationInstructions: state.instructions } : {}),
    transcript,
    tools: modelTools(agent),
  };
}

export function applyModelAnswer(state: ConversationState, answer: ModelCallResult, now: string): void {
  const turn = requireTurn(state);
  applyChain(state, answer.chain);
  turn.step++;
  turn.models.push(answer.model);
  turn.usage = sumTokenUsage(turn.usage, {
    ...answer.usage,
    ...(answer.priced ? { costMicros: answer.costMicros } : {}),
  });
  const call = { model: answer.model, ...answer.usage, costMicros: answer.costMicros, priced: answer.priced };
  state.usage = addModelCall(state.usage, call, turn.message.author);
  turn.lastAnswer = { content: answer.content, toolCalls: answer.toolCalls };
  turn.pendingToolCalls = [...answer.toolCalls];
  // The entry the activity stored, when it stored one (at its time); else made here, stored by the next call.
  state.transcript.push(assistantEntry(turn.turn, answer, answer.answerAt ?? now));
}

/**
 * What of this model answer the user must be told was cut short, and has not been in this turn; undefined when
 * nothing. The answer itself, when it is the turn's final one (no tool calls) and the model stopped at its output
 * limit; the turn's message, when the call cut it to fit the context window (the model sees only its beginning).
 * Call after applyModelAnswer.
 */
export function turnCuts(state: ConversationState, answer: ModelCallResult): ReplyCut | undefined {
  const turn = requireTurn(state);
  const cut: ReplyCut = {};
  if (answer.finishReason === 'length' && answer.toolCalls.length === 0 && !turn.cut?.answer) {
    cut.answer = 'output_limit';
  }
  if (answer.cutEntries && !turn.cut?.message) {
    const entry = answer.cutEntries.find((c) => {
      const cutEntry = state.transcript[c.index];
      return cutEntry?.role === 'user' && cutEntry.turn === turn.turn;
    });
    if (entry) cut.message = { chars: entry.chars, sentChars: entry.sentChars };
  }
  return cut.answer || cut.message ? cut : undefined;
}

/** Tells the user what turnCuts found: a notice for each part, and the reply will carry it (`Reply.cut`). */
export function recordCuts(state: ConversationState, cut: ReplyCut, now: string): void {
  const turn = requireTurn(state);
  turn.cut = { ...turn.cut, ...cut };
  if (cut.message) {
    const { chars, sentChars } = cut.message;
    state.transcript.push({
      role: 'notice',
      turn: turn.turn,
      content:
        `The message was too long for this agent's context window: the model was sent only its first ` +
        `${sentChars} of ${chars} characters. Send a shorter message, or split it.`,
      at: now,
    });
  }
  if (cut.answer) {
    state.transcript.push({
      role: 'notice',
      turn: turn.turn,
      content:
        'The answer was cut short: the model stopped at its output limit (finish_reason length). Ask it to go on, ' +
        'or to answer more briefly.',
      at: now,
    });
  }
}

export function requestApprovals(state: ConversationState, calls: ToolCall[], now: string, expiresAt?: string): void {
  const turn = requireTurn(state);
  for (const call of calls) {
    if (turn.approvals.some((a) => a.toolCallId === call.id)) continue;
    turn.approvals.push({
      toolCallId: call.id,
      tool: call.name,
      arguments: call.arguments,
      requestedAt: now,
      ...(expiresAt ? { expiresAt } : {}),
    });
  }
}

/** Why a decision cannot be taken, or undefined when it can. */
/**
 * A reply its channel could not take. The reply stands (it is recorded, and returned to any waiting `send`); the
 * transcript notes what went wrong, rather than the conversation failing.
 */
export function recordDeliveryFailure(
  state: ConversationState,
  reply: Reply,
  channelType: string,
  problem: string,
  at: string,
): void {
  state.transcript.push({
    role: 'notice',
    turn: reply.turn,
    content: `The reply could not be delivered to its ${channelType} channel: ${problem}`,
    at,
  });
}

export function decisionRefusal(state: ConversationState, decision: Decision): string | undefined {
  const turn = state.turn;
  if (!turn || !turn.approvals.some((a) => a.toolCallId === decision.toolCallId)) {
    return `no tool call ${decision.toolCallId} is waiting for approval`;
  }
  if (turn.decisions[decision.toolCallId]) return `tool call ${decision.toolCallId} was already decided`;
  return undefined;
}

export function applyDecision(state: ConversationState, decision: Decision): void {
  const turn = requireTurn(state);
  turn.decisions[decision.toolCallId] = decision;
  turn.approvals = turn.approvals.filter((a) => a.toolCallId !== decision.toolCallId);
  const tool = turn.pendingToolCalls.find((c) => c.id === decision.toolCallId)?.name;
  if (decision.decision === 'approve' && decision.remember && tool && !state.rememberedTools.includes(tool)) {
    state.rememberedTools.push(tool);
  }
}

/** Unanswered approvals past their time are rejected. */
export function expireApprovals(state: ConversationState): void {
  const turn = requireTurn(state);
  for (const approval of [...turn.approvals]) {
    applyDecision(state, {
      toolCallId: approval.toolCallId,
      decision: 'reject',
      reason: 'no decision was made in time',
    });
  }
}

export function awaitingApproval(state: ConversationState): boolean {
  return (state.turn?.approvals.length ?? 0) > 0;
}

export function applyToolResults(
  state: ConversationState,
  results: { toolCall: ToolCall; result: ToolRunResult }[],
  now: string,
): void {
  const turn = requireTurn(state);
  // Results are recorded in the order the model asked for the calls, whatever order they finished in.
  const byId = new Map(results.map((r) => [r.toolCall.id, r]));
  for (const call of turn.pendingToolCalls) {
    const r = byId.get(call.id);
    if (!r) continue;
    state.transcript.push({
      role: 'tool',
      turn: turn.turn,
      toolCallId: call.id,
      name: call.name,
      content: r.result.content,
      isError: r.result.isError,
      at: now,
    });
  }
  turn.pendingToolCalls = turn.pendingToolCalls.filter((c) => !byId.has(c.id));
}

export function cancelTurn(state: ConversationState, reason: string | undefined, messageId?: string): number | null {
  const turn = state.turn;
  if (!turn || turn.cancelled) return null;
  if (messageId !== undefined && turn.message.id !== messageId) return null;
  turn.cancelled = { reason: reason ?? '' };
  turn.approvals = [];
  return turn.turn;
}

/** Ends the turn: its reply is remembered for retries of the same message id. */
export function finishTurn(state: ConversationState, status: ReplyStatus, content: string, now: string): Reply {
  const turn = requireTurn(state);
  const reply: Reply = {
    messageId: turn.message.id,
    turn: turn.turn,
    status,
    content,
    models: turn.models,
    usage: turn.usage,
    ...(turn.cut ? { cut: turn.cut } : {}),
  };
  if (status !== 'completed') state.transcript.push({ role: 'notice', turn: turn.turn, content, at: now });
  state.seen[turn.message.id] = { turn: turn.turn, reply };
  forgetOldReplies(state);
  state.turn = null;
  state.turns = turn.turn;
  return reply;
}

function forgetOldReplies(state: ConversationState): void {
  // The window's ids in order, not Object.entries(seen): the same ids (seenOrder lists seen's keys, each once), in
  // turn order already, at a fifteenth of the cost (3 ms a turn with a full window before).
  const withReplies: ConversationState['seen'][string][] = [];
  for (const id of state.seenOrder) if (state.seen[id]?.reply) withReplies.push(state.seen[id]);
  if (withReplies.length <= REMEMBERED_REPLIES) return;
  withReplies.sort((a, b) => (a.turn ?? 0) - (b.turn ?? 0));
  // The id stays known (so it never starts a new turn); only the stored reply is dropped.
  for (const s of withReplies.slice(0, withReplies.length - REMEMBERED_REPLIES)) s.reply = null;
}

// ---- views -------------------------------------------------------------------------------------------------

/**
 * What the `state` query answers. Between turns the conversation is still `running` while messages wait or a
 * reply is being delivered (`delivering`, from the run): `idle` means nothing is left to do.
 */
export function view(
  state: ConversationState,
  run: { delivering: string | null } = { delivering: null },
): ConversationView {
  const turn = state.turn;
  const busy = state.queue.length > 0 || run.delivering !== null;
  return {
    agent: state.agent,
    currentAgent: answeringAgent(state),
    conversationId: state.conversationId,
    status: turn
      ? turn.approvals.length > 0
        ? 'awaiting_approval'
        : 'running'
      : busy
        ? 'running'
        : state.ending
          ? 'ended'
          : 'idle',
    delivering: run.delivering,
    currentTurn: turn
      ? { turn: turn.turn, messageId: turn.message.id, step: turn.step, startedAt: turn.startedAt }
      : null,
    queued: state.queue.map((m) => ({ id: m.id, ...(m.author ? { author: m.author } : {}) })),
    pendingApprovals: turn?.approvals ?? [],
    rememberedTools: state.rememberedTools,
    usage: state.usage,
    memory: state.summary
      ? { summarizedThrough: state.summary.coversThrough, summaryTokens: state.summary.tokens }
      : null,
    turns: state.turns,
    ending: state.ending,
    ...(state.forkedFrom ? { forkedFrom: state.forkedFrom } : {}),
    ...(turn?.subConversations?.length ? { subConversations: turn.subConversations } : {}),
    ...(state.childOf ? { childOf: state.childOf } : {}),
  };
}

export function transcriptPage(state: ConversationState, request: TranscriptPageRequest = {}): HeldTranscriptPage {
  const offset = request.offset ?? 0;
  const limit = request.limit ?? 100;
  const entries = state.transcript.slice(offset, offset + limit);
  const next = offset + entries.length;
  return { entries, offset, total: state.transcript.length, nextOffset: next < state.transcript.length ? next : null };
}

function requireTurn(state: ConversationState): TurnState {
  if (!state.turn) throw new Error('no turn in progress');
  return state.turn;
}

/** A turn's token usage; cost is summed only where the worker priced the call. */
function sumTokenUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  const costMicros =
    a.costMicros === undefined && b.costMicros === undefined ? undefined : (a.costMicros ?? 0) + (b.costMicros ?? 0);
  return {
    inputTokens: a.inputTokens + b.inputTokens,
    outputTokens: a.outputTokens + b.outputTokens,
    ...(costMicros === undefined ? {} : { costMicros }),
  };
}
