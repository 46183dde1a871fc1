/** `vigil schedule`: recurring messages to a conversation, on Temporal Schedules (see src/schedules). */
import type { Command } from 'commander';
import { ASSISTANT_NAME } from '../../agents/assistant';
import { ValidationError } from '../../errors';
import { describeZodError } from '../../conversation/protocol';
import { CreateScheduleRequest, ScheduleClient, type ScheduledMessage } from '../../schedules';
import { globalOptions, temporalSettings } from '../settings';
import { withTemporalClient } from '../temporal-client';

interface CreateOptions {
  agent: string;
  every?: string;
  cron?: string;
  message: string;
  webhook?: string;
  name?: string;
  json?: boolean;
}

function line(s: ScheduledMessage): string {
  const when = s.every ? `every ${s.every}` : `cron "${s.cron}"`;
  const to = s.channel?.type === 'webhook' ? s.channel.url : 'log';
  return `${s.id}  ${when}  next ${s.nextRunAt ?? '-'}${s.paused ? '  (paused)' : ''}  -> ${to}  "${s.content}"`;
}

export function registerSchedule(program: Command): void {
  const schedule = program
    .command('schedule')
    .description('recurring messages to a conversation (create, list, delete)')
    .addHelpText(
      'after',
      `
Each schedule is a Temporal Schedule with the id vigil-schedule:<agent>:<conversation>:<name>. At every fire
time it posts the message to the conversation (starting it if need be); the reply goes to --webhook, or to
the worker's log. Cron expressions have five fields and are read in UTC.

Examples:
  $ vigil schedule create team --agent assistant --cron "0 9 * * 1-5" --message "Standup: what's blocking you?"
  $ vigil schedule create user-42 --every 1h --message "any news?" --webhook https://example.com/hook --name hourly
  $ vigil schedule list --agent assistant
  $ vigil schedule delete vigil-schedule:assistant:user-42:hourly`,
    );

  schedule
    .command('create')
    .description('create a recurring message to a conversation')
    .argument('<conversation>', 'conversation id, e.g. user-42')
    .option('-a, --agent <name>', 'the agent that runs the conversation', ASSISTANT_NAME)
    .option('--every <duration>', 'fire on an interval: 30s, 15m, 1h, 2 days')
    .option('--cron <expression>', 'fire on a cron expression (5 fields, UTC), e.g. "0 9 * * 1-5"')
    .requiredOption('-m, --message <text>', 'the message to post at each fire time')
    .option('--webhook <url>', 'send each reply to this webhook (default: the worker log)')
    .option('--name <name>', 'tells schedules of one conversation apart', 'default')
    .option('--json', 'print the schedule as JSON')
    .addHelpText(
      'after',
      `
Give exactly one of --every and --cron. Exit codes: 0 created, 1 a schedule of that name exists or Temporal
could not be reached, 2 a bad command line (e.g. an invalid cron expression, an agent no running worker serves).

Examples:
  $ vigil schedule create team --cron "0 9 * * 1-5" --message "Standup time"
  $ vigil schedule create user-42 --agent support --every 1h --message "status?" --webhook https://example.com/hook`,
    )
    .action(async (conversation: string, options: CreateOptions, command: Command) => {
      const request = {
        agent: options.agent,
        conversationId: conversation,
        content: options.message,
        every: options.every,
        cron: options.cron,
        name: options.name,
        ...(options.webhook ? { channel: { type: 'webhook' as const, url: options.webhook } } : {}),
      };
      // Checked before connecting, so a typo is a usage error even with Temporal down.
      const parsed = CreateScheduleRequest.safeParse(request);
      if (!parsed.success) throw new ValidationError(`invalid schedule: ${describeZodError(parsed.error)}`);
      const settings = temporalSettings(globalOptions(command));
      const created = await withTemporalClient(settings, ({ client }) =>
        new ScheduleClient({ client, taskQueue: settings.taskQueue, agents: 'from-workers' }).create(request),
      );
      process.stdout.write(options.json ? `${JSON.stringify(created, null, 2)}\n` : `created ${line(created)}\n`);
    });

  schedule
    .command('list')
    .description("list Vigil's schedules")
    .option('-a, --agent <name>', 'only this agent')
    .option('-c, --conversation <id>', 'only this conversation')
    .option('--json', 'print the list as JSON')
    .addHelpText(
      'after',
      `
On a real Temporal the list can trail a schedule created a moment ago.

Examples:
  $ vigil schedule list
  $ vigil schedule list --agent assistant --conversation team --json`,
    )
    .action(async (options: { agent?: string; conversation?: string; json?: boolean }, command: Command) => {
      const settings = temporalSettings(globalOptions(command));
      const listed = await withTemporalClient(settings, ({ client }) =>
        new ScheduleClient({ client, taskQueue: settings.taskQueue }).list({
          agent: options.agent,
          conversationId: options.conversation,
        }),
      );
      if (options.json) process.stdout.write(`${JSON.stringify(listed, null, 2)}\n`);
      else if (listed.length === 0) process.stdout.write('no schedules\n');
      else for (const s of listed) process.stdout.write(`${line(s)}\n`);
    });

  schedule
    .command('delete')
    .description('delete a schedule (firings already started finish)')
    .argument('<scheduleId>', 'as printed by create and list, e.g. vigil-schedule:assistant:user-42:default')
    .addHelpText(
      'after',
      `
Exit codes: 0 deleted, 1 no such schedule or Temporal could not be reached.

Example:
  $ vigil schedule delete vigil-schedule:assistant:user-42:default`,
    )
    .action(async (scheduleId: string, _options: unknown, command: Command) => {
      const settings = temporalSettings(globalOptions(command));
      await withTemporalClient(settings, ({ client }) =>
        new ScheduleClient({ client, taskQueue: settings.taskQueue }).delete(scheduleId),
      );
      process.stdout.write(`deleted ${scheduleId}\n`);
    });
}
