/** `vigil inspect`: a conversation's state, per-turn models and usage, and transcript. */
import type { Command } from 'commander';
import { ASSISTANT_NAME } from '../../agents/assistant';
import type { AgentClient } from '../../client';
import type { ConversationView, TokenUsage, TranscriptEntry } from '../../protocol';
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
            : describe(state, turns, transcript),
        );
      });
    });
}

async function wholeTranscript(agents: AgentClient, agent: string, conversation: string): Promise<TranscriptEntry[]> {
  const entries: TranscriptEntry[] = [];
  for (let offset: number | null = 0; offset !== null; ) {
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
    const turn = turns.get(entry.turn) ?? { turn: entry.turn, models: [], modelCalls: 0, usage: { inputTokens: 0, outputTokens: 0 } };
    if (!turn.models.includes(entry.model)) turn.models.push(entry.model);
    turn.modelCalls++;
    turn.usage.inputTokens += entry.usage.inputTokens;
    turn.usage.outputTokens += entry.usage.outputTokens;
    turns.set(entry.turn, turn);
  }
  return [...turns.values()].sort((a, b) => a.turn - b.turn);
}

function describe(state: ConversationView, turns: TurnSummary[], transcript: TranscriptEntry[]): string {
  const lines = [
    `Conversation ${state.conversationId} (agent ${state.agent})`,
    `  status:   ${state.status}${state.ending ? ' (ending)' : ''}`,
    `  turns:    ${state.turns}`,
    `  usage:    ${state.usage.inputTokens} in / ${state.usage.outputTokens} out tokens in ${state.usage.modelCalls} model calls`,
  ];
  if (state.currentTurn) {
    const { turn, messageId, step, startedAt } = state.currentTurn;
    lines.push(`  running:  turn ${turn} (message ${messageId}), step ${step}, since ${startedAt}`);
  }
  if (state.queued.length > 0) lines.push(`  queued:   ${state.queued.map((m) => m.id).join(', ')}`);
  for (const approval of state.pendingApprovals) {
    lines.push(`  awaiting approval: ${approval.tool}(${approval.arguments}) [tool call ${approval.toolCallId}]`);
  }
  if (state.rememberedTools.length > 0) lines.push(`  approved for the conversation: ${state.rememberedTools.join(', ')}`);

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
