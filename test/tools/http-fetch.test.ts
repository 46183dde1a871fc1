import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError } from '../../src/errors';
import {
  createHttpFetchTool,
  FetchRefusedError,
  nonPublicReason,
  type HttpFetchOptions,
  type HttpFetchResult,
  type Resolve,
} from '../../src/tools/builtin/http-fetch';

/** A real HTTP server on 127.0.0.1 whose routes the tests define; records what it was asked. */
const routes = new Map<string, http.RequestListener>();
const seen: { method?: string; url?: string; host?: string }[] = [];
const server = http.createServer((req, res) => {
  seen.push({ method: req.method, url: req.url, host: req.headers.host });
  const route = routes.get(req.url ?? '');
  if (route) route(req, res);
  else res.writeHead(404, { 'content-type': 'text/plain' }).end('no such route');
});
let origin: string;
let port: number;

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
  routes.clear();
  seen.length = 0;
});

function fetchTool(options: Partial<HttpFetchOptions> = {}) {
  return createHttpFetchTool({ allowHosts: ['127.0.0.1'], allowPrivateNetworks: true, ...options });
}

async function run(
  tool: ReturnType<typeof createHttpFetchTool>,
  args: { url: string; method?: 'GET' | 'HEAD' },
  signal = new AbortController().signal,
): Promise<HttpFetchResult> {
  const ctx = { signal, conversationId: 'c1', agent: 'a', turn: 1, toolCallId: 't1' };
  return (await tool.execute(tool.parameters.parse(args), ctx)) as HttpFetchResult;
}

describe('http_fetch', () => {
  it('fetches from an allowed host and returns status, content type and text', async () => {
    routes.set('/hello', (_req, res) =>
      res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('héllo'),
    );
    const result = await run(fetchTool(), { url: `${origin}/hello` });
    expect(result).toEqual({
      url: `${origin}/hello`,
      status: 200,
      contentType: 'text/plain; charset=utf-8',
      body: 'héllo',
      truncated: false,
    });
    expect(seen).toEqual([{ method: 'GET', url: '/hello', host: `127.0.0.1:${port}` }]);
  });

  it('reports error statuses as results, for the model to read', async () => {
    const result = await run(fetchTool(), { url: `${origin}/missing` });
    expect(result).toMatchObject({ status: 404, body: 'no such route' });
  });

  it('answers HEAD with status and headers only', async () => {
    routes.set('/doc', (req, res) =>
      res.writeHead(200, { 'content-type': 'text/html' }).end(req.method === 'HEAD' ? undefined : '<p>hi</p>'),
    );
    const result = await run(fetchTool(), { url: `${origin}/doc`, method: 'HEAD' });
    expect(result).toEqual({ url: `${origin}/doc`, status: 200, contentType: 'text/html', truncated: false });
    expect(seen[0].method).toBe('HEAD');
  });

  it('stops reading at maxBytes and says the body was truncated', async () => {
    routes.set('/big', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(200_000)));
    const result = await run(fetchTool({ maxBytes: 1_000 }), { url: `${origin}/big` });
    expect(result.body).toHaveLength(1_000);
    expect(result.truncated).toBe(true);
    expect(result.note).toBe('the body was truncated to its first 1000 bytes');
  });

  it('does not read bodies that are not text', async () => {
    routes.set('/image', (_req, res) => res.writeHead(200, { 'content-type': 'image/png' }).end(Buffer.alloc(64)));
    const result = await run(fetchTool(), { url: `${origin}/image` });
    expect(result.body).toBeUndefined();
    expect(result.note).toBe('the body is not text (image/png) and was not read');
  });

  it('refuses hosts that are not on the allow-list, before any connection', async () => {
    const tool = fetchTool({ allowHosts: ['api.example.com', '*.example.org'] });
    await expect(run(tool, { url: `${origin}/hello` })).rejects.toThrow(
      new FetchRefusedError("refused: host 127.0.0.1 is not on this tool's allow-list"),
    );
    await expect(run(tool, { url: 'https://example.org/' })).rejects.toThrow(/host example.org is not on/);
    expect(seen).toEqual([]);
  });

  it.each([
    ['http://127.0.0.1:1/', 'refused: 127.0.0.1 is a loopback address'],
    ['http://10.20.30.40/', 'refused: 10.20.30.40 is a private address'],
    ['http://[::1]/', 'refused: ::1 is a loopback address'],
    ['http://169.254.169.254/latest/meta-data/', 'refused: 169.254.169.254 is a link-local address'],
    ['http://[::ffff:127.0.0.1]/', 'refused: ::ffff:7f00:1 is a loopback address'],
    ['http://100.64.0.1/', 'refused: 100.64.0.1 is a carrier-grade NAT address'],
    ['http://[fd00::1]/', 'refused: fd00::1 is a unique-local address'],
    ['http://0.0.0.0/', 'refused: 0.0.0.0 is an unspecified address'],
  ])('refuses %s by default: not a public address', async (url, message) => {
    const tool = createHttpFetchTool({ allowHosts: [new URL(url).hostname] });
    const refusal = run(tool, { url });
    await expect(refusal).rejects.toThrow(FetchRefusedError);
    await expect(refusal).rejects.toThrow(`${message}; this tool only fetches from public addresses`);
  });

  it('refuses a host name that resolves to a private address, checking every address', async () => {
    const resolve: Resolve = async () => [
      { address: '93.184.215.14', family: 4 },
      { address: '10.0.0.7', family: 4 },
    ];
    const tool = createHttpFetchTool({ allowHosts: ['intranet.example.com'], resolve });
    await expect(run(tool, { url: 'http://intranet.example.com/' })).rejects.toThrow(
      'refused: 10.0.0.7 is a private address (intranet.example.com resolves to it)',
    );
  });

  it('connects to the address it checked instead of resolving the name again', async () => {
    routes.set('/pinned', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('pinned'));
    const asked: string[] = [];
    // `.test` names never resolve in real DNS: the request can only reach the server through the checked answer.
    const resolve: Resolve = async (hostname) => {
      asked.push(hostname);
      return [{ address: '127.0.0.1', family: 4 }];
    };
    const tool = fetchTool({ allowHosts: ['rebind.test'], resolve });
    const result = await run(tool, { url: `http://rebind.test:${port}/pinned` });
    expect(result).toMatchObject({ status: 200, body: 'pinned' });
    expect(asked).toEqual(['rebind.test']);
    expect(seen[0].host).toBe(`rebind.test:${port}`); // the Host header keeps the name
  });

  it('follows redirects within the allow-list, checking each hop', async () => {
    routes.set('/a', (_req, res) => res.writeHead(302, { location: '/b' }).end());
    routes.set('/b', (_req, res) => res.writeHead(301, { location: `${origin}/c` }).end());
    routes.set('/c', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('arrived'));
    const result = await run(fetchTool(), { url: `${origin}/a` });
    expect(result).toMatchObject({ url: `${origin}/c`, status: 200, body: 'arrived' });
    expect(seen.map((request) => request.url)).toEqual(['/a', '/b', '/c']);
  });

  it('refuses a redirect to a host that is not allowed', async () => {
    routes.set('/away', (_req, res) => res.writeHead(302, { location: 'http://evil.example/steal' }).end());
    await expect(run(fetchTool(), { url: `${origin}/away` })).rejects.toThrow(
      `refused: host evil.example is not on this tool's allow-list (redirect from ${origin}/away)`,
    );
  });

  it('refuses a redirect to another scheme', async () => {
    routes.set('/file', (_req, res) => res.writeHead(307, { location: 'file:///etc/passwd' }).end());
    await expect(run(fetchTool(), { url: `${origin}/file` })).rejects.toThrow(
      `refused: only http and https URLs are fetched, not file: (redirect from ${origin}/file)`,
    );
  });

  it('follows at most 3 redirects', async () => {
    for (let hop = 0; hop < 5; hop++) {
      routes.set(`/hop${hop}`, (_req, res) => res.writeHead(302, { location: `/hop${hop + 1}` }).end());
    }
    await expect(run(fetchTool(), { url: `${origin}/hop0` })).rejects.toThrow(
      'refused: more than 3 redirects (the last was to /hop4)',
    );
    expect(seen).toHaveLength(4);
  });

  it('refuses URLs that are not http(s) or that carry credentials', async () => {
    const tool = fetchTool();
    await expect(run(tool, { url: 'ftp://127.0.0.1/' })).rejects.toThrow(
      'only http and https URLs are fetched, not ftp:',
    );
    await expect(run(tool, { url: `http://user:hunter2@127.0.0.1:${port}/` })).rejects.toThrow(
      'refused: URLs with credentials (user:password@) are not fetched',
    );
    await expect(run(tool, { url: 'not a url' })).rejects.toThrow('refused: "not a url" is not a valid absolute URL');
    expect(seen).toEqual([]);
  });

  it('gives up after timeoutMs when the server does not answer', async () => {
    const arrived = new Promise<void>((resolve) => routes.set('/slow', () => resolve())); // never answers
    const attempt = run(fetchTool({ timeoutMs: 200 }), { url: `${origin}/slow` });
    await arrived;
    await expect(attempt).rejects.toThrow(`fetching ${origin}/slow timed out after 200 ms`);
  });

  it('stops when the tool call is cancelled, with the cancellation as the reason', async () => {
    const controller = new AbortController();
    routes.set('/hang', () => controller.abort(new Error('turn cancelled')));
    await expect(run(fetchTool(), { url: `${origin}/hang` }, controller.signal)).rejects.toThrow('turn cancelled');
  });

  it('rejects bad options with every problem listed', () => {
    expect(() => createHttpFetchTool({ allowHosts: [] })).toThrow(ConfigError);
    expect(() => createHttpFetchTool({ allowHosts: [] })).toThrow(/allowHosts must list at least one host/);
    expect(() => createHttpFetchTool({ allowHosts: ['https://a.example/', 'a.example:8080', 'ok.example'] })).toThrow(
      /"https:\/\/a.example\/" is not a host name[\s\S]*"a.example:8080" is not a host name/,
    );
    expect(() => createHttpFetchTool({ allowHosts: ['a.example'], maxBytes: -1 })).toThrow(/httpFetch maxBytes/);
  });

  it('matches *.suffix entries against subdomains only', async () => {
    const resolve: Resolve = async () => [{ address: '127.0.0.1', family: 4 }];
    routes.set('/', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('ok'));
    const tool = fetchTool({ allowHosts: ['*.example.test'], resolve });
    await expect(run(tool, { url: `http://api.example.test:${port}/` })).resolves.toMatchObject({ body: 'ok' });
    await expect(run(tool, { url: `http://a.b.EXAMPLE.test.:${port}/` })).resolves.toMatchObject({ body: 'ok' });
    await expect(run(tool, { url: `http://example.test:${port}/` })).rejects.toThrow(/not on this tool's allow-list/);
    await expect(run(tool, { url: `http://badexample.test:${port}/` })).rejects.toThrow(
      /not on this tool's allow-list/,
    );
  });
});

describe('nonPublicReason', () => {
  it.each(['93.184.215.14', '8.8.8.8', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('%s is public', (address) => {
    expect(nonPublicReason(address)).toBeUndefined();
  });

  it.each([
    ['192.168.1.1', 'a private address'],
    ['172.16.0.1', 'a private address'],
    ['127.8.9.10', 'a loopback address'],
    ['fe80::1', 'a link-local address'],
    ['ff02::1', 'a multicast address'],
    ['224.0.0.1', 'a multicast address'],
    ['255.255.255.255', 'a broadcast address'],
    ['::', 'an unspecified address'],
    ['64:ff9b::7f00:1', 'a special-purpose (rfc6052) address'],
    ['2001:db8::1', 'a special-purpose (reserved) address'],
    ['::7f00:1', 'outside the global unicast range 2000::/3'],
    ['not-an-ip', 'not an IP address'],
  ])('%s is %s', (address, reason) => {
    expect(nonPublicReason(address)).toBe(reason);
  });
});
