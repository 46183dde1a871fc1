/**
 * Vigil's one error base class. User and configuration errors (a bad message, a bad setting) are kept apart
 * from system errors (a provider or channel failing) so callers can tell whose move it is.
 */
export class VigilError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that breaks the protocol or a schema; retrying the same input fails the same way. */
export class ValidationError extends VigilError {
  constructor(
    message: string,
    /** Per-field problems, when a schema said what was wrong. */
    readonly issues: { path: string; message: string }[] = [],
  ) {
    super(message);
  }
}

/** A setting is missing or invalid; raised at startup with every problem listed. */
export class ConfigError extends VigilError {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  }
}

/**
 * No agent of that name is served: the client was told which agents the workers serve (the app's config, or the
 * shipped assistant), and the name is not among them. Nothing was started.
 */
export class UnknownAgentError extends VigilError {
  constructor(
    readonly agent: string,
    readonly known: readonly string[],
  ) {
    super(`no agent named ${JSON.stringify(agent)} is served here; the agents are: ${known.join(', ')}`);
  }

  /** Throws unless `agent` is among `known`; with no list (the workers' agents are not known), accepts any. */
  static check(agent: string, known: readonly string[] | undefined): void {
    if (known && !known.includes(agent)) throw new UnknownAgentError(agent, known);
  }
}

/** No conversation with that agent and id exists (or it has ended and cannot take the request). */
export class ConversationNotFoundError extends VigilError {
  constructor(
    readonly agent: string,
    readonly conversationId: string,
  ) {
    super(`conversation ${conversationId} of agent ${agent} was not found`);
  }
}

/**
 * The conversation has ended: its run closed after `end`, and an ended conversation takes no more messages. Its id
 * is not reused (until Temporal's retention removes the closed run), so a message meant for it never starts a new,
 * empty conversation by accident, even one sent while it was closing.
 */
export class ConversationEndedError extends VigilError {
  constructor(
    readonly agent: string,
    readonly conversationId: string,
  ) {
    super(
      `conversation ${conversationId} of agent ${agent} has ended and takes no more messages; use a new conversation id`,
    );
  }
}

/**
 * A conversation with that agent and id exists already (running or closed), so a fork cannot be made under that id:
 * a fork only ever starts a new conversation. Choose another id, or leave it out to have one generated.
 */
export class ConversationExistsError extends VigilError {
  constructor(
    readonly agent: string,
    readonly conversationId: string,
    options?: { cause?: unknown },
  ) {
    super(
      `conversation ${conversationId} of agent ${agent} exists already; fork into a new conversation id ` +
        '(or give none, and one is generated)',
      options,
    );
  }
}

/**
 * The conversation was busy (a turn running, or messages waiting for theirs) and its agent takes no new message
 * then (`onBusy: 'reject'`). Nothing of the message was recorded: send it again, under the same id, once the turn
 * is done.
 */
export class TurnInProgressError extends VigilError {
  constructor(
    readonly agent: string,
    readonly conversationId: string,
    /** The conversation's words: which turn runs, how many messages wait. */
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(`conversation ${conversationId} of agent ${agent} refused the message: ${reason}`, options);
  }
}

/** The caller's wait ran out; the request may still complete in the conversation. */
export class TimeoutError extends VigilError {}

/** An external system (model provider, channel, Temporal) failed. */
export class SystemError extends VigilError {}

/**
 * Temporal refused a request past one of the limits of the conversation's current run, and nothing was recorded:
 *
 * - `signals`, `updates`: the run has taken all it may of one kind, 10,000 signals (each `post`, `end` and preview
 *   batch is one) or 2,000 updates (each `send`, `decide`, `cancelTurn` and event poll is one). The conversation
 *   moves to a new run at its next turn boundary or idle moment (under a burst, once the burst lets it), and then
 *   takes more: send it again shortly.
 * - `in-flight updates`: the run holds as many unanswered updates as Temporal lets it (10 by default,
 *   `history.maxInFlightUpdates`). Each `send` stays in flight until its turn's reply, and each event-stream watcher
 *   keeps a poll in flight, so this is many concurrent sends (or sends and watchers) to one conversation. A slot
 *   frees when a turn finishes: send it again then.
 */
export class ConversationBusyError extends SystemError {
  constructor(
    readonly agent: string,
    readonly conversationId: string,
    /** Which of the run's limits was reached. */
    readonly limit: 'signals' | 'updates' | 'in-flight updates',
    operation: string,
    /** Temporal's words for it. */
    temporal: string,
    options?: { cause?: unknown },
  ) {
    super(
      limit === 'in-flight updates'
        ? `${operation} refused: too many requests are in flight to conversation ${conversationId} of agent ${agent} ` +
            `(sends waiting for their replies, watchers for events; Temporal: "${temporal}"); ` +
            'try again when a turn finishes'
        : `${operation} refused: conversation ${conversationId} of agent ${agent} has taken all the ` +
            `${limit === 'signals' ? 'messages (signals)' : 'requests (updates)'} one Temporal run may take ` +
            `(Temporal: "${temporal}"); it moves to a new run between two turns and then takes more: try again shortly`,
      options,
    );
  }
}

/** No schedule with that id exists (never created, or deleted). */
export class ScheduleNotFoundError extends VigilError {
  constructor(readonly scheduleId: string) {
    super(`schedule ${scheduleId} was not found`);
  }
}

/** A schedule with that agent, conversation and name exists already. */
export class ScheduleConflictError extends VigilError {}

/** A content reference names nothing in the store: the entry was never written there, or was deleted. */
export class ContentMissingError extends VigilError {
  constructor(
    readonly ref: string,
    /** Which store was asked, e.g. `file:/var/lib/vigil/data/content` or `postgres:vigil_content`. */
    readonly store: string,
  ) {
    super(`content ${ref} is missing from the content store ${store}`);
  }
}

/** A stored entry no longer hashes to its reference: the bytes were changed or damaged after they were written. */
export class ContentCorruptError extends VigilError {
  constructor(
    readonly ref: string,
    readonly store: string,
    /** The reference the stored bytes hash to now. */
    readonly actualRef: string,
  ) {
    super(`content ${ref} in the content store ${store} is corrupt: its bytes hash to ${actualRef}`);
  }
}

/** The content store cannot be reached or refused the operation (database down, disk full); retrying may help. */
export class StoreUnavailableError extends SystemError {
  constructor(
    message: string,
    readonly store: string,
    /** The driver's error code when it gave one (e.g. `ECONNREFUSED`, `28P01`). */
    readonly code?: string,
  ) {
    super(message);
  }
}
