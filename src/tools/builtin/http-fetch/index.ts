/**
 * The `http_fetch` tool: lets a model read web pages and APIs without letting it reach the worker's network.
 *
 * Every request, and every redirect it follows, passes the same checks: http or https only, no credentials in
 * the URL, a host on the allow-list, and (unless `allowPrivateNetworks`) only public addresses, resolved once
 * and pinned for the connection. Bodies are read up to `maxBytes`; the result says when one was cut short.
 */
import type { IncomingMessage } from 'node:http';
import { z } from 'zod';
import { ConfigError } from '../../../errors';
import { defineTool, type Tool } from '../../define-tool';
import { FetchRefusedError, resolveCheckedAddress, systemResolve, type Resolve } from './address-check';
import { readBounded, sendRequest } from './exchange';
import { compileHostAllowList, normalizeHostname, type HostAllowList } from './host-allow-list';

export { FetchRefusedError, nonPublicReason, type Resolve, type ResolvedAddress } from './address-check';

export interface HttpFetchOptions {
  /** Hosts the tool may fetch from: exact names or `*.example.com` for every subdomain. */
  allowHosts: string[];
  /** Body bytes returned at most; default 100 000 (a model reads every one of them as tokens). */
  maxBytes?: number;
  /** The whole fetch, redirects included; default 10 s. */
  timeoutMs?: number;
  /** Lets allowed hosts resolve to loopback, private and other non-public addresses; default false. */
  allowPrivateNetworks?: boolean;
  /** DNS resolution; the system resolver by default. Every address it returns is checked. */
  resolve?: Resolve;
}

export interface HttpFetchResult {
  /** The URL that answered, after redirects. */
  url: string;
  status: number;
  contentType: string | null;
  /** The body as text; absent for HEAD and for content that is not text. */
  body?: string;
  truncated: boolean;
  note?: string;
}

export const MAX_REDIRECTS = 3;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

const Options = z
  .object({
    allowHosts: z.array(z.string()),
    maxBytes: z.number().int().positive().max(50_000_000).default(100_000),
    timeoutMs: z.number().int().positive().max(600_000).default(10_000),
    allowPrivateNetworks: z.boolean().default(false),
    resolve: z.custom<Resolve>((value) => typeof value === 'function', 'must be a function').optional(),
  })
  .strict();

const Parameters = z.object({
  url: z.string().min(1).max(2_000).describe('An absolute http or https URL'),
  method: z.enum(['GET', 'HEAD']).default('GET').describe('HEAD fetches the status and headers only'),
});

/**
 * @example
 * const httpFetch = createHttpFetchTool({ allowHosts: ['api.github.com', '*.wikipedia.org'] });
 * @throws ConfigError listing every bad option.
 */
export function createHttpFetchTool(options: HttpFetchOptions): Tool<z.output<typeof Parameters>> {
  const parsed = Options.safeParse(options);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `httpFetch ${i.path.join('.') || 'options'}: ${i.message}`));
  }
  const settings = { ...parsed.data, allowed: compileHostAllowList(parsed.data.allowHosts) };
  return defineTool({
    name: 'http_fetch',
    description:
      'Fetches a URL with GET (or HEAD) and returns the status, content type and text body. Only these hosts ' +
      `are reachable: ${parsed.data.allowHosts.join(', ')}. Bodies over ${settings.maxBytes} bytes are cut short.`,
    parameters: Parameters,
    // The tool enforces its own deadline; the activity's is a little longer so the tool's clearer error wins.
    timeoutMs: settings.timeoutMs + 5_000,
    execute: async ({ url, method }, ctx) => {
      const deadline = AbortSignal.timeout(settings.timeoutMs);
      try {
        return await fetchChecked(url, method, { ...settings, signal: AbortSignal.any([ctx.signal, deadline]) });
      } catch (error) {
        if (ctx.signal.aborted) throw ctx.signal.reason;
        if (deadline.aborted) {
          throw new Error(`fetching ${url} timed out after ${settings.timeoutMs} ms`, { cause: error });
        }
        throw error;
      }
    },
  });
}

interface FetchSettings {
  allowed: HostAllowList;
  maxBytes: number;
  allowPrivateNetworks: boolean;
  resolve?: Resolve;
  signal: AbortSignal;
}

async function fetchChecked(rawUrl: string, method: 'GET' | 'HEAD', settings: FetchSettings): Promise<HttpFetchResult> {
  let url = checkedUrl(rawUrl, settings.allowed);
  for (let redirects = 0; ; redirects++) {
    const pinned = await resolveCheckedAddress(normalizeHostname(url.hostname), {
      resolve: settings.resolve ?? systemResolve,
      allowPrivateNetworks: settings.allowPrivateNetworks,
    });
    settings.signal.throwIfAborted();
    const response = await sendRequest(url, pinned, { method, signal: settings.signal });
    const location = response.headers.location;
    if (REDIRECT_STATUSES.has(response.statusCode ?? 0) && location !== undefined) {
      response.destroy();
      if (redirects === MAX_REDIRECTS) {
        throw new FetchRefusedError(`refused: more than ${MAX_REDIRECTS} redirects (the last was to ${location})`);
      }
      url = checkedUrl(location, settings.allowed, url);
      continue;
    }
    return describeResponse(url, method, response, settings.maxBytes);
  }
}

/** Parses and checks a URL (a redirect's `Location` relative to the URL that sent it). */
function checkedUrl(raw: string, allowed: HostAllowList, redirectedFrom?: URL): URL {
  const context = redirectedFrom ? ` (redirect from ${redirectedFrom.href})` : '';
  let url: URL;
  try {
    url = new URL(raw, redirectedFrom);
  } catch {
    throw new FetchRefusedError(`refused: ${JSON.stringify(raw)} is not a valid absolute URL${context}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new FetchRefusedError(`refused: only http and https URLs are fetched, not ${url.protocol}${context}`);
  }
  if (url.username !== '' || url.password !== '') {
    // Refused rather than stripped: credentials would otherwise travel into history with the tool result.
    throw new FetchRefusedError(`refused: URLs with credentials (user:password@) are not fetched${context}`);
  }
  if (!allowed(url.hostname)) {
    throw new FetchRefusedError(`refused: host ${url.hostname} is not on this tool's allow-list${context}`);
  }
  return url;
}

async function describeResponse(
  url: URL,
  method: 'GET' | 'HEAD',
  response: IncomingMessage,
  maxBytes: number,
): Promise<HttpFetchResult> {
  const contentType = response.headers['content-type'] ?? null;
  const head = { url: url.href, status: response.statusCode ?? 0, contentType };
  if (method === 'HEAD') {
    response.destroy();
    return { ...head, truncated: false };
  }
  if (!isText(contentType)) {
    response.destroy();
    return { ...head, truncated: false, note: `the body is not text (${contentType}) and was not read` };
  }
  const { bytes, truncated } = await readBounded(response, maxBytes);
  const body = decode(bytes, contentType);
  return truncated
    ? { ...head, body, truncated, note: `the body was truncated to its first ${maxBytes} bytes` }
    : { ...head, body, truncated };
}

/** Text, JSON, XML, JavaScript and friends; a missing content type is given the benefit of the doubt. */
function isText(contentType: string | null): boolean {
  if (contentType === null) return true;
  const mediaType = contentType.split(';')[0].trim().toLowerCase();
  return (
    mediaType.startsWith('text/') ||
    /^application\/(?:.+\+)?(?:json|xml)$/.test(mediaType) ||
    ['application/javascript', 'application/x-www-form-urlencoded', 'application/yaml', 'image/svg+xml'].includes(
      mediaType,
    )
  );
}

function decode(bytes: Buffer, contentType: string | null): string {
  const charset = /charset="?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  try {
    return new TextDecoder(charset ?? 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes); // An unknown charset label: UTF-8 is the best guess.
  }
}
