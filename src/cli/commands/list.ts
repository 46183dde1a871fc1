/** `vigil list`: conversations with their status, found through Vigil's search attributes. */
import type { Command } from 'commander';
import { WORKFLOW_TYPE } from '../../conversation/protocol';
import { formatMicros } from '../../conversation/usage';
import { globalOptions, temporalSettings } from '../settings';
import { withTemporalClient } from '../temporal-client';
import { UsageError } from '../exit-codes';

interface ListOptions {
  agent?: string;
  status?: string;
  limit: string;
  json?: boolean;
  totals?: boolean;
}

const STATUSES = ['idle', 'running', 'awaiting_approval', 'ended'];

export interface ListedConversation {
  workflowId: string;
  agent: string;
  conversationId: string;
  status: string;
  tokens: number;
  /** Micro-USD; null for a conversation that has not set VigilCostMicros (one from before costs). */
  costMicros: number | null;
  lastActivity: string | null;
  summary: string | null;
}

export function registerList(program: Command): void {
  program
    .command('list')
    .description('list conversations with their status, tokens, cost and last activity (newest first)')
    .option('-a, --agent <name>', 'only this agent')
    .option('-s, --status <status>', `only conversations in this status (${STATUSES.join(', ')})`)
    .option('-n, --limit <count>', 'at most this many', '50')
    .option(
      '--totals',
      'also print tokens and cost per agent, over every matching conversation (not only the first --limit)',
    )
    .option('--json', 'print the list as JSON')
    .addHelpText(
      'after',
      `
Reads Temporal's visibility (the VigilAgent, VigilStatus, VigilTokensUsed, VigilCostMicros and
VigilLastActivity search attributes every conversation sets), so it needs no worker; on a real server the list can trail the newest
changes by a moment.

Examples:
  $ vigil list
  $ vigil list --agent support --status awaiting_approval
  $ vigil list --agent support --totals     # what the agent has spent across its conversations
  $ vigil list --json | jq '.[].conversationId'`,
    )
    .action(async (options: ListOptions, command: Command) => {
      const limit = Number(options.limit);
      if (!Number.isInteger(limit) || limit < 1)
        throw new UsageError(`--limit must be a positive whole number, not "${options.limit}"`);
      if (options.status && !STATUSES.includes(options.status)) {
        throw new UsageError(`--status must be one of ${STATUSES.join(', ')}, not "${options.status}"`);
      }
      const clauses = [`WorkflowType = '${WORKFLOW_TYPE}'`];
      // Names are checked by the protocol's pattern (no quotes), so they are safe inside the query.
      if (options.agent) {
        if (!/^[A-Za-z0-9._:@-]+$/.test(options.agent))
          throw new UsageError(`--agent "${options.agent}" is not an agent name`);
        clauses.push(`VigilAgent = '${options.agent}'`);
      }
      if (options.status) clauses.push(`VigilStatus = '${options.status}'`);
      const settings = temporalSettings(globalOptions(command));
      const totals = new Map<string, { conversations: number; tokens: number; costMicros: number }>();
      const listed = await withTemporalClient(settings, async ({ client }) => {
        const found: ListedConversation[] = [];
        for await (const execution of client.workflow.list({ query: clauses.join(' AND '), pageSize: limit })) {
          // A long conversation's earlier runs (continued as new) are the same conversation: its current run says it all.
          if (execution.status.name === 'CONTINUED_AS_NEW') continue;
          const attributes = execution.searchAttributes as Record<string, unknown[] | undefined>;
          const text = (value: unknown, fallback: string) => (typeof value === 'string' ? value : fallback);
          const agent = text(attributes.VigilAgent?.[0], '');
          const memo = execution.memo as { summary?: string } | undefined;
          found.push({
            workflowId: execution.workflowId,
            agent,
            conversationId: execution.workflowId.slice(`conversation:${agent}:`.length),
            status: text(attributes.VigilStatus?.[0], execution.status.name.toLowerCase()),
            tokens: Number(attributes.VigilTokensUsed?.[0] ?? 0),
            costMicros: attributes.VigilCostMicros?.[0] === undefined ? null : Number(attributes.VigilCostMicros[0]),
            lastActivity: attributes.VigilLastActivity?.[0]
              ? new Date(attributes.VigilLastActivity[0] as string | Date).toISOString()
              : null,
            summary: memo?.summary ?? null,
          });
          const entry = found.at(-1)!;
          const sum = totals.get(agent) ?? { conversations: 0, tokens: 0, costMicros: 0 };
          totals.set(agent, {
            conversations: sum.conversations + 1,
            tokens: sum.tokens + entry.tokens,
            costMicros: sum.costMicros + (entry.costMicros ?? 0),
          });
          if (found.length >= limit && !options.totals) break;
        }
        return found.slice(0, limit);
      });
      if (options.json) {
        const json = options.totals ? { conversations: listed, totals: Object.fromEntries(totals) } : listed;
        process.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
        return;
      }
      if (listed.length === 0) {
        process.stdout.write('no conversations\n');
        return;
      }
      for (const c of listed) {
        const cost = c.costMicros === null ? '' : `  ${formatMicros(c.costMicros)}`;
        process.stdout.write(
          `${c.agent}/${c.conversationId}  ${c.status}  ${c.tokens} tokens${cost}  ${c.lastActivity ?? '-'}\n`,
        );
      }
      if (options.totals) {
        for (const [agent, t] of totals) {
          process.stdout.write(
            `total ${agent}: ${t.conversations} conversations, ${t.tokens} tokens, ${formatMicros(t.costMicros)}\n`,
          );
        }
      }
    });
}
