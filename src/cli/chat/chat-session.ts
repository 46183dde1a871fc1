/**
 * One `vigil chat` session: the keyboard and the conversation's events go through the state machine
 * (chat-state.ts), and its effects are carried out here against the conversation (send, decide, cancelTurn,
 * state) and the renderer. Resolves with the exit code once the user leaves.
 */
import { randomUUID } from 'node:crypto';
import type { AgentClient } from '../../client';
import { ConversationNotFoundError, TurnInProgressError, VigilError } from '../../errors';
import type { ConversationEvent, ConversationView, TranscriptEntry } from '../../conversation/protocol';
import { ChatRenderer, PROMPT, type ChatOutput } from './chat-renderer';
import { ConversationWatch } from './conversation-watch';
import { INITIAL_STATE, step, type ChatEffect, type ChatInput, type ChatState } from './chat-state';
import { createKeyboard, type ChatKeyboard } from './terminal-input';

/** How many transcript entries the header shows of a conversation that already has some. */
const RECENT_ENTRIES = 6;
/** A query waits for a worker; without one, say so rather than show nothing for ever. */
const HEADER_TIMEOUT_MS = 5_000;
/**
 * The send's answer and the event stream race: the reply is printed once its event has been read (so the
 * streamed text before it is all on screen), or after this long, from the send's answer, if the event is late.
 */
const REPLY_EVENT_GRACE_MS = 2_000;

export interface ChatSessionOptions {
  agents: AgentClient;
  agent: string;
  conversation: string;
  input?: NodeJS.ReadableStream & { isTTY?: boolean };
  output?: ChatOutput & NodeJS.WritableStream;
}

export function runChatSession(options: ChatSessionOptions): Promise<number> {
  return new ChatSession(options).run();
}

class ChatSession {
  private readonly agents: AgentClient;
  private readonly agent: string;
  private readonly conversation: string;
  private readonly output: ChatOutput & NodeJS.WritableStream;
  private readonly renderer: ChatRenderer;
  private state: ChatState = INITIAL_STATE;
  /** Our message in flight, and its turn once the conversation has started it. */
  private current: { messageId: string; turn: number | null } | null = null;
  private exited = false;
  private finish!: (code: number) => void;
  private readonly finished = new Promise<number>((resolve) => (this.finish = resolve));
  /**
   * Effects run in order, each after the one before has finished (the state is printed before the prompt comes
   * back); the state itself moves on at once, so every input meets the state the one before left.
   */
  private effects = Promise.resolve();
  private keyboard!: ChatKeyboard;
  private watch!: ConversationWatch;
  /** Ctrl-C reaches the process as a signal whenever the terminal is not in raw mode (and from a pipe). */
  private readonly onSignal = () => this.dispatch({ type: 'interrupt' });

  constructor(private readonly options: ChatSessionOptions) {
    this.agents = options.agents;
    this.agent = options.agent;
    this.conversation = options.conversation;
    this.output = options.output ?? process.stdout;
    this.renderer = new ChatRenderer(this.output, this.agent);
  }

  async run(): Promise<number> {
    await this.showHeader();
    this.keyboard = createKeyboard(this.options.input ?? process.stdin, this.output, (input) => this.dispatch(input));
    process.on('SIGINT', this.onSignal);
    this.watch = new ConversationWatch(
      this.agents,
      this.agent,
      this.conversation,
      (event) => this.onEvent(event),
      (error) => this.renderer.error(`(live output stopped: ${describe(error)}; replies still come when complete)`),
    );
    void this.perform({ type: 'prompt' });
    try {
      return await this.finished;
    } finally {
      this.keyboard.close();
      process.off('SIGINT', this.onSignal);
      this.renderer.close();
      this.watch.close();
    }
  }

  private async showHeader(): Promise<void> {
    const header = await withDeadline(readHeader(this.agents, this.agent, this.conversation), HEADER_TIMEOUT_MS);
    if (header === undefined) {
      this.renderer.header(this.conversation, null, [], 0);
      this.renderer.say('(the conversation did not answer in time: is a worker running on this task queue?)');
    } else {
      this.renderer.header(this.conversation, header.view, header.recent, header.total);
    }
  }

  private dispatch(input: ChatInput): void {
    const next = step(this.state, input);
    this.state = next.state;
    const keys = this.state.mode === 'turn' ? { answering: this.state.approvals.length > 0 } : null;
    this.effects = this.effects.then(async () => {
      for (const effect of next.effects) await this.perform(effect);
      if (keys !== null && !this.exited) this.keyboard.read({ kind: 'keys', ...keys });
    });
  }

  private async perform(effect: ChatEffect): Promise<void> {
    if (this.exited) return;
    switch (effect.type) {
      case 'prompt':
        return this.keyboard.read({ kind: 'line', prompt: PROMPT });
      case 'send':
        // Subscribed before the first message is sent, so none of its turn's events are missed.
        await this.watch.start();
        return this.send(effect.content);
      case 'decide':
        return this.decide(effect);
      case 'cancel':
        return this.cancel();
      case 'ask':
        return this.renderer.ask(effect.approval);
      case 'say':
        return this.renderer.say(effect.text);
      case 'help':
        return this.renderer.help();
      case 'show-state':
        return this.showState();
      case 'exit':
        this.exited = true;
        return this.finish(effect.code);
    }
  }

  private send(content: string): void {
    const messageId = randomUUID();
    this.current = { messageId, turn: null };
    void this.agents
      .send(this.agent, this.conversation, { id: messageId, content })
      .then(
        async (reply) => {
          await this.watch.replyShown(messageId, REPLY_EVENT_GRACE_MS);
          if (!this.exited) this.renderer.reply(reply);
        },
        (error: unknown) => {
          if (this.exited) return;
          // Another client's turn runs and this agent refuses messages meanwhile: the message id means nothing here.
          if (error instanceof TurnInProgressError) {
            this.renderer.error(
              `the message was not taken: another turn of this conversation is running, and agent ${this.agent} ` +
                'takes no message until it is done (onBusy: reject); type it again then',
            );
          } else this.renderer.error(`the message was not answered: ${describe(error)}`);
        },
      )
      .finally(() => {
        this.current = null;
        this.dispatch({ type: 'turn.ended' });
      });
  }

  private decide({ approval, decision, remember }: Extract<ChatEffect, { type: 'decide' }>): void {
    this.renderer.answered(remember ? 'always' : decision === 'approve' ? 'yes' : 'no');
    const reason = decision === 'reject' ? 'rejected in vigil chat' : undefined;
    // A sub-agent's call is answered on its own conversation.
    const { agent, conversationId } = approval.on ?? { agent: this.agent, conversationId: this.conversation };
    void this.agents
      .decide(agent, conversationId, { toolCallId: approval.toolCallId, decision, remember, reason })
      .catch((error: unknown) => this.renderer.error(`could not answer ${approval.tool}: ${describe(error)}`));
  }

  private cancel(): void {
    void this.agents.cancelTurn(this.agent, this.conversation, { reason: 'cancelled in vigil chat (Ctrl-C)' }).then(
      (result) => {
        if (!result.cancelled) this.renderer.say('(no turn was running)');
      },
      (error: unknown) => this.renderer.error(`could not cancel the turn: ${describe(error)}`),
    );
  }

  private async showState(): Promise<void> {
    try {
      this.renderer.state(await this.agents.state(this.agent, this.conversation));
    } catch (error) {
      if (error instanceof ConversationNotFoundError)
        this.renderer.say('(the conversation has not started: send a message)');
      else this.renderer.error(describe(error));
    }
  }

  private onEvent(event: ConversationEvent): void {
    const current = this.current;
    if (current === null || this.state.mode !== 'turn') return;
    if (event.type === 'turn.started') {
      if (event.messageId === current.messageId) current.turn = event.turn;
      return;
    }
    // Only our turn's events: a message from another client runs its own turn, shown by its own channel.
    if (!('turn' in event) || event.turn !== current.turn) return;
    this.renderer.event(event);
    if (event.type === 'tool.awaiting_approval')
      this.dispatch({ type: 'approval.requested', approval: event.approval });
    if (event.type === 'tool.decided') {
      this.dispatch({ type: 'approval.settled', toolCallId: event.toolCallId, decision: event.decision });
    }
    if (event.type === 'sub_conversation') {
      const { agent, conversationId, status, pendingApprovals } = event.subConversation;
      const pending = status === 'awaiting_approval' ? pendingApprovals : [];
      this.dispatch({ type: 'sub.approvals', on: { agent, conversationId }, pending });
    }
  }
}

interface Header {
  view: ConversationView | null;
  recent: TranscriptEntry[];
  total: number;
}

async function readHeader(agents: AgentClient, agent: string, conversation: string): Promise<Header> {
  try {
    const view = await agents.state(agent, conversation);
    const { total } = await agents.transcript(agent, conversation, { limit: 1 });
    const offset = Math.max(0, total - RECENT_ENTRIES);
    const recent =
      total === 0 ? [] : (await agents.transcript(agent, conversation, { offset, limit: RECENT_ENTRIES })).entries;
    return { view, recent, total };
  } catch (error) {
    if (error instanceof ConversationNotFoundError) return { view: null, recent: [], total: 0 };
    throw error;
  }
}

/** The promise's value, or undefined when it takes longer than `ms`. */
async function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
    promise.catch(() => undefined);
  }
}

/** Vigil's errors are written for people; others are shown by name and message, never with a stack. */
function describe(error: unknown): string {
  if (error instanceof VigilError) return error.message;
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
