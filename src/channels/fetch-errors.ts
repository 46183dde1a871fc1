/**
 * What a `fetch` rejection means for a delivery: a network error that a later attempt may get past, or an error
 * in the request itself (its URL, a header value) that every attempt would meet again.
 *
 * Node's fetch (undici) rejects with `TypeError('fetch failed')` for network errors, the reason in `cause`
 * (ECONNREFUSED, ENOTFOUND, a TLS error, a socket closed early, ...). Anything else it throws while building
 * the request, before any network: `Headers.append: "..." is an invalid header value.`, `Cannot convert
 * argument to a ByteString ...` (a character above U+00FF in a header), `Request cannot be constructed from a
 * URL that includes credentials: <the URL>`, `Failed to parse URL from <the URL>`. A few network errors are
 * decided before any network too: a port the Fetch standard blocks (`bad port`), a scheme fetch does not
 * speak. Errors are read by shape, not `instanceof`: they may come from another realm (jest, vm contexts).
 *
 * The raw messages are never passed on: several quote the URL (credentials, tokens in the path) or the header
 * value. The reason is a fixed phrase or an error code; only a network cause's own message is passed, and the
 * caller redacts the URL from it.
 */

export interface FetchErrorVerdict {
  /** True when a later attempt may succeed (a network error). */
  retryable: boolean;
  /** Why, for the failure message: an error code, a fixed phrase or (with `quoted`) a network cause's message. */
  reason: string;
  /** The reason is the network cause's own message: the caller redacts the URL from it. */
  quoted?: true;
}

/** Codes of causes that are errors in the request, not in the network. */
const INPUT_ERROR_CODES = new Set([
  'ERR_INVALID_URL',
  'ERR_INVALID_ARG_TYPE',
  'ERR_INVALID_ARG_VALUE',
  'ERR_INVALID_CHAR',
  'ERR_INVALID_HTTP_TOKEN',
  'ERR_HTTP_INVALID_HEADER_VALUE',
  'ERR_UNESCAPED_CHARACTERS',
  'UND_ERR_INVALID_ARG',
  'UND_ERR_NOT_SUPPORTED',
]);

/** undici's own network errors that no retry changes, by their fixed message. */
const FINAL_NETWORK_ERRORS: Record<string, string> = {
  'bad port': 'the port is one fetch refuses (a "bad port" of the Fetch standard)',
  'unknown scheme': 'fetch does not speak the URL scheme',
  'URL scheme must be a HTTP(S) scheme': 'fetch does not speak the URL scheme',
};

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  cause?: unknown;
}

export function classifyFetchError(error: unknown): FetchErrorVerdict {
  const { name, message, cause } = shape(error);
  if (name === 'TypeError' && message === 'fetch failed') {
    const inner = shape(cause);
    const code = typeof inner.code === 'string' ? inner.code : undefined;
    if (code && INPUT_ERROR_CODES.has(code)) return { retryable: false, reason: code };
    if (typeof inner.message === 'string' && Object.hasOwn(FINAL_NETWORK_ERRORS, inner.message)) {
      return { retryable: false, reason: FINAL_NETWORK_ERRORS[inner.message] };
    }
    if (code) return { retryable: true, reason: code };
    if (typeof inner.message === 'string' && inner.message !== '') {
      return { retryable: true, reason: inner.message, quoted: true };
    }
    return { retryable: true, reason: 'network error' };
  }
  // Thrown while the request was being built: the same request fails the same way every time.
  const text = typeof message === 'string' ? message : '';
  if (/ByteString|header/i.test(text)) return { retryable: false, reason: 'a header value cannot be sent in HTTP' };
  if (/credentials/i.test(text)) return { retryable: false, reason: 'the URL carries credentials' };
  if (/URL/.test(text)) return { retryable: false, reason: 'the URL is not valid' };
  return { retryable: false, reason: `the request could not be built (${typeof name === 'string' ? name : 'error'})` };
}

function shape(value: unknown): ErrorShape {
  return value !== null && typeof value === 'object' ? (value as ErrorShape) : {};
}
