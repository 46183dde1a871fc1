/**
 * Schedules: the CreateSchedule … ListScheduleMatchingTimes RPCs and the firing of their actions on the server's
 * clock (so time skipping moves schedules too).
 *
 * Specs are compiled as the real server compiles them: cron strings and calendar strings become structured
 * calendars, `@every` becomes an interval, and DescribeSchedule returns the compiled form. Times are matched in
 * UTC only (a time zone other than UTC is UNIMPLEMENTED) and jitter is accepted but not applied. Catch-up
 * windows are not enforced: this server never sleeps through a fire time, it only skips time on purpose.
 * Backfill is UNIMPLEMENTED.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { randomUUID } from 'node:crypto';
import { CronExpressionParser } from 'cron-parser';
import type { Cluster } from './cluster';
import type { ClockTimer } from './clock';
import { alreadyExists, failedPrecondition, invalidArgument, notFound, required, RpcError } from './errors';
import type { Namespace } from './namespace';
import { pageToken, readPageToken } from './page-token';
import { duration, enums, Loose, Memo, SearchAttributes, temporal, timestamp, toMillis } from './proto';
import { parseQuery, type AttributeType, type Value } from './visibility';

type RangePb = { start: number; end: number; step: number };
export interface StructuredCalendar {
  second: RangePb[];
  minute: RangePb[];
  hour: RangePb[];
  dayOfMonth: RangePb[];
  month: RangePb[];
  year: RangePb[];
  dayOfWeek: RangePb[];
  comment?: string;
}
type SpecPb = Loose<temporal.api.schedule.v1.ScheduleSpec.$Properties>;
type StartWorkflowPb = Loose<temporal.api.workflow.v1.NewWorkflowExecutionInfo.$Properties>;

const Overlap = enums.ScheduleOverlapPolicy;
const RECENT_ACTIONS = 10;
const FUTURE_ACTIONS = 10;
const SPEC_ERROR = 'Invalid schedule spec: ';

// ---- specs -------------------------------------------------------------------------------------------------

interface CompiledSpec {
  calendars: StructuredCalendar[];
  intervals: { intervalMs: number; phaseMs: number }[];
  exclude: StructuredCalendar[];
  startTime?: number;
  endTime?: number;
  jitterMs: number;
}

const specError = (message: string) => invalidArgument(SPEC_ERROR + message);

/** Consecutive values as ranges: [1,2,3,5] -> 1-3, 5-5. */
function toRanges(values: number[]): RangePb[] {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const ranges: RangePb[] = [];
  for (const v of sorted) {
    const last = ranges[ranges.length - 1];
    if (last && last.end === v - 1) last.end = v;
    else ranges.push({ start: v, end: v, step: 1 });
  }
  return ranges;
}

function numbers(values: readonly (number | string)[], field: string, cron: string): number[] {
  return values.map((v) => {
    if (typeof v !== 'number') throw specError(`cron string "${cron}": '${v}' in the ${field} field is not supported`);
    return v;
  });
}

/** The year field, which cron-parser does not know: `*`, or a comma list of N, N-M and N-M/S. */
function parseYear(field: string, cron: string): RangePb[] {
  if (field === '*') return [];
  return field.split(',').map((part) => {
    const m = /^(\d{4})(?:-(\d{4}))?(?:\/(\d+))?$/.exec(part);
    if (!m) throw specError(`cron string "${cron}": invalid year '${part}'`);
    const start = Number(m[1]);
    return { start, end: m[2] ? Number(m[2]) : start, step: m[3] ? Number(m[3]) : 1 };
  });
}

const SHORTHANDS: Record<string, string> = {
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

function parseEveryDuration(text: string, cron: string): number {
  const m = /^(\d+)([smhd])$/.exec(text);
  if (!m) throw specError(`cron string "${cron}": invalid @every duration '${text}' (use e.g. 30s, 15m, 1h, 2d)`);
  return Number(m[1]) * { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

/**
 * A cron string with Temporal's meaning: 5 fields (minute hour day-of-month month day-of-week), 6 (… year) or
 * 7 (second … year); @yearly … @hourly; `@every <n><s|m|h|d>[/<phase>]`; an optional CRON_TZ= or TZ= prefix
 * and a trailing `# comment`. Day of month and day of week must both match (no cron "or" rule).
 */
function compileCron(cron: string, into: CompiledSpec, timezone: { name: string }): void {
  let text = cron.trim();
  let comment: string | undefined;
  const hash = text.indexOf('#');
  if (hash >= 0) {
    comment = text.slice(hash + 1).trim();
    text = text.slice(0, hash).trim();
  }
  const tz = /^(?:CRON_TZ|TZ)=(\S+)\s+(.*)$/.exec(text);
  if (tz) {
    if (timezone.name) throw specError(`cron string "${cron}" names a time zone and so does the spec`);
    timezone.name = tz[1];
    text = tz[2];
  }
  const every = /^@every\s+(\S+?)(?:\/(\S+))?$/.exec(text);
  if (every) {
    into.intervals.push({
      intervalMs: parseEveryDuration(every[1], cron),
      phaseMs: every[2] ? parseEveryDuration(every[2], cron) : 0,
    });
    return;
  }
  text = SHORTHANDS[text] ?? text;
  const fields = text.split(/\s+/).filter(Boolean);
  if (fields.length < 5 || fields.length > 7) {
    throw specError(
      `cron string "${cron}" must have 5, 6 or 7 fields (second? minute hour day-of-month month day-of-week year?)`,
    );
  }
  const withSeconds = fields.length === 7;
  const year = fields.length >= 6 ? parseYear(fields[fields.length - 1], cron) : [];
  const rest = fields.slice(0, withSeconds ? 6 : 5).join(' ');
  let parsed;
  try {
    parsed = CronExpressionParser.parse(rest).fields;
  } catch (err) {
    throw specError(`cron string "${cron}": ${(err as Error).message}`);
  }
  into.calendars.push({
    second: toRanges(withSeconds ? numbers(parsed.second.values, 'second', cron) : [0]),
    minute: toRanges(numbers(parsed.minute.values, 'minute', cron)),
    hour: toRanges(numbers(parsed.hour.values, 'hour', cron)),
    dayOfMonth: toRanges(numbers(parsed.dayOfMonth.values, 'day-of-month', cron)),
    month: toRanges(numbers(parsed.month.values, 'month', cron)),
    year,
    // cron-parser spells Sunday both 0 and 7.
    dayOfWeek: toRanges(numbers(parsed.dayOfWeek.values, 'day-of-week', cron).map((d) => d % 7)),
    comment,
  });
}

/** A CalendarSpec (strings per field) is a 7-field cron string with Temporal's defaults. */
function calendarAsCron(c: Loose<temporal.api.schedule.v1.CalendarSpec.$Properties>): string {
  return [
    c.second || '0',
    c.minute || '0',
    c.hour || '0',
    c.dayOfMonth || '*',
    c.month || '*',
    c.dayOfWeek || '*',
    c.year || '*',
  ].join(' ');
}

function structured(s: Loose<temporal.api.schedule.v1.StructuredCalendarSpec.$Properties>): StructuredCalendar {
  const ranges = (list: typeof s.second, field: string, min: number, max: number): RangePb[] =>
    (list ?? []).map((r) => {
      const start = r.start ?? 0;
      const end = r.end && r.end > start ? r.end : start;
      if (start < min || end > max) throw specError(`${field} range ${start}-${end} is outside ${min}-${max}`);
      return { start, end, step: r.step && r.step > 0 ? r.step : 1 };
    });
  // An empty second, minute or hour means 0, as in a CalendarSpec; empty day, month and year fields mean any.
  const orZero = (r: RangePb[]) => (r.length ? r : [{ start: 0, end: 0, step: 1 }]);
  return {
    second: orZero(ranges(s.second, 'second', 0, 59)),
    minute: orZero(ranges(s.minute, 'minute', 0, 59)),
    hour: orZero(ranges(s.hour, 'hour', 0, 23)),
    dayOfMonth: ranges(s.dayOfMonth, 'day_of_month', 1, 31),
    month: ranges(s.month, 'month', 1, 12),
    year: ranges(s.year, 'year', 0, 9999),
    dayOfWeek: ranges(s.dayOfWeek, 'day_of_week', 0, 7).map((r) => ({
      ...r,
      start: r.start % 7,
      end: r.end === 7 && r.start !== 7 ? 6 : r.end % 7,
    })),
    comment: s.comment || undefined,
  };
}

export function compileSpec(spec: SpecPb | null | undefined): CompiledSpec {
  if (!spec) throw specError('spec is not set');
  const out: CompiledSpec = { calendars: [], intervals: [], exclude: [], jitterMs: toMillis(spec.jitter) };
  const timezone = { name: spec.timezoneName ?? '' };
  for (const s of spec.structuredCalendar ?? []) out.calendars.push(structured(s));
  for (const c of spec.calendar ?? []) compileCron(calendarAsCron(c), out, timezone);
  for (const cron of spec.cronString ?? []) compileCron(cron, out, timezone);
  for (const s of spec.excludeStructuredCalendar ?? []) out.exclude.push(structured(s));
  for (const c of spec.excludeCalendar ?? []) {
    const excluded: CompiledSpec = { calendars: [], intervals: [], exclude: [], jitterMs: 0 };
    compileCron(calendarAsCron(c), excluded, timezone);
    out.exclude.push(...excluded.calendars);
  }
  for (const i of spec.interval ?? []) {
    const intervalMs = toMillis(i.interval);
    const phaseMs = toMillis(i.phase);
    if (intervalMs < 1000) throw specError('interval is shorter than one second');
    if (phaseMs < 0 || phaseMs >= intervalMs) throw specError('phase must be at least zero and less than the interval');
    out.intervals.push({ intervalMs, phaseMs });
  }
  if (timezone.name && timezone.name !== 'UTC' && timezone.name !== 'Etc/UTC') {
    throw new RpcError(
      GrpcStatus.UNIMPLEMENTED,
      `time zone ${timezone.name}: the test server matches schedules in UTC only`,
    );
  }
  if (spec.timezoneData && spec.timezoneData.length > 0) {
    throw new RpcError(GrpcStatus.UNIMPLEMENTED, 'timezone_data is not supported by the test server');
  }
  if (spec.startTime) out.startTime = toMillis(spec.startTime);
  if (spec.endTime) out.endTime = toMillis(spec.endTime);
  if (out.startTime !== undefined && out.endTime !== undefined && out.endTime < out.startTime) {
    throw specError('end_time is before start_time');
  }
  return out;
}

function encodeSpec(spec: CompiledSpec): SpecPb {
  const calendar = (c: StructuredCalendar) => ({ ...c, comment: c.comment ?? '' });
  return {
    structuredCalendar: spec.calendars.map(calendar),
    interval: spec.intervals.map((i) => ({ interval: duration(i.intervalMs), phase: duration(i.phaseMs) })),
    excludeStructuredCalendar: spec.exclude.map(calendar),
    startTime: spec.startTime !== undefined ? timestamp(spec.startTime) : undefined,
    endTime: spec.endTime !== undefined ? timestamp(spec.endTime) : undefined,
    jitter: spec.jitterMs ? duration(spec.jitterMs) : undefined,
  };
}

const inRanges = (ranges: RangePb[], v: number, emptyMatches: boolean) =>
  ranges.length === 0 ? emptyMatches : ranges.some((r) => v >= r.start && v <= r.end && (v - r.start) % r.step === 0);

function calendarMatches(c: StructuredCalendar, t: number): boolean {
  const d = new Date(t);
  return (
    inRanges(c.year, d.getUTCFullYear(), true) &&
    inRanges(c.month, d.getUTCMonth() + 1, true) &&
    inRanges(c.dayOfMonth, d.getUTCDate(), true) &&
    inRanges(c.dayOfWeek, d.getUTCDay(), true) &&
    inRanges(c.hour, d.getUTCHours(), false) &&
    inRanges(c.minute, d.getUTCMinutes(), false) &&
    inRanges(c.second, d.getUTCSeconds(), false)
  );
}

/** The first time at or after `from` (whole seconds, UTC) that the calendar matches, or undefined. */
function nextCalendarTime(c: StructuredCalendar, from: number): number | undefined {
  let t = Math.ceil(from / 1000) * 1000;
  // Each miss jumps to the start of the next year, month, day, hour, minute or second, so this is bounded.
  for (let i = 0; i < 200_000; i++) {
    const d = new Date(t);
    const [y, mo, day, h, mi] = [
      d.getUTCFullYear(),
      d.getUTCMonth(),
      d.getUTCDate(),
      d.getUTCHours(),
      d.getUTCMinutes(),
    ];
    if (y > 9999) return undefined;
    if (!inRanges(c.year, y, true)) {
      const later = c.year.flatMap((r) => (r.end > y ? [Math.max(r.start, y + 1)] : []));
      if (later.length === 0) return undefined;
      t = Date.UTC(Math.min(...later), 0, 1);
    } else if (!inRanges(c.month, mo + 1, true)) t = Date.UTC(y, mo + 1, 1);
    else if (!inRanges(c.dayOfMonth, day, true) || !inRanges(c.dayOfWeek, d.getUTCDay(), true))
      t = Date.UTC(y, mo, day + 1);
    else if (!inRanges(c.hour, h, false)) t = Date.UTC(y, mo, day, h + 1);
    else if (!inRanges(c.minute, mi, false)) t = Date.UTC(y, mo, day, h, mi + 1);
    else if (!inRanges(c.second, d.getUTCSeconds(), false)) t += 1000;
    else return t;
  }
  return undefined;
}

/** The first action time strictly after `after`, or undefined when the spec has no more. */
export function nextActionTime(spec: CompiledSpec, after: number): number | undefined {
  let from = Math.max(after + 1, spec.startTime ?? -Infinity);
  for (let guard = 0; guard < 10_000; guard++) {
    const candidates: number[] = [];
    for (const c of spec.calendars) {
      const t = nextCalendarTime(c, from);
      if (t !== undefined) candidates.push(t);
    }
    for (const { intervalMs, phaseMs } of spec.intervals) {
      candidates.push(Math.ceil((from - phaseMs) / intervalMs) * intervalMs + phaseMs);
    }
    if (candidates.length === 0) return undefined;
    const t = Math.min(...candidates);
    if (spec.endTime !== undefined && t > spec.endTime) return undefined;
    if (!spec.exclude.some((c) => calendarMatches(c, t))) return t;
    from = t + 1;
  }
  return undefined;
}

// ---- schedules ---------------------------------------------------------------------------------------------

interface RecentAction {
  scheduleTime: number;
  actualTime: number;
  workflowId: string;
  runId: string;
}

interface State {
  notes: string;
  paused: boolean;
  limitedActions: boolean;
  remainingActions: number;
}

/** `<workflowId>-<time>` with the time in RFC 3339, UTC, whole seconds, as the real scheduler names runs. */
export function scheduledWorkflowId(workflowId: string, nominalMs: number): string {
  return `${workflowId}-${new Date(Math.floor(nominalMs / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z')}`;
}

function payload(value: unknown, type: string) {
  return {
    metadata: { encoding: Buffer.from('json/plain'), type: Buffer.from(type) },
    data: Buffer.from(JSON.stringify(value)),
  };
}

class Schedule {
  spec!: CompiledSpec;
  action!: StartWorkflowPb;
  overlap = Overlap.SCHEDULE_OVERLAP_POLICY_SKIP as number;
  policies: Loose<temporal.api.schedule.v1.SchedulePolicies.$Properties> = {};
  state: State = { notes: '', paused: false, limitedActions: false, remainingActions: 0 };
  memo: Memo | null | undefined;
  searchAttributes: SearchAttributes | null | undefined;
  readonly createTime: number;
  updateTime?: number;
  version = 1;
  actionCount = 0;
  overlapSkipped = 0;
  bufferDropped = 0;
  readonly recent: RecentAction[] = [];
  /** Workflow ids started by this schedule that may still be running (their chains are followed). */
  private running: string[] = [];
  private buffer: { nominal: number; overlap: number }[] = [];
  /** The last fire time considered; the next one is after it. */
  private cursor: number;
  private timer: ClockTimer | undefined;
  deleted = false;

  constructor(
    private readonly cluster: Cluster,
    readonly ns: Namespace,
    readonly id: string,
    readonly requestId: string,
  ) {
    this.createTime = this.cluster.clock.now();
    this.cursor = this.createTime;
  }

  get conflictToken(): Buffer {
    return Buffer.from(String(this.version));
  }

  /** Replaces the definition (create and update) and arms the next fire time from now. */
  define(schedule: Loose<temporal.api.schedule.v1.Schedule.$Properties> | null | undefined): void {
    const spec = compileSpec(schedule?.spec);
    const action = schedule?.action?.startWorkflow;
    if (!action) throw invalidArgument('Schedule action is not set: only start_workflow actions exist.');
    required(action.workflowId, 'WorkflowId');
    required(action.workflowType?.name, 'WorkflowType');
    required(action.taskQueue?.name, 'TaskQueue');
    if (action.retryPolicy)
      throw new RpcError(GrpcStatus.UNIMPLEMENTED, 'workflow retry policies are not supported by the test server');
    this.cluster.normalizeTimeouts(action);
    for (const name of Object.keys(action.searchAttributes?.indexedFields ?? {})) {
      if (this.ns.attributeType(name) === undefined) throw invalidArgument(`search attribute ${name} is not defined`);
    }
    this.spec = spec;
    this.action = action;
    this.policies = schedule?.policies ?? {};
    this.overlap = this.policies.overlapPolicy || Overlap.SCHEDULE_OVERLAP_POLICY_SKIP;
    const state = schedule?.state;
    this.state = {
      notes: state?.notes ?? '',
      paused: state?.paused ?? false,
      limitedActions: state?.limitedActions ?? false,
      remainingActions: Number(state?.remainingActions ?? 0),
    };
    this.cursor = Math.max(this.cursor, this.cluster.clock.now());
    this.arm();
  }

  delete(): void {
    this.deleted = true;
    this.timer?.cancel();
    this.timer = undefined;
  }

  patch(patch: Loose<temporal.api.schedule.v1.SchedulePatch.$Properties> | null | undefined): void {
    if (!patch) return;
    if (patch.pause && patch.unpause) throw invalidArgument('A patch cannot both pause and unpause a schedule.');
    if (patch.backfillRequest?.length)
      throw new RpcError(GrpcStatus.UNIMPLEMENTED, 'backfill is not supported by the test server');
    if (patch.pause) this.state = { ...this.state, paused: true, notes: patch.pause };
    if (patch.unpause) {
      this.state = { ...this.state, paused: false, notes: patch.unpause };
      // Fire times that passed while paused are not made up.
      this.cursor = Math.max(this.cursor, this.cluster.clock.now());
      this.arm();
    }
    if (patch.triggerImmediately) {
      const requested = patch.triggerImmediately.scheduledTime
        ? toMillis(patch.triggerImmediately.scheduledTime)
        : this.cluster.clock.now();
      this.take(requested, patch.triggerImmediately.overlapPolicy || this.overlap, true);
    }
  }

  /** Runs started by this schedule that are still open: the current run of each started workflow id. */
  runningWorkflows(): { workflowId: string; runId: string }[] {
    this.running = this.running.filter((id) => this.cluster.findOpenRun(this.ns.name, id, ''));
    return this.running.map((workflowId) => {
      const run = this.cluster.findOpenRun(this.ns.name, workflowId, '')!;
      return { workflowId, runId: run.params.firstRunId ?? run.runId };
    });
  }

  futureTimes(count: number): number[] {
    if (this.exhausted()) return [];
    const times: number[] = [];
    let after = this.cursor;
    const limit = this.state.limitedActions ? Math.min(count, this.state.remainingActions) : count;
    while (times.length < limit) {
      const t = nextActionTime(this.spec, after);
      if (t === undefined) break;
      times.push(t);
      after = t;
    }
    return times;
  }

  /** A started run closed somewhere: start a buffered action if nothing of ours runs any more. */
  onRunClosed(): void {
    if (this.deleted || this.buffer.length === 0 || this.runningWorkflows().length > 0) return;
    const next = this.buffer.shift()!;
    this.start(next.nominal, next.overlap);
  }

  private exhausted(): boolean {
    return this.state.limitedActions && this.state.remainingActions <= 0;
  }

  private arm(): void {
    this.timer?.cancel();
    this.timer = undefined;
    if (this.deleted || this.exhausted()) return;
    const due = nextActionTime(this.spec, this.cursor);
    if (due === undefined) return;
    this.timer = this.cluster.clock.at(due, () => {
      this.timer = undefined;
      this.cursor = due;
      if (!this.state.paused && !this.exhausted()) this.take(due, this.overlap, false);
      this.arm();
    });
  }

  /** One action at `nominal`, under an overlap policy. Manual triggers ignore pause and the action limit. */
  private take(nominal: number, overlap: number, manual: boolean): void {
    if (!manual && this.state.limitedActions) {
      if (this.state.remainingActions <= 0) return;
      this.state.remainingActions--;
    }
    const running = this.runningWorkflows();
    if (running.length > 0) {
      switch (overlap) {
        case Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL:
          break;
        case Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ONE:
          if (this.buffer.length > 0) this.bufferDropped++;
          else this.buffer.push({ nominal, overlap });
          return;
        case Overlap.SCHEDULE_OVERLAP_POLICY_BUFFER_ALL:
          this.buffer.push({ nominal, overlap });
          return;
        case Overlap.SCHEDULE_OVERLAP_POLICY_CANCEL_OTHER:
          for (const r of running)
            this.cluster
              .findOpenRun(this.ns.name, r.workflowId, '')
              ?.requestCancel({ identity: 'temporal-scheduler', reason: 'cancelled by schedule overlap policy' });
          this.buffer = [{ nominal, overlap }];
          return;
        case Overlap.SCHEDULE_OVERLAP_POLICY_TERMINATE_OTHER:
          for (const r of running)
            this.cluster
              .findOpenRun(this.ns.name, r.workflowId, '')
              ?.terminate('terminated by schedule overlap policy', undefined, 'temporal-scheduler');
          break;
        default:
          this.overlapSkipped++;
          return;
      }
    }
    this.start(nominal, overlap);
  }

  private start(nominal: number, overlap: number): void {
    const a = this.action;
    const workflowId = scheduledWorkflowId(a.workflowId!, nominal);
    const nominalSecond = Math.floor(nominal / 1000) * 1000;
    try {
      const { run } = this.cluster.start(
        this.ns,
        {
          workflowId,
          workflowType: a.workflowType!.name!,
          taskQueue: a.taskQueue!.name!,
          input: a.input,
          header: a.header,
          memo: a.memo,
          searchAttributes: {
            indexedFields: {
              ...(a.searchAttributes?.indexedFields ?? {}),
              TemporalScheduledStartTime: payload(new Date(nominalSecond).toISOString(), 'Datetime'),
              TemporalScheduledById: payload(this.id, 'Keyword'),
            },
          },
          ...this.cluster.normalizeTimeouts(a),
          identity: 'temporal-scheduler',
          requestId: randomUUID(),
          firstTaskDelayMs: 0,
        },
        { conflict: enums.WorkflowIdConflictPolicy.WORKFLOW_ID_CONFLICT_POLICY_FAIL },
      );
      this.actionCount++;
      // As on the real server (scheduler version DontTrackOverlapping), a run started under ALLOW_ALL is not
      // tracked as running: it never holds back a later action, and describe does not list it.
      if (overlap !== Overlap.SCHEDULE_OVERLAP_POLICY_ALLOW_ALL) this.running.push(workflowId);
      this.recent.push({
        scheduleTime: nominalSecond,
        actualTime: this.cluster.clock.now(),
        workflowId,
        runId: run.runId,
      });
      if (this.recent.length > RECENT_ACTIONS) this.recent.shift();
    } catch (err) {
      // As on the real server, a start that fails (e.g. the id is taken) is dropped; the schedule goes on.
      if (!(err instanceof RpcError)) throw err;
    }
  }

  recentActions() {
    return this.recent.map((r) => ({
      scheduleTime: timestamp(r.scheduleTime),
      actualTime: timestamp(r.actualTime),
      startWorkflowResult: { workflowId: r.workflowId, runId: r.runId },
      startWorkflowStatus: this.cluster.runs.get(r.runId)?.status,
    }));
  }

  describe() {
    return {
      schedule: {
        spec: encodeSpec(this.spec),
        action: { startWorkflow: this.action },
        policies: { ...this.policies, overlapPolicy: this.overlap },
        state: { ...this.state },
      },
      info: {
        actionCount: this.actionCount,
        missedCatchupWindow: 0,
        overlapSkipped: this.overlapSkipped,
        bufferDropped: this.bufferDropped,
        bufferSize: this.buffer.length,
        runningWorkflows: this.runningWorkflows(),
        recentActions: this.recentActions(),
        futureActionTimes: this.futureTimes(FUTURE_ACTIONS).map(timestamp),
        createTime: timestamp(this.createTime),
        updateTime: this.updateTime !== undefined ? timestamp(this.updateTime) : undefined,
      },
      memo: this.memo ?? undefined,
      searchAttributes: this.searchAttributes ?? undefined,
      conflictToken: this.conflictToken,
    };
  }

  listEntry() {
    return {
      scheduleId: this.id,
      memo: this.memo ?? undefined,
      searchAttributes: this.searchAttributes ?? undefined,
      info: {
        spec: encodeSpec(this.spec),
        workflowType: this.action.workflowType,
        notes: this.state.notes,
        paused: this.state.paused,
        recentActions: this.recentActions(),
        futureActionTimes: this.futureTimes(5).map(timestamp),
      },
    };
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Req = any;

/** All schedules of the server, by namespace and id. */
export class Schedules {
  private readonly all = new Map<string, Schedule>();

  constructor(private readonly cluster: Cluster) {}

  /** Called whenever a run closes; buffered actions wait for that. */
  runClosed(): void {
    // After the closing run has finished its bookkeeping (a continue-as-new successor is in place by then).
    setImmediate(() => {
      for (const s of this.all.values()) s.onRunClosed();
    });
  }

  private key(ns: Namespace, id: string) {
    return `${ns.name}\u0000${id}`;
  }

  private get(req: Req): Schedule {
    const ns = this.cluster.namespace(req.namespace);
    const id = required(req.scheduleId as string, 'ScheduleId');
    const schedule = this.all.get(this.key(ns, id));
    if (!schedule) throw notFound(`schedule "${id}" not found`);
    return schedule;
  }

  private checkAttributes(ns: Namespace, attributes: SearchAttributes | null | undefined): void {
    for (const name of Object.keys(attributes?.indexedFields ?? {})) {
      if (ns.attributeType(name) === undefined) throw invalidArgument(`search attribute ${name} is not defined`);
    }
  }

  handlers(): Record<string, (req: Req) => unknown> {
    return {
      CreateSchedule: (req) => {
        const ns = this.cluster.namespace(req.namespace);
        const id = required(req.scheduleId as string, 'ScheduleId');
        const existing = this.all.get(this.key(ns, id));
        if (existing) {
          if (req.requestId && existing.requestId === req.requestId) return { conflictToken: existing.conflictToken };
          throw alreadyExists('Schedule with this ID is already registered.');
        }
        this.checkAttributes(ns, req.searchAttributes);
        const schedule = new Schedule(this.cluster, ns, id, req.requestId || randomUUID());
        schedule.define(req.schedule);
        schedule.memo = req.memo;
        schedule.searchAttributes = req.searchAttributes;
        this.all.set(this.key(ns, id), schedule);
        schedule.patch(req.initialPatch);
        return { conflictToken: schedule.conflictToken };
      },
      DescribeSchedule: (req) => this.get(req).describe(),
      UpdateSchedule: (req) => {
        const schedule = this.get(req);
        const token = req.conflictToken as Uint8Array | undefined;
        if (token && token.length > 0 && !Buffer.from(token).equals(schedule.conflictToken)) {
          throw failedPrecondition('mismatched conflict token');
        }
        this.checkAttributes(schedule.ns, req.searchAttributes);
        schedule.define(req.schedule);
        if (req.searchAttributes) schedule.searchAttributes = req.searchAttributes;
        schedule.version++;
        schedule.updateTime = this.cluster.clock.now();
        return {};
      },
      PatchSchedule: (req) => {
        const schedule = this.get(req);
        schedule.patch(req.patch);
        schedule.version++;
        schedule.updateTime = this.cluster.clock.now();
        return {};
      },
      DeleteSchedule: (req) => {
        const schedule = this.get(req);
        schedule.delete();
        this.all.delete(this.key(schedule.ns, schedule.id));
        return {};
      },
      ListSchedules: (req) => {
        const ns = this.cluster.namespace(req.namespace);
        const predicate = parseQuery(req.query ?? '', (name) => this.attributeType(ns, name));
        const matching = [...this.all.values()]
          .filter((s) => s.ns === ns && predicate((name) => this.attributeValue(s, name)))
          .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const offset = readPageToken(req.nextPageToken);
        const size = req.maximumPageSize > 0 ? req.maximumPageSize : 1000;
        const page = matching.slice(offset, offset + size);
        const next = offset + page.length;
        return {
          schedules: page.map((s) => s.listEntry()),
          nextPageToken: next < matching.length ? pageToken(next) : undefined,
        };
      },
      ListScheduleMatchingTimes: (req) => {
        const schedule = this.get(req);
        const start = toMillis(req.startTime);
        const end = toMillis(req.endTime);
        if (end < start) throw invalidArgument('end time is before start time');
        const times: number[] = [];
        let after = start - 1;
        for (
          let t = nextActionTime(schedule.spec, after);
          t !== undefined && t <= end && times.length < 1000;
          t = nextActionTime(schedule.spec, after)
        ) {
          times.push(t);
          after = t;
        }
        return { startTime: times.map(timestamp) };
      },
    };
  }

  private attributeType(ns: Namespace, name: string): AttributeType | undefined {
    if (name === 'ScheduleId') return 'Keyword';
    if (name === 'TemporalSchedulePaused') return 'Bool';
    return this.cluster.attributeTypeName(ns, name);
  }

  private attributeValue(s: Schedule, name: string): Value | undefined {
    if (name === 'ScheduleId') return s.id;
    if (name === 'TemporalSchedulePaused') return s.state.paused;
    const p = s.searchAttributes?.indexedFields?.[name];
    if (!p?.data) return undefined;
    try {
      const value = JSON.parse(Buffer.from(p.data).toString()) as Value;
      return this.attributeType(s.ns, name) === 'Datetime' && typeof value === 'string' ? Date.parse(value) : value;
    } catch {
      return undefined;
    }
  }
}
