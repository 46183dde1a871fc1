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

/** No conversation with that agent and id exists (or it has ended and cannot take the request). */
export class ConversationNotFoundError extends VigilError {
  constructor(
    readonly agent: string,
    readonly conversationId: string,
  ) {
    super(`conversation ${conversationId} of agent ${agent} was not found`);
  }
}

/** The caller's wait ran out; the request may still complete in the conversation. */
export class TimeoutError extends VigilError {}

/** An external system (model provider, channel, Temporal) failed. */
export class SystemError extends VigilError {}

/** No schedule with that id exists (never created, or deleted). */
export class ScheduleNotFoundError extends VigilError {
  constructor(readonly scheduleId: string) {
    super(`schedule ${scheduleId} was not found`);
  }
}

/** A schedule with that agent, conversation and name exists already. */
export class ScheduleConflictError extends VigilError {}
