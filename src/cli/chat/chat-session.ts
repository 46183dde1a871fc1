/**
 * One `vigil chat` session: the keyboard and the conversation's events go through the state machine
 * (chat-state.ts), and its effects are carried out here against the conversation (send, decide, cancelTurn,
 * state) and the renderer. Resolves with the exit code once the user leaves.
 */
import { randomUUID } from 'node:crypto';
import type { AgentClient } from '../../client';
import { ConversationNotFoundError, VigilError } from '../../errors';
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

export async function runChatSession(options: ChatSessionOptions): Promise<number> {
  const { agents, agent, conversation } = options;
  const output = options.output ?? process.stdout;
  const renderer = new ChatRenderer(output, agent);

  const header = await withDeadline(readHeader(agents, agent, conversation), HEADER_TIMEOUT_MS);
  if (header === undefined) {
    renderer.header(conversation, null, [], 0);
    renderer.say('(the conversation did not answer in time: is a worker running on this task queue?)');
  } else {
    renderer.header(conversation, header.view, header.recent, header.total);
  }

  let state: ChatState = INITIAL_STATE;
  /** Our message in flight, and its turn once the conversation has started it. */
  let current: { messageId: string; turn: number | null } | null = null;
  let exited = false;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  // Effects run in order, each after the one before has finished (the state is printed before the prompt
  // comes back); the state itself moves on at once, so every input meets the state the one before left.
  let effects = Promise.resolve();
  const dispatch = (input: ChatInput) => {
    const next = step(state, input);
    state = next.state;
    const keys = state.mode === 'turn' ? { answering: state.approvals.length > 0 } : null;
    effects = effects.then(async () => {
      for (const effect of next.effects) await perform(effect);
      if (keys !== null && !exited) keyboard.read({ kind: 'keys', ...keys });
    });
  };
  const keyboard: ChatKeyboard = createKeyboard(options.input ?? process.stdin, output, dispatch);
  // Ctrl-C reaches the process as a signal whenever the terminal is not in raw mode (and from a pipe).
  const onSignal = () => dispatch({ type: 'interrupt' });
  process.on('SIGINT', onSignal);

  async function perform(effect: ChatEffect): Promise<void> {
    if (exited) return;
    switch (effect.type) {
      case 'prompt':
        return keyboard.read({ kind: 'line', prompt: PROMPT });
      case 'send':
        // Subscribed before the first message is sent, so none of its turn's events are missed.
        await watch.start();
        return send(effect.content);
      case 'decide': {
        const { approval, decision, remember } = effect;
        renderer.answered(remember ? 'always' : decision === 'approve' ? 'yes' : 'no');
        const reason = decision === 'reject' ? 'rejected in vigil chat' : undefined;
        void agents
          .decide(agent, conversation, { toolCallId: approval.toolCallId, decision, remember, reason })
          .catch((error: unknown) => renderer.error(`could not answer ${approval.tool}: ${describe(error)}`));
        return;
      }
      case 'cancel':
        void agents.cancelTurn(agent, conversation, { reason: 'cancelled in vigil chat (Ctrl-C)' }).then(
          (result) => {
            if (!result.cancelled) renderer.say('(no turn was running)');
          },
          (error: unknown) => renderer.error(`could not cancel the turn: ${describe(error)}`),
        );
        return;
      case 'ask':
        return renderer.ask(effect.approval);
      case 'say':
        return renderer.say(effect.text);
      case 'help':
        return renderer.help();
      case 'show-state':
        return showState();
      case 'exit':
        exited = true;
        return finish(effect.code);
    }
  }

  function send(content: string): void {
    const messageId = randomUUID();
    current = { messageId, turn: null };
    void agents
      .send(agent, conversation, { id: messageId, content })
      .then(
        async (reply) => {
          await watch.replyShown(messageId, REPLY_EVENT_GRACE_MS);
          if (!exited) renderer.reply(reply);
        },
        (error: unknown) => {
          if (!exited) renderer.error(`the message was not answered: ${describe(error)}`);
        },
      )
      .finally(() => {
        current = null;
        dispatch({ type: 'turn.ended' });
      });
  }

  async function showState(): Promise<void> {
    try {
      renderer.state(await agents.state(agent, conversation));
    } catch (error) {
      if (error instanceof ConversationNotFoundError)
        renderer.say('(the conversation has not started: send a message)');
      else renderer.error(describe(error));
    }
  }

  function onEvent(event: ConversationEvent): void {
    if (current === null || state.mode !== 'turn') return;
    if (event.type === 'turn.started') {
      if (event.messageId === current.messageId) current.turn = event.turn;
      return;
    }
    // Only our turn's events: a message from another client runs its own turn, shown by its own channel.
    if (!('turn' in event) || event.turn !== current.turn) return;
    renderer.event(event);
    if (event.type === 'tool.awaiting_approval') dispatch({ type: 'approval.requested', approval: event.approval });
    if (event.type === 'tool.decided') {
      dispatch({ type: 'approval.settled', toolCallId: event.toolCallId, decision: event.decision });
    }
  }

  const watch = new ConversationWatch(agents, agent, conversation, onEvent, (error) =>
    renderer.error(`(live output stopped: ${describe(error)}; replies still come when complete)`),
  );
  void perform({ type: 'prompt' });
  try {
    return await finished;
  } finally {
    keyboard.close();
    process.off('SIGINT', onSignal);
    renderer.close();
    watch.close();
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
