/**
 * The few dynamic config keys of the real server that the test server honours, with the real server's (v1.31)
 * defaults: when WorkflowTaskStarted suggests continue-as-new, and how many updates and signals a run may have in all.
 * Taken the way `temporal server start-dev --dynamic-config-value KEY=VALUE` takes them, so a test or a user can
 * lower a limit to reach it quickly.
 */
import { enums } from './proto';

export const DYNAMIC_CONFIG_DEFAULTS = {
  /** Suggest continue-as-new once the WorkflowTaskStarted event's id (the history length) reaches this. */
  'limit.historyCount.suggestContinueAsNew': 4096,
  /** Suggest continue-as-new once the history's encoded size reaches this many bytes. */
  'limit.historySize.suggestContinueAsNew': 4 * 1024 * 1024,
  /** A run refuses a new update once it has had this many (completed and in flight). */
  'history.maxTotalUpdates': 2000,
  /** Suggest continue-as-new once a run's updates reach this fraction of `history.maxTotalUpdates`. */
  'history.maxTotalUpdates.suggestContinueAsNewThreshold': 0.9,
  /** A run refuses a signal once it has received this many (the real server's default; it was never changed). */
  'history.maximumSignalsPerExecution': 10_000,
  /** A start's or a signal's payloads larger than this many bytes are refused. */
  'limit.blobSize.error': 2 * 1024 * 1024,
} as const;

export type DynamicConfigKey = keyof typeof DYNAMIC_CONFIG_DEFAULTS;

/** Values for some of the keys; the rest keep their defaults. */
export type DynamicConfig = Partial<Record<DynamicConfigKey, number>>;

/** What each run checks, resolved once from the server's dynamic config. */
export interface RunLimits {
  historyCountSuggest: number;
  historySizeSuggest: number;
  maxTotalUpdates: number;
  /** ceil(maxTotalUpdates × threshold), as the real server rounds it. */
  updatesSuggest: number;
  maxSignals: number;
  blobSizeError: number;
}

/** A dynamic config key or value the server does not accept; the message names the key. */
export class DynamicConfigError extends Error {}

const KEYS = Object.keys(DYNAMIC_CONFIG_DEFAULTS) as DynamicConfigKey[];

/** Each key's rule, said the way the error says it. */
const RULES: Record<DynamicConfigKey, { test(n: number): boolean; expected: string }> = {
  'limit.historyCount.suggestContinueAsNew': {
    test: isPositiveInteger,
    expected: 'a whole number of events, at least 1',
  },
  'limit.historySize.suggestContinueAsNew': {
    test: isPositiveInteger,
    expected: 'a whole number of bytes, at least 1',
  },
  'history.maxTotalUpdates': { test: isPositiveInteger, expected: 'a whole number of updates, at least 1' },
  'history.maxTotalUpdates.suggestContinueAsNewThreshold': {
    test: (n) => Number.isFinite(n) && n > 0 && n <= 1,
    expected: 'a fraction greater than 0 and at most 1',
  },
  'history.maximumSignalsPerExecution': { test: isPositiveInteger, expected: 'a whole number of signals, at least 1' },
  'limit.blobSize.error': { test: isPositiveInteger, expected: 'a whole number of bytes, at least 1' },
};

function isPositiveInteger(n: number): boolean {
  return Number.isSafeInteger(n) && n >= 1;
}

/** Checks every key and value (throwing DynamicConfigError) and fills in the defaults. */
export function resolveDynamicConfig(config: Readonly<Record<string, unknown>> = {}): RunLimits {
  const values: Record<DynamicConfigKey, number> = { ...DYNAMIC_CONFIG_DEFAULTS };
  for (const [key, value] of Object.entries(config)) {
    if (!isKey(key)) throw unknownKey(key);
    if (value === undefined) continue;
    const rule = RULES[key];
    if (typeof value !== 'number' || !rule.test(value)) {
      throw new DynamicConfigError(`dynamic config ${key} must be ${rule.expected}, got ${describe(value)}`);
    }
    values[key] = value;
  }
  const maxTotalUpdates = values['history.maxTotalUpdates'];
  return {
    historyCountSuggest: values['limit.historyCount.suggestContinueAsNew'],
    historySizeSuggest: values['limit.historySize.suggestContinueAsNew'],
    maxTotalUpdates,
    updatesSuggest: Math.ceil(maxTotalUpdates * values['history.maxTotalUpdates.suggestContinueAsNewThreshold']),
    maxSignals: values['history.maximumSignalsPerExecution'],
    blobSizeError: values['limit.blobSize.error'],
  };
}

/** One `--dynamic-config-value KEY=VALUE` from a command line: the key and its number. */
export function parseDynamicConfigValue(text: string): [DynamicConfigKey, number] {
  const eq = text.indexOf('=');
  if (eq < 0) throw new DynamicConfigError(`--dynamic-config-value takes KEY=VALUE, got '${text}'`);
  const key = text.slice(0, eq).trim();
  const raw = text.slice(eq + 1).trim();
  if (!isKey(key)) throw unknownKey(key);
  // Number('') is 0 and Number('0x10') is 16: only plain decimal numbers are values here.
  const value = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(raw) ? Number(raw) : NaN;
  resolveDynamicConfig({ [key]: Number.isNaN(value) ? raw : value });
  return [key, value];
}

export interface ContinueAsNewAdvice {
  suggest: boolean;
  reasons: number[];
}

/** What a WorkflowTaskStarted event says about continuing as new, from the run's size at that point. */
export function continueAsNewAdvice(
  limits: RunLimits,
  at: { historyCount: number; historySizeBytes: number; updateCount: number },
): ContinueAsNewAdvice {
  const Reason = enums.SuggestContinueAsNewReason;
  const reasons: number[] = [];
  if (at.historySizeBytes >= limits.historySizeSuggest)
    reasons.push(Reason.SUGGEST_CONTINUE_AS_NEW_REASON_HISTORY_SIZE_TOO_LARGE);
  if (at.historyCount >= limits.historyCountSuggest)
    reasons.push(Reason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_HISTORY_EVENTS);
  if (at.updateCount >= limits.updatesSuggest) reasons.push(Reason.SUGGEST_CONTINUE_AS_NEW_REASON_TOO_MANY_UPDATES);
  return { suggest: reasons.length > 0, reasons };
}

function isKey(key: string): key is DynamicConfigKey {
  return (KEYS as string[]).includes(key);
}

function unknownKey(key: string): DynamicConfigError {
  return new DynamicConfigError(`unknown dynamic config key '${key}'; the test server knows ${KEYS.join(', ')}`);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : String(value);
}
