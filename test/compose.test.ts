/**
 * docker-compose.yml cannot run here (no Docker engine), so this checks what a user of it relies on: the
 * ports, the wiring between services, the start order, and that Vigil's search attributes get registered.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CONFIG_VARIABLES, loadConfig, loadGatewayConfig } from '../src/config';
import { DEFAULT_TASK_QUEUE } from '../src/protocol';
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
      attributes: [...line.matchAll(/--name[\s=]+(\S+)\s+--type[\s=]+(\S+)/g)].map((m): [string, string] => [m[1], m[2]]),
    }));
}

const temporalName = 'temporal';

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
    const hasHealthcheck = !target.healthcheck?.disable && test !== undefined && !(Array.isArray(test) && test[0] === 'NONE');
    expect({ name, dependency, hasHealthcheck }).toEqual({ name, dependency, hasHealthcheck: true });
  }
});

test("registers exactly Vigil's search attributes, each with its type, in the default namespace", () => {
  const registrars = Object.entries(services).filter(([, service]) => searchAttributeCreates(script(service)).length > 0);
  expect(registrars).toHaveLength(1);
  const [, registrar] = registrars[0];
  // Registering needs the server up and the default namespace created, which the healthcheck waits for.
  expect(healthyDependencies(registrar)).toContain(temporalName);
  expect(environment(registrar).TEMPORAL_ADDRESS).toBe(`${temporalName}:7233`);

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
        value.replace(/\$\{(\w+)(?::?-([^}]*))?\}/g, (_, variable: string, fallback = '') => host[variable] || fallback),
      ]),
    );
  }

  test('is built from the Dockerfile at the repository root, which runs `npm run worker`', () => {
    expect(worker).toBeDefined();
    const build = typeof worker.build === 'string' ? { context: worker.build } : worker.build;
    expect(build?.context).toBe('.');
    const dockerfile = readFileSync(join(root, build?.dockerfile ?? 'Dockerfile'), 'utf8');
    expect(dockerfile).toMatch(/^FROM node:20-slim$/m);
    expect(dockerfile).toMatch(/^CMD \["npm", "run", "worker"\]$/m);
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

  test('passes the host\'s prices and payment webhook on to the worker', () => {
    const config = loadConfig(
      interpolated({
        OPENAI_API_KEY: 'sk-from-the-host',
        VIGIL_PRICES: '{"my-model":{"inputPerMillionTokens":1,"outputPerMillionTokens":2}}',
        VIGIL_PAYMENT_WEBHOOK_URL: 'https://payments.example.com/vigil',
        VIGIL_PAYMENT_WEBHOOK_SECRET: 'payment-secret-0123456789',
      }),
    );
    expect(config.prices).toEqual({ 'my-model': { inputPerMillionTokens: 1, outputPerMillionTokens: 2 } });
    expect(config.paymentWebhook).toEqual({ url: 'https://payments.example.com/vigil', secret: 'payment-secret-0123456789' });
  });

  test('starts after Temporal is healthy and the search attributes are registered', () => {
    expect(healthyDependencies(worker)).toContain(temporalName);
    const registrar = Object.entries(services).find(([, service]) => searchAttributeCreates(script(service)).length > 0);
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

describe('the content store', () => {
  const database = services.postgresql;

  test('the worker and the gateway share one PostgreSQL store, which they wait for', () => {
    const worker = loadConfig(interpolatedEnvironment(services.worker, { OPENAI_API_KEY: 'sk-from-the-host' })).store;
    const gateway = loadGatewayConfig(interpolatedEnvironment(services.gateway)).store;
    expect(worker).toMatchObject({ kind: 'postgres', url: expect.stringMatching(/@postgresql:5432\/vigil$/) });
    expect(gateway).toEqual(worker);
    expect(healthyDependencies(services.worker)).toContain('postgresql');
    expect(healthyDependencies(services.gateway)).toContain('postgresql');
  });

  test('a host VIGIL_STORE_POSTGRES_URL replaces the default', () => {
    const url = 'postgres://vigil:from-the-host@db.example.com:5432/vigil';
    expect(loadGatewayConfig(interpolatedEnvironment(services.gateway, { VIGIL_STORE_POSTGRES_URL: url })).store).toMatchObject({ url });
  });

  test('PostgreSQL creates the vigil user and database the default URL names, on first start', () => {
    const mounted = (database.configs ?? []).find(
      (config) => typeof config === 'object' && config.target?.startsWith('/docker-entrypoint-initdb.d/'),
    ) as { source: string } | undefined;
    const script = compose.configs?.[mounted?.source ?? '']?.content ?? '';
    const { username, password, pathname } = new URL(
      (loadGatewayConfig(interpolatedEnvironment(services.gateway)).store as { url: string }).url,
    );
    expect(script).toContain(`CREATE USER ${username} WITH PASSWORD '${password}';`);
    expect(script).toContain(`CREATE DATABASE ${pathname.slice(1)} OWNER ${username};`);
  });
});

describe('the Vigil gateway service', () => {
  const gateway = services.gateway;
  const gatewayEnv = () => environment(gateway);

  test('runs `npm run gateway` from the same image, after Temporal is healthy', () => {
    expect(gateway.build).toBe('.');
    expect(gateway.command).toEqual(['npm', 'run', 'gateway']);
    expect(healthyDependencies(gateway)).toContain(temporalName);
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
    const config = loadGatewayConfig(interpolatedEnvironment(gateway));
    expect(config.gateway).toMatchObject({ host: '0.0.0.0', port: 8787 });
    expect(JSON.stringify(gateway.healthcheck?.test)).toContain(`127.0.0.1:${config.gateway.port}/healthz`);
  });
});
