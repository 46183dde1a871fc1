/**
 * docker-compose.yml cannot run here (no Docker engine), so this checks what a user of it relies on: the
 * ports, the wiring between services, the start order, and that Vigil's search attributes get registered.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, GATEWAY_CONFIG_VARIABLES, loadConfig, loadGatewayConfig } from '../src/config';
import { DEFAULT_TASK_QUEUE } from '../src/conversation/protocol';
import { VIGIL_SEARCH_ATTRIBUTES } from '../src/search-attributes';

interface Service {
  image?: string;
  configs?: (string | { source: string; target?: string })[];
  build?: string | { context?: string; dockerfile?: string };
  ports?: (string | number | { target: number; published?: string | number })[];
  environment?: string[] | Record<string, string | number | boolean | null>;
  depends_on?: string[] | Record<string, { condition?: string }>;
  healthcheck?: { test?: string | string[]; disable?: boolean };
  entrypoint?: string | string[];
  command?: string | string[];
}

const compose = parse(readFileSync(join(__dirname, '..', 'docker-compose.yml'), 'utf8')) as {
  services: Record<string, Service>;
  configs?: Record<string, { content?: string; file?: string }>;
};
const services = compose.services;

/** Host ports a service publishes, from the short ("8080:8080", "127.0.0.1:80:8080") and long syntax. */
function publishedPorts(service: Service): number[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return Number(port.published ?? port.target);
    const parts = String(port).split('/')[0].split(':');
    return Number(parts.length === 1 ? parts[0] : parts[parts.length - 2]);
  });
}

function environment(service: Service): Record<string, string> {
  const env = service.environment ?? {};
  if (Array.isArray(env)) {
    return Object.fromEntries(env.map((entry) => [entry.split('=')[0], entry.slice(entry.indexOf('=') + 1)]));
  }
  return Object.fromEntries(Object.entries(env).map(([key, value]) => [key, String(value ?? '')]));
}

function dependencies(service: Service, condition: string): string[] {
  const deps = service.depends_on;
  if (!deps || Array.isArray(deps)) return [];
  return Object.entries(deps)
    .filter(([, dep]) => dep.condition === condition)
    .map(([name]) => name);
}

function healthyDependencies(service: Service): string[] {
  return dependencies(service, 'service_healthy');
}

/** The whole shell script a service runs, entrypoint and command together. */
function script(service: Service): string {
  const words = (value: string | string[] | undefined) => (Array.isArray(value) ? value : value ? [value] : []);
  return [...words(service.entrypoint), ...words(service.command)].join(' ');
}

/** `temporal operator search-attribute create` calls, each as its namespace and name -> type pairs. */
function searchAttributeCreates(text: string): { namespace?: string; attributes: [string, string][] }[] {
  return text
    .split('\n')
    .filter((line) => /temporal\s+operator\s+search-attribute\s+create\b/.test(line))
    .map((line) => ({
      namespace: /(?:--namespace|-n)[\s=]+(\S+)/.exec(line)?.[1],
      attributes: [...line.matchAll(/--name[\s=]+(\S+)\s+--type[\s=]+(\S+)/g)].map((m): [string, string] => [
        m[1],
        m[2],
      ]),
    }));
}

const temporalName = 'temporal';

test('Temporal runs from its current images: the server, with its schema set up by a one-shot job before it starts', () => {
  const images = Object.values(services).map((service) => service.image ?? '');
  expect(images.filter((image) => image.startsWith('temporalio/auto-setup'))).toEqual([]);
  expect(services[temporalName].image).toMatch(/^temporalio\/server:\d+\.\d+\.\d+$/);
  const schema = Object.entries(services).find(([, service]) => /temporal-sql-tool/.test(script(service)));
  expect(schema).toBeDefined();
  expect(dependencies(services[temporalName], 'service_completed_successfully')).toContain(schema![0]);
  for (const database of ['temporal', 'temporal_visibility']) expect(script(schema![1])).toContain(database);
});

test('the Temporal server publishes 7233, where TEMPORAL_TEST_ADDRESS=127.0.0.1:7233 finds it', () => {
  expect(services[temporalName]).toBeDefined();
  expect(publishedPorts(services[temporalName])).toContain(7233);
});

test('the web UI publishes 8080 and talks to the Temporal service on 7233', () => {
  const ui = Object.values(services).find((service) => service.image?.startsWith('temporalio/ui'));
  expect(ui).toBeDefined();
  expect(publishedPorts(ui!)).toContain(8080);
  expect(environment(ui!).TEMPORAL_ADDRESS).toBe(`${temporalName}:7233`);
});

test('every service that waits for another to be healthy waits for one that has a healthcheck', () => {
  const waits = Object.entries(services).flatMap(([name, service]) =>
    healthyDependencies(service).map((dependency) => ({ name, dependency })),
  );
  expect(waits.length).toBeGreaterThan(0);
  for (const { name, dependency } of waits) {
    const target = services[dependency];
    expect({ name, dependency, exists: target !== undefined }).toEqual({ name, dependency, exists: true });
    const test = target.healthcheck?.test;
    const hasHealthcheck =
      !target.healthcheck?.disable && test !== undefined && !(Array.isArray(test) && test[0] === 'NONE');
    expect({ name, dependency, hasHealthcheck }).toEqual({ name, dependency, hasHealthcheck: true });
  }
});

test("registers exactly Vigil's search attributes, each with its type, in the default namespace", () => {
  const registrars = Object.entries(services).filter(
    ([, service]) => searchAttributeCreates(script(service)).length > 0,
  );
  expect(registrars).toHaveLength(1);
  const [, registrar] = registrars[0];
  // Registering needs the server up and the default namespace created, which the healthcheck waits for.
  expect(healthyDependencies(registrar)).toContain(temporalName);
  expect(environment(registrar).TEMPORAL_ADDRESS).toBe(`${temporalName}:7233`);

  // It creates the namespace first: the server image, unlike auto-setup, starts with none.
  expect(script(registrar)).toMatch(/temporal operator namespace create --namespace default/);
  const creates = searchAttributeCreates(script(registrar));
  for (const create of creates) expect(create.namespace).toBe('default');
  const registered = creates.flatMap((create) => create.attributes);
  expect(registered).toHaveLength(new Set(registered.map(([name]) => name)).size);
  expect(Object.fromEntries(registered)).toEqual(VIGIL_SEARCH_ATTRIBUTES);
});

describe('the Vigil worker service', () => {
  const workerName = 'worker';
  const worker = services[workerName];
  const workerEnv = () => environment(worker);
  const root = join(__dirname, '..');

  /** The environment the container gets when the host sets `host` (Compose's `${VAR:-default}` interpolation). */
  function interpolated(host: Record<string, string>): Record<string, string> {
    return Object.fromEntries(
      Object.entries(workerEnv()).map(([name, value]) => [
        name,
        value.replace(
          /\$\{(\w+)(?::?-([^}]*))?\}/g,
          (_, variable: string, fallback = '') => host[variable] || fallback,
        ),
      ]),
    );
  }

  test('is built from the Dockerfile at the repository root: two stages, the last run by a user that is not root', () => {
    expect(worker).toBeDefined();
    const build = typeof worker.build === 'string' ? { context: worker.build } : worker.build;
    expect(build?.context).toBe('.');
    const dockerfile = readFileSync(join(root, build?.dockerfile ?? 'Dockerfile'), 'utf8');
    const stages = dockerfile.split(/^FROM /m).slice(1);
    expect(stages.map((stage) => stage.split('\n')[0])).toEqual(['node:20-slim AS build', 'node:20-slim']);
    const runtime = stages[1];
    // Only the packed package and its production dependencies, with no install scripts, reach the image.
    expect(runtime).toMatch(/npm install --omit=dev --ignore-scripts .*\/tmp\/vigil\.tgz/);
    expect(runtime).toMatch(/^USER node$/m);
    expect(runtime).toMatch(/^HEALTHCHECK /m);
    expect(runtime).toMatch(/^CMD \["vigil", "worker"\]$/m);
  });

  test('answers from the demo model when the host gives it no model, instead of exiting and restarting', () => {
    expect(worker.command).toEqual(['vigil', 'worker', '--demo-without-key']);
    expect(() => loadConfig(interpolated({}))).toThrow(/OPENAI_API_KEY/); // what the flag stands in for
  });

  test('takes every worker setting from the host', () => {
    const gatewayOnly = (name: string) => name.startsWith('VIGIL_GATEWAY_') || name.startsWith('VIGIL_WEBHOOK_IN_');
    const missing = CONFIG_VARIABLES.filter((name) => !gatewayOnly(name) && !(name in workerEnv()));
    expect(missing).toEqual([]);
  });

  test('sets only variables loadConfig reads', () => {
    const unknown = Object.keys(workerEnv()).filter((name) => !(CONFIG_VARIABLES as string[]).includes(name));
    expect(unknown).toEqual([]);
  });

  test("reaches the Temporal service on its port, in the namespace that has Vigil's search attributes, on the default task queue", () => {
    const [host, port] = workerEnv().TEMPORAL_ADDRESS.split(':');
    expect(host).toBe(temporalName);
    // The container port: 7233 inside the Compose network whatever the host publishes it as.
    const containerPorts = (services[temporalName].ports ?? []).map((entry) =>
      typeof entry === 'object' ? entry.target : Number(String(entry).split('/')[0].split(':').pop()),
    );
    expect(containerPorts).toContain(Number(port));
    expect(workerEnv().TEMPORAL_NAMESPACE).toBe('default');
    expect(workerEnv().VIGIL_TASK_QUEUE).toBe(DEFAULT_TASK_QUEUE);
  });

  test('takes secrets from the host environment and never spells them out', () => {
    expect(workerEnv().OPENAI_API_KEY).toBe('${OPENAI_API_KEY:-}');
    expect(workerEnv().VIGIL_WEBHOOK_SECRET).toBe('${VIGIL_WEBHOOK_SECRET:-}');
    expect(workerEnv().VIGIL_PAYMENT_WEBHOOK_SECRET).toBe('${VIGIL_PAYMENT_WEBHOOK_SECRET:-}');
  });

  test("passes the host's prices and payment webhook on to the worker", () => {
    const config = loadConfig(
      interpolated({
        OPENAI_API_KEY: 'sk-from-the-host',
        VIGIL_PRICES: '{"my-model":{"inputPerMillionTokens":1,"outputPerMillionTokens":2}}',
        VIGIL_PAYMENT_WEBHOOK_URL: 'https://payments.example.com/vigil',
        VIGIL_PAYMENT_WEBHOOK_SECRET: 'payment-secret-0123456789',
      }),
    );
    expect(config.prices).toEqual({ 'my-model': { inputPerMillionTokens: 1, outputPerMillionTokens: 2 } });
    expect(config.paymentWebhook).toEqual({
      url: 'https://payments.example.com/vigil',
      secret: 'payment-secret-0123456789',
    });
  });

  test('starts after Temporal is healthy and the search attributes are registered', () => {
    expect(healthyDependencies(worker)).toContain(temporalName);
    const registrar = Object.entries(services).find(
      ([, service]) => searchAttributeCreates(script(service)).length > 0,
    );
    expect(dependencies(worker, 'service_completed_successfully')).toContain(registrar?.[0]);
  });

  test('its environment is a valid configuration once the host provides an API key', () => {
    const config = loadConfig(interpolated({ OPENAI_API_KEY: 'sk-from-the-host' }));
    expect(config.temporal).toEqual({ address: 'temporal:7233', namespace: 'default', taskQueue: DEFAULT_TASK_QUEUE });
    expect(config.openai.apiKey).toBe('sk-from-the-host');
  });
});

/** A service's environment as the container gets it when the host sets `host` (`${VAR:-default}` interpolation). */
function interpolatedEnvironment(service: Service, host: Record<string, string> = {}): Record<string, string> {
  return Object.fromEntries(
    Object.entries(environment(service)).map(([name, value]) => [
      name,
      value.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_, variable: string, fallback = '') => host[variable] || fallback),
    ]),
  );
}

const HOST_TOKEN = { VIGIL_GATEWAY_TOKEN: 'a-token-from-the-host-0123' };

describe('the content store', () => {
  const database = services.postgresql;

  test('the worker and the gateway share one PostgreSQL store, which they wait for', () => {
    const worker = loadConfig(interpolatedEnvironment(services.worker, { OPENAI_API_KEY: 'sk-from-the-host' })).store;
    const gateway = loadGatewayConfig(interpolatedEnvironment(services.gateway, HOST_TOKEN)).store;
    expect(worker).toMatchObject({ kind: 'postgres', url: expect.stringMatching(/@postgresql:5432\/vigil$/) });
    expect(gateway).toEqual(worker);
    expect(healthyDependencies(services.worker)).toContain('postgresql');
    expect(healthyDependencies(services.gateway)).toContain('postgresql');
  });

  test('a host VIGIL_STORE_POSTGRES_URL replaces the default', () => {
    const url = 'postgres://vigil:from-the-host@db.example.com:5432/vigil';
    expect(
      loadGatewayConfig(interpolatedEnvironment(services.gateway, { ...HOST_TOKEN, VIGIL_STORE_POSTGRES_URL: url }))
        .store,
    ).toMatchObject({ url });
  });

  test('PostgreSQL creates the vigil user and database the default URL names, on first start', () => {
    const mounted = (database.configs ?? []).find(
      (config) => typeof config === 'object' && config.target?.startsWith('/docker-entrypoint-initdb.d/'),
    ) as { source: string } | undefined;
    const script = compose.configs?.[mounted?.source ?? '']?.content ?? '';
    const { username, password, pathname } = new URL(
      (loadGatewayConfig(interpolatedEnvironment(services.gateway, HOST_TOKEN)).store as { url: string }).url,
    );
    expect(script).toContain(`CREATE USER ${username} WITH PASSWORD '${password}';`);
    expect(script).toContain(`CREATE DATABASE ${pathname.slice(1)} OWNER ${username};`);
  });
});

describe('the Vigil gateway service', () => {
  const gateway = services.gateway;
  const gatewayEnv = () => environment(gateway);

  test('runs `vigil gateway` from the same image, after Temporal is healthy', () => {
    expect(gateway.build).toBe('.');
    expect(gateway.command).toEqual(['vigil', 'gateway']);
    expect(healthyDependencies(gateway)).toContain(temporalName);
  });

  test('takes every gateway setting from the host', () => {
    const missing = GATEWAY_CONFIG_VARIABLES.filter((name) => !(name in gatewayEnv()));
    expect(missing).toEqual([]);
  });

  test("is published on every interface, so it refuses to start without the host's token", () => {
    expect(() => loadGatewayConfig(interpolatedEnvironment(gateway))).toThrow(/VIGIL_GATEWAY_TOKEN must be set/);
    const token = 'a-token-from-the-host-0123';
    expect(loadGatewayConfig(interpolatedEnvironment(gateway, { VIGIL_GATEWAY_TOKEN: token })).gateway.token).toBe(
      token,
    );
  });

  test('sets only variables the gateway reads, and publishes the port it listens on', () => {
    const unknown = Object.keys(gatewayEnv()).filter((name) => !(CONFIG_VARIABLES as string[]).includes(name));
    expect(unknown).toEqual([]);
    const port = gatewayEnv().VIGIL_GATEWAY_PORT;
    expect(gateway.ports).toContain(`${port}:${port}`);
    expect(gatewayEnv().VIGIL_GATEWAY_HOST).toBe('0.0.0.0');
    expect(gatewayEnv().TEMPORAL_ADDRESS).toBe(`${temporalName}:7233`);
    expect(gatewayEnv().VIGIL_GATEWAY_TOKEN).toBe('${VIGIL_GATEWAY_TOKEN:-}');
  });

  test('its environment is a valid gateway configuration, and its healthcheck asks /healthz on that port', () => {
    const config = loadGatewayConfig(
      interpolatedEnvironment(gateway, { VIGIL_GATEWAY_TOKEN: 'a-token-from-the-host-0123' }),
    );
    expect(config.gateway).toMatchObject({ host: '0.0.0.0', port: 8787 });
    expect(JSON.stringify(gateway.healthcheck?.test)).toContain(`127.0.0.1:${config.gateway.port}/healthz`);
  });
});

/** Go, which builds scripts/compose-config; these machines have it, a user's may not. */
const hasGo = (() => {
  try {
    execFileSync('go', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

// `docker compose config`, without Docker: the same loader (compose-go), schema and checks. Skipped, and saying
// why, only where Go is missing.
(hasGo ? describe : describe.skip)('`docker compose config` (compose-go, scripts/compose-config)', () => {
  const run = promisify(execFile);
  const root = join(__dirname, '..');
  let dir: string;
  let validator: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-compose-'));
    validator = join(dir, 'compose-config');
    await run('go', ['build', '-o', validator, '.'], { cwd: join(root, 'scripts', 'compose-config') });
  }, 300_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The project as Compose resolves it with `host` as the shell's environment. */
  const resolve = async (file: string, host: Record<string, string> = {}) => {
    const { stdout } = await run(validator, [file], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...host },
    });
    return parse(stdout) as { services: Record<string, { environment: Record<string, string> }> };
  };

  test("validates, and passes the host's settings to the worker and the gateway", async () => {
    const project = await resolve(join(root, 'docker-compose.yml'), {
      OPENAI_API_KEY: 'sk-from-the-host',
      VIGIL_GATEWAY_TOKEN: 'a-token-from-the-host-0123',
      VIGIL_WEBHOOK_IN_SECRET: 'inbound-secret-from-the-host-0123',
    });
    expect(project.services.worker.environment.OPENAI_API_KEY).toBe('sk-from-the-host');
    expect(project.services.gateway.environment).toMatchObject({
      VIGIL_GATEWAY_TOKEN: 'a-token-from-the-host-0123',
      VIGIL_WEBHOOK_IN_SECRET: 'inbound-secret-from-the-host-0123',
    });
    expect(loadGatewayConfig(project.services.gateway.environment).gateway.token).toBe('a-token-from-the-host-0123');
  });

  test('refuses a file that names a service it does not define', async () => {
    const broken = join(dir, 'broken.yml');
    writeFileSync(
      broken,
      readFileSync(join(root, 'docker-compose.yml'), 'utf8').replace(
        'temporal-setup:\n        condition',
        'temporal-setupp:\n        condition',
      ),
    );
    await expect(resolve(broken)).rejects.toMatchObject({
      stderr: expect.stringContaining('undefined service "temporal-setupp"'),
    });
  });
});
