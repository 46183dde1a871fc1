/**
 * Re-captures the stored histories that the replay test runs against the current workflow code:
 *   npm run capture-histories                     # every scenario
 *   npm run capture-histories -- continue-as-new  # only these (a new scenario, leaving the others as they are)
 * Each scenario runs a real conversation (offline Temporal, real worker, scripted model) and writes its
 * history to test/replay/histories/<scenario>.json (with TEMPORAL_TEST_ADDRESS set, on that real server, to
 * real-server-<scenario>.json); a conversation that continued as new writes each later run
 * to <scenario>-run-<n>.json. Histories captured by earlier versions of the workflow are
 * kept beside them under a prefix (before-visibility-*.json, before-memory-*.json,
 * before-stored-answers-*.json): they are what patched() must
 * keep working. Before re-capturing, rename the current ones to such a prefix. Re-capture only when a change is meant to be
 * incompatible (and is shipped with patching); otherwise the old histories are exactly what must keep working.
 */
import { WorkflowNotFoundError } from '@temporalio/common';
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../../src/workers/workflow-bundle';
import { McpConnections } from '../../src/tools/mcp-connections';
import { startConversationHarness } from '../helpers/conversation';
import { lookup, replayAgent } from '../helpers/test-agents';
import { agentAsTool } from '../../src/agents/agent-as-tool';
import { calculator } from '../../src/tools';

type Harness = Awaited<ReturnType<typeof startConversationHarness>>;

/** Continues as new after 64 KiB of history: about ten short turns, with a carried state small enough to inline. */
const sizedAgent = defineAgent({
  name: 'replayed-sized',
  instructions: 'Be brief.',
  model: 'test-model',
  limits: { continueAsNewAfterBytes: 64 * 1024 },
});

/** Continues as new after 100 events, with Temporal's suggestion ignored: busy runs switch with a queue. */
const busyAgent = defineAgent({
  name: 'replayed-busy',
  instructions: 'Be brief.',
  model: 'test-model',
  limits: { continueAsNewAfterEvents: 100, continueAsNewWhenSuggested: false },
});

/** An MCP server's tools (test/mcp/stdio-server.ts, spawned as a child process), listed again at every turn. */
const MCP_SECRET = 'capture-secret-value';
const mcpAgent = defineAgent({
  name: 'replayed-mcp',
  instructions: 'Use your tools.',
  model: 'test-model',
  mcp: [
    {
      name: 'local',
      command: process.execPath,
      args: ['--import', 'tsx', join(__dirname, '../mcp/stdio-server.ts')],
      env: { API_KEY: { secret: 'CAPTURE_MCP_KEY' }, EXPECTED_SECRET_LENGTH: String(MCP_SECRET.length) },
      ttlMs: 0,
    },
  ],
});

/** Hands its conversations to replayed-billing, which runs a tool and continues as new after 100 events. */
const triageAgent = defineAgent({
  name: 'replayed-triage',
  instructions: 'Route questions.',
  model: 'triage-model',
  handoffs: ['replayed-billing'],
});
const billingAgent = defineAgent({
  name: 'replayed-billing',
  instructions: 'Answer billing questions.',
  model: 'billing-model',
  tools: [calculator],
  handoffs: [triageAgent],
  limits: { continueAsNewAfterEvents: 100, continueAsNewWhenSuggested: false },
});

/** Calls replayed-researcher as a tool: a sub-agent conversation, a child workflow with a history of its own. */
const researcherAgent = defineAgent({
  name: 'replayed-researcher',
  instructions: 'Find facts.',
  model: 'researcher-model',
  tools: [lookup],
});
const writerAgent = defineAgent({
  name: 'replayed-writer',
  instructions: 'Write answers; ask the researcher.',
  model: 'writer-model',
  tools: [agentAsTool(researcherAgent, { name: 'ask_researcher' })],
});

/** Workflows a scenario started besides its conversation (sub-agent conversations), captured as <scenario>-child. */
const children: Record<string, string[]> = {};

/** Each scenario talks to one conversation of this agent (default: replayed). */
const agentOf: Record<string, string> = {
  'continue-as-new': sizedAgent.name,
  'continue-as-new-busy': busyAgent.name,
  'mcp-tool-call': mcpAgent.name,
  handoff: triageAgent.name,
  'agent-as-tool': writerAgent.name,
};

const scenarios: Record<string, (h: Harness, id: string) => Promise<void>> = {
  'multi-turn': async (h, id) => {
    h.model.script({ content: 'Hello!' }, { content: 'Still here.' });
    await h.client.send('replayed', id, { id: 'm1', content: 'hi' });
    await h.client.send('replayed', id, { id: 'm2', content: 'are you there?' });
    await h.client.send('replayed', id, { id: 'm1', content: 'hi' }); // a duplicate
  },
  'tool-call': async (h, id) => {
    h.model.script(
      {
        toolCalls: [
          { name: 'calculator', arguments: '{"expression":"6*7"}' },
          { name: 'calculator', arguments: '{"bad json' },
        ],
      },
      { content: 'It is 42.' },
    );
    await h.client.send('replayed', id, { id: 'm1', content: 'what is 6*7?' });
  },
  approval: async (h, id) => {
    h.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"weather"}' }] }, { content: 'Sunny.' });
    const reply = h.client.send('replayed', id, { id: 'm1', content: 'weather?' });
    for (;;) {
      // The send that starts the conversation may not have reached the server yet.
      const state = await h.client.state('replayed', id).catch(() => undefined);
      if (state?.pendingApprovals[0]) {
        await h.client.decide('replayed', id, {
          toolCallId: state.pendingApprovals[0].toolCallId,
          decision: 'approve',
          remember: true,
        });
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await reply;
  },
  'cancelled-turn': async (h, id) => {
    h.model.script({ hang: true });
    const reply = h.client.send('replayed', id, { id: 'm1', content: 'take your time' });
    await h.model.nextRequest();
    await h.client.cancelTurn('replayed', id, { reason: 'stop' });
    await reply;
  },
  'error-reply-and-end': async (h, id) => {
    h.model.script({ status: 400, message: 'bad request' });
    await h.client.send('replayed', id, { id: 'm1', content: 'hi' });
    await h.client.post('replayed', id, { id: 'm2', content: 'posted', channel: { type: 'log' } });
    await h.client.end('replayed', id);
    await h.env.client.workflow.getHandle(conversationWorkflowId('replayed', id)).result();
  },
  fork: async (h, id) => {
    // A conversation of two turns, forked at the first into this scenario's id, which then has a turn of its own.
    const original = `${id}-original`;
    h.model.script({ content: 'Hello!' }, { content: 'Still here.' }, { content: 'Another answer.' });
    await h.client.send('replayed', original, { id: 'm1', content: 'hi' });
    await h.client.send('replayed', original, { id: 'm2', content: 'are you there?' });
    await h.client.fork('replayed', original, { atTurn: 1, to: id, instructions: 'Answer in French.' });
    await h.client.send('replayed', id, { id: 'm2', content: 'and now?' });
  },
  'continue-as-new': async (h, id) => {
    // Until the first run has continued as new (its size), then two turns in the next run.
    let sent = 0;
    const runs = async () => (await runsOf(h, conversationWorkflowId(sizedAgent.name, id))).length;
    while ((await runs()) < 2) {
      sent++;
      await h.client.send(sizedAgent.name, id, { id: `m${sent}`, content: `message ${sent}` });
      if (sent > 100) throw new Error('the conversation did not continue as new');
    }
    for (const last of [sent + 1, sent + 2])
      await h.client.send(sizedAgent.name, id, { id: `m${last}`, content: `message ${last}` });
  },
  'continue-as-new-busy': async (h, id) => {
    // Fifteen messages queued behind a slow first answer: the runs switch between turns, carrying the queue.
    h.model.script({ content: 'first', delayMs: 500 });
    for (let i = 1; i <= 15; i++)
      await h.client.post(busyAgent.name, id, { id: `m${i}`, content: `message ${i}`, channel: { type: 'log' } });
    for (;;) {
      if ((await h.client.state(busyAgent.name, id)).turns === 15) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    if ((await runsOf(h, conversationWorkflowId(busyAgent.name, id))).length < 2)
      throw new Error('the busy conversation did not switch runs');
  },
  'mcp-tool-call': async (h, id) => {
    // Two turns, each listing the server's tools first (ttlMs 0); calls of a listed tool, and of one not listed.
    h.model.script(
      {
        toolCalls: [
          { name: 'local__echo', arguments: '{"text":"hi"}' },
          { name: 'local__secret_check', arguments: '{}' },
          { name: 'local__missing', arguments: '{}' },
        ],
      },
      { content: 'Done.' },
      { toolCalls: [{ name: 'local__echo', arguments: '{"text":"again"}' }] },
      { content: 'Done again.' },
    );
    await h.client.send(mcpAgent.name, id, { id: 'm1', content: 'use the server' });
    await h.client.send(mcpAgent.name, id, { id: 'm2', content: 'once more' });
  },
  'agent-as-tool': async (h, id) => {
    // The writer asks the researcher, whose lookup waits for approval on its own conversation; then it writes.
    h.model.script(
      { toolCalls: [{ name: 'ask_researcher', arguments: '{"input":"the capital of France?"}' }] },
      { toolCalls: [{ name: 'lookup', arguments: '{"q":"capital of France"}' }] },
      { content: 'Paris.' },
      { content: 'The capital is Paris.' },
    );
    const reply = h.client.send(writerAgent.name, id, { id: 'm1', content: 'what is the capital of France?' });
    for (;;) {
      const sub = (await h.client.state(writerAgent.name, id).catch(() => undefined))?.subConversations?.[0];
      if (sub?.status === 'awaiting_approval') {
        await h.client.decide(sub.agent, sub.conversationId, {
          toolCallId: sub.pendingApprovals[0].toolCallId,
          decision: 'approve',
        });
        children['agent-as-tool'] = [conversationWorkflowId(sub.agent, sub.conversationId)];
        break;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    await reply;
  },
  handoff: async (h, id) => {
    // A handoff, a tool of the agent handed to, then turns of that agent until the run has continued as new (the
    // handoff goes along), and one turn in the next run.
    h.model.script(
      { toolCalls: [{ name: 'transfer_to_replayed-billing', arguments: '{}' }] },
      { toolCalls: [{ name: 'calculator', arguments: '{"expression":"6*7"}' }] },
      { content: 'It is 42.' },
    );
    await h.client.send(triageAgent.name, id, { id: 'm1', content: 'how much?' });
    let sent = 1;
    const runs = async () => (await runsOf(h, conversationWorkflowId(triageAgent.name, id))).length;
    while ((await runs()) < 2) {
      sent++;
      await h.client.send(triageAgent.name, id, { id: `m${sent}`, content: `message ${sent}` });
      if (sent > 50) throw new Error('the conversation did not continue as new');
    }
    await h.client.send(triageAgent.name, id, { id: `m${sent + 1}`, content: 'in the next run' });
  },
};

/** The runs of a workflow id, oldest first. */
/**
 * The conversation's runs, oldest first: followed back from the newest through each run's continuedExecutionRunId,
 * since a real server's visibility may not list the newest runs yet.
 */
async function runsOf(h: Harness, workflowId: string): Promise<{ runId: string }[]> {
  const runs: { runId: string }[] = [];
  // None yet: the conversation has not started.
  let runId: string | undefined = await h.env.client.workflow
    .getHandle(workflowId)
    .describe()
    .then(
      (d) => d.runId,
      (error: unknown) => {
        if (error instanceof WorkflowNotFoundError) return undefined;
        throw error;
      },
    );
  while (runId) {
    runs.unshift({ runId });
    const history = await h.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
    runId = history.events?.[0]?.workflowExecutionStartedEventAttributes?.continuedExecutionRunId || undefined;
  }
  return runs;
}

/**
 * On a real server (TEMPORAL_TEST_ADDRESS) the histories are written as real-server-<scenario>.json, beside those
 * of the in-process server, and each conversation id gets a suffix: an ended conversation there keeps its id.
 */
const REAL = process.env.TEMPORAL_TEST_ADDRESS !== undefined;
const PREFIX = REAL ? 'real-server-' : '';

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...WORKFLOW_BUNDLER_OPTIONS });
  const dir = join(tmpdir(), 'vigil-capture');
  mkdirSync(dir, { recursive: true });
  process.env.VIGIL_WORKFLOW_BUNDLE = join(dir, 'workflows.js');
  writeFileSync(process.env.VIGIL_WORKFLOW_BUNDLE, code);
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !(name in scenarios));
  if (unknown.length > 0)
    throw new Error(`no scenario ${unknown.join(', ')}; the scenarios: ${Object.keys(scenarios).join(', ')}`);
  const mcpConnections = new McpConnections({
    secret: (name) => (name === 'CAPTURE_MCP_KEY' ? MCP_SECRET : undefined),
  });
  const harness = await startConversationHarness(
    [replayAgent, sizedAgent, busyAgent, mcpAgent, triageAgent, billingAgent, researcherAgent, writerAgent],
    { mcpConnections },
  );
  try {
    for (const [name, run] of Object.entries(scenarios)) {
      if (asked.length > 0 && !asked.includes(name)) continue;
      const id = REAL ? `replay-${name}-${Date.now()}` : `replay-${name}`;
      const workflowId = conversationWorkflowId(agentOf[name] ?? replayAgent.name, id);
      harness.model.reset();
      await run(harness, id);
      const runs = [
        ...(await runsOf(harness, workflowId)).map((run, index) => ({
          ...run,
          workflowId,
          file: `${PREFIX}${name}${index === 0 ? '' : `-run-${index + 1}`}.json`,
        })),
        ...(children[name] ?? []).map((child, index) => ({
          runId: undefined as string | undefined,
          workflowId: child,
          file: `${PREFIX}${name}-child${index === 0 ? '' : `-${index + 1}`}.json`,
        })),
      ];
      for (const [index, { runId, workflowId, file: fileName }] of runs.entries()) {
        const history = await harness.env.client.workflow.getHandle(workflowId, runId).fetchHistory();
        const file = join(__dirname, 'histories', fileName);
        // protobufjs's own object form (enum names, int64 as strings, bytes as base64): readable, and read back
        // by the same library without loss.
        const json = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), {
          longs: String,
          enums: String,
          bytes: String,
        });
        writeFileSync(file, `${JSON.stringify(json, null, 1)}\n`);
        console.log(`captured ${name} (${index + 1} of ${runs.length}): ${history.events?.length} events -> ${file}`);
      }
    }
  } finally {
    await harness.close();
    await mcpConnections.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
