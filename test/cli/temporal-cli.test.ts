/**
 * The Temporal CLI on Vigil's conversations, as the README tells users to run it: find a conversation by its
 * search attributes, query its state, and pipe its exported history into `vigil replay`. Runs under
 * `npm run test:temporal`, on its real dev server (test/helpers/in-process-only.ts, NEEDS_TEMPORAL_CLI).
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { defineAgent } from '../../src/agents/define-agent';
import { conversationWorkflowId } from '../../src/conversation/protocol';
import { eventually } from '../helpers/conformance';
import { newId, useConversations } from '../helpers/conversation';
import { cleanEnv, REPO } from './cli-process';
import { describeWithCli, TEMPORAL_CLI } from '../helpers/in-process-only';

const temporalCli = TEMPORAL_CLI;

describeWithCli('the Temporal CLI on a conversation', () => {
  const agent = defineAgent({ name: 'cli-visible', instructions: 'Be brief.', model: 'test-model' });
  const fx = useConversations([agent]);
  let id: string;
  let workflowId: string;

  const temporal = async (...args: string[]) => {
    const { stdout } = await promisify(execFile)(
      temporalCli!,
      [...args, '--address', fx.env.address, '--namespace', fx.env.namespace],
      {
        maxBuffer: 64 * 1024 * 1024,
      },
    );
    return stdout;
  };

  beforeAll(async () => {
    id = newId('cli');
    workflowId = conversationWorkflowId('cli-visible', id);
    fx.model.script({ content: 'seen from the CLI' });
    await fx.client.send('cli-visible', id, { id: 'm1', content: 'hello, CLI' });
  });

  test('`temporal workflow list --query "VigilAgent = ..."` finds it', async () => {
    // Visibility lags behind on a real server.
    const listed = await eventually(async () => {
      const rows = JSON.parse(
        await temporal(
          'workflow',
          'list',
          '--query',
          `VigilAgent = 'cli-visible' AND VigilStatus = 'idle'`,
          '--output',
          'json',
        ),
      ) as {
        execution: { workflowId: string };
      }[];
      return rows.some((row) => row.execution.workflowId === workflowId) ? rows : undefined;
    });
    expect(listed.map((row) => row.execution.workflowId)).toContain(workflowId);
  });

  test('`temporal workflow query --type state` answers with the conversation state', async () => {
    const out = JSON.parse(
      await temporal('workflow', 'query', '--workflow-id', workflowId, '--type', 'state', '--output', 'json'),
    ) as {
      queryResult: unknown[];
    };
    expect(out.queryResult[0]).toMatchObject({ agent: 'cli-visible', conversationId: id, status: 'idle', turns: 1 });
  });

  test('`temporal workflow show --output json | vigil replay -` replays it', async () => {
    const shown = await temporal('workflow', 'show', '--workflow-id', workflowId, '--output', 'json');
    const replay = spawn(process.execPath, [`${REPO}/bin/vigil.js`, 'replay', '-'], {
      cwd: REPO,
      env: cleanEnv(),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    replay.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    replay.stdin.end(shown);
    const code = await new Promise<number | null>((resolve) => replay.on('close', (exitCode) => resolve(exitCode)));
    expect({ code, stdout }).toEqual({ code: 0, stdout: 'PASS standard input\n1 history replayed: all passed\n' });
  });
});
