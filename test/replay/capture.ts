/**
 * Re-captures the stored histories that the replay test runs against the current workflow code:
 *   npm run capture-histories
 * Each scenario runs a real conversation (offline Temporal, real worker, scripted model) and writes its
 * history to test/replay/histories/<scenario>.json. Histories captured by earlier versions of the workflow are
 * kept beside them under a prefix (before-visibility-*.json, before-memory-*.json): they are what patched() must
 * keep working. Before re-capturing, rename the current ones to such a prefix. Re-capture only when a change is meant to be
 * incompatible (and is shipped with patching); otherwise the old histories are exactly what must keep working.
 */
import { temporal } from '@temporalio/proto';
import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { conversationWorkflowId } from '../../src/protocol';
import { WORKFLOW_BUNDLER_OPTIONS, WORKFLOWS_PATH } from '../../src/workers/workflow-bundle';
import { startConversationHarness } from '../helpers/conversation';
import { replayAgent } from '../helpers/test-agents';

type Harness = Awaited<ReturnType<typeof startConversationHarness>>;

const scenarios: Record<string, (h: Harness, id: string) => Promise<void>> = {
  'multi-turn': async (h, id) => {
    h.model.script({ content: 'Hello!' }, { content: 'Still here.' });
    await h.client.send('replayed', id, { id: 'm1', content: 'hi' });
    await h.client.send('replayed', id, { id: 'm2', content: 'are you there?' });
    await h.client.send('replayed', id, { id: 'm1', content: 'hi' }); // a duplicate
  },
  'tool-call': async (h, id) => {
    h.model.script({ toolCalls: [{ name: 'calculator', arguments: '{"expression":"6*7"}' }, { name: 'calculator', arguments: '{"bad json' }] }, { content: 'It is 42.' });
    await h.client.send('replayed', id, { id: 'm1', content: 'what is 6*7?' });
  },
  approval: async (h, id) => {
    h.model.script({ toolCalls: [{ name: 'lookup', arguments: '{"q":"weather"}' }] }, { content: 'Sunny.' });
    const reply = h.client.send('replayed', id, { id: 'm1', content: 'weather?' });
    for (;;) {
      // The send that starts the conversation may not have reached the server yet.
      const state = await h.client.state('replayed', id).catch(() => undefined);
      if (state?.pendingApprovals[0]) {
        await h.client.decide('replayed', id, { toolCallId: state.pendingApprovals[0].toolCallId, decision: 'approve', remember: true });
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
};

async function main(): Promise<void> {
  const { code } = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, ...WORKFLOW_BUNDLER_OPTIONS });
  const dir = join(tmpdir(), 'vigil-capture');
  mkdirSync(dir, { recursive: true });
  process.env.VIGIL_WORKFLOW_BUNDLE = join(dir, 'workflows.js');
  writeFileSync(process.env.VIGIL_WORKFLOW_BUNDLE, code);
  const harness = await startConversationHarness([replayAgent]);
  try {
    for (const [name, run] of Object.entries(scenarios)) {
      const id = `replay-${name}`;
      harness.model.reset();
      await run(harness, id);
      const history = await harness.env.client.workflow.getHandle(conversationWorkflowId('replayed', id)).fetchHistory();
      const file = join(__dirname, 'histories', `${name}.json`);
      // protobufjs's own object form (enum names, int64 as strings, bytes as base64): readable, and read back by
      // the same library without loss.
      const json = temporal.api.history.v1.History.toObject(temporal.api.history.v1.History.fromObject(history), {
        longs: String,
        enums: String,
        bytes: String,
      });
      writeFileSync(file, `${JSON.stringify(json, null, 1)}\n`);
      console.log(`captured ${name}: ${history.events?.length} events -> ${file}`);
    }
  } finally {
    await harness.close();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
