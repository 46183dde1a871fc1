/**
 * The gateway from a browser page of another origin, as a web app uses it: Debian's chromium (driven by
 * playwright-core) loads a page from one server and calls the gateway on another. The page posts a message with
 * the bearer token (a CORS preflight), asks for a stream token, opens an EventSource on the conversation's events
 * "from now", streams a reply, and after closing the stream resumes it from the last id it saw.
 *
 * Chromium is what .ci/run installs before `npm run test:temporal`; where it is missing (a fresh machine's
 * `npm test`) this file is skipped, and runs in the CI's second pass.
 */
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { defineAgent } from '../../src/agents/define-agent';
import { createGateway } from '../../src/gateway';
import { useConversations } from '../helpers/conversation';

const CHROMIUM = process.env.VIGIL_CHROMIUM ?? '/usr/bin/chromium';
const describeWithBrowser = existsSync(CHROMIUM) ? describe : describe.skip;
const TOKEN = 'browser-test-token-0123456789';

const fx = useConversations([defineAgent({ name: 'web', instructions: 'Be brief.', model: 'test-model' })]);

/** What the page does, in the page: returns what it saw, or the error it met. */
async function pageScript({ gateway, token }: { gateway: string; token: string }): Promise<unknown> {
  const base = `${gateway}/v1/agents/web/conversations/browser-1`;
  const auth = { authorization: `Bearer ${token}` };
  const send = (content: string) =>
    fetch(`${base}/messages`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ content }),
    }).then((r) => r.json() as Promise<{ reply: { content: string } }>);
  const first = await send('before the stream');
  const { token: streamToken } = (await (
    await fetch(`${base}/stream-token`, { method: 'POST', headers: auth })
  ).json()) as { token: string };

  type Seen = { id: string; type: string; text?: string };
  const collect = (query: string, until: (seen: Seen[]) => boolean) =>
    new Promise<Seen[]>((resolve, reject) => {
      const seen: Seen[] = [];
      const source = new EventSource(`${base}/events?token=${encodeURIComponent(streamToken)}&${query}`);
      for (const type of ['turn.started', 'model.delta', 'reply']) {
        source.addEventListener(type, (message) => {
          const { data: json, lastEventId } = message as unknown as { data: string; lastEventId: string };
          const data = JSON.parse(json) as { reply?: { content: string }; text?: string };
          seen.push({ id: lastEventId, type, text: data.reply?.content ?? data.text });
          if (until(seen)) {
            source.close();
            resolve(seen);
          }
        });
      }
      source.onerror = () => {
        source.close();
        reject(new Error(`the event stream failed (readyState ${source.readyState})`));
      };
      source.onopen = () => void send(query.startsWith('from=now') ? 'while streaming' : 'after resuming');
    });
  const live = await collect('from=now', (seen) => seen.some((s) => s.type === 'reply'));
  const lastId = Number(live.at(-1)!.id);
  const resumed = await collect(`fromOffset=${lastId + 1}`, (seen) => seen.some((s) => s.type === 'reply'));
  return { first: first.reply.content, live, resumed };
}

describeWithBrowser('a browser page on another origin', () => {
  let browser: Browser;
  let gateway: Awaited<ReturnType<typeof listen>>;
  let bare: Awaited<ReturnType<typeof listen>>;
  let page: http.Server;
  let pageOrigin: string;

  async function listen(corsOrigins?: string[]) {
    const app = createGateway({ agents: fx.client, token: TOKEN, ...(corsOrigins ? { corsOrigins } : {}) });
    return { app, url: await app.listen({ host: '127.0.0.1', port: 0 }) };
  }

  beforeAll(async () => {
    // The page's server: another port, so another origin than the gateway's.
    page = http.createServer((_req, res) => res.end('<!doctype html><title>app</title><p>an app'));
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve));
    pageOrigin = `http://127.0.0.1:${(page.address() as AddressInfo).port}`;
    gateway = await listen([pageOrigin]);
    bare = await listen();
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await gateway?.app.close();
    await bare?.app.close();
    await new Promise((resolve) => page?.close(resolve));
  });

  test('posts a message, streams the next reply from now, and resumes the stream where it left it', async () => {
    fx.model.script(
      { content: 'first answer' },
      // Slow enough that the model's text reaches the page as it comes, not only with the reply.
      { content: 'Streamed to the page, a few words at a time.', chunkDelayMs: 60 },
      { content: 'resumed answer' },
    );
    const tab = await browser.newPage();
    await tab.goto(pageOrigin);
    const seen = (await tab.evaluate(pageScript, { gateway: gateway.url, token: TOKEN })) as {
      first: string;
      live: { id: string; type: string; text?: string }[];
      resumed: { id: string; type: string; text?: string }[];
    };

    expect(seen.first).toBe('first answer');
    // From now: nothing of the turn before the stream opened.
    expect(seen.live[0].type).toBe('turn.started');
    expect(
      seen.live
        .filter((s) => s.type === 'model.delta')
        .map((s) => s.text)
        .join(''),
    ).toBe('Streamed to the page, a few words at a time.');
    expect(seen.live.at(-1)).toMatchObject({ type: 'reply', text: 'Streamed to the page, a few words at a time.' });
    // Resumed: the next turn's events, none seen twice.
    expect(seen.resumed.at(-1)).toMatchObject({ type: 'reply', text: 'resumed answer' });
    const liveIds = new Set(seen.live.map((s) => s.id));
    expect(seen.resumed.filter((s) => liveIds.has(s.id))).toEqual([]);
    expect(Number(seen.resumed[0].id)).toBeGreaterThan(Number(seen.live.at(-1)!.id));
    await tab.close();
  }, 60_000);

  test('a gateway without that origin in its CORS list is refused by the browser', async () => {
    const tab = await browser.newPage();
    await tab.goto(pageOrigin);
    const outcome = await tab.evaluate(
      async ([url, token]) =>
        fetch(`${url}/v1/agents/web/conversations/browser-2/messages`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ content: 'hello' }),
        }).then(
          (r) => `answered ${r.status}`,
          (e: Error) => `refused: ${e.name}`,
        ),
      [bare.url, TOKEN] as const,
    );
    expect(outcome).toBe('refused: TypeError');
    await tab.close();
  }, 60_000);
});
