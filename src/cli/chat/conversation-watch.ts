/**
 * The chat's subscription to its conversation's events (`AgentClient.events`). It starts with the first
 * message (opening the conversation, so there is a stream to read) and reads from the start of what is kept:
 * the session picks out its own turn by message id, so nothing between subscribing and sending is missed.
 * A conversation that ends closes its stream; the next message subscribes again, to the new run.
 */
import { setMaxListeners } from 'node:events';
import type { AgentClient } from '../../client';
import type { ConversationEvent } from '../../conversation/protocol';

export class ConversationWatch {
  private reading: Promise<void> | null = null;
  private readonly stop = abortController();
  /** Message ids whose `reply` event has been seen, and who waits for one. */
  private readonly replies = new Set<string>();
  private readonly waiters = new Map<string, () => void>();

  constructor(
    private readonly agents: AgentClient,
    private readonly agent: string,
    private readonly conversation: string,
    private readonly onEvent: (event: ConversationEvent) => void,
    private readonly onFailure: (error: unknown) => void,
  ) {}

  /** Subscribes unless already reading. Never throws: without events the chat still shows each reply. */
  async start(): Promise<void> {
    if (this.reading !== null || this.stop.signal.aborted) return;
    try {
      await this.agents.open(this.agent, this.conversation);
    } catch (error) {
      this.onFailure(error);
      return;
    }
    this.reading = this.read().finally(() => {
      this.reading = null;
      // No more events will come: nobody waits for a reply event in vain.
      for (const release of this.waiters.values()) release();
      this.waiters.clear();
    });
  }

  /**
   * Resolves once the `reply` event of this message has been read, so every event before it has been shown;
   * or after `ms`, or when the stream stops, whichever comes first.
   */
  async replyShown(messageId: string, ms: number): Promise<void> {
    if (this.reading === null || this.replies.has(messageId)) return;
    let timer: NodeJS.Timeout | undefined;
    await new Promise<void>((resolve) => {
      this.waiters.set(messageId, resolve);
      timer = setTimeout(resolve, ms);
    });
    clearTimeout(timer);
    this.waiters.delete(messageId);
  }

  /**
   * Stops reading. Not waited for: the abort cancels the client's poll under way and starts no new one
   * (AgentClient.events), but a poll the conversation already took waits there for its next event. Nothing is
   * lost: the chat is leaving, and events read after this are not shown.
   */
  close(): void {
    this.stop.abort();
  }

  private async read(): Promise<void> {
    const { signal } = this.stop;
    try {
      for await (const { event } of this.agents.events(this.agent, this.conversation, { signal })) {
        this.onEvent(event);
        if (event.type === 'reply') this.replied(event.reply.messageId);
      }
    } catch (error) {
      if (!signal.aborted) this.onFailure(error);
    }
  }

  private replied(messageId: string): void {
    // Only the replies of this session's messages are ever waited for; the set need not keep every one.
    if (this.replies.size > 100) this.replies.clear();
    this.replies.add(messageId);
    this.waiters.get(messageId)?.();
  }
}

/**
 * The Temporal client adds an abort listener to the signal for every poll of the stream and never removes
 * it, so a session-long signal passes Node's default limit of 10 and Node prints a warning into the chat.
 */
function abortController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
