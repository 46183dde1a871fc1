/**
 * How `vigil chat` looks: the header, earlier entries, the model's text as it streams, one dim line per tool
 * call, approval questions and the reply. It keeps only what streaming needs (which model call's text is on
 * the open line), so the reply can end that line instead of printing the same text twice.
 */
import type { ConversationEvent, ConversationView, Reply, TranscriptEntry } from '../../conversation/protocol';
import { COMMANDS, type ChatApproval } from './chat-state';

/** Where the chat writes; a TTY gets colours unless NO_COLOR is set. */
export interface ChatOutput {
  write(text: string): unknown;
  isTTY?: boolean;
}

/** The user's prompt. */
export const PROMPT = 'you> ';
const ARGUMENTS_SHOWN = 120;
const OUTCOMES: Record<Reply['status'], string> = {
  completed: 'completed',
  step_limit: 'stopped at its step limit',
  cancelled: 'cancelled',
  error: 'ended in an error',
  budget_exceeded: 'refused: over budget',
  payment_required: 'refused: no valid payment',
};
const RESULT_SHOWN = 100;

export class ChatRenderer {
  /** The model call whose text is on the open line, and that text so far; null when the line is closed. */
  private streaming: { turn: number; step: number; attempt: number; text: string } | null = null;
  /** The last model call's text that was streamed, open or closed since (say, by a notice that it was cut). */
  private streamed: { turn: number; text: string } | null = null;
  /** The approval question on the last line, waiting for its one-key answer; null when none is open. */
  private question: string | null = null;
  private readonly color: boolean;
  /** The agent that answers now, named before each answer: the chat's agent until a handoff names another. */
  private speaker: string;

  constructor(
    private readonly out: ChatOutput,
    private readonly agent: string,
    env: Record<string, string | undefined> = process.env,
  ) {
    this.color = out.isTTY === true && env.NO_COLOR === undefined;
    this.speaker = agent;
  }

  header(conversation: string, view: ConversationView | null, recent: TranscriptEntry[], total: number): void {
    this.line(
      `${this.bold(`vigil chat · agent ${this.agent} · conversation ${conversation}`)}  ` +
        this.dim('(Ctrl-C cancels a running turn, Ctrl-C at the prompt or Ctrl-D exits, /help for commands)'),
    );
    if (view === null) {
      this.line(this.dim('a new conversation'));
      return;
    }
    const status = view.status === 'idle' ? '' : `, ${view.status.replace('_', ' ')}`;
    const fork = view.forkedFrom
      ? ` (forked from ${view.forkedFrom.conversationId} at turn ${view.forkedFrom.turn})`
      : '';
    this.line(this.dim(`${view.turns} turn${view.turns === 1 ? '' : 's'} so far${status}${fork}`));
    if (recent.length < total)
      this.line(this.dim(`… ${total - recent.length} earlier entries (vigil inspect shows them)`));
    for (const entry of recent) this.entry(entry);
    // A handoff older than the entries shown still decides who answers next.
    this.speaker = view.currentAgent ?? this.agent;
    for (const approval of view.pendingApprovals) {
      this.line(
        this.dim(`a tool call of an earlier turn is waiting for approval: ${call(approval.tool, approval.arguments)}`),
      );
    }
  }

  /** What the conversation reports while our turn runs. */
  event(event: ConversationEvent): void {
    switch (event.type) {
      case 'model.delta':
        return this.delta(event);
      case 'tool.requested':
        return this.line(this.dim(`  -> ${call(event.toolCall.name, event.toolCall.arguments)}`));
      case 'tool.decided':
        if (event.decision === 'expired') this.line(this.dim('  (the approval request expired: rejected)'));
        return;
      case 'tool.finished':
        return this.line(
          this.dim(`  <- ${event.name}${event.isError ? ' failed' : ''}: ${cut(oneLine(event.content), RESULT_SHOWN)}`),
        );
      case 'notice':
        if (event.handoff) this.speaker = event.handoff.to;
        return this.line(this.dim(`  notice: ${event.content}`));
      case 'conversation.ended':
        return this.line(this.dim('the conversation has ended; a new message starts a new one'));
      // Approvals, a sub-agent's too, are asked by the session; the reply is printed from the send's answer.
      case 'sub_conversation':
      case 'turn.started':
      case 'tool.awaiting_approval':
      case 'reply':
        return;
      default:
        // Nothing to show of the stream's own markers (a gap before the first event we watch).
        return;
    }
  }

  /** The turn's answer: ends the streamed line when it already shows this text, else prints it. */
  reply(reply: Reply): void {
    const streamed = this.streamed?.turn === reply.turn ? this.streamed.text : null;
    this.streamed = null;
    if (streamed !== null && streamed.trim() === reply.content.trim()) {
      this.close();
    } else if (reply.content !== '') {
      this.line(`${this.label()}${reply.content}`);
    }
    this.endQuestion();
    if (reply.status !== 'completed') this.line(this.dim(`[turn ${reply.turn} ${OUTCOMES[reply.status]}]`));
  }

  /** An approval's question; a sub-agent's names the agent and the conversation that asks. */
  ask(approval: ChatApproval): void {
    this.close();
    this.endQuestion();
    const asker = approval.on ? `agent ${approval.on.agent} (conversation ${approval.on.conversationId}) asks: ` : '';
    this.question = `${asker}${this.bold(`Allow ${call(approval.tool, approval.arguments)}?`)} [y]es / [n]o / [a]lways: `;
    this.out.write(this.question);
  }

  /** Echoes the answer after the question (raw mode does not), ending its line. */
  answered(text: string): void {
    if (this.question === null) return;
    this.question = null;
    this.out.write(`${text}\n`);
  }

  help(): void {
    this.line('Type a message and press Enter to send it. While a turn runs, Ctrl-C cancels it.');
    for (const { name, description } of COMMANDS) this.line(`  ${name.padEnd(8)} ${description}`);
    this.line('  Ctrl-C   cancel the running turn; at the prompt, or a second time, leave (exit code 130)');
    this.line('  Ctrl-D   leave (at the prompt)');
  }

  state(view: ConversationView): void {
    const lines = [
      `status ${view.status}${view.ending ? ' (ending)' : ''}, ${view.turns} turns, ` +
        `${view.usage.inputTokens} in / ${view.usage.outputTokens} out tokens in ${view.usage.modelCalls} model calls`,
    ];
    if (view.currentAgent && view.currentAgent !== view.agent) lines.push(`answered by agent ${view.currentAgent}`);
    if (view.currentTurn) lines.push(`running turn ${view.currentTurn.turn}, step ${view.currentTurn.step}`);
    if (view.queued.length > 0) lines.push(`queued: ${view.queued.map((m) => m.id).join(', ')}`);
    for (const a of view.pendingApprovals) lines.push(`awaiting approval: ${call(a.tool, a.arguments)}`);
    for (const sub of view.subConversations ?? []) {
      for (const a of sub.pendingApprovals) {
        lines.push(
          `awaiting approval on agent ${sub.agent} (conversation ${sub.conversationId}): ${call(a.tool, a.arguments)}`,
        );
      }
    }
    if (view.rememberedTools.length > 0)
      lines.push(`approved for the conversation: ${view.rememberedTools.join(', ')}`);
    for (const text of lines) this.line(this.dim(text));
  }

  /** A line from the chat itself (a hint, a cancellation), dimmed. */
  say(text: string): void {
    this.line(this.dim(text));
  }

  error(text: string): void {
    this.line(this.color ? `\x1b[31m${text}\x1b[39m` : text);
  }

  /** Ends the open streamed line, if any, so what follows starts on its own line. */
  close(): void {
    if (this.streaming === null) return;
    this.streaming = null;
    this.out.write('\n');
  }

  private delta(event: ConversationEvent & { type: 'model.delta' }): void {
    const open = this.streaming;
    const same =
      open !== null && open.turn === event.turn && open.step === event.step && open.attempt === event.attempt;
    if (!same) {
      if (event.text === '') return;
      this.close();
      this.endQuestion();
      // A later attempt of the same model call starts again from the beginning: say so, not splice it on.
      const retried =
        open !== null && open.turn === event.turn && open.step === event.step && event.attempt > open.attempt;
      if (retried) this.line(this.dim(`  (the model call failed; attempt ${event.attempt}:)`));
      this.streaming = { turn: event.turn, step: event.step, attempt: event.attempt, text: '' };
      this.streamed = { turn: event.turn, text: '' };
      this.out.write(this.label());
    }
    this.streaming!.text += event.text;
    this.streamed!.text += event.text;
    this.out.write(event.text);
  }

  private entry(entry: TranscriptEntry): void {
    switch (entry.role) {
      case 'user':
        return this.line(`${PROMPT}${entry.content}`);
      case 'assistant':
        if (entry.content !== '') this.line(`${this.label()}${entry.content}`);
        for (const c of entry.toolCalls) this.line(this.dim(`  -> ${call(c.name, c.arguments)}`));
        return;
      case 'tool':
        return this.line(
          this.dim(`  <- ${entry.name}${entry.isError ? ' failed' : ''}: ${cut(oneLine(entry.content), RESULT_SHOWN)}`),
        );
      case 'notice':
        if (entry.handoff) this.speaker = entry.handoff.to;
        return this.line(this.dim(`  notice: ${entry.content}`));
    }
  }

  private label(): string {
    return this.bold(`${this.speaker}> `);
  }

  /** Prints a line of its own; an open question is asked again below it, so it stays the last line. */
  private line(text: string): void {
    this.close();
    const question = this.question;
    this.endQuestion();
    this.out.write(`${text}\n`);
    if (question !== null) {
      this.question = question;
      this.out.write(question);
    }
  }

  private endQuestion(): void {
    if (this.question === null) return;
    this.question = null;
    this.out.write('\n');
  }

  private dim(text: string): string {
    return this.color ? `\x1b[2m${text}\x1b[22m` : text;
  }

  private bold(text: string): string {
    return this.color ? `\x1b[1m${text}\x1b[22m` : text;
  }
}

/** `tool(arguments)`, the arguments on one line and cut. */
function call(tool: string, args: string): string {
  return `${tool}(${cut(oneLine(args), ARGUMENTS_SHOWN)})`;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
