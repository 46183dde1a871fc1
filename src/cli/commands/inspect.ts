/** `vigil inspect`: a conversation's state, per-turn models and usage, and transcript. */
import type { Command } from 'commander';
import { ASSISTANT_NAME } from '../../agents/assistant';
import type { AgentClient } from '../../client';
import type { ConversationView, TokenUsage, TranscriptEntry } from '../../conversation/protocol';
import { formatCount, formatMicros, restoreUsage, type UsageTotals } from '../../conversation/usage';
import { checkConversationAddress } from '../conversation-address';
import { globalOptions, temporalSettings } from '../settings';
import { withTemporalClient } from '../temporal-client';

interface InspectOptions {
  agent: string;
  json?: boolean;
}

/** One turn's model calls, as `inspect` shows them. */
export interface TurnSummary {
  turn: number;
  /** Models that answered, in call order, repeats removed. */
  models: string[];
  modelCalls: number;
  usage: TokenUsage;
}

export function registerInspect(program: Command): void {
  program
    .command('inspect')
    .description("show a conversation's state, usage, the models of each turn, and its transcript")
    .argument('<conversation>', 'conversation id, e.g. user-42')
    .option('-a, --agent <name>', 'the agent that runs the conversation', ASSISTANT_NAME)
    .option('--json', 'print { state, turns, transcript } as JSON')
    .addHelpText(
      'after',
      `
Reads the conversation through its queries, so a worker must be running (for an ended conversation too).
Exit codes: 0 shown, 1 when the conversation does not exist or Temporal could not be reached, 2 for a bad
command line or setting.

Examples:
  $ vigil inspect user-42
  $ vigil inspect user-42 --agent support --json | jq '.turns'`,
    )
    .action(async (conversation: string, options: InspectOptions, command: Command) => {
      checkConversationAddress(options.agent, conversation);
      const settings = temporalSettings(globalOptions(command));
      await withTemporalClient(settings, async ({ agents }) => {
        const state = await agents.state(options.agent, conversation);
        const transcript = await wholeTranscript(agents, options.agent, conversation);
        const turns = summarizeTurns(transcript);
        process.stdout.write(
          options.json
            ? `${JSON.stringify({ state, turns, transcript }, null, 2)}\n`
            : describeConversation(state, turns, transcript),
        );
      });
    });
}

async function wholeTranscript(agents: AgentClient, agent: string, conversation: string): Promise<TranscriptEntry[]> {
  const entries: TranscriptEntry[] = [];
  for (let offset: number | null = 0; offset !== null;) {
    const page = await agents.transcript(agent, conversation, { offset, limit: 500 });
    entries.push(...page.entries);
    offset = page.nextOffset;
  }
  return entries;
}

export function summarizeTurns(transcript: TranscriptEntry[]): TurnSummary[] {
  const turns = new Map<number, TurnSummary>();
  for (const entry of transcript) {
    if (entry.role !== 'assistant') continue;
    const turn = turns.get(entry.turn) ?? {
      turn: entry.turn,
      models: [],
      modelCalls: 0,
      usage: { inputTokens: 0, outputTokens: 0 },
    };
    if (!turn.models.includes(entry.model)) turn.models.push(entry.model);
    turn.modelCalls++;
    turn.usage.inputTokens += entry.usage.inputTokens;
    turn.usage.outputTokens += entry.usage.outputTokens;
    turns.set(entry.turn, turn);
  }
  return [...turns.values()].sort((a, b) => a.turn - b.turn);
}

/** Older workers answer without `memory`, and with usage as tokens and calls only. */
type StateAnswer = Omit<ConversationView, 'memory' | 'usage'> & { memory?: ConversationView['memory']; usage: unknown };

/** `inspect`'s text: the state, the usage by model and author, each turn's models, and the transcript. */
export function describeConversation(state: StateAnswer, turns: TurnSummary[], transcript: TranscriptEntry[]): string {
  const lines = [
    `Conversation ${state.conversationId} (agent ${state.agent})`,
    `  status:   ${state.status}${state.ending ? ' (ending)' : ''}`,
    `  turns:    ${state.turns}`,
    ...describeUsage(state.usage),
  ];
  if (state.memory) {
    const { summarizedThrough, summaryTokens } = state.memory;
    const entries = summarizedThrough + 1;
    lines.push(
      `  summary:  the first ${formatCount(entries)} transcript ${entries === 1 ? 'entry' : 'entries'} in a rolling summary of ${formatCount(summaryTokens)} tokens`,
    );
  }
  if (state.currentAgent && state.currentAgent !== state.agent)
    lines.push(`  answered by: agent ${state.currentAgent} (a handoff gave it the conversation)`);
  if (state.currentTurn) {
    const { turn, messageId, step, startedAt } = state.currentTurn;
    lines.push(`  running:  turn ${turn} (message ${messageId}), step ${step}, since ${startedAt}`);
  }
  if (state.queued.length > 0) lines.push(`  queued:   ${state.queued.map((m) => m.id).join(', ')}`);
  for (const sub of state.subConversations ?? []) {
    const waits = sub.pendingApprovals.map((a) => `${a.tool} [tool call ${a.toolCallId}]`).join(', ');
    lines.push(
      `  asking:   agent ${sub.agent}, conversation ${sub.conversationId} (tool call ${sub.toolCallId})` +
        (waits ? `, which awaits approval of ${waits}` : ''),
    );
  }
  if (state.childOf) {
    const { agent, conversationId, turn, toolCallId } = state.childOf;
    lines.push(`  answers:  agent ${agent}, conversation ${conversationId}, turn ${turn} (tool call ${toolCallId})`);
  }
  for (const approval of state.pendingApprovals) {
    lines.push(`  awaiting approval: ${approval.tool}(${approval.arguments}) [tool call ${approval.toolCallId}]`);
  }
  if (state.rememberedTools.length > 0)
    lines.push(`  approved for the conversation: ${state.rememberedTools.join(', ')}`);

  lines.push('', 'Turns:');
  if (turns.length === 0) lines.push('  (no model calls yet)');
  for (const t of turns) {
    lines.push(
      `  ${t.turn}  ${t.models.join(', ')}  ${t.modelCalls} call${t.modelCalls === 1 ? '' : 's'}, ` +
        `${t.usage.inputTokens} in / ${t.usage.outputTokens} out tokens`,
    );
  }

  lines.push('', 'Transcript:');
  if (transcript.length === 0) lines.push('  (empty)');
  for (const entry of transcript) lines.push(`  [${entry.turn}] ${describeEntry(entry)}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The usage lines: totals, then one line per model and per author. A usage from before costs were recorded
 * (no `costMicros`) says so rather than showing $0.00.
 */
export function describeUsage(answer: unknown): string[] {
  const usage = restoreUsage(answer);
  const costKnown = typeof (answer as { costMicros?: unknown } | null)?.costMicros === 'number';
  const line = (totals: UsageTotals) => {
    const calls = `${formatCount(totals.modelCalls)} model call${totals.modelCalls === 1 ? '' : 's'}`;
    const cost = !costKnown
      ? ''
      : `, ${formatMicros(totals.costMicros)}` +
        (totals.unpricedCalls > 0
          ? ` (${formatCount(totals.unpricedCalls)} unpriced call${totals.unpricedCalls === 1 ? '' : 's'}, not counted)`
          : '');
    return `${formatCount(totals.inputTokens)} in / ${formatCount(totals.outputTokens)} out tokens in ${calls}${cost}`;
  };
  const lines = [`  usage:    ${line(usage)}${costKnown ? '' : " (cost not recorded by this conversation's worker)"}`];
  const breakdown = (
    title: string,
    byName: Record<string, UsageTotals>,
    others: UsageTotals | null,
    othersLabel: string,
  ) => {
    const rows: [string, UsageTotals][] = Object.entries(byName).sort(([a], [b]) => a.localeCompare(b));
    if (others) rows.push([othersLabel, others]);
    if (rows.length === 0) return;
    lines.push(`  ${title}`);
    const width = Math.max(...rows.map(([name]) => name.length));
    for (const [name, totals] of rows) lines.push(`    ${name.padEnd(width)}  ${line(totals)}`);
  };
  breakdown('by model:', usage.byModel, usage.otherModels, '(other models)');
  breakdown('by author:', usage.byAuthor, usage.otherAuthors, '(other authors)');
  return lines;
}

function describeEntry(entry: TranscriptEntry): string {
  switch (entry.role) {
    case 'user':
      return `user${entry.author ? ` ${entry.author}` : ''} (message ${entry.messageId}): ${entry.content}`;
    case 'assistant': {
      const calls = entry.toolCalls.map((call) => `${call.name}(${call.arguments})`);
      const text = [entry.content, ...calls.map((c) => `-> ${c}`)].filter((part) => part !== '').join(' ');
      return `assistant (${entry.model}): ${text}`;
    }
    case 'tool':
      return `tool ${entry.name}${entry.isError ? ' (error)' : ''}: ${entry.content}`;
    case 'notice':
      return `notice: ${entry.content}`;
  }
}
