/**
 * Which hosts the http_fetch tool may reach: exact names (`api.example.com`, `203.0.113.7`, `[2001:db8::1]`) or
 * every subdomain of a suffix (`*.example.com` matches `a.example.com` and `a.b.example.com`, not
 * `example.com` itself). Ports are not restricted; the address check decides what a host may resolve to.
 */
import { ConfigError } from '../../../errors';

export type HostAllowList = (hostname: string) => boolean;

/** @throws ConfigError naming every entry that is not a bare host name or `*.suffix`. */
export function compileHostAllowList(entries: readonly string[]): HostAllowList {
  if (!Array.isArray(entries) || entries.length === 0) {
    throw new ConfigError(['allowHosts must list at least one host: an empty list would refuse every fetch']);
  }
  const exact = new Set<string>();
  const suffixes: string[] = [];
  const problems: string[] = [];
  for (const entry of entries) {
    const wildcard = typeof entry === 'string' && entry.startsWith('*.');
    const host = typeof entry === 'string' ? normalizeEntry(wildcard ? entry.slice(2) : entry) : undefined;
    if (host === undefined) {
      problems.push(
        `allowHosts entry ${JSON.stringify(entry)} is not a host name: use "api.example.com" or ` +
          '"*.example.com", without scheme, port or path',
      );
    } else if (wildcard) {
      suffixes.push(`.${host}`);
    } else {
      exact.add(host);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return (hostname) => {
    const host = normalizeHostname(hostname);
    return exact.has(host) || suffixes.some((suffix) => host.endsWith(suffix));
  };
}

/** The form both sides are compared in: lower case, no brackets round IPv6, no trailing root dot. */
export function normalizeHostname(hostname: string): string {
  return hostname
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '');
}

/** Runs an entry through the URL parser, so IDNs and IP literals compare as URLs spell them. */
function normalizeEntry(entry: string): string | undefined {
  if (entry === '' || /[/?#@\s*]/.test(entry)) return undefined;
  const literal = entry.includes(':') && !entry.startsWith('[') ? `[${entry}]` : entry;
  try {
    const url = new URL(`http://${literal}`);
    if (url.port !== '' || url.hostname === '') return undefined;
    return normalizeHostname(url.hostname);
  } catch {
    return undefined;
  }
}
