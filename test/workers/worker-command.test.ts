/** `vigil worker` (what `npm run worker` runs) as a process: it refuses a namespace that lacks Vigil's search attributes. */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startTestServer, TestServer } from '@vigil/temporal-test-server';

let server: TestServer;
beforeAll(async () => {
  server = await startTestServer();
});
afterAll(async () => {
  await server?.close();
});

test('a worker exits with code 2 and the commands to run when search attributes are missing', async () => {
  const child = spawn(process.execPath, ['bin/vigil.js', 'worker'], {
    cwd: join(__dirname, '../..'),
    env: {
      PATH: process.env.PATH,
      TEMPORAL_ADDRESS: server.address,
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      VIGIL_LOG_LEVEL: 'silent',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  expect(code).toBe(2);
  expect(stderr).toContain('search attribute VigilAgent is not registered in namespace default');
  expect(stderr).toContain(
    'temporal operator search-attribute create --namespace default --name VigilTokensUsed --type Int',
  );
});
