import { costOf, DEFAULT_PRICES, findPrice, parsePriceSetting, priceTable } from '../../src/pricing/price-table';

const table = priceTable({
  'gpt-4': { inputPerMillionTokens: 30, outputPerMillionTokens: 60 },
  llama3: { inputPerMillionTokens: 0, outputPerMillionTokens: 0 },
});

test('a model is priced by its exact name first', () => {
  expect(findPrice(table, 'gpt-4o-mini')?.entry).toBe('gpt-4o-mini');
  expect(findPrice(table, 'gpt-4')?.entry).toBe('gpt-4');
});

test('a dated or tagged name is priced by the longest entry it extends at a - or : boundary', () => {
  expect(findPrice(table, 'gpt-4o-2024-08-06')?.entry).toBe('gpt-4o');
  expect(findPrice(table, 'gpt-4o-mini-2024-07-18')?.entry).toBe('gpt-4o-mini');
  expect(findPrice(table, 'gpt-4.1-mini-2025-04-14')?.entry).toBe('gpt-4.1-mini');
  expect(findPrice(table, 'llama3:8b')?.entry).toBe('llama3');
});

test('a prefix without a boundary does not price another model (gpt-4 is not gpt-4o)', () => {
  const only = { 'gpt-4': { inputPerMillionTokens: 30, outputPerMillionTokens: 60 } };
  expect(findPrice(only, 'gpt-4o')).toBeUndefined();
  expect(findPrice(only, 'gpt-4.1')).toBeUndefined();
  expect(findPrice(only, 'gpt-40')).toBeUndefined();
});

test('cost is tokens times USD per million, in whole micro-USD', () => {
  // 1000 x 0.15 + 500 x 0.6 = 450 micro-USD
  expect(costOf(table, 'gpt-4o-mini-2024-07-18', { inputTokens: 1000, outputTokens: 500 })).toEqual({
    costMicros: 450,
    priced: true,
  });
  // 1,000,000 input tokens of gpt-4o cost $2.50
  expect(costOf(table, 'gpt-4o', { inputTokens: 1_000_000, outputTokens: 0 })).toEqual({
    costMicros: 2_500_000,
    priced: true,
  });
  // 3 x 0.15 = 0.45 rounds to 0; 7 x 0.15 = 1.05 rounds to 1
  expect(costOf(table, 'gpt-4o-mini', { inputTokens: 3, outputTokens: 0 }).costMicros).toBe(0);
  expect(costOf(table, 'gpt-4o-mini', { inputTokens: 7, outputTokens: 0 }).costMicros).toBe(1);
  expect(Number.isInteger(costOf(table, 'gpt-4.1-mini', { inputTokens: 12_345, outputTokens: 6_789 }).costMicros)).toBe(
    true,
  );
});

test('an unknown model costs 0 and is reported unpriced, never an error', () => {
  expect(costOf(table, 'my-local-model', { inputTokens: 5000, outputTokens: 5000 })).toEqual({
    costMicros: 0,
    priced: false,
  });
});

test('a free model (price 0) is priced, unlike an unknown one', () => {
  expect(costOf(table, 'llama3:70b', { inputTokens: 5000, outputTokens: 5000 })).toEqual({
    costMicros: 0,
    priced: true,
  });
});

test('overrides replace built-in entries one by one and leave the others', () => {
  const custom = priceTable({ 'gpt-4o': { inputPerMillionTokens: 1, outputPerMillionTokens: 2 } });
  expect(custom['gpt-4o']).toEqual({ inputPerMillionTokens: 1, outputPerMillionTokens: 2 });
  expect(custom['gpt-4o-mini']).toEqual(DEFAULT_PRICES['gpt-4o-mini']);
});

describe('the VIGIL_PRICES setting', () => {
  const noFile = () => {
    throw Object.assign(new Error('nope'), { code: 'ENOENT' });
  };

  test('reads a JSON object', () => {
    expect(parsePriceSetting('{"m":{"inputPerMillionTokens":1,"outputPerMillionTokens":2.5}}', noFile)).toEqual({
      table: { m: { inputPerMillionTokens: 1, outputPerMillionTokens: 2.5 } },
    });
  });

  test('reads @path from a file', () => {
    const read = jest.fn(() => '{"m":{"inputPerMillionTokens":1,"outputPerMillionTokens":2}}');
    expect(parsePriceSetting('@prices.json', read).table).toEqual({
      m: { inputPerMillionTokens: 1, outputPerMillionTokens: 2 },
    });
    expect(read).toHaveBeenCalledWith('prices.json');
  });

  test('says what is wrong: bad JSON, a missing file, a bad entry, a misspelt field', () => {
    expect(parsePriceSetting('{nope', noFile).problems?.[0]).toMatch(/^is not valid JSON/);
    expect(parsePriceSetting('@missing.json', noFile).problems).toEqual([
      'file "missing.json" cannot be read (ENOENT)',
    ]);
    expect(
      parsePriceSetting('{"m":{"inputPerMillionTokens":-1,"outputPerMillionTokens":2}}', noFile).problems?.[0],
    ).toMatch(/m\.inputPerMillionTokens/);
    expect(parsePriceSetting('{"m":{"input":1,"outputPerMillionTokens":2}}', noFile).problems?.join()).toMatch(/input/);
    expect(parsePriceSetting('[1]', noFile).problems?.[0]).toMatch(/not a price table/);
  });
});
