/**
 * Message ids older than the dedupe window: every id that has left the conversation's exact window, in a Bloom
 * filter of fixed size. An id it does not hold was never used here; an id it holds probably was, and rarely (a
 * false positive) is a new id it cannot tell from one that was. So the conversation can refuse a reused id for
 * ever without carrying every id it has seen.
 *
 * Workflow code: pure and deterministic (a hash written here, no Node built-ins). The hash, its seeds and the
 * bit layout are part of the carried format (`format: 1`): changing any of them would make a carried filter
 * forget ids, so a change needs a new format and a way to read the old one.
 */

/** The filter's size in bits: 2 MiB. */
export const OLDER_IDS_BITS = 2 ** 24;
/** Bits set per id: near the best for OLDER_IDS_CAPACITY ids in OLDER_IDS_BITS bits. */
export const OLDER_IDS_HASHES = 10;
/**
 * How many older ids the filter is sized for: at this many, about 1 new id in 3,000 is taken for a used one
 * (falsePositiveRate). Past it the rate grows (2.7% at twice as many) and the filter keeps refusing every used id.
 */
export const OLDER_IDS_CAPACITY = 1_000_000;

/** The filter as the conversation holds it while it runs. */
export interface OlderIds {
  /** OLDER_IDS_BITS bits (or fewer in tests: a power of two), bit i of the filter is bit (i & 7) of byte i >> 3. */
  bits: Uint8Array;
  hashes: number;
  /** Ids added so far (an id added twice counts twice): what the false-positive rate depends on. */
  count: number;
}

/** The filter as continue-as-new carries it: plain JSON. */
export interface CarriedOlderIds {
  format: 1;
  /** Size in bits. */
  bits: number;
  hashes: number;
  count: number;
  /** The bits, base64. */
  data: string;
}

export function emptyOlderIds(bits = OLDER_IDS_BITS, hashes = OLDER_IDS_HASHES): OlderIds {
  if (!isPowerOfTwo(bits) || bits < 8)
    throw new Error(`a filter of older ids has a power of two of bits, 8 or more; got ${bits}`);
  return { bits: new Uint8Array(bits / 8), hashes, count: 0 };
}

export function addOlderId(ids: OlderIds, id: string): void {
  forEachPosition(ids, id, (byte, mask) => {
    ids.bits[byte] |= mask;
    return true;
  });
  ids.count++;
}

/** False: the id was never added. True: it was, or (rarely, see falsePositiveRate) it only looks as if it was. */
export function mayHoldId(ids: OlderIds, id: string): boolean {
  return forEachPosition(ids, id, (byte, mask) => (ids.bits[byte] & mask) !== 0);
}

/** The expected chance that an id never added is held, once `count` ids are: for documentation and tests. */
export function falsePositiveRate(count: number, bits = OLDER_IDS_BITS, hashes = OLDER_IDS_HASHES): number {
  return (1 - Math.exp((-hashes * count) / bits)) ** hashes;
}

export function carriedOlderIds(ids: OlderIds): CarriedOlderIds {
  return { format: 1, bits: ids.bits.length * 8, hashes: ids.hashes, count: ids.count, data: toBase64(ids.bits) };
}

/** Reads a carried filter back; a malformed one is refused, never read as a filter that forgot ids. */
export function restoreOlderIds(value: unknown): OlderIds {
  const carried = value as Partial<CarriedOlderIds> | null;
  const problem = (what: string) => new Error(`the state's older message ids are unreadable: ${what}`);
  if (!carried || typeof carried !== 'object' || carried.format !== 1)
    throw problem(`unknown format ${String(carried?.format)}`);
  const { bits, hashes, count, data } = carried;
  if (typeof bits !== 'number' || !isPowerOfTwo(bits) || bits < 8)
    throw problem(`size ${String(bits)} is not a power of two of bits`);
  if (typeof hashes !== 'number' || !Number.isInteger(hashes) || hashes < 1 || hashes > 32)
    throw problem(`${String(hashes)} hashes`);
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 0) throw problem(`count ${String(count)}`);
  if (typeof data !== 'string') throw problem('no data');
  const bytes = fromBase64(data, bits / 8);
  if (!bytes) throw problem(`the data is not base64 of ${bits / 8} bytes`);
  return { bits: bytes, hashes, count };
}

// ---- positions: double hashing over two 32-bit hashes of the id ---------------------------------------------

// Taken once: in a sandbox (a vm context) every read of a global such as `Math` is slow, some 100 times a local's.
const imul = Math.imul;

/** Calls `visit` for each of the id's bits while it returns true; true if it always did. */
function forEachPosition(ids: OlderIds, id: string, visit: (byte: number, mask: number) => boolean): boolean {
  const mask = ids.bits.length * 8 - 1;
  const h1 = hash32(id, 0x9747b28c);
  const h2 = hash32(id, 0x5bd1e995) | 1; // odd, so the positions cycle through the whole (power of two) filter
  for (let i = 0; i < ids.hashes; i++) {
    const position = (h1 + imul(i, h2)) & mask;
    if (!visit(position >>> 3, 1 << (position & 7))) return false;
  }
  return true;
}

/** MurmurHash3 (x86, 32-bit) over the id's UTF-16 code units, one unit per block. */
function hash32(text: string, seed: number): number {
  let h = seed | 0;
  for (let i = 0; i < text.length; i++) {
    let k = imul(text.charCodeAt(i), 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= text.length;
  h ^= h >>> 16;
  h = imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && n <= 2 ** 31 && (n & (n - 1)) === 0;
}

// ---- base64 (the sandbox has no Buffer) ----------------------------------------------------------------------

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const CODES = Array.from(ALPHABET, (c) => c.charCodeAt(0));
const VALUES = new Int16Array(128).fill(-1);
CODES.forEach((code, value) => (VALUES[code] = value));
const PAD = '='.charCodeAt(0);

function toBase64(bytes: Uint8Array): string {
  const parts: string[] = [];
  let codes: number[] = [];
  for (let i = 0; i < bytes.length; i += 3) {
    const left = bytes.length - i;
    const n = (bytes[i] << 16) | ((left > 1 ? bytes[i + 1] : 0) << 8) | (left > 2 ? bytes[i + 2] : 0);
    codes.push(
      CODES[n >>> 18],
      CODES[(n >>> 12) & 63],
      left > 1 ? CODES[(n >>> 6) & 63] : PAD,
      left > 2 ? CODES[n & 63] : PAD,
    );
    if (codes.length >= 8192) {
      parts.push(String.fromCharCode(...codes));
      codes = [];
    }
  }
  parts.push(String.fromCharCode(...codes));
  return parts.join('');
}

/** The bytes, or null unless `text` is the padded base64 of exactly `length` bytes. */
function fromBase64(text: string, length: number): Uint8Array | null {
  if (text.length !== Math.ceil(length / 3) * 4) return null;
  const bytes = new Uint8Array(length);
  for (let i = 0, o = 0; i < text.length; i += 4) {
    // The last group may stand for fewer than 3 bytes: its last characters are then padding.
    const chars = length - o < 3 ? length - o + 1 : 4;
    let n = 0;
    for (let j = 0; j < 4; j++) {
      const code = text.charCodeAt(i + j);
      const value = j < chars ? (code < 128 ? VALUES[code] : -1) : code === PAD ? 0 : -1;
      if (value < 0) return null;
      n = (n << 6) | value;
    }
    for (let j = 0; j < 3 && o < length; j++) bytes[o++] = (n >>> (16 - 8 * j)) & 255;
  }
  return bytes;
}
