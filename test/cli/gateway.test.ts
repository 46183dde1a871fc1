/** `vigil gateway` as a process: it serves, answers its health route, and stops cleanly on SIGINT; and dev's gateway checks. */
import { cleanEnv, runCli, startCli } from './cli-process';

test('vigil gateway serves /healthz and exits 0 on SIGINT', async () => {
  const gateway = startCli(
    ['gateway', '--address', '127.0.0.1:1'],
    cleanEnv({ VIGIL_GATEWAY_PORT: '0', VIGIL_LOG_LEVEL: 'info' }),
  );
  const [, url] = await gateway.waitFor(/"url":"(http:\/\/127\.0\.0\.1:\d+)"/, 'stdout');
  const health = await fetch(`${url}/healthz`);
  expect(health.status).toBe(200);
  expect(await health.json()).toEqual({ ok: true });
  gateway.child.kill('SIGINT');
  expect(await gateway.exited).toEqual({ code: 0, signal: null });
});

test('vigil gateway with a bad setting exits 2 and says which', async () => {
  const gateway = startCli(['gateway'], cleanEnv({ VIGIL_GATEWAY_PORT: 'eighty' }));
  expect((await gateway.exited).code).toBe(2);
  expect(gateway.stderr()).toMatch(/VIGIL_GATEWAY_PORT/);
});

test('vigil dev refuses a gateway beyond loopback without a token before it starts anything', async () => {
  const dev = await runCli(['dev', '--port', '0'], cleanEnv({ VIGIL_GATEWAY_HOST: '0.0.0.0' }));
  expect(dev.code).toBe(2);
  expect(dev.stderr).toMatch(/VIGIL_GATEWAY_TOKEN must be set when the gateway listens beyond loopback/);
  // Refused before Temporal started: dev says where its Temporal is once it has one.
  expect(dev.stderr).not.toMatch(/Temporal/i);
});
