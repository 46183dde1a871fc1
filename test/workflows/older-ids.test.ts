/** The filter of message ids older than the dedupe window: no id it took is ever forgotten, and few new ones are refused. */
import {
  addOlderId,
  carriedOlderIds,
  emptyOlderIds,
  falsePositiveRate,
  mayHoldId,
  OLDER_IDS_BITS,
  OLDER_IDS_CAPACITY,
  restoreOlderIds,
} from '../../src/conversation/older-ids';

test('every id added is held, after a round trip through JSON too', () => {
  const ids = emptyOlderIds();
  const added = Array.from({ length: 20_000 }, (_, i) => `id-${i}`);
  for (const id of added) addOlderId(ids, id);
  const carried = carriedOlderIds(ids);
  const restored = restoreOlderIds(JSON.parse(JSON.stringify(carried)));
  // Compared as carried: jest compares 2 MiB of bits one by one, for seconds.
  expect(carriedOlderIds(restored)).toEqual(carried);
  expect(added.filter((id) => !mayHoldId(restored, id))).toEqual([]);
  expect(restored.count).toBe(20_000);
});

test('at its capacity, about 1 new id in 3,000 is taken for one it holds, as the arithmetic says', () => {
  expect(falsePositiveRate(OLDER_IDS_CAPACITY)).toBeCloseTo(1 / 3_000, 4);
  // Ids of two shapes: a counter, and UUIDs from a fixed generator (imul taken once: jest's globals are slow).
  const imul = Math.imul;
  let seed = 12345;
  const next = () => (seed = (imul(seed, 1103515245) + 12345) >>> 0).toString(16).padStart(8, '0');
  const uuid = () =>
    `${next()}-${next().slice(0, 4)}-4${next().slice(0, 3)}-a${next().slice(0, 3)}-${next()}${next().slice(0, 4)}`;
  const shapes: [string, (i: number) => string][] = [
    ['counter', (i) => `m-${i}`],
    ['uuid', () => uuid()],
  ];
  for (const [shape, idOf] of shapes) {
    const ids = emptyOlderIds();
    for (let i = 0; i < OLDER_IDS_CAPACITY; i++) addOlderId(ids, idOf(i));
    const probes = 200_000;
    let taken = 0;
    for (let i = OLDER_IDS_CAPACITY; i < OLDER_IDS_CAPACITY + probes; i++) if (mayHoldId(ids, idOf(i))) taken++;
    const rate = taken / probes;
    // Some 67 expected: well within 0.5x to 1.5x unless the hash is poor.
    expect({ shape, rate: rate > 0.5 / 3_000 && rate < 1.5 / 3_000 }).toEqual({ shape, rate: true });
  }
});

test('the carried form is fixed: the hash, its seeds and the bit layout never change under format 1', () => {
  // A filter carried by an earlier run must read back holding the same ids: these are format 1's bits.
  const small = emptyOlderIds(64, 3);
  addOlderId(small, 'm1');
  addOlderId(small, 'hello');
  expect(carriedOlderIds(small)).toEqual({ format: 1, bits: 64, hashes: 3, count: 2, data: 'AoAAEAgCBAA=' });
  const full = emptyOlderIds();
  addOlderId(full, 'msg-1');
  const set: number[] = [];
  full.bits.forEach((byte, i) => {
    for (let bit = 0; bit < 8; bit++) if (byte & (1 << bit)) set.push(i * 8 + bit);
  });
  expect(set).toEqual([2327797, 3143888, 3959979, 4776070, 5592161, 6408252, 7224343, 8040434, 8856525, 9672616]);
  // Its size is fixed too: 2 MiB of bits, some 2.8 MB as base64, however many ids it holds.
  expect(carriedOlderIds(full).data).toHaveLength(Math.ceil(OLDER_IDS_BITS / 8 / 3) * 4);
});

test('base64 of every length reads back, and a malformed carried filter is refused rather than read as one that forgot ids', () => {
  for (const bits of [8, 16, 32, 64, 128]) {
    const ids = emptyOlderIds(bits, 2);
    addOlderId(ids, `x${bits}`);
    expect(restoreOlderIds(carriedOlderIds(ids))).toEqual(ids);
  }
  const good = carriedOlderIds(emptyOlderIds(64, 3));
  expect(() => restoreOlderIds({ ...good, format: 2 })).toThrow(/unknown format 2/);
  expect(() => restoreOlderIds({ ...good, bits: 48 })).toThrow(/power of two/);
  expect(() => restoreOlderIds({ ...good, hashes: 0 })).toThrow(/0 hashes/);
  expect(() => restoreOlderIds({ ...good, count: -1 })).toThrow(/count -1/);
  expect(() => restoreOlderIds({ ...good, data: good.data.slice(4) })).toThrow(/not base64 of 8 bytes/);
  expect(() => restoreOlderIds({ ...good, data: `${good.data.slice(0, -1)}A` })).toThrow(/not base64/);
  expect(() => restoreOlderIds({ ...good, data: `*${good.data.slice(1)}` })).toThrow(/not base64/);
  expect(() => restoreOlderIds(null)).toThrow(/unknown format/);
  expect(() => emptyOlderIds(100)).toThrow(/power of two/);
});
