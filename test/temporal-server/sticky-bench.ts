/**
 * A quick benchmark of one long run: `pingPong` with N rounds of signal -> activity -> reply, against the
 * in-process test server, through the real Worker and Client. Prints the time per round around every 100th
 * round (the mean of the 20 rounds ending there).
 *
 *   npx tsx test/temporal-server/sticky-bench.ts [rounds=2000] [server module, default packages/temporal-test-server/src]
 */
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { resolve } from 'node:path';

async function main(): Promise<void> {
  const rounds = Number(process.argv[2] ?? 2000);
  const serverModule = resolve(process.argv[3] ?? resolve(__dirname, '../../packages/temporal-test-server/src'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { startTestServer } = require(serverModule) as typeof import('@vigil/temporal-test-server');
  Runtime.install({
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error } as never,
  });
  const server = await startTestServer();
  const { code } = await bundleWorkflowCode({
    workflowsPath: require.resolve('./workflows'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error: console.error },
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  let reply: ((n: number) => void) | undefined;
  const worker = await Worker.create({
    connection: await NativeConnection.connect({ address: server.address }),
    taskQueue: 'bench',
    workflowBundle: { code },
    activities: {
      pong: async (n: number) => {
        reply?.(n);
        return n;
      },
    },
  });
  const running = worker.run();
  const handle = await client.workflow.start('pingPong', {
    taskQueue: 'bench',
    workflowId: `bench-${Date.now()}`,
    args: [rounds],
  });
  const times: number[] = [];
  const started = Date.now();
  for (let i = 1; i <= rounds; i++) {
    const t0 = performance.now();
    const replied = new Promise<number>((r) => (reply = r));
    await handle.signal('ping', i);
    if ((await replied) !== i) throw new Error(`round ${i}: wrong reply`);
    times.push(performance.now() - t0);
    if (i % 100 === 0) {
      const last = times.slice(-20);
      const mean = last.reduce((a, b) => a + b, 0) / last.length;
      console.log(
        `round ${i}: ${mean.toFixed(1)} ms/round (mean of rounds ${i - 19}-${i}), ${((Date.now() - started) / 1000).toFixed(0)} s so far`,
      );
    }
  }
  console.log(
    `result ${await handle.result()}, history ${(await handle.describe()).historyLength} events, total ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  worker.shutdown();
  await running;
  await server.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
