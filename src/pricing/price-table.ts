/**
 * What a model call costs. Prices are in USD per million tokens, as providers publish them; costs are whole
 * micro-USD (1 USD = 1,000,000), so a conversation's totals are exact integer sums, the same on every replay.
 *
 * A model is matched by its exact name, else by the longest table entry it starts with followed by `-` or `:`
 * (providers answer `gpt-4o-2024-08-06` for `gpt-4o`; Ollama tags read `llama3:8b`). The boundary keeps `gpt-4`
 * from pricing `gpt-4o`. A model with no entry costs 0 and is reported `priced: false`, never an error.
 */
import { z } from 'zod';
import type { TokenUsage } from '../conversation/protocol';

export interface ModelPrice {
  inputPerMillionTokens: number;
  outputPerMillionTokens: number;
}

/** Model name (or name prefix) -> price. */
export type PriceTable = Record<string, ModelPrice>;

/** A price a careless edit cannot make absurd: per million tokens, from 0 to 10,000 USD. */
const usdPerMillion = z.number().finite().nonnegative().max(10_000);

export const ModelPriceSchema = z
  .object({ inputPerMillionTokens: usdPerMillion, outputPerMillionTokens: usdPerMillion })
  .strict();

export const PriceTableSchema = z.record(
  z.string().trim().min(1, 'a model name must not be empty').max(200),
  ModelPriceSchema,
);

/**
 * OpenAI's standard-tier list prices for text models, USD per million tokens, from
 * https://platform.openai.com/docs/pricing as listed in mid-2025 (unchanged in copies of that page through
 * 2026). Cached-input and batch discounts are not modelled: a cost here is an upper bound of the bill. Check
 * them against your own contract and override with VIGIL_PRICES.
 */
export const DEFAULT_PRICES: Readonly<PriceTable> = Object.freeze({
  'gpt-5': { inputPerMillionTokens: 1.25, outputPerMillionTokens: 10 },
  'gpt-5-mini': { inputPerMillionTokens: 0.25, outputPerMillionTokens: 2 },
  'gpt-5-nano': { inputPerMillionTokens: 0.05, outputPerMillionTokens: 0.4 },
  'gpt-4.1': { inputPerMillionTokens: 2, outputPerMillionTokens: 8 },
  'gpt-4.1-mini': { inputPerMillionTokens: 0.4, outputPerMillionTokens: 1.6 },
  'gpt-4.1-nano': { inputPerMillionTokens: 0.1, outputPerMillionTokens: 0.4 },
  'gpt-4o': { inputPerMillionTokens: 2.5, outputPerMillionTokens: 10 },
  'gpt-4o-mini': { inputPerMillionTokens: 0.15, outputPerMillionTokens: 0.6 },
  'gpt-4-turbo': { inputPerMillionTokens: 10, outputPerMillionTokens: 30 },
  'gpt-3.5-turbo': { inputPerMillionTokens: 0.5, outputPerMillionTokens: 1.5 },
  o1: { inputPerMillionTokens: 15, outputPerMillionTokens: 60 },
  o3: { inputPerMillionTokens: 2, outputPerMillionTokens: 8 },
  'o3-mini': { inputPerMillionTokens: 1.1, outputPerMillionTokens: 4.4 },
  'o4-mini': { inputPerMillionTokens: 1.1, outputPerMillionTokens: 4.4 },
});

/** The built-in table with `overrides` (e.g. from VIGIL_PRICES) written over it, entry by entry. */
export function priceTable(overrides: PriceTable = {}): PriceTable {
  return { ...DEFAULT_PRICES, ...overrides };
}

/** The entry that prices `model`, or undefined: exact name first, then the longest prefix at a `-`/`:` boundary. */
export function findPrice(table: PriceTable, model: string): { entry: string; price: ModelPrice } | undefined {
  if (Object.hasOwn(table, model)) return { entry: model, price: table[model] };
  let best: string | undefined;
  for (const entry of Object.keys(table)) {
    const boundary = model[entry.length];
    if ((boundary === '-' || boundary === ':') && model.startsWith(entry) && entry.length > (best?.length ?? 0)) {
      best = entry;
    }
  }
  return best === undefined ? undefined : { entry: best, price: table[best] };
}

export interface ModelCost {
  /** Whole micro-USD, rounded to the nearest. */
  costMicros: number;
  /** False when no entry priced the model: the cost is 0 because it is unknown, not because it is free. */
  priced: boolean;
}

/**
 * The cost of one model call. Micro-USD = tokens x USD per million tokens, rounded once per call.
 *
 * @example costOf(priceTable(), 'gpt-4o-mini-2024-07-18', { inputTokens: 1000, outputTokens: 500 })
 *   // { costMicros: 450, priced: true }  (1000 x 0.15 + 500 x 0.6)
 */
export function costOf(table: PriceTable, model: string, usage: TokenUsage): ModelCost {
  const found = findPrice(table, model);
  if (!found) return { costMicros: 0, priced: false };
  const { inputPerMillionTokens, outputPerMillionTokens } = found.price;
  const micros = usage.inputTokens * inputPerMillionTokens + usage.outputTokens * outputPerMillionTokens;
  return { costMicros: Math.round(micros), priced: true };
}

/**
 * Reads the VIGIL_PRICES setting: a JSON object, or `@path` to a JSON file (read with `readFile`). Returns the
 * table, or the problems with it (never the whole value: it may be long).
 */
export function parsePriceSetting(
  value: string,
  readFile: (path: string) => string,
): { table: PriceTable; problems?: undefined } | { table?: undefined; problems: string[] } {
  let text = value;
  let source = 'is';
  if (value.startsWith('@')) {
    const path = value.slice(1);
    source = `file ${JSON.stringify(path)} is`;
    try {
      text = readFile(path);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      return { problems: [`file ${JSON.stringify(path)} cannot be read (${code})`] };
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { problems: [`${source} not valid JSON: ${(error as Error).message}`] };
  }
  const parsed = PriceTableSchema.safeParse(json);
  if (!parsed.success) {
    const example = '{"gpt-4o":{"inputPerMillionTokens":2.5,"outputPerMillionTokens":10}}';
    return {
      problems: parsed.error.issues.map(
        (issue) =>
          `${source} not a price table (${issue.path.join('.') || 'value'}: ${issue.message}); e.g. ${example}`,
      ),
    };
  }
  return { table: parsed.data };
}
