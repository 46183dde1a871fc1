/**
 * What `vigil chat` does with each thing that happens: a line or key typed, Ctrl-C, Ctrl-D, an approval asked
 * for, a turn ending. Pure: `step` returns the next state and the effects for the session to carry out (send,
 * decide, cancel, print, exit), so every rule of the terminal is testable without one.
 */
import type { PendingApproval } from '../../conversation/protocol';

/** A conversation's address: a sub-agent's, whose approvals are answered on it. */
export interface ConversationAddress {
  agent: string;
  conversationId: string;
}

/**
 * A tool call waiting for the user: of the chat's own conversation, or (`on`) of a sub-agent conversation that our
 * turn started (agentAsTool), which the chat answers on that conversation.
 */
export interface ChatApproval extends PendingApproval {
  on?: ConversationAddress;
}

/** What tells two approvals apart: a sub-agent's tool call ids are its own model's, and may repeat ours. */
export function approvalKey(approval: Pick<ChatApproval, 'toolCallId' | 'on'>): string {
  return approval.on ? `${approval.on.conversationId} ${approval.toolCallId}` : approval.toolCallId;
}

/** Exit codes of the chat: 0 for Ctrl-D or /exit; 130 (128 + SIGINT, as shells report it) for Ctrl-C. */
export const EXIT_CHAT_DONE = 0;
export const EXIT_INTERRUPTED = 130;

export type ChatState =
  /** Reading the user's next line. */
  | { mode: 'prompt' }
  /**
   * A message of ours is being answered. `approvals` are the tool calls waiting for the user, asked one at a
   * time, the first one being asked; `settled` are those already answered (by approvalKey), so a repeated
   * request is not asked again; `cancelling` once Ctrl-C asked for the turn to be cancelled.
   */
  | { mode: 'turn'; cancelling: boolean; approvals: ChatApproval[]; settled: string[] }
  | { mode: 'exited'; code: number };

export type ChatInput =
  | { type: 'line'; text: string }
  /** One key, in the terminal's raw mode: an approval's answer. */
  | { type: 'key'; key: string }
  | { type: 'interrupt' }
  | { type: 'eof' }
  | { type: 'approval.requested'; approval: ChatApproval }
  /**
   * The conversation recorded a decision: ours, someone else's (another client), or an expiry. Without a
   * decision for a sub-agent's call, of which the chat hears only that it no longer waits.
   */
  | {
      type: 'approval.settled';
      toolCallId: string;
      on?: ConversationAddress;
      decision?: 'approve' | 'reject' | 'expired';
    }
  /** A sub-agent conversation of our turn told its parent what it waits for now (`pending`: nothing, or calls). */
  | { type: 'sub.approvals'; on: ConversationAddress; pending: PendingApproval[] }
  /** Our message's turn is over (its reply printed, or the send failed). */
  | { type: 'turn.ended' };

export type ChatEffect =
  | { type: 'send'; content: string }
  | { type: 'decide'; approval: ChatApproval; decision: 'approve' | 'reject'; remember: boolean }
  | { type: 'cancel' }
  /** Print the approval question for this tool call. */
  | { type: 'ask'; approval: ChatApproval }
  /** Read the next line. */
  | { type: 'prompt' }
  | { type: 'say'; text: string }
  | { type: 'help' }
  | { type: 'show-state' }
  | { type: 'exit'; code: number };

export interface ChatStep {
  state: ChatState;
  effects: ChatEffect[];
}

export const INITIAL_STATE: ChatState = { mode: 'prompt' };

/** The commands typed at the prompt, for /help. */
export const COMMANDS: { name: string; description: string }[] = [
  { name: '/help', description: 'this list' },
  { name: '/state', description: "the conversation's status, turns, usage and pending approvals" },
  { name: '/exit', description: 'leave the chat (as Ctrl-D does); the conversation goes on' },
];

const ANSWERS: Record<string, { decision: 'approve' | 'reject'; remember: boolean }> = {
  y: { decision: 'approve', remember: false },
  yes: { decision: 'approve', remember: false },
  n: { decision: 'reject', remember: false },
  no: { decision: 'reject', remember: false },
  a: { decision: 'approve', remember: true },
  always: { decision: 'approve', remember: true },
};

export function step(state: ChatState, input: ChatInput): ChatStep {
  if (state.mode === 'exited') return { state, effects: [] };
  return state.mode === 'prompt' ? atPrompt(state, input) : inTurn(state, input);
}

function atPrompt(state: ChatState & { mode: 'prompt' }, input: ChatInput): ChatStep {
  switch (input.type) {
    case 'line':
      return typed(state, input.text);
    case 'interrupt':
      return exit(EXIT_INTERRUPTED);
    case 'eof':
      return exit(EXIT_CHAT_DONE);
    default:
      // Keys, and approvals or turn ends of turns that are not ours, mean nothing here.
      return { state, effects: [] };
  }
}

function typed(state: ChatState, line: string): ChatStep {
  const text = line.trim();
  if (text === '') return { state, effects: [{ type: 'prompt' }] };
  if (!text.startsWith('/')) {
    return {
      state: { mode: 'turn', cancelling: false, approvals: [], settled: [] },
      effects: [{ type: 'send', content: text }],
    };
  }
  switch (text.toLowerCase()) {
    case '/exit':
    case '/quit':
      return exit(EXIT_CHAT_DONE);
    case '/help':
      return { state, effects: [{ type: 'help' }, { type: 'prompt' }] };
    case '/state':
      return { state, effects: [{ type: 'show-state' }, { type: 'prompt' }] };
    default:
      return {
        state,
        effects: [
          { type: 'say', text: `unknown command ${text.split(/\s/)[0]}; /help lists the commands` },
          { type: 'prompt' },
        ],
      };
  }
}

function inTurn(state: ChatState & { mode: 'turn' }, input: ChatInput): ChatStep {
  switch (input.type) {
    case 'interrupt':
      if (state.cancelling) return exit(EXIT_INTERRUPTED);
      return {
        state: { ...state, cancelling: true, approvals: [] },
        effects: [{ type: 'cancel' }, { type: 'say', text: 'cancelling the turn… (Ctrl-C again exits)' }],
      };
    case 'key':
    case 'line':
      return answered(state, input.type === 'key' ? input.key : input.text);
    case 'approval.requested': {
      const { approval } = input;
      const key = approvalKey(approval);
      const known = state.settled.includes(key) || state.approvals.some((a) => approvalKey(a) === key);
      if (known || state.cancelling) return { state, effects: [] };
      const approvals = [...state.approvals, approval];
      // Only the first is asked; the others wait their turn.
      return { state: { ...state, approvals }, effects: approvals.length === 1 ? [{ type: 'ask', approval }] : [] };
    }
    case 'approval.settled': {
      const key = approvalKey(input);
      const index = state.approvals.findIndex((a) => approvalKey(a) === key);
      if (index === -1) return { state, effects: [] };
      const approvals = state.approvals.filter((_, i) => i !== index);
      const next: ChatState = { ...state, approvals, settled: [...state.settled, key] };
      if (index > 0) return { state: next, effects: [] };
      // The question on screen was answered elsewhere (another client, or it expired): move on.
      const effects: ChatEffect[] = [{ type: 'say', text: describeSettled(input.decision) }];
      if (approvals.length > 0) effects.push({ type: 'ask', approval: approvals[0] });
      return { state: next, effects };
    }
    case 'sub.approvals': {
      // Its calls no longer waiting were answered (by us, or elsewhere); those waiting are asked as ours are.
      const { on, pending } = input;
      const gone = state.approvals.filter(
        (a) => a.on?.conversationId === on.conversationId && !pending.some((p) => p.toolCallId === a.toolCallId),
      );
      const inputs: ChatInput[] = [
        ...gone.map((a): ChatInput => ({ type: 'approval.settled', toolCallId: a.toolCallId, on })),
        ...pending.map((approval): ChatInput => ({ type: 'approval.requested', approval: { ...approval, on } })),
      ];
      return inputs.reduce<ChatStep>(
        (done, next) => {
          const stepped = step(done.state, next);
          return { state: stepped.state, effects: [...done.effects, ...stepped.effects] };
        },
        { state, effects: [] },
      );
    }
    case 'turn.ended':
      return { state: { mode: 'prompt' }, effects: [{ type: 'prompt' }] };
    case 'eof':
      // Ctrl-D means "no more input" at the prompt; in the middle of a turn it is not an answer to anything.
      return { state, effects: [] };
  }
}

function answered(state: ChatState & { mode: 'turn' }, typedAnswer: string): ChatStep {
  const [asked, ...rest] = state.approvals;
  if (asked === undefined) return { state, effects: [] };
  const answer = ANSWERS[typedAnswer.trim().toLowerCase()];
  if (answer === undefined) {
    return {
      state,
      effects: [
        { type: 'say', text: 'answer y (yes), n (no) or a (always); Ctrl-C cancels the turn' },
        { type: 'ask', approval: asked },
      ],
    };
  }
  const effects: ChatEffect[] = [{ type: 'decide', approval: asked, ...answer }];
  if (rest.length > 0) effects.push({ type: 'ask', approval: rest[0] });
  return { state: { ...state, approvals: rest, settled: [...state.settled, approvalKey(asked)] }, effects };
}

function describeSettled(decision: 'approve' | 'reject' | 'expired' | undefined): string {
  if (decision === undefined) return '(answered elsewhere)';
  if (decision === 'expired') return '(the approval request expired)';
  return `(${decision === 'approve' ? 'approved' : 'rejected'} elsewhere)`;
}

function exit(code: number): ChatStep {
  return { state: { mode: 'exited', code }, effects: [{ type: 'exit', code }] };
}
