/**
 * `vigil fork` as a user runs it (the real command, a real worker, the in-process Temporal server and the scripted
 * model), and `vigil chat` opening the fork by its id: it shows the original's turns the fork kept and goes on
 * from there.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { defineAgent } from '../../src/agents/define-agent';
import { newId, useConversations } from '../helpers/conversation';
import { cleanEnv, REPO, runCli } from './cli-process';

const forking = defineAgent({ name: 'forking', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([forking]);
afterEach(() => fx.model.reset());

const temporalArgs = () => ['--address', fx.env.address, '--namespace', fx.env.namespace, '--task-queue', fx.taskQueue];
/** The worker's content store: the fork's earlier entries are read there, as a user's CLI beside the worker does. */
const env = () => cleanEnv({ VIGIL_DATA_DIR: fx.dataDir });

async function threeTurns(id: string): Promise<void> {
  fx.model.script({ content: 'answer one' }, { content: 'answer two' }, { content: 'answer three' });
  for (const word of ['one', 'two', 'three'])
    await fx.client.send('forking', id, { id: `${id}-${word}`, content: word });
}

test('vigil fork prints the new id; vigil chat on it shows the kept turns and goes on from there', async () => {
  const original = newId('original');
  await threeTurns(original);
  const to = newId('fork');

  const forked = await runCli(
    ['fork', ...temporalArgs(), '--agent', 'forking', original, '--at-turn', '2', '--to', to],
    env(),
  );
  expect(forked).toMatchObject({ code: 0, stdout: `${to}\n` });
  expect(forked.stderr).toContain(`forked conversation ${original} of agent forking at turn 2: ${to} goes on`);

  fx.model.script({ content: 'a second try' });
  const child = spawn(
    process.execPath,
    [join(REPO, 'bin', 'vigil.js'), 'chat', ...temporalArgs(), '--agent', 'forking', to],
    { cwd: REPO, env: env(), stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stdin.end('again\n');
  const [code] = (await once(child, 'close')) as [number | null];
  expect(code).toBe(0);
  expect(stdout).toContain(`2 turns so far (forked from ${original} at turn 2)\n`);
  expect(stdout).toContain('you> two\nforking> answer two\n');
  expect(stdout).not.toContain('answer three');
  expect(stdout).toContain('forking> a second try\n');
  expect((await fx.client.state('forking', to)).turns).toBe(3);
  expect((await fx.client.state('forking', original)).turns).toBe(3);
});

test('--json prints the fork; a taken id exits 1, a turn beyond the finished ones or a bad --at-turn exits 2', async () => {
  const original = newId('original');
  await threeTurns(original);
  const json = await runCli(['fork', ...temporalArgs(), '-a', 'forking', original, '--at-turn', '1', '--json'], env());
  expect(json.code).toBe(0);
  const fork = JSON.parse(json.stdout) as { conversationId: string };
  expect(fork).toMatchObject({ agent: 'forking', forkedFrom: { conversationId: original, turn: 1 }, turns: 1 });
  expect(fork.conversationId).toMatch(/\.fork-[0-9a-f]{8}$/);

  const taken = await runCli(
    ['fork', ...temporalArgs(), '-a', 'forking', original, '--at-turn', '1', '--to', fork.conversationId],
    env(),
  );
  expect(taken).toMatchObject({ code: 1, stderr: expect.stringMatching(/^vigil: conversation .* exists already/) });
  const beyond = await runCli(['fork', ...temporalArgs(), '-a', 'forking', original, '--at-turn', '4'], env());
  expect(beyond).toMatchObject({ code: 2, stderr: expect.stringContaining('has 3 finished turn(s); atTurn 4') });
  const bad = await runCli(['fork', ...temporalArgs(), '-a', 'forking', original, '--at-turn', 'two'], env());
  expect(bad).toMatchObject({ code: 2, stderr: expect.stringContaining('must be a turn number') });
  const missing = await runCli(['fork', ...temporalArgs(), '-a', 'forking', original], env());
  expect(missing).toMatchObject({ code: 2, stderr: expect.stringContaining("'--at-turn <n>' not specified") });
});
