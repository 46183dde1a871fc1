/**
 * A conversation's state and the pure rules of a turn: what happens next given the state and the model's
 * answer. No Temporal here, so every rule is unit-tested without a server; the workflow only carries out the
 * steps these functions choose. State is plain JSON with a schema version, so it can travel through
 * continue-as-new and be read back by newer code.
 */
import type { AgentSpec } from '../agents/spec';
import type { ModelCallInput, ModelCallResult, ToolRunResult } from '../activities/types';
import type {
  ConversationView,
  Decision,
  InboundMessage,
  PendingApproval,
  Reply,
  ReplyStatus,
  TokenUsage,
  ToolCall,
  TranscriptEntry,
  TranscriptPage,
  TranscriptPageRequest,
} from '../protocol';

export const STATE_SCHEMA_VERSION = 1;

/** How many past replies are kept for `send` retries with a seen message id. */
export const REMEMBERED_REPLIES = 500;

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
}

export interface ConversationState {
  schemaVersion: typeof STATE_SCHEMA_VERSION;
  agent: string;
  conversationId: string;
  transcript: TranscriptEntry[];
  /** Accepted messages waiting for their turn, in arrival order. */
  queue: InboundMessage[];
  /** Every message id taken so far, with the turn it got and, once done, its reply. */
  seen: Record<string, { turn: number | null; reply: Reply | null }>;
  turn: TurnState | null;
  turns: number;
  usage: TokenUsage & { modelCalls: number };
  rememberedTools: string[];
  ending: boolean;
}

export function initialState(agent: string, conversationId: string): ConversationState {
  return {
    schemaVersion: STATE_SCHEMA_VERSION,
    agent,
    conversationId,
    transcript: [],
    queue: [],
    seen: {},
    turn: null,
    turns: 0,
    usage: { inputTokens: 0, outputTokens: 0, modelCalls: 0 },
    rememberedTools: [],
    ending: false,
  };
}

/** Reads a state handed over by an app or an earlier run; refuses versions this code does not know. */
export function restoreState(value: unknown, agent: string, conversationId: string): ConversationState {
  const state = value as Partial<ConversationState> | null;
  if (!state || typeof state !== 'object') throw new Error('initial state must be an object');
  if (state.schemaVersion !== STATE_SCHEMA_VERSION) {
    throw new Error(`unsupported state schema version ${String(state.schemaVersion)}; this code reads ${STATE_SCHEMA_VERSION}`);
  }
  if (state.agent !== agent || state.conversationId !== conversationId) {
    throw new Error('initial state belongs to another conversation');
  }
  return state as ConversationState;
}

// ---- admitting messages ------------------------------------------------------------------------------------

/** 'new' messages are queued; a 'duplicate' id never starts a second turn. */
export function admit(state: ConversationState, message: InboundMessage): 'new' | 'duplicate' {
  if (state.seen[message.id]) return 'duplicate';
  state.seen[message.id] = { turn: null, reply: null };
  state.queue.push(message);
  return 'new';
}

/** Why a new message cannot be taken now, or undefined when it can. */
export function refusal(state: ConversationState, message: InboundMessage): string | undefined {
  if (state.seen[message.id]) return undefined; // a retry of a known message always gets its reply
  if (state.ending) return 'the conversation is ending and takes no new messages';
  return undefined;
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
  | { kind: 'run_tools'; calls: ToolCall[]; settled: { toolCall: ToolCall; result: ToolRunResult }[] }
  | { kind: 'await_approval'; requests: ToolCall[] }
  | { kind: 'finish'; status: ReplyStatus; content: string };

/** The next thing the turn must do. */
export function nextStep(state: ConversationState, agent: AgentSpec): Step {
  const turn = requireTurn(state);
  if (turn.cancelled) {
    return { kind: 'finish', status: 'cancelled', content: `The turn was cancelled${turn.cancelled.reason ? `: ${turn.cancelled.reason}` : '.'}` };
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
  return { kind: 'call_model', input: modelInput(state, turn, agent) };
}

function toolStep(state: ConversationState, turn: TurnState, agent: AgentSpec): Step {
  const settled: { toolCall: ToolCall; result: ToolRunResult }[] = [];
  const calls: ToolCall[] = [];
  const requests: ToolCall[] = [];
  for (const call of turn.pendingToolCalls) {
    const tool = agent.tools.find((t) => t.name === call.name);
    const decision = turn.decisions[call.id];
    if (!tool) {
      settled.push({ toolCall: call, result: { isError: true, content: `unknown tool "${call.name}"; available: ${agent.tools.map((t) => t.name).join(', ') || 'none'}` } });
    } else if (tool.approval === 'deny') {
      settled.push({ toolCall: call, result: { isError: true, content: `the tool "${call.name}" is not allowed for this agent` } });
    } else if (decision?.decision === 'reject') {
      settled.push({
        toolCall: call,
        result: { isError: true, content: `the user rejected this call${decision.reason ? `: ${decision.reason}` : ''}` },
      });
    } else if (tool.approval === 'ask' && !decision && !state.rememberedTools.includes(tool.name)) {
      requests.push(call);
    } else {
      calls.push(call);
    }
  }
  // Nothing runs until every call that needs a decision has one: the model gets all results together.
  if (requests.length > 0) return { kind: 'await_approval', requests };
  return { kind: 'run_tools', calls, settled };
}

function modelInput(state: ConversationState, turn: TurnState, agent: AgentSpec): ModelCallInput {
  return {
    agent: state.agent,
    conversationId: state.conversationId,
    turn: turn.turn,
    step: turn.step + 1,
    model: agent.model,
    instructions: agent.instructions,
    transcript: state.transcript,
    tools: agent.tools.filter((t) => t.approval !== 'deny').map(({ name, description, parameters }) => ({ name, description, parameters })),
  };
}

export function applyModelAnswer(state: ConversationState, answer: ModelCallResult, now: string): void {
  const turn = requireTurn(state);
  turn.step++;
  turn.models.push(answer.model);
  turn.usage = addUsage(turn.usage, answer.usage);
  state.usage = { ...addUsage(state.usage, answer.usage), modelCalls: state.usage.modelCalls + 1 };
  turn.lastAnswer = { content: answer.content, toolCalls: answer.toolCalls };
  turn.pendingToolCalls = [...answer.toolCalls];
  state.transcript.push({
    role: 'assistant',
    turn: turn.turn,
    content: answer.content,
    toolCalls: answer.toolCalls,
    model: answer.model,
    usage: answer.usage,
    at: now,
  });
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
    applyDecision(state, { toolCallId: approval.toolCallId, decision: 'reject', reason: 'no decision was made in time' });
  }
}

export function awaitingApproval(state: ConversationState): boolean {
  return (state.turn?.approvals.length ?? 0) > 0;
}

export function applyToolResults(state: ConversationState, results: { toolCall: ToolCall; result: ToolRunResult }[], now: string): void {
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

export function cancelTurn(state: ConversationState, reason: string | undefined): number | null {
  const turn = state.turn;
  if (!turn || turn.cancelled) return null;
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
  };
  if (status !== 'completed') state.transcript.push({ role: 'notice', turn: turn.turn, content, at: now });
  state.seen[turn.message.id] = { turn: turn.turn, reply };
  forgetOldReplies(state);
  state.turn = null;
  state.turns = turn.turn;
  return reply;
}

function forgetOldReplies(state: ConversationState): void {
  const withReplies = Object.entries(state.seen).filter(([, s]) => s.reply);
  if (withReplies.length <= REMEMBERED_REPLIES) return;
  withReplies.sort(([, a], [, b]) => (a.turn ?? 0) - (b.turn ?? 0));
  // The id stays known (so it never starts a new turn); only the stored reply is dropped.
  for (const [, s] of withReplies.slice(0, withReplies.length - REMEMBERED_REPLIES)) s.reply = null;
}

// ---- views -------------------------------------------------------------------------------------------------

export function view(state: ConversationState): ConversationView {
  const turn = state.turn;
  return {
    agent: state.agent,
    conversationId: state.conversationId,
    status: turn ? (turn.approvals.length > 0 ? 'awaiting_approval' : 'running') : state.ending && state.queue.length === 0 ? 'ended' : 'idle',
    currentTurn: turn ? { turn: turn.turn, messageId: turn.message.id, step: turn.step, startedAt: turn.startedAt } : null,
    queued: state.queue.map((m) => ({ id: m.id, ...(m.author ? { author: m.author } : {}) })),
    pendingApprovals: turn?.approvals ?? [],
    rememberedTools: state.rememberedTools,
    usage: state.usage,
    turns: state.turns,
    ending: state.ending,
  };
}

export function transcriptPage(state: ConversationState, request: TranscriptPageRequest = {}): TranscriptPage {
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

function addUsage<T extends TokenUsage>(a: T, b: TokenUsage): T {
  return { ...a, inputTokens: a.inputTokens + b.inputTokens, outputTokens: a.outputTokens + b.outputTokens };
}
