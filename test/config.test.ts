import { CONFIG_VARIABLES, describeConfig, loadConfig } from '../src/config';
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

test('an environment with only an API key gets the documented defaults', () => {
  const config = loadConfig({ OPENAI_API_KEY: KEY });
  expect(config).toEqual({
    temporal: { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'vigil' },
    openai: { baseURL: undefined, apiKey: KEY },
    model: 'gpt-4o-mini',
    webhookSecret: undefined,
    httpAllowHosts: [],
    logLevel: 'info',
    maxCachedWorkflows: undefined,
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
    VIGIL_LOG_LEVEL: 'debug',
    VIGIL_MAX_CACHED_WORKFLOWS: '0',
  });
  expect(config).toEqual({
    temporal: { address: 'temporal:7233', namespace: 'prod', taskQueue: 'vigil-prod' },
    openai: { baseURL: 'http://localhost:11434/v1', apiKey: undefined },
    model: 'llama3.1:8b',
    webhookSecret: SECRET,
    httpAllowHosts: ['api.example.com', '*.wikipedia.org'],
    logLevel: 'debug',
    maxCachedWorkflows: 0,
    warnings: [],
  });
});

test('an OpenAI-compatible server needs no API key; OpenAI itself does', () => {
  expect(loadConfig({ OPENAI_BASE_URL: 'http://ollama:11434/v1' }).openai.apiKey).toBeUndefined();
  expect(configError({}).problems).toEqual([expect.stringMatching(/^OPENAI_API_KEY is not set; it is required for OpenAI's API/)]);
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
  expect(config.warnings).toEqual([expect.stringMatching(/^VIGIL_WEBHOOK_SECRET is set but empty: the webhook channel is disabled/)]);
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
    VIGIL_MAX_CACHED_WORKFLOWS: 'lots',
  });
  expect(error.problems.map((problem) => problem.split(' ')[0])).toEqual([
    'TEMPORAL_ADDRESS',
    'TEMPORAL_NAMESPACE',
    'VIGIL_TASK_QUEUE',
    'OPENAI_BASE_URL',
    'VIGIL_MODEL',
    'VIGIL_HTTP_ALLOW_HOSTS',
    'VIGIL_LOG_LEVEL',
    'VIGIL_MAX_CACHED_WORKFLOWS',
  ]);
  expect(error.problems).toContain(
    'VIGIL_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent (got "verbose")',
  );
  expect(error.problems).toContain('TEMPORAL_ADDRESS must be host:port, e.g. 127.0.0.1:7233 (got "localhost")');
  expect(error.message).toMatch(/^invalid configuration:\n {2}- TEMPORAL_ADDRESS/);
});

test('a missing API key is reported along with the other problems', () => {
  expect(configError({ VIGIL_LOG_LEVEL: 'loud' }).problems.map((problem) => problem.split(' ')[0])).toEqual([
    'VIGIL_LOG_LEVEL',
    'OPENAI_API_KEY',
  ]);
});

test('a bad allow-list entry is reported by the http fetch tool\'s own rules', () => {
  const error = configError({ OPENAI_API_KEY: KEY, VIGIL_HTTP_ALLOW_HOSTS: 'example.com, https://example.org/path' });
  expect(error.problems).toEqual([expect.stringMatching(/^VIGIL_HTTP_ALLOW_HOSTS is invalid: .*"https:\/\/example.org\/path"/)]);
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

test('CONFIG_VARIABLES lists exactly the variables loadConfig reads', () => {
  expect([...CONFIG_VARIABLES].sort()).toEqual(
    [
      'OPENAI_API_KEY',
      'OPENAI_BASE_URL',
      'TEMPORAL_ADDRESS',
      'TEMPORAL_NAMESPACE',
      'VIGIL_HTTP_ALLOW_HOSTS',
      'VIGIL_LOG_LEVEL',
      'VIGIL_MAX_CACHED_WORKFLOWS',
      'VIGIL_MODEL',
      'VIGIL_TASK_QUEUE',
      'VIGIL_WEBHOOK_SECRET',
    ].sort(),
  );
});
