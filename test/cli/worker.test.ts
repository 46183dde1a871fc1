/**
 * `vigil worker` as docker-compose.yml runs it: with `--demo-without-key` and no model configured, a whole
 * stack answers (from the offline demo model) instead of a worker that exits and restarts in a loop; without
 * the flag, a missing key is still a configuration error.
 */
import { AgentClient } from '../../src/client';
import { createTemporalTestEnv, type TemporalTestEnv } from '../../src/testing';
import { cleanEnv, runCli, startCli, type CliProcess } from './cli-process';

let temporal: TemporalTestEnv;
let worker: CliProcess | undefined;
beforeAll(async () => {
  temporal = await createTemporalTestEnv();
});
afterAll(async () => {
  if (worker && worker.child.exitCode === null) worker.child.kill('SIGKILL');
  await worker?.exited;
  await temporal?.teardown();
});

const target = (taskQueue: string) => [
  '--address',
  temporal.address,
  '--namespace',
  temporal.namespace,
  '--task-queue',
  taskQueue,
];

test('--demo-without-key and no model configured: the worker answers from the demo model and says so (and logs its memory when asked)', async () => {
  const taskQueue = `worker-demo-${Date.now()}`;
  worker = startCli(
    ['worker', '--demo-without-key', ...target(taskQueue)],
    cleanEnv({ VIGIL_LOG_LEVEL: 'info', VIGIL_MEMORY_LOG_SECONDS: '1' }),
  );
  await worker.waitFor(/replies come from the offline demo model/, 'stdout');
  const reply = await new AgentClient({ client: temporal.client, taskQueue }).send('assistant', 'demo-1', {
    id: 'm1',
    content: 'what is 17*23',
  });
  expect(reply).toMatchObject({ status: 'completed', models: expect.arrayContaining(['vigil-demo']) });
  expect(reply.content).toContain('391');
  // VIGIL_MEMORY_LOG_SECONDS: the worker's memory, with the conversation it has just run in its cache. Only a
  // report printed after the reply counts: one from before it (the reply can take longer than the 1 s period on
  // a real server) rightly shows an empty cache.
  const [line] = await worker.waitFor(/\{[^\n]*"msg":"worker memory"[^\n]*\}/, 'stdout', worker.stdout().length);
  expect((JSON.parse(line) as { memory: unknown }).memory).toEqual({
    rssBytes: expect.any(Number),
    heapUsedBytes: expect.any(Number),
    heapTotalBytes: expect.any(Number),
    externalBytes: expect.any(Number),
    cachedWorkflows: 1,
  });
  worker.child.kill('SIGTERM');
  expect(await worker.exited).toEqual({ code: 0, signal: null });
}, 120_000);

test('without the flag, no model configured is exit code 2 that names the variable', async () => {
  const { code, stderr } = await runCli(['worker', ...target('worker-no-key')], cleanEnv());
  expect(code).toBe(2);
  expect(stderr).toContain('OPENAI_API_KEY');
});
