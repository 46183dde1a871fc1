/**
 * Webhook URLs are secrets past their origin: paths and queries often carry tokens (`/hooks/T0001/B0002/xyz`,
 * `?token=...`), and a URL may carry credentials (`https://user:password@host/`). Whatever Vigil writes about a
 * delivery (failure messages, which become transcript notices, workflow history and worker logs) names the
 * origin (`scheme://host:port`) only. `redactWebhookUrl` is the net under that rule, for text Vigil does not
 * write itself: a receiver's error body that echoes the path, an error thrown by fetch or by a channel.
 */

const REDACTED = '[redacted]';
/** Path segments, query values and credentials this long are taken for tokens (with `pieces`). */
const TOKEN_LIKE_LENGTH = 6;

/** What a message may say about a webhook URL: its origin, or nothing when it has none worth showing. */
export function webhookOrigin(url: URL): string {
  return url.protocol === 'http:' || url.protocol === 'https:' ? url.origin : `${url.protocol}//`;
}

/**
 * `text` with every secret part of the webhook URL `rawUrl` replaced: the whole URL (as given and as parsed,
 * shown as its origin), credentials (`user:password@`), the path, the query and the fragment, and their decoded
 * forms. With `pieces` (for text from elsewhere, such as a receiver's error body), also each token-like path
 * segment, query value and credential on its own, wherever it appears; without it, Vigil's own messages (which
 * name the origin only) pass unchanged.
 */
export function redactWebhookUrl(text: string, rawUrl: string, { pieces = false }: { pieces?: boolean } = {}): string {
  let url: URL | undefined;
  try {
    url = new URL(rawUrl);
  } catch {
    // Not a URL: only the text as given can be found.
  }
  const origin = url ? webhookOrigin(url) : '<webhook URL>';
  // First the whole URL and its credentials, which cannot be part of the origin.
  const whole = new Map<string, string>();
  add(whole, rawUrl, origin);
  add(whole, rawUrl.trim(), origin);
  if (!url) return replaceAll(text, whole);
  add(whole, url.href, origin);
  add(whole, url.href.replace(/\/$/, ''), origin);
  if (url.username || url.password) {
    add(whole, `${url.username}${url.password ? `:${url.password}` : ''}@`, '');
    add(whole, `${url.username}:@`, '');
    add(whole, `:${url.password}@`, '');
  }

  // Then the path, query and fragment, and with `pieces` the tokens in them. One that occurs in the origin
  // (`/api` is in `https://api.example.com`, which messages name) is replaced only outside every mention of
  // the origin and the host; any other, everywhere.
  const guards = [origin, url.host].filter((guard) => guard.length > 0);
  const inOrigin = new Map<string, string>();
  const parts = {
    set(secret: string, shown: string) {
      add(guards.some((guard) => guard.includes(secret)) ? inOrigin : whole, secret, shown);
    },
  };
  const rest = `${url.pathname}${url.search}${url.hash}`;
  for (const secret of [rest, `${url.pathname}${url.search}`, url.pathname]) {
    if (secret === '/' || secret === '') continue;
    parts.set(secret, `/${REDACTED}`);
    parts.set(safeDecode(secret), `/${REDACTED}`);
  }
  for (const secret of [url.search, url.hash]) {
    if (secret.length <= 1) continue;
    parts.set(secret, `${secret[0]}${REDACTED}`);
    parts.set(safeDecode(secret), `${secret[0]}${REDACTED}`);
  }
  if (pieces) {
    const found = [
      url.username,
      url.password,
      ...url.pathname.split('/'),
      ...[...url.searchParams].flat(),
      ...url.search.slice(1).split(/[&=]/),
      url.hash.slice(1),
    ];
    for (const piece of found) {
      if (piece.length < TOKEN_LIKE_LENGTH) continue;
      parts.set(piece, REDACTED);
      parts.set(safeDecode(piece), REDACTED);
    }
  }
  const outside = (segment: string, i: number): string =>
    i < guards.length
      ? segment
          .split(guards[i])
          .map((inner) => outside(inner, i + 1))
          .join(guards[i])
      : replaceAll(segment, inOrigin);
  return outside(replaceAll(text, whole), 0);
}

function add(replacements: Map<string, string>, secret: string, shown: string): void {
  if (secret.length > 0 && !replacements.has(secret)) replacements.set(secret, shown);
}

/** Longest first, so a whole URL is replaced before its parts are. */
function replaceAll(text: string, replacements: Map<string, string>): string {
  let result = text;
  for (const secret of [...replacements.keys()].sort((a, b) => b.length - a.length)) {
    if (result.includes(secret)) result = result.split(secret).join(replacements.get(secret)!);
  }
  return result;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
