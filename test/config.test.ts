import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CONFIG_VARIABLES,
  describeConfig,
  loadConfig,
  loadGatewayConfig,
  loadStoreSettings,
  loadTemporalSettings,
} from '../src/config';
import { ConfigError } from '../src/errors';

/** loadConfig's error for this environment; fails the test when there is none. */
function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

const KEY = 'sk-test-0123456789abcdef';
const SECRET = 'whsec-0123456789abcdefghij';
const GATEWAY_TOKEN = 'gw-0123456789abcdefghij';

test('an environment with only an API key gets the documented defaults', () => {
  const config = loadConfig({ OPENAI_API_KEY: KEY });
  expect(config).toEqual({
    temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'vigil' },
    openai: { baseURL: undefined, apiKey: KEY },
    model: 'gpt-4o-mini',
    webhookSecret: undefined,
    httpAllowHosts: [],
    webhookAllowHosts: [],
    logLevel: 'info',
    logFormat: 'auto',
    maxCachedWorkflows: undefined,
    memoryLogSeconds: 0,
    gateway: { host: '127.0.0.1', port: 8787, token: undefined, bodyLimitBytes: 1048576 },
    store: { kind: 'file', dataDir: '.vigil/data', payloadThresholdBytes: 65536 },
    warnings: [expect.stringMatching(/^VIGIL_WEBHOOK_SECRET is not set: the webhook channel is disabled/)],
  });
});

test('reads every setting', () => {
  const config = loadConfig({
    TEMPORAL_ADDRESS: 'temporal:7233',
    TEMPORAL_NAMESPACE: 'prod',
    VIGIL_TASK_QUEUE: 'vigil-prod',
    OPENAI_BASE_URL: 'http://localhost:11434/v1',
    VIGIL_MODEL: 'llama3.1:8b',
    VIGIL_WEBHOOK_SECRET: SECRET,
    VIGIL_HTTP_ALLOW_HOSTS: ' api.example.com, *.wikipedia.org ,,',
    VIGIL_WEBHOOK_ALLOW_HOSTS: 'hooks.example.com',
    VIGIL_LOG_LEVEL: 'debug',
    VIGIL_LOG_FORMAT: 'json',
    VIGIL_MAX_CACHED_WORKFLOWS: '0',
    VIGIL_MEMORY_LOG_SECONDS: '60',
    VIGIL_GATEWAY_HOST: '0.0.0.0',
    VIGIL_GATEWAY_PORT: '8080',
    VIGIL_GATEWAY_TOKEN: GATEWAY_TOKEN,
    VIGIL_GATEWAY_BODY_LIMIT: '2097152',
  });
  expect(config).toEqual({
    temporal: { address: 'temporal:7233', namespace: 'prod', taskQueue: 'vigil-prod' },
    openai: { baseURL: 'http://localhost:11434/v1', apiKey: undefined },
    model: 'llama3.1:8b',
    webhookSecret: SECRET,
    httpAllowHosts: ['api.example.com', '*.wikipedia.org'],
    webhookAllowHosts: ['hooks.example.com'],
    logLevel: 'debug',
    logFormat: 'json',
    maxCachedWorkflows: 0,
    memoryLogSeconds: 60,
    gateway: { host: '0.0.0.0', port: 8080, token: GATEWAY_TOKEN, bodyLimitBytes: 2097152 },
    store: { kind: 'file', dataDir: '.vigil/data', payloadThresholdBytes: 65536 },
    warnings: [],
  });
});

test('an OpenAI-compatible server needs no API key; OpenAI itself does', () => {
  expect(loadConfig({ OPENAI_BASE_URL: 'http://ollama:11434/v1' }).openai.apiKey).toBeUndefined();
  expect(configError({}).problems).toEqual([
    expect.stringMatching(/^OPENAI_API_KEY is not set; it is required for OpenAI's API/),
  ]);
  expect(configError({ OPENAI_BASE_URL: 'https://api.openai.com/v1', OPENAI_API_KEY: '' }).problems).toEqual([
    expect.stringMatching(/^OPENAI_API_KEY is set but empty; it is required/),
  ]);
});

test('empty variables count as unset, as Docker Compose passes `${VAR:-}` for a variable the host lacks', () => {
  const config = loadConfig({
    TEMPORAL_ADDRESS: '',
    OPENAI_BASE_URL: '',
    OPENAI_API_KEY: KEY,
    VIGIL_WEBHOOK_SECRET: '',
    VIGIL_LOG_LEVEL: '',
    VIGIL_MAX_CACHED_WORKFLOWS: '',
  });
  expect(config.temporal.address).toBe('127.0.0.1:7233');
  expect(config.openai.baseURL).toBeUndefined();
  expect(config.logLevel).toBe('info');
  expect(config.maxCachedWorkflows).toBeUndefined();
  expect(config.warnings).toEqual([
    expect.stringMatching(/^VIGIL_WEBHOOK_SECRET is set but empty: the webhook channel is disabled/),
  ]);
});

test('every bad value is reported at once, each naming its variable', () => {
  const error = configError({
    TEMPORAL_ADDRESS: 'localhost',
    TEMPORAL_NAMESPACE: 'has space',
    VIGIL_TASK_QUEUE: 'a queue',
    OPENAI_BASE_URL: 'ftp://models.example.com',
    OPENAI_API_KEY: KEY,
    VIGIL_MODEL: 'gpt 4',
    VIGIL_HTTP_ALLOW_HOSTS: 'example.com,bad.example.com:8080',
    VIGIL_LOG_LEVEL: 'verbose',
    VIGIL_LOG_FORMAT: 'yaml',
    VIGIL_MAX_CACHED_WORKFLOWS: 'lots',
    VIGIL_MEMORY_LOG_SECONDS: '-5',
  });
  expect(error.problems.map((problem) => problem.split(' ')[0])).toEqual([
    'TEMPORAL_ADDRESS',
    'TEMPORAL_NAMESPACE',
    'VIGIL_TASK_QUEUE',
    'OPENAI_BASE_URL',
    'VIGIL_MODEL',
    'VIGIL_HTTP_ALLOW_HOSTS',
    'VIGIL_LOG_LEVEL',
    'VIGIL_LOG_FORMAT',
    'VIGIL_MAX_CACHED_WORKFLOWS',
    'VIGIL_MEMORY_LOG_SECONDS',
  ]);
  expect(error.problems).toContain(
    'VIGIL_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
  );
  expect(error.problems).toContain('VIGIL_LOG_FORMAT must be one of auto, json, pretty (got "yaml")');
  expect(error.problems).toContain('TEMPORAL_ADDRESS must be host:port, e.g. 127.0.0.1:7233 (got "localhost")');
  expect(error.message).toMatch(/^invalid configuration:\n {2}- TEMPORAL_ADDRESS/);
});

test('a missing API key is reported along with the other problems', () => {
  expect(configError({ VIGIL_LOG_LEVEL: 'loud' }).problems.map((problem) => problem.split(' ')[0])).toEqual([
    'VIGIL_LOG_LEVEL',
    'OPENAI_API_KEY',
  ]);
});

test("a bad allow-list entry is reported by the http fetch tool's own rules", () => {
  const error = configError({ OPENAI_API_KEY: KEY, VIGIL_HTTP_ALLOW_HOSTS: 'example.com, https://example.org/path' });
  expect(error.problems).toEqual([
    expect.stringMatching(/^VIGIL_HTTP_ALLOW_HOSTS is invalid: .*"https:\/\/example.org\/path"/),
  ]);
});

test('a port out of range is a bad address', () => {
  expect(configError({ OPENAI_API_KEY: KEY, TEMPORAL_ADDRESS: 'temporal:70000' }).problems).toHaveLength(1);
});

test('problems with secrets say what is wrong without the value', () => {
  const key = ' sk-live-do-not-print-me ';
  const secret = 'tiny-do-not-print';
  const error = configError({
    OPENAI_API_KEY: key,
    VIGIL_WEBHOOK_SECRET: secret.slice(0, 10),
    OPENAI_BASE_URL: 'https://user:hunter2-password@proxy.example.com:bad/v1',
  });
  expect(error.problems).toEqual([
    expect.stringMatching(/^OPENAI_BASE_URL must be an http\(s\) URL/),
    'OPENAI_API_KEY is set but has leading or trailing whitespace',
    'VIGIL_WEBHOOK_SECRET is set but shorter than 16 characters',
  ]);
  for (const text of [error.message, JSON.stringify(error), String(error.stack)]) {
    expect(text).not.toContain('do-not-print');
    expect(text).not.toContain(secret.slice(0, 10));
    expect(text).not.toContain('hunter2');
  }
});

test('describeConfig, for logs, says whether secrets are set and never what they are', () => {
  const config = loadConfig({ OPENAI_API_KEY: KEY, VIGIL_WEBHOOK_SECRET: SECRET });
  const described = JSON.stringify(describeConfig(config));
  expect(described).not.toContain(KEY);
  expect(described).not.toContain(SECRET);
  expect(describeConfig(config)).toMatchObject({ openai: { apiKeySet: true }, webhookSecretSet: true });
});

test('VIGIL_WEBHOOK_IN_AGENTS lists the agents that take signed webhooks, each a valid agent name', () => {
  const secret = 'inbound-secret-0123456789';
  expect(
    loadGatewayConfig({ VIGIL_WEBHOOK_IN_SECRET: secret, VIGIL_WEBHOOK_IN_AGENTS: 'assistant, support' }).gateway
      .webhookIn?.agents,
  ).toEqual(['assistant', 'support']);
  expect(loadGatewayConfig({ VIGIL_WEBHOOK_IN_SECRET: secret }).gateway.webhookIn?.agents).toBeUndefined();
  expect(() => loadGatewayConfig({ VIGIL_WEBHOOK_IN_SECRET: secret, VIGIL_WEBHOOK_IN_AGENTS: 'assistant:x' })).toThrow(
    /VIGIL_WEBHOOK_IN_AGENTS/,
  );
});

test('CONFIG_VARIABLES lists exactly the variables loadConfig reads', () => {
  expect([...CONFIG_VARIABLES].sort()).toEqual(
    [
      'OPENAI_API_KEY',
      'OPENAI_BASE_URL',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'VIGIL_HTTP_ALLOW_HOSTS',
      'VIGIL_LOG_FORMAT',
      'VIGIL_LOG_LEVEL',
      'VIGIL_MAX_CACHED_WORKFLOWS',
      'VIGIL_MEMORY_LOG_SECONDS',
      'VIGIL_MODEL',
      'VIGIL_TASK_QUEUE',
      'VIGIL_WEBHOOK_ALLOW_HOSTS',
      'VIGIL_WEBHOOK_IN_AGENTS',
      'VIGIL_WEBHOOK_IN_SECRET',
      'VIGIL_WEBHOOK_IN_TOLERANCE_SECONDS',
      'VIGIL_WEBHOOK_SECRET',
      'VIGIL_STORE',
      'VIGIL_DATA_DIR',
      'VIGIL_STORE_POSTGRES_URL',
      'VIGIL_STORE_PAYLOAD_THRESHOLD_BYTES',
      'VIGIL_GATEWAY_HOST',
      'VIGIL_GATEWAY_PORT',
      'VIGIL_GATEWAY_TOKEN',
      'VIGIL_GATEWAY_BODY_LIMIT',
      'VIGIL_GATEWAY_CORS_ORIGINS',
      'VIGIL_PRICES',
      'VIGIL_PAYMENT_WEBHOOK_URL',
      'VIGIL_PAYMENT_WEBHOOK_SECRET',
    ].sort(),
  );
});

describe("the gateway's settings", () => {
  /** loadGatewayConfig's error for this environment; fails the test when there is none. */
  function gatewayConfigError(env: Record<string, string>): ConfigError {
    try {
      loadGatewayConfig(env);
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      return error as ConfigError;
    }
    throw new Error('expected a ConfigError');
  }

  test('need no model settings, and default to loopback, port 8787, no token, a 1 MiB body limit', () => {
    expect(loadGatewayConfig({})).toEqual({
      temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'vigil' },
      gateway: { host: '127.0.0.1', port: 8787, token: undefined, bodyLimitBytes: 1048576 },
      store: { kind: 'file', dataDir: '.vigil/data', payloadThresholdBytes: 65536 },
      logLevel: 'info',
      logFormat: 'auto',
    });
  });

  test('reads the gateway variables and the Temporal ones it shares with the worker', () => {
    expect(
      loadGatewayConfig({
        TEMPORAL_ADDRESS: 'temporal:7233',
        TEMPORAL_NAMESPACE: 'prod',
        VIGIL_TASK_QUEUE: 'vigil-prod',
        VIGIL_LOG_LEVEL: 'warn',
        VIGIL_GATEWAY_HOST: '::',
        VIGIL_GATEWAY_PORT: '0',
        VIGIL_GATEWAY_TOKEN: GATEWAY_TOKEN,
        VIGIL_GATEWAY_BODY_LIMIT: '1024',
        // Worker-only settings are not the gateway's business, even when wrong.
        VIGIL_MODEL: 'not a model',
      }),
    ).toEqual({
      temporal: { address: 'temporal:7233', namespace: 'prod', taskQueue: 'vigil-prod' },
      gateway: { host: '::', port: 0, token: GATEWAY_TOKEN, bodyLimitBytes: 1024 },
      store: { kind: 'file', dataDir: '.vigil/data', payloadThresholdBytes: 65536 },
      logLevel: 'warn',
      logFormat: 'auto',
    });
  });

  test('empty gateway variables count as unset', () => {
    const config = loadGatewayConfig({
      VIGIL_GATEWAY_HOST: '',
      VIGIL_GATEWAY_PORT: '',
      VIGIL_GATEWAY_TOKEN: '',
      VIGIL_GATEWAY_BODY_LIMIT: '',
    });
    expect(config.gateway).toEqual({ host: '127.0.0.1', port: 8787, token: undefined, bodyLimitBytes: 1048576 });
  });

  test("every bad gateway value is reported at once, the worker's loadConfig included", () => {
    const env = {
      OPENAI_API_KEY: KEY,
      VIGIL_GATEWAY_HOST: 'http://example.com',
      VIGIL_GATEWAY_PORT: '65536',
      VIGIL_GATEWAY_TOKEN: 'has a space in it, long enough',
      VIGIL_GATEWAY_BODY_LIMIT: '1mb',
    };
    const expected = [
      'VIGIL_GATEWAY_HOST must be a host name or IP address, e.g. 0.0.0.0 (got "http://example.com")',
      'VIGIL_GATEWAY_PORT must be a port, 0 to 65535 (got "65536")',
      'VIGIL_GATEWAY_TOKEN is set but contains whitespace',
      'VIGIL_GATEWAY_BODY_LIMIT must be a number of bytes from 1024 to 67108864 (got "1mb")',
    ];
    expect(gatewayConfigError(env).problems).toEqual(expected);
    expect(configError(env).problems).toEqual(expected);
  });

  test('a short token is refused without being echoed; describeGateway says only whether one is set', () => {
    const error = gatewayConfigError({ VIGIL_GATEWAY_TOKEN: 'short-no-print' });
    expect(error.problems).toEqual(['VIGIL_GATEWAY_TOKEN is set but shorter than 16 characters']);
    for (const text of [error.message, JSON.stringify(error), String(error.stack)])
      expect(text).not.toContain('short-no-print');

    const config = loadConfig({ OPENAI_API_KEY: KEY, VIGIL_GATEWAY_TOKEN: GATEWAY_TOKEN });
    expect(JSON.stringify(describeConfig(config))).not.toContain(GATEWAY_TOKEN);
    expect(describeConfig(config)).toMatchObject({
      gateway: { host: '127.0.0.1', port: 8787, tokenSet: true, bodyLimitBytes: 1048576 },
    });
  });

  test('a gateway without a token listening beyond loopback is refused', () => {
    expect(() => loadGatewayConfig({ VIGIL_GATEWAY_HOST: '0.0.0.0' })).toThrow(
      new ConfigError([
        'VIGIL_GATEWAY_TOKEN must be set when the gateway listens beyond loopback (VIGIL_GATEWAY_HOST is 0.0.0.0): ' +
          'without it anyone who can reach the gateway could read and send to every conversation',
      ]),
    );
    expect(
      loadGatewayConfig({ VIGIL_GATEWAY_HOST: '0.0.0.0', VIGIL_GATEWAY_TOKEN: GATEWAY_TOKEN }).gateway,
    ).toMatchObject({ host: '0.0.0.0' });
    expect(loadGatewayConfig({ VIGIL_GATEWAY_HOST: 'localhost' }).gateway).toMatchObject({ host: 'localhost' });
  });
});

describe('the client commands read only what they use', () => {
  test("Temporal settings need no model: OpenAI's API without a key is no problem here", () => {
    expect(loadTemporalSettings({ TEMPORAL_ADDRESS: 'temporal.internal:7233', OPENAI_BASE_URL: 'not a url' })).toEqual({
      address: 'temporal.internal:7233',
      namespace: 'default',
      taskQueue: 'vigil',
    });
    expect(() => loadTemporalSettings({ TEMPORAL_ADDRESS: 'no port', VIGIL_TASK_QUEUE: ' ' })).toThrow(ConfigError);
  });

  test("the store's settings are the worker's, with its checks", () => {
    expect(loadStoreSettings({ VIGIL_DATA_DIR: '/srv/vigil', VIGIL_GATEWAY_PORT: 'eighty' })).toEqual(
      loadConfig({ OPENAI_API_KEY: KEY, VIGIL_DATA_DIR: '/srv/vigil' }).store,
    );
    expect(() => loadStoreSettings({ VIGIL_STORE: 'postgres' })).toThrow(
      new ConfigError([
        'VIGIL_STORE_POSTGRES_URL is not set; it is required when VIGIL_STORE is postgres, e.g. postgres://vigil:<password>@db:5432/vigil',
      ]),
    );
  });
});

test('a webhook secret without a host allow-list is allowed, with a warning', () => {
  const config = loadConfig({ OPENAI_API_KEY: KEY, VIGIL_WEBHOOK_SECRET: SECRET });
  expect(config.warnings).toEqual([expect.stringMatching(/^VIGIL_WEBHOOK_ALLOW_HOSTS is not set/)]);
  expect(() => loadConfig({ OPENAI_API_KEY: KEY, VIGIL_WEBHOOK_ALLOW_HOSTS: 'https://x.example.com/hook' })).toThrow(
    ConfigError,
  );
});

describe('the content store settings', () => {
  const PG_URL = 'postgres://vigil:s3cret-pa55word@db:5432/vigil';

  test('default to files under .vigil/data, and read PostgreSQL and the payload threshold', () => {
    expect(loadConfig({ OPENAI_API_KEY: KEY, VIGIL_DATA_DIR: '/srv/vigil' }).store).toEqual({
      kind: 'file',
      dataDir: '/srv/vigil',
      payloadThresholdBytes: 65536,
    });
    const env = {
      VIGIL_STORE: 'postgres',
      VIGIL_STORE_POSTGRES_URL: PG_URL,
      VIGIL_STORE_PAYLOAD_THRESHOLD_BYTES: '131072',
    };
    expect(loadConfig({ OPENAI_API_KEY: KEY, ...env }).store).toEqual({
      kind: 'postgres',
      url: PG_URL,
      payloadThresholdBytes: 131072,
    });
    expect(loadGatewayConfig(env).store).toEqual({ kind: 'postgres', url: PG_URL, payloadThresholdBytes: 131072 });
  });

  test('report a bad store, a missing or malformed URL and a bad threshold, never quoting the URL', () => {
    expect(
      configError({ OPENAI_API_KEY: KEY, VIGIL_STORE: 'sqlite', VIGIL_STORE_PAYLOAD_THRESHOLD_BYTES: '10' }).problems,
    ).toEqual([
      'VIGIL_STORE must be one of file, postgres (got "sqlite")',
      'VIGIL_STORE_PAYLOAD_THRESHOLD_BYTES must be a number of bytes from 1024 to 2097152 (got "10")',
    ]);
    expect(configError({ OPENAI_API_KEY: KEY, VIGIL_STORE: 'postgres' }).problems).toEqual([
      expect.stringMatching(/^VIGIL_STORE_POSTGRES_URL is not set; it is required when VIGIL_STORE is postgres/),
    ]);
    const bad = configError({
      OPENAI_API_KEY: KEY,
      VIGIL_STORE: 'postgres',
      VIGIL_STORE_POSTGRES_URL: 'mysql://vigil:s3cret-pa55word@db/vigil',
    });
    expect(bad.problems).toEqual([
      expect.stringMatching(/^VIGIL_STORE_POSTGRES_URL is set but is not a postgres:\/\/ URL/),
    ]);
    expect(bad.message).not.toContain('s3cret-pa55word');
  });

  test('are logged without the PostgreSQL password', () => {
    const config = loadConfig({ OPENAI_API_KEY: KEY, VIGIL_STORE: 'postgres', VIGIL_STORE_POSTGRES_URL: PG_URL });
    expect(describeConfig(config).store).toEqual({
      kind: 'postgres',
      server: 'db:5432/vigil',
      payloadThresholdBytes: 65536,
    });
    expect(JSON.stringify(describeConfig(config))).not.toContain('s3cret');
  });
});

describe('usage and pricing settings', () => {
  const PRICES = '{"local-llm":{"inputPerMillionTokens":0.5,"outputPerMillionTokens":1}}';

  test('VIGIL_PRICES takes a JSON price table, or @path to one', () => {
    const table = { 'local-llm': { inputPerMillionTokens: 0.5, outputPerMillionTokens: 1 } };
    expect(loadConfig({ OPENAI_API_KEY: KEY, VIGIL_PRICES: PRICES }).prices).toEqual(table);
    const dir = mkdtempSync(join(tmpdir(), 'vigil-prices-'));
    writeFileSync(join(dir, 'prices.json'), PRICES);
    expect(loadConfig({ OPENAI_API_KEY: KEY, VIGIL_PRICES: `@${join(dir, 'prices.json')}` }).prices).toEqual(table);
    expect(loadConfig({ OPENAI_API_KEY: KEY }).prices).toBeUndefined();
  });

  test('a bad VIGIL_PRICES is reported with what is wrong', () => {
    expect(
      configError({
        OPENAI_API_KEY: KEY,
        VIGIL_PRICES: '{"m":{"inputPerMillionTokens":"cheap","outputPerMillionTokens":1}}',
      }).problems,
    ).toEqual([expect.stringMatching(/^VIGIL_PRICES is not a price table \(m\.inputPerMillionTokens: /)]);
    expect(configError({ OPENAI_API_KEY: KEY, VIGIL_PRICES: '@/nonexistent/prices.json' }).problems).toEqual([
      'VIGIL_PRICES file "/nonexistent/prices.json" cannot be read (ENOENT)',
    ]);
  });

  test('the payment webhook needs its URL and its secret, and the secret is never shown', () => {
    const secret = 'whsec-pay-0123456789abcdef';
    const config = loadConfig({
      OPENAI_API_KEY: KEY,
      VIGIL_PAYMENT_WEBHOOK_URL: 'https://pay.example.com/v?token=t0k',
      VIGIL_PAYMENT_WEBHOOK_SECRET: secret,
    });
    expect(config.paymentWebhook).toEqual({ url: 'https://pay.example.com/v?token=t0k', secret });
    const described = JSON.stringify(describeConfig(config));
    expect(described).not.toContain(secret);
    expect(described).not.toContain('t0k');
    expect(describeConfig(config)).toMatchObject({ paymentWebhook: { host: 'pay.example.com', secretSet: true } });
    expect(
      configError({ OPENAI_API_KEY: KEY, VIGIL_PAYMENT_WEBHOOK_URL: 'https://pay.example.com/v' }).problems,
    ).toEqual([
      'VIGIL_PAYMENT_WEBHOOK_SECRET is not set; the webhook payment verifier needs it along with VIGIL_PAYMENT_WEBHOOK_URL',
    ]);
    const short = configError({
      OPENAI_API_KEY: KEY,
      VIGIL_PAYMENT_WEBHOOK_URL: 'https://pay.example.com/v',
      VIGIL_PAYMENT_WEBHOOK_SECRET: 'short',
    });
    expect(short.problems).toEqual(['VIGIL_PAYMENT_WEBHOOK_SECRET is set but shorter than 16 characters']);
  });
});
