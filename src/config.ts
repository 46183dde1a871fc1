/**
 * The worker's and the gateway's settings, read once at startup from the environment. Every problem is reported
 * at once, in a ConfigError, so a deploy fails with the whole list instead of one fix per restart. Secret values
 * (OPENAI_API_KEY, VIGIL_WEBHOOK_SECRET, VIGIL_GATEWAY_TOKEN, VIGIL_WEBHOOK_IN_SECRET, VIGIL_STORE_POSTGRES_URL,
 * VIGIL_PAYMENT_WEBHOOK_SECRET) never appear in a problem or a warning: only what is wrong with them.
 *
 * An empty variable counts as unset: Docker Compose passes `${OPENAI_API_KEY:-}` as an empty string when the
 * host has no such variable, and that must mean "not configured", not "configured as nothing".
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { z } from 'zod';
import { ConfigError } from './errors';
import { AgentName, DEFAULT_TASK_QUEUE } from './conversation/protocol';
import { compileHostAllowList } from './tools/builtin/http-fetch/host-allow-list';
import { parsePriceSetting, type PriceTable } from './pricing/price-table';

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
/** `auto`: readable lines when the logs go to a terminal, JSON lines (one object per line) otherwise. */
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormat = (typeof LOG_FORMATS)[number];

export const DEFAULT_MODEL = 'gpt-4o-mini';
export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';
const MIN_WEBHOOK_SECRET_LENGTH = 16;
const MIN_GATEWAY_TOKEN_LENGTH = 16;
export const DEFAULT_GATEWAY_HOST = '127.0.0.1';
export const DEFAULT_GATEWAY_PORT = 8787;
export const DEFAULT_GATEWAY_BODY_LIMIT_BYTES = 1024 * 1024;
const MIN_GATEWAY_BODY_LIMIT_BYTES = 1024;
const MAX_GATEWAY_BODY_LIMIT_BYTES = 64 * 1024 * 1024;
export const DEFAULT_WEBHOOK_IN_TOLERANCE_SECONDS = 300;
export const STORE_KINDS = ['file', 'postgres'] as const;
export const DEFAULT_DATA_DIR = '.vigil/data';
export const DEFAULT_PAYLOAD_THRESHOLD_BYTES = 64 * 1024;
const MIN_PAYLOAD_THRESHOLD_BYTES = 1024;
// Temporal refuses a payload over 2 MB; a threshold above that would never apply.
const MAX_PAYLOAD_THRESHOLD_BYTES = 2 * 1024 * 1024;

/** The HTTP gateway's listener (src/gateway). */
export interface GatewaySettings {
  /** Interface to listen on; the loopback default keeps an unauthenticated gateway off the network. */
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Every /v1 request must carry `Authorization: Bearer <token>`; unset, the gateway asks for no auth. */
  token?: string;
  /** Larger request bodies are refused with 413. */
  bodyLimitBytes: number;
  /**
   * Origins whose browser pages may call the gateway (CORS), e.g. `https://app.example.com`; `*` for any. Unset:
   * no CORS headers, so browsers refuse pages from other origins.
   */
  corsOrigins?: string[];
  /** Signed inbound webhooks; unset, their route answers 404. */
  webhookIn?: { secrets: string[]; toleranceSeconds: number; agents?: string[] };
}

/** The content store (src/store): where message and tool-result contents and large payloads live. */
export type StoreSettings = (
  | { kind: 'file'; /** Entries go under `<dataDir>/content`. */ dataDir: string }
  | { kind: 'postgres'; /** A secret: it holds the password. Never logged. */ url: string }
) & {
  /** Temporal payloads of at least this many bytes go to the store; history holds a claim. */
  payloadThresholdBytes: number;
};

/** Where the conversations are: every process and command reads these. */
export interface TemporalSettings {
  /** host:port of the Temporal frontend. */
  address: string;
  namespace: string;
  taskQueue: string;
}

export interface Config {
  temporal: TemporalSettings;
  openai: {
    /** Unset: OpenAI's own API. */
    baseURL?: string;
    apiKey?: string;
  };
  /** The model the shipped assistant agent uses. */
  model: string;
  /** Signs webhook deliveries; unset disables the webhook channel. */
  webhookSecret?: string;
  /** Hosts the http fetch tool may reach; empty leaves the tool without any host. */
  httpAllowHosts: string[];
  /** Hosts webhook replies may go to; empty allows every host (with a warning when the channel is on). */
  webhookAllowHosts: string[];
  logLevel: LogLevel;
  logFormat: LogFormat;
  /** Unset: the Temporal SDK's default, sized from the machine's memory. */
  maxCachedWorkflows?: number;
  /** How often the worker logs its memory (`worker memory`); 0: never. */
  memoryLogSeconds: number;
  gateway: GatewaySettings;
  store: StoreSettings;
  /** Model prices from VIGIL_PRICES, written over the built-in table (src/pricing/price-table.ts); unset: none. */
  prices?: PriceTable;
  /** The `webhook` payment verifier (src/payments/webhook-verifier.ts); unset: not offered. */
  paymentWebhook?: { url: string; /** A secret: signs each request. */ secret: string };
  /** Settings that work but deserve a look (a disabled channel, a secret left unset); logged at startup. */
  warnings: string[];
}

/** At most this much of a (non-secret) bad value is quoted back, so a pasted blob cannot flood the log. */
function quote(value: string): string {
  return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
}

const emptyIsUnset = (value: unknown) => (value === '' ? undefined : value);

/** An optional variable: empty is unset (see the module comment). */
function optional<T extends z.ZodType>(schema: T) {
  return z.preprocess(emptyIsUnset, schema.optional());
}

/** A variable with a default, taken when it is unset or empty. */
function withDefault<T extends z.ZodType>(schema: T, value: z.util.NoUndefined<z.output<T>>) {
  return z.preprocess(emptyIsUnset, schema.default(value));
}

const hostName = /^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$/;
const hostPort = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(\d{1,5})$/;

/** A message for a bad non-secret value, quoting what was given. */
function must(rule: string) {
  return { error: (issue: { input?: unknown }) => `must be ${rule} (got ${quote(String(issue.input))})` };
}

/** Checks a secret without ever putting its value into the message. */
function secret(minLength: number) {
  return z.string().superRefine((value, ctx) => {
    const problem =
      value.trim() !== value
        ? 'has leading or trailing whitespace'
        : /\s/.test(value)
          ? 'contains whitespace'
          : value.length < minLength
            ? `shorter than ${minLength} characters`
            : undefined;
    if (problem) ctx.addIssue({ code: 'custom', message: `is set but ${problem}` });
  });
}

const HttpAllowHosts = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((host) => host.trim())
      .filter((host) => host !== ''),
  )
  .superRefine((hosts, ctx) => {
    if (hosts.length === 0) return;
    // The http fetch tool's own rules, so the two cannot disagree on what a host entry is.
    try {
      compileHostAllowList(hosts);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      for (const problem of error.problems) ctx.addIssue({ code: 'custom', message: `is invalid: ${problem}` });
    }
  });

/** Comma-separated secrets, each checked as one secret; the problem names the entry, never its value. */
function secretList(minLength: number) {
  return z
    .string()
    .transform((value) => value.split(','))
    .superRefine((secrets, ctx) => {
      secrets.forEach((value, index) => {
        const checked = secret(minLength).safeParse(value);
        const which = secrets.length > 1 ? ` (secret ${index + 1} of ${secrets.length})` : '';
        if (value === '') ctx.addIssue({ code: 'custom', message: `has an empty entry${which}` });
        else if (!checked.success)
          ctx.addIssue({ code: 'custom', message: `${checked.error.issues[0].message}${which}` });
      });
    });
}

/** A postgres:// URL; a secret, so neither it nor any part of it is quoted back. */
const PostgresUrl = z.string().superRefine((value, ctx) => {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  if (!url || !['postgres:', 'postgresql:'].includes(url.protocol) || url.hostname === '') {
    ctx.addIssue({
      code: 'custom',
      message: 'is set but is not a postgres:// URL, e.g. postgres://vigil:<password>@db:5432/vigil',
    });
  }
});

const EnvSchema = z.object({
  TEMPORAL_ADDRESS: withDefault(
    z.string().refine((value) => {
      const port = hostPort.exec(value)?.[1];
      return port !== undefined && Number(port) >= 1 && Number(port) <= 65535;
    }, must('host:port, e.g. 127.0.0.1:7233')),
    '127.0.0.1:7233',
  ),
  TEMPORAL_NAMESPACE: withDefault(
    z.string().regex(/^[A-Za-z0-9._-]{1,255}$/, must('a namespace name: letters, digits and . _ -')),
    'default',
  ),
  VIGIL_TASK_QUEUE: withDefault(
    z.string().regex(/^\S{1,1000}$/, must('a task queue name without whitespace')),
    DEFAULT_TASK_QUEUE,
  ),
  // The URL is not quoted back: it may carry credentials (https://user:pass@host/).
  OPENAI_BASE_URL: optional(
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. http://localhost:11434/v1' }),
  ),
  OPENAI_API_KEY: optional(secret(1)),
  VIGIL_MODEL: withDefault(
    z.string().regex(/^[A-Za-z0-9._:/@-]{1,200}$/, must(`a model name such as ${DEFAULT_MODEL}`)),
    DEFAULT_MODEL,
  ),
  VIGIL_WEBHOOK_SECRET: optional(secret(MIN_WEBHOOK_SECRET_LENGTH)),
  VIGIL_HTTP_ALLOW_HOSTS: withDefault(HttpAllowHosts, []),
  VIGIL_WEBHOOK_ALLOW_HOSTS: withDefault(HttpAllowHosts, []),
  VIGIL_LOG_LEVEL: withDefault(z.enum(LOG_LEVELS, must(`one of ${LOG_LEVELS.join(', ')}`)), 'info'),
  VIGIL_LOG_FORMAT: withDefault(z.enum(LOG_FORMATS, must(`one of ${LOG_FORMATS.join(', ')}`)), 'auto'),
  VIGIL_MAX_CACHED_WORKFLOWS: optional(
    z
      .string()
      .regex(/^\d{1,7}$/, must('a whole number of workflows, 0 or more'))
      .transform(Number),
  ),
  VIGIL_MEMORY_LOG_SECONDS: withDefault(
    z
      .string()
      .regex(/^\d{1,6}$/, must('a whole number of seconds, 0 (off) or more'))
      .transform(Number),
    0,
  ),
  VIGIL_GATEWAY_HOST: withDefault(
    z
      .string()
      .refine((value) => isIP(value) !== 0 || hostName.test(value), must('a host name or IP address, e.g. 0.0.0.0')),
    DEFAULT_GATEWAY_HOST,
  ),
  VIGIL_GATEWAY_PORT: withDefault(
    z
      .string()
      .refine((value) => /^\d{1,5}$/.test(value) && Number(value) <= 65535, must('a port, 0 to 65535'))
      .transform(Number),
    DEFAULT_GATEWAY_PORT,
  ),
  VIGIL_GATEWAY_TOKEN: optional(secret(MIN_GATEWAY_TOKEN_LENGTH)),
  // Comma-separated origins (scheme://host[:port]) or `*`; see GatewaySettings.corsOrigins.
  VIGIL_GATEWAY_CORS_ORIGINS: optional(
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((origin) => origin.trim())
          .filter((origin) => origin !== ''),
      )
      .pipe(
        z
          .array(
            z.string().refine(isOrigin, must('`*` or origins like https://app.example.com (no path), comma-separated')),
          )
          .min(1, must('`*` or a comma-separated list of origins')),
      ),
  ),
  VIGIL_GATEWAY_BODY_LIMIT: withDefault(
    z
      .string()
      .refine(
        (value) =>
          /^\d{1,9}$/.test(value) &&
          Number(value) >= MIN_GATEWAY_BODY_LIMIT_BYTES &&
          Number(value) <= MAX_GATEWAY_BODY_LIMIT_BYTES,
        must(`a number of bytes from ${MIN_GATEWAY_BODY_LIMIT_BYTES} to ${MAX_GATEWAY_BODY_LIMIT_BYTES}`),
      )
      .transform(Number),
    DEFAULT_GATEWAY_BODY_LIMIT_BYTES,
  ),
  VIGIL_WEBHOOK_IN_SECRET: optional(secretList(MIN_WEBHOOK_SECRET_LENGTH)),
  VIGIL_WEBHOOK_IN_TOLERANCE_SECONDS: withDefault(
    z
      .string()
      .refine(
        (value) => /^\d{1,5}$/.test(value) && Number(value) >= 1 && Number(value) <= 86_400,
        must('a number of seconds from 1 to 86400'),
      )
      .transform(Number),
    DEFAULT_WEBHOOK_IN_TOLERANCE_SECONDS,
  ),
  // The agents whose signed webhooks the gateway takes; unset: the shipped worker's (see src/gateway/routes/webhooks.ts).
  VIGIL_WEBHOOK_IN_AGENTS: optional(
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((name) => name.trim())
          .filter((name) => name !== ''),
      )
      .pipe(z.array(AgentName).min(1, must('a comma-separated list of agent names'))),
  ),
  // A JSON price table, or @path to one; never quoted back whole (it may be long).
  VIGIL_PRICES: optional(
    z.string().transform((value, ctx) => {
      const parsed = parsePriceSetting(value, (path) => readFileSync(path, 'utf8'));
      for (const problem of parsed.problems ?? []) ctx.addIssue({ code: 'custom', message: problem });
      return parsed.table ?? {};
    }),
  ),
  // The URL is not quoted back: its path or query may hold a token.
  VIGIL_PAYMENT_WEBHOOK_URL: optional(
    z.url({ protocol: /^https?$/, error: 'must be an http(s) URL, e.g. https://payments.example.com/vigil' }),
  ),
  VIGIL_PAYMENT_WEBHOOK_SECRET: optional(secret(MIN_WEBHOOK_SECRET_LENGTH)),
  VIGIL_STORE: withDefault(z.enum(STORE_KINDS, must(`one of ${STORE_KINDS.join(', ')}`)), 'file'),
  VIGIL_DATA_DIR: withDefault(
    z.string().refine((value) => value.trim() === value, must('a directory path')),
    DEFAULT_DATA_DIR,
  ),
  VIGIL_STORE_POSTGRES_URL: optional(PostgresUrl),
  VIGIL_STORE_PAYLOAD_THRESHOLD_BYTES: withDefault(
    z
      .string()
      .refine(
        (value) =>
          /^\d{1,9}$/.test(value) &&
          Number(value) >= MIN_PAYLOAD_THRESHOLD_BYTES &&
          Number(value) <= MAX_PAYLOAD_THRESHOLD_BYTES,
        must(`a number of bytes from ${MIN_PAYLOAD_THRESHOLD_BYTES} to ${MAX_PAYLOAD_THRESHOLD_BYTES}`),
      )
      .transform(Number),
    DEFAULT_PAYLOAD_THRESHOLD_BYTES,
  ),
});

/** Every environment variable loadConfig reads; docker-compose.yml sets only these (test/compose.test.ts). */
export const CONFIG_VARIABLES = Object.keys(EnvSchema.shape) as (keyof typeof EnvSchema.shape)[];

/** `*`, or a browser origin: scheme, host and port, nothing after. */
function isOrigin(value: string): boolean {
  if (value === '*') return true;
  if (!URL.canParse(value)) return false;
  const url = new URL(value);
  return (url.protocol === 'http:' || url.protocol === 'https:') && url.origin === value;
}

/** OpenAI's own API, as opposed to a compatible server (Ollama, vLLM, a proxy) that may need no key. */
function isOpenAI(baseURL: string): boolean {
  // An unparsable URL is reported as such; whether it needs a key is moot until it is fixed.
  const host = URL.canParse(baseURL) ? new URL(baseURL).hostname : '';
  return host === 'openai.com' || host.endsWith('.openai.com');
}

/**
 * Reads and checks the worker's settings.
 *
 * @throws ConfigError listing every missing or invalid setting.
 * @example
 *   const config = loadConfig();          // process.env
 *   const config = loadConfig({ VIGIL_MODEL: 'gpt-4o' });
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  // Checked on the raw values, so a missing key is reported along with any other problem.
  const problems: string[] = [];
  const baseURL = env.OPENAI_BASE_URL || OPENAI_DEFAULT_BASE_URL;
  if (!env.OPENAI_API_KEY && isOpenAI(baseURL)) {
    problems.push(
      `OPENAI_API_KEY ${env.OPENAI_API_KEY === '' ? 'is set but empty' : 'is not set'}; ` +
        `it is required for OpenAI's API (${baseURL}). ` +
        'Set it, or point OPENAI_BASE_URL at an OpenAI-compatible server that needs no key',
    );
  }
  problems.push(...storeProblems(env));
  if (!env.VIGIL_PAYMENT_WEBHOOK_URL !== !env.VIGIL_PAYMENT_WEBHOOK_SECRET) {
    const [set, unset] = env.VIGIL_PAYMENT_WEBHOOK_URL
      ? ['VIGIL_PAYMENT_WEBHOOK_URL', 'VIGIL_PAYMENT_WEBHOOK_SECRET']
      : ['VIGIL_PAYMENT_WEBHOOK_SECRET', 'VIGIL_PAYMENT_WEBHOOK_URL'];
    problems.push(`${unset} is not set; the webhook payment verifier needs it along with ${set}`);
  }
  const values = readVariables(EnvSchema, env, problems);
  const warnings: string[] = [];
  if (!values.VIGIL_WEBHOOK_SECRET) {
    const state = env.VIGIL_WEBHOOK_SECRET === '' ? 'is set but empty' : 'is not set';
    warnings.push(
      `VIGIL_WEBHOOK_SECRET ${state}: the webhook channel is disabled; replies for webhooks fail to deliver`,
    );
  } else if (values.VIGIL_WEBHOOK_ALLOW_HOSTS.length === 0) {
    warnings.push(
      'VIGIL_WEBHOOK_ALLOW_HOSTS is not set: replies may be posted to any host a message names; list your receivers',
    );
  }

  return {
    temporal: temporalSettings(values),
    openai: { baseURL: values.OPENAI_BASE_URL, apiKey: values.OPENAI_API_KEY },
    model: values.VIGIL_MODEL,
    webhookSecret: values.VIGIL_WEBHOOK_SECRET,
    httpAllowHosts: values.VIGIL_HTTP_ALLOW_HOSTS,
    webhookAllowHosts: values.VIGIL_WEBHOOK_ALLOW_HOSTS,
    logLevel: values.VIGIL_LOG_LEVEL,
    logFormat: values.VIGIL_LOG_FORMAT,
    maxCachedWorkflows: values.VIGIL_MAX_CACHED_WORKFLOWS,
    memoryLogSeconds: values.VIGIL_MEMORY_LOG_SECONDS,
    gateway: gatewaySettings(values),
    store: storeSettings(values),
    ...(values.VIGIL_PRICES === undefined ? {} : { prices: values.VIGIL_PRICES }),
    ...(values.VIGIL_PAYMENT_WEBHOOK_URL === undefined || values.VIGIL_PAYMENT_WEBHOOK_SECRET === undefined
      ? {}
      : { paymentWebhook: { url: values.VIGIL_PAYMENT_WEBHOOK_URL, secret: values.VIGIL_PAYMENT_WEBHOOK_SECRET } }),
    warnings,
  };
}

/** Checked on the raw values, like the API key, so it is reported along with any other problem. */
function storeProblems(env: Record<string, string | undefined>): string[] {
  if (env.VIGIL_STORE !== 'postgres' || env.VIGIL_STORE_POSTGRES_URL) return [];
  return [
    `VIGIL_STORE_POSTGRES_URL ${env.VIGIL_STORE_POSTGRES_URL === '' ? 'is set but empty' : 'is not set'}; ` +
      'it is required when VIGIL_STORE is postgres, e.g. postgres://vigil:<password>@db:5432/vigil',
  ];
}

function storeSettings(values: StoreValues): StoreSettings {
  const payloadThresholdBytes = values.VIGIL_STORE_PAYLOAD_THRESHOLD_BYTES;
  return values.VIGIL_STORE === 'postgres'
    ? { kind: 'postgres', url: values.VIGIL_STORE_POSTGRES_URL as string, payloadThresholdBytes }
    : { kind: 'file', dataDir: values.VIGIL_DATA_DIR, payloadThresholdBytes };
}

/** The content store's variables: the worker, the gateway and the CLI (clients of the same payloads) read them. */
type StoreValues = z.output<typeof StoreEnvSchema>;

/**
 * The variables `schema` names, read from `env` and checked.
 *
 * @throws ConfigError listing every problem: the schema's and `more` (checks across variables).
 */
function readVariables<S extends z.ZodObject>(
  schema: S,
  env: Record<string, string | undefined>,
  more: string[] = [],
): z.output<S> {
  const picked = Object.fromEntries(Object.keys(schema.shape).map((name) => [name, env[name]]));
  const parsed = schema.safeParse(picked);
  const problems = [...(parsed.success ? [] : problemsOf(parsed.error)), ...more];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return parsed.data;
}

function temporalSettings(values: z.output<typeof TemporalEnvSchema>): TemporalSettings {
  return { address: values.TEMPORAL_ADDRESS, namespace: values.TEMPORAL_NAMESPACE, taskQueue: values.VIGIL_TASK_QUEUE };
}

const TemporalEnvSchema = EnvSchema.pick({ TEMPORAL_ADDRESS: true, TEMPORAL_NAMESPACE: true, VIGIL_TASK_QUEUE: true });

const StoreEnvSchema = EnvSchema.pick({
  VIGIL_STORE: true,
  VIGIL_DATA_DIR: true,
  VIGIL_STORE_POSTGRES_URL: true,
  VIGIL_STORE_PAYLOAD_THRESHOLD_BYTES: true,
});

/**
 * Only the Temporal settings (TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, VIGIL_TASK_QUEUE): for the commands that talk
 * to conversations as a client, which need no model.
 *
 * @throws ConfigError for a bad address, namespace or task queue.
 */
export function loadTemporalSettings(env: Record<string, string | undefined> = process.env): TemporalSettings {
  return temporalSettings(readVariables(TemporalEnvSchema, env));
}

/**
 * Only the content store's settings (VIGIL_STORE, VIGIL_DATA_DIR, VIGIL_STORE_POSTGRES_URL,
 * VIGIL_STORE_PAYLOAD_THRESHOLD_BYTES), as the worker reads them: for clients of the same payloads.
 *
 * @throws ConfigError for a bad store setting.
 */
export function loadStoreSettings(env: Record<string, string | undefined> = process.env): StoreSettings {
  return storeSettings(readVariables(StoreEnvSchema, env, storeProblems(env)));
}

/** Each issue as `<VARIABLE> <what is wrong>`. */
function problemsOf(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${String(issue.path[0] ?? 'environment')} ${issue.message}`);
}

function gatewaySettings(values: z.output<typeof GatewayEnvSchema>): GatewaySettings {
  return {
    host: values.VIGIL_GATEWAY_HOST,
    port: values.VIGIL_GATEWAY_PORT,
    token: values.VIGIL_GATEWAY_TOKEN,
    bodyLimitBytes: values.VIGIL_GATEWAY_BODY_LIMIT,
    ...(values.VIGIL_GATEWAY_CORS_ORIGINS ? { corsOrigins: values.VIGIL_GATEWAY_CORS_ORIGINS } : {}),
    ...(values.VIGIL_WEBHOOK_IN_SECRET === undefined
      ? {}
      : {
          webhookIn: {
            secrets: values.VIGIL_WEBHOOK_IN_SECRET,
            toleranceSeconds: values.VIGIL_WEBHOOK_IN_TOLERANCE_SECONDS,
            ...(values.VIGIL_WEBHOOK_IN_AGENTS ? { agents: values.VIGIL_WEBHOOK_IN_AGENTS } : {}),
          },
        }),
  };
}

/**
 * What the gateway reads: it calls no model and delivers nothing, so it needs no API key or outbound webhook
 * secret; it verifies inbound webhooks with their own secret.
 */
const GatewayEnvSchema = EnvSchema.pick({
  TEMPORAL_ADDRESS: true,
  TEMPORAL_NAMESPACE: true,
  VIGIL_TASK_QUEUE: true,
  VIGIL_LOG_LEVEL: true,
  VIGIL_LOG_FORMAT: true,
  VIGIL_GATEWAY_HOST: true,
  VIGIL_GATEWAY_PORT: true,
  VIGIL_GATEWAY_TOKEN: true,
  VIGIL_GATEWAY_BODY_LIMIT: true,
  VIGIL_GATEWAY_CORS_ORIGINS: true,
  VIGIL_WEBHOOK_IN_SECRET: true,
  VIGIL_WEBHOOK_IN_TOLERANCE_SECONDS: true,
  VIGIL_WEBHOOK_IN_AGENTS: true,
  VIGIL_STORE: true,
  VIGIL_DATA_DIR: true,
  VIGIL_STORE_POSTGRES_URL: true,
  VIGIL_STORE_PAYLOAD_THRESHOLD_BYTES: true,
});

export interface GatewayConfig {
  temporal: Config['temporal'];
  gateway: GatewaySettings;
  /** The gateway reads and writes the same payloads as the worker, so it needs the same store. */
  store: StoreSettings;
  logLevel: LogLevel;
  logFormat: LogFormat;
}

/** The variables the gateway reads. */
export const GATEWAY_CONFIG_VARIABLES = Object.keys(GatewayEnvSchema.shape) as (keyof typeof GatewayEnvSchema.shape)[];

/**
 * Reads and checks the gateway's settings (`vigil gateway`): Temporal, the store, logging and the listener.
 *
 * @throws ConfigError listing every missing or invalid setting.
 */
export function loadGatewayConfig(env: Record<string, string | undefined> = process.env): GatewayConfig {
  const values = readVariables(GatewayEnvSchema, env, storeProblems(env));
  const gateway = gatewaySettings(values);
  // Refused, not warned about: a published gateway without a token would let anyone who reaches it read and
  // send to every conversation, and a warning in a container's log is read too late.
  if (!gateway.token && !isLoopback(gateway.host)) {
    throw new ConfigError([
      `VIGIL_GATEWAY_TOKEN must be set when the gateway listens beyond loopback (VIGIL_GATEWAY_HOST is ${gateway.host}): ` +
        'without it anyone who can reach the gateway could read and send to every conversation',
    ]);
  }
  return {
    temporal: temporalSettings(values),
    gateway,
    store: storeSettings(values),
    logLevel: values.VIGIL_LOG_LEVEL,
    logFormat: values.VIGIL_LOG_FORMAT,
  };
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** The gateway's settings as they may be logged: the token reduced to whether it is set. */
export function describeGateway(gateway: GatewaySettings): Record<string, unknown> {
  return {
    host: gateway.host,
    port: gateway.port,
    tokenSet: gateway.token !== undefined,
    bodyLimitBytes: gateway.bodyLimitBytes,
    corsOrigins: gateway.corsOrigins ?? 'off',
    webhookIn: gateway.webhookIn
      ? {
          secrets: gateway.webhookIn.secrets.length,
          toleranceSeconds: gateway.webhookIn.toleranceSeconds,
          agents: gateway.webhookIn.agents ?? 'default',
        }
      : 'off',
  };
}

/** The settings as they may be logged: secrets reduced to whether they are set. */
export function describeConfig(config: Config): Record<string, unknown> {
  return {
    temporal: config.temporal,
    openai: {
      baseURL: config.openai.baseURL ?? OPENAI_DEFAULT_BASE_URL,
      apiKeySet: config.openai.apiKey !== undefined,
    },
    model: config.model,
    webhookSecretSet: config.webhookSecret !== undefined,
    httpAllowHosts: config.httpAllowHosts,
    webhookAllowHosts: config.webhookAllowHosts,
    logLevel: config.logLevel,
    logFormat: config.logFormat,
    maxCachedWorkflows: config.maxCachedWorkflows ?? 'sdk default',
    memoryLogSeconds: config.memoryLogSeconds,
    gateway: describeGateway(config.gateway),
    store: describeStore(config.store),
    pricesConfigured: Object.keys(config.prices ?? {}).length,
    paymentWebhook: config.paymentWebhook ? { host: new URL(config.paymentWebhook.url).host, secretSet: true } : 'off',
  };
}

/** The store's settings as they may be logged: the PostgreSQL URL reduced to host, port and database. */
export function describeStore(store: StoreSettings): Record<string, unknown> {
  if (store.kind === 'file')
    return { kind: 'file', dataDir: store.dataDir, payloadThresholdBytes: store.payloadThresholdBytes };
  const url = new URL(store.url);
  return { kind: 'postgres', server: `${url.host}${url.pathname}`, payloadThresholdBytes: store.payloadThresholdBytes };
}
