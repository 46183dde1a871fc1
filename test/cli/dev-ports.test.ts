/**
 * `vigil dev`'s ports behave alike: a default one that is taken (another vigil dev, another app on 8787 or
 * 7233) moves to a free port and says so, for the gateway and for the Temporal CLI's dev server as for the
 * in-process server (dev.test.ts); a port the user chose and cannot have is an error that says what to do.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { startDevGateway } from '../../src/cli/dev/dev-gateway';
import { portToUse } from '../../src/cli/dev/dev-temporal';
import { CommandFailed } from '../../src/cli/exit-codes';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';

let taken: Server;
let port: number;
beforeAll(async () => {
  taken = createServer().listen(0, '127.0.0.1');
  await once(taken, 'listening');
  port = (taken.address() as AddressInfo).port;
});
afterAll(() => taken.close());

const config = () =>
  loadConfig({
    OPENAI_API_KEY: 'sk-test-0123456789',
    TEMPORAL_ADDRESS: '127.0.0.1:1',
    VIGIL_GATEWAY_PORT: String(port),
  });
const logger = createLogger({ level: 'silent' });

test('a default port that is taken moves to a free one, and the user is told', async () => {
  const said: string[] = [];
  const gateway = await startDevGateway(config(), logger, {
    agents: ['assistant'],
    portIsExplicit: false,
    say: (m) => said.push(m),
  });
  try {
    const moved = Number(new URL(gateway.url).port);
    expect(moved).not.toBe(port);
    // The gateway serves on the port it moved to.
    const models = (await (await fetch(`${gateway.url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((model) => model.id)).toEqual(['assistant']);
    expect(said).toEqual([
      `the gateway's port ${port} is taken; using a free port instead (choose one with --gateway-port)`,
    ]);
  } finally {
    await gateway.close();
  }
});

test('a port the user chose that is taken is an error that says what to do', async () => {
  const failure = await startDevGateway(config(), logger, {
    agents: ['assistant'],
    portIsExplicit: true,
    say: () => undefined,
  }).catch((error: unknown) => error);
  expect(failure).toBeInstanceOf(CommandFailed);
  expect((failure as Error).message).toBe(
    `the gateway's port ${port} on 127.0.0.1 is already in use; choose another with --gateway-port (or VIGIL_GATEWAY_PORT; 0 picks a free one), or run without it: --no-gateway`,
  );
});

test("the Temporal CLI's dev server moves off a default port that is taken, and keeps a chosen one", async () => {
  const said: string[] = [];
  const say = (message: string) => said.push(message);
  expect(await portToUse({ port, portIsExplicit: false, say })).toBe(0);
  expect(said).toEqual([`port ${port} is taken; using a free port instead (choose one with --port)`]);
  expect(await portToUse({ port, portIsExplicit: true, say })).toBe(port);
  const free = createServer().listen(0, '127.0.0.1');
  await once(free, 'listening');
  const freePort = (free.address() as AddressInfo).port;
  await new Promise((resolve) => free.close(resolve));
  expect(await portToUse({ port: freePort, portIsExplicit: false, say })).toBe(freePort);
  expect(said).toHaveLength(1);
});
