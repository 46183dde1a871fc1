/**
 * Replay: every stored history (test/replay/histories, captured by `npm run capture-histories`) must replay
 * against the current workflow code. This is the check that catches a change that would break running
 * conversations, before it is deployed.
 */
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { DeterminismViolationError } from '@temporalio/workflow';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../helpers/quiet-runtime';

const dir = join(__dirname, 'histories');
const histories = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => ({
    workflowId: f.replace(/\.json$/, ''),
    history: temporal.api.history.v1.History.fromObject(JSON.parse(readFileSync(join(dir, f), 'utf8'))),
  }));

test('there are stored histories to replay: from before the visibility patch, from before memory, from before stored answers, current, and captured on the real server', () => {
  const scenarios = ['approval', 'cancelled-turn', 'error-reply-and-end', 'multi-turn', 'tool-call'];
  // A run that continued as new at its size limit, and the run it continued as; a busy conversation that
  // switched runs between turns, carrying its queue.
  const continued = [
    'continue-as-new',
    'continue-as-new-run-2',
    'continue-as-new-busy',
    'continue-as-new-busy-run-2',
    'continue-as-new-busy-run-3',
  ];
  expect(histories.map((h) => h.workflowId).sort()).toEqual(
    [
      ...scenarios.map((s) => `before-visibility-${s}`),
      ...scenarios.map((s) => `before-memory-${s}`),
      // Before a model call stored its own answer (and named the agent's version): the answer came back to the
      // store with the next call.
      ...[...scenarios, ...continued].map((s) => `before-stored-answers-${s}`),
      ...scenarios,
      ...continued,
      // A conversation started as a fork of another's first turn (StartConversation.fork), on both servers.
      'fork',
      'real-server-fork',
      // The same scenarios on the Temporal CLI's dev server (server 1.29.1): `npm run capture-histories` with
      // TEMPORAL_TEST_ADDRESS set.
      ...[...scenarios, ...continued].map((s) => `real-server-${s}`),
      // An agent with an MCP server: its tool list recorded at each turn's start, calls of its tools.
      'mcp-tool-call',
      'real-server-mcp-tool-call',
      // A handoff, the tool of the agent handed to, and the run it continued as, still answered by that agent.
      'handoff',
      'handoff-run-2',
      'real-server-handoff',
      'real-server-handoff-run-2',
      // An agent called as a tool: the caller's conversation, and the sub-agent conversation it started, whose
      // tool waited for approval (it told its parent so).
      'agent-as-tool',
      'agent-as-tool-child',
      'real-server-agent-as-tool',
      'real-server-agent-as-tool-child',
    ].sort(),
  );
});

test('every stored history replays against the current workflow code', async () => {
  const failures: string[] = [];
  for await (const result of Worker.runReplayHistories(
    { workflowBundle: { codePath: process.env.VIGIL_WORKFLOW_BUNDLE! } },
    histories,
  )) {
    if (result.error) failures.push(`${result.workflowId}: ${String(result.error)}`);
  }
  expect(failures).toEqual([]);
});

test('an incompatible change to the workflow is caught by replay', async () => {
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./incompatible'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  const errors: unknown[] = [];
  for await (const result of Worker.runReplayHistories({ workflowBundle: { code } }, histories))
    errors.push(result.error);
  expect(errors).toHaveLength(histories.length);
  for (const error of errors) expect(error).toBeInstanceOf(DeterminismViolationError);
});
