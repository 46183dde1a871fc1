/**
 * Scheduled messages: a recurring message to a conversation, as a Temporal Schedule whose action starts the
 * `scheduledMessage` workflow. The schedule id is `vigil-schedule:<agent>:<conversationId>:<name>`, its memo
 * says what it does (readable in the Temporal UI), and the reply of each firing goes to the schedule's channel.
 *
 * @example
 * const schedules = new ScheduleClient({ client });
 * await schedules.create({ agent: 'assistant', conversationId: 'team', content: 'Standup time', cron: '0 9 * * 1-5' });
 */
import { ServedAgents, type ServedAgentsOption } from '../client/served-agents';
import {
  Client,
  ScheduleAlreadyRunning,
  ScheduleNotFoundError as TemporalScheduleNotFound,
  ScheduleOverlapPolicy,
  ScheduleSummary,
} from '@temporalio/client';
import { msToNumber } from '@temporalio/common/lib/time';
import { CronExpressionParser } from 'cron-parser';
import { z } from 'zod';
import {
  ConfigError,
  ScheduleConflictError,
  ScheduleNotFoundError,
  SystemError,
  UnknownAgentError,
  ValidationError,
} from '../errors';
import {
  AgentName,
  ChannelRef,
  ConversationId,
  DEFAULT_TASK_QUEUE,
  describeZodError,
  SCHEDULED_MESSAGE_WORKFLOW_TYPE,
  ScheduledMessageInput,
} from '../conversation/protocol';

export const SCHEDULE_ID_PREFIX = 'vigil-schedule';
/** A firing's workflow id, `<schedule id>-<RFC 3339 time>` (21 characters more), is its message id: at most 200. */
const MAX_SCHEDULE_ID_LENGTH = 200 - '-2006-01-02T15:04:05Z'.length;

export function scheduleIdFor(agent: string, conversationId: string, name: string): string {
  return `${SCHEDULE_ID_PREFIX}:${agent}:${conversationId}:${name}`;
}

/** Schedule names follow the agent-name grammar: no `:`, so a schedule id names its agent, conversation and name unambiguously. */
const Name = AgentName;

/** `every`: a duration such as `30s`, `15m`, `1h`, `2 days` (at least one second, whole seconds). */
function checkEvery(every: string, ctx: z.RefinementCtx): void {
  let ms: number;
  try {
    ms = msToNumber(every as never);
  } catch {
    ctx.addIssue({
      code: 'custom',
      path: ['every'],
      message: `"${every}" is not a duration (e.g. 30s, 15m, 1h, 2 days)`,
    });
    return;
  }
  if (!(ms >= 1000) || ms % 1000 !== 0)
    ctx.addIssue({ code: 'custom', path: ['every'], message: 'must be whole seconds, at least 1s' });
}

/** `cron`: five fields (minute hour day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly; UTC. */
function checkCron(cron: string, ctx: z.RefinementCtx): void {
  const text = cron.trim();
  const shorthand = /^@(yearly|annually|monthly|weekly|daily|midnight|hourly)$/.test(text);
  if (!shorthand && text.split(/\s+/).length !== 5) {
    ctx.addIssue({
      code: 'custom',
      path: ['cron'],
      message: `"${cron}" must have 5 fields: minute hour day-of-month month day-of-week`,
    });
    return;
  }
  if (/[LW#?H]/.test(text.replace(/^@\w+$/, ''))) {
    ctx.addIssue({
      code: 'custom',
      path: ['cron'],
      message: `"${cron}": L, W, #, ? and H are not supported by Temporal schedules`,
    });
    return;
  }
  try {
    CronExpressionParser.parse(text);
  } catch (error) {
    ctx.addIssue({
      code: 'custom',
      path: ['cron'],
      message: `"${cron}" is not a cron expression: ${(error as Error).message}`,
    });
  }
}

export const CreateScheduleRequest = z
  .object({
    agent: AgentName,
    conversationId: ConversationId,
    content: ScheduledMessageInput.shape.content,
    author: ScheduledMessageInput.shape.author,
    every: z.string().min(1).max(100).optional(),
    cron: z.string().min(1).max(200).optional(),
    /** Where each firing's reply goes; the log when absent. */
    channel: ChannelRef.optional(),
    /** Tells schedules of one conversation apart; `default` when absent. */
    name: Name.optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    if ((input.every === undefined) === (input.cron === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['every'], message: 'give exactly one of every and cron' });
    }
    if (input.every !== undefined) checkEvery(input.every, ctx);
    if (input.cron !== undefined) checkCron(input.cron, ctx);
    const id = scheduleIdFor(input.agent, input.conversationId, input.name ?? 'default');
    if (id.length > MAX_SCHEDULE_ID_LENGTH) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message: `the schedule id ${id.length} characters long; at most ${MAX_SCHEDULE_ID_LENGTH}`,
      });
    }
  });
export type CreateScheduleRequest = z.input<typeof CreateScheduleRequest>;

export const ListSchedulesRequest = z
  .object({ agent: AgentName.optional(), conversationId: ConversationId.optional() })
  .strict();
export type ListSchedulesRequest = z.infer<typeof ListSchedulesRequest>;

/** What the memo of a Vigil schedule holds: enough to list it without describing each one. */
const ScheduleMemo = z.object({
  agent: z.string(),
  conversationId: z.string(),
  name: z.string(),
  content: z.string(),
  every: z.string().optional(),
  cron: z.string().optional(),
  channel: ChannelRef.optional(),
});

/** A scheduled message as Vigil shows it (CLI, gateway). */
export interface ScheduledMessage {
  id: string;
  agent: string;
  conversationId: string;
  name: string;
  content: string;
  every?: string;
  cron?: string;
  channel?: ChannelRef;
  paused: boolean;
  /** The next fire times, ISO 8601 (UTC). */
  nextRunAt: string | null;
  /** The last firing's time, if any. */
  lastRunAt: string | null;
}

export interface ScheduleClientOptions {
  client: Client;
  /** The task queue of the Vigil workers; default `vigil`. */
  taskQueue?: string;
  /** The agents the workers serve (see AgentClientOptions.agents): a schedule for another is an UnknownAgentError. */
  agents?: ServedAgentsOption;
}

export class ScheduleClient {
  private readonly client: Client;
  private readonly taskQueue: string;
  private readonly agents: ServedAgents;

  constructor(options: ScheduleClientOptions) {
    this.client = options.client;
    this.taskQueue = options.taskQueue ?? DEFAULT_TASK_QUEUE;
    if (this.taskQueue.trim() === '') throw new ConfigError(['ScheduleClient taskQueue must not be empty']);
    this.agents = new ServedAgents(this.client, this.taskQueue, options.agents);
  }

  /** Creates the schedule; a schedule with the same agent, conversation and name is a ScheduleConflictError. */
  async create(request: CreateScheduleRequest): Promise<ScheduledMessage> {
    const input = check(CreateScheduleRequest, request, 'schedule');
    UnknownAgentError.check(input.agent, await this.agents.list());
    const name = input.name ?? 'default';
    const id = scheduleIdFor(input.agent, input.conversationId, name);
    const message: ScheduledMessageInput = {
      agent: input.agent,
      conversationId: input.conversationId,
      content: input.content,
      ...(input.author ? { author: input.author } : {}),
      ...(input.channel ? { channel: input.channel } : {}),
    };
    const memo = {
      summary: `Posts "${clip(input.content, 60)}" to conversation ${input.conversationId} of agent ${input.agent} ${
        input.every ? `every ${input.every}` : `on cron "${input.cron}" (UTC)`
      }; reply to ${input.channel?.type === 'webhook' ? input.channel.url : 'the log'}`,
      vigil: {
        agent: input.agent,
        conversationId: input.conversationId,
        name,
        content: input.content,
        every: input.every,
        cron: input.cron,
        channel: input.channel,
      },
    };
    try {
      const handle = await this.client.schedule.create({
        scheduleId: id,
        spec: input.every
          ? { intervals: [{ every: input.every as never }] }
          : { cronExpressions: [input.cron!.trim()] },
        action: {
          type: 'startWorkflow',
          workflowType: SCHEDULED_MESSAGE_WORKFLOW_TYPE,
          workflowId: id,
          taskQueue: this.taskQueue,
          args: [message],
        },
        // A firing that is still running (no worker up) keeps at most one more waiting, not a pile.
        policies: { overlap: ScheduleOverlapPolicy.BUFFER_ONE },
        memo,
      });
      const view = this.view(id, await handle.describe());
      if (!view) throw new Error('the schedule just created has no Vigil memo');
      return view;
    } catch (error) {
      if (error instanceof ScheduleAlreadyRunning) {
        throw new ScheduleConflictError(
          `a schedule named "${name}" already exists for conversation ${input.conversationId} of agent ${input.agent} (${id})`,
        );
      }
      // The server's own judgement of the spec, in case it is stricter than ours.
      if (error instanceof TypeError) throw new ValidationError(`invalid schedule: ${error.message}`);
      throw systemError('create', error);
    }
  }

  /** Vigil's schedules, optionally of one agent or conversation, ordered by id. */
  async list(request: ListSchedulesRequest = {}): Promise<ScheduledMessage[]> {
    const filter = check(ListSchedulesRequest, request, 'list');
    const found: ScheduledMessage[] = [];
    try {
      for await (const summary of this.client.schedule.list()) {
        if (!summary.scheduleId.startsWith(`${SCHEDULE_ID_PREFIX}:`)) continue;
        const view = this.view(summary.scheduleId, summary);
        if (!view) continue;
        if (filter.agent && view.agent !== filter.agent) continue;
        if (filter.conversationId && view.conversationId !== filter.conversationId) continue;
        found.push(view);
      }
    } catch (error) {
      throw systemError('list', error);
    }
    return found.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Deletes a schedule; firings already started finish. Unknown ids are a ScheduleNotFoundError. */
  async delete(scheduleId: string): Promise<void> {
    if (!scheduleId.startsWith(`${SCHEDULE_ID_PREFIX}:`)) {
      throw new ValidationError(`"${scheduleId}" is not a Vigil schedule id (they start with ${SCHEDULE_ID_PREFIX}:)`);
    }
    try {
      await this.client.schedule.getHandle(scheduleId).delete();
    } catch (error) {
      if (error instanceof TemporalScheduleNotFound) throw new ScheduleNotFoundError(scheduleId);
      throw systemError('delete', error);
    }
  }

  private view(id: string, s: Pick<ScheduleSummary, 'memo' | 'state' | 'info'>): ScheduledMessage | undefined {
    const parsed = ScheduleMemo.safeParse((s.memo as { vigil?: unknown } | undefined)?.vigil);
    if (!parsed.success) return undefined;
    const recent = s.info.recentActions;
    return {
      id,
      ...parsed.data,
      paused: s.state.paused,
      nextRunAt: s.info.nextActionTimes[0]?.toISOString() ?? null,
      lastRunAt: recent.length ? recent[recent.length - 1].scheduledAt.toISOString() : null,
    };
  }
}

function check<T extends z.ZodType>(schema: T, value: unknown, what: string): z.output<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
  throw new ValidationError(`invalid ${what}: ${describeZodError(parsed.error)}`, issues);
}

function systemError(operation: string, error: unknown): SystemError {
  return new SystemError(`schedule ${operation} failed: ${error instanceof Error ? error.message : String(error)}`, {
    cause: error,
  });
}

function clip(text: string, max: number): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}
