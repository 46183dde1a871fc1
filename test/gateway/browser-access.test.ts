/**
 * What lets a browser app use the gateway, checked over plain HTTP (browser.test.ts does it in a browser): CORS for
 * the configured origins only, stream tokens that open one conversation's events and nothing else, and "from now".
 */
import { defineAgent } from '../../src/agents/define-agent';
import { loadGatewayConfig } from '../../src/config';
import { ConfigError } from '../../src/errors';
import { STREAM_TOKEN_TTL_MS, streamTokens } from '../../src/gateway/stream-token';
import { newId, useConversations } from '../helpers/conversation';
import { conversationPath, request, useGateway } from './gateway-fixture';

const TOKEN = 'browser-access-token-0123456789';
const ORIGIN = 'https://app.example.com';
const fx = useConversations([defineAgent({ name: 'web', instructions: 'Be brief.', model: 'test-model' })]);
const gateway = useGateway(fx, { token: TOKEN, corsOrigins: [ORIGIN] });

describe('CORS', () => {
  test("a configured origin's preflight is answered without a token, and allows what the API needs", async () => {
    const response = await fetch(`${gateway.url}${conversationPath('web', 'c1')}/messages`, {
      method: 'OPTIONS',
      headers: {
        origin: ORIGIN,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe(ORIGIN);
    expect(response.headers.get('access-control-allow-headers')).toContain('authorization');
    expect(response.headers.get('access-control-allow-methods')).toContain('POST');
  });

  test('another origin gets no CORS headers, so its browser refuses the answer', async () => {
    const response = await fetch(`${gateway.url}${conversationPath('web', 'c1')}`, {
      headers: { origin: 'https://evil.example.com', authorization: `Bearer ${TOKEN}` },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
  });

  test('VIGIL_GATEWAY_CORS_ORIGINS takes origins or *, and refuses anything with a path', () => {
    expect(
      loadGatewayConfig({ VIGIL_GATEWAY_CORS_ORIGINS: 'https://a.example.com, http://localhost:3000' }).gateway
        .corsOrigins,
    ).toEqual(['https://a.example.com', 'http://localhost:3000']);
    expect(loadGatewayConfig({ VIGIL_GATEWAY_CORS_ORIGINS: '*' }).gateway.corsOrigins).toEqual(['*']);
    expect(loadGatewayConfig({}).gateway.corsOrigins).toBeUndefined();
    expect(() => loadGatewayConfig({ VIGIL_GATEWAY_CORS_ORIGINS: 'https://a.example.com/app' })).toThrow(ConfigError);
  });
});

describe('stream tokens', () => {
  const events = (id: string, query: string) => `${conversationPath('web', id)}/events?${query}`;

  test("open that conversation's events without the bearer token, and only those", async () => {
    const id = newId();
    const other = newId();
    for (const c of [id, other])
      await request(gateway.url, 'POST', `${conversationPath('web', c)}/messages`, {
        token: TOKEN,
        body: { content: 'hi' },
      });
    const issued = await request<{ token: string; expiresAt: string }>(
      gateway.url,
      'POST',
      `${conversationPath('web', id)}/stream-token`,
      { token: TOKEN },
    );
    expect(issued.status).toBe(201);
    expect(Date.parse(issued.body.expiresAt) - Date.now()).toBeGreaterThan(STREAM_TOKEN_TTL_MS - 60_000);

    const controller = new AbortController();
    const opened = await fetch(`${gateway.url}${events(id, `token=${encodeURIComponent(issued.body.token)}`)}`, {
      signal: controller.signal,
    });
    expect(opened.status).toBe(200);
    controller.abort();
    // Not another conversation's stream, not any other route, and asking for one needs the bearer token.
    expect(
      (await request(gateway.url, 'GET', events(other, `token=${encodeURIComponent(issued.body.token)}`))).status,
    ).toBe(401);
    expect(
      (
        await request(
          gateway.url,
          'GET',
          `${conversationPath('web', id)}?token=${encodeURIComponent(issued.body.token)}`,
        )
      ).status,
    ).toBe(401);
    expect((await request(gateway.url, 'POST', `${conversationPath('web', id)}/stream-token`)).status).toBe(401);
  });

  test('are refused once expired, altered, or signed under another gateway token', () => {
    let now = 1_000_000;
    const tokens = streamTokens(TOKEN, () => now);
    const { token } = tokens.issue('web', 'c1');
    expect(tokens.verify(token, 'web', 'c1')).toBe(true);
    expect(tokens.verify(token, 'web', 'c2')).toBe(false);
    expect(tokens.verify(token, 'other', 'c1')).toBe(false);
    const [payload, signature] = token.split('.');
    const forged = Buffer.from(JSON.stringify({ a: 'web', c: 'c2', exp: now + 1_000 })).toString('base64url');
    expect(tokens.verify(`${forged}.${signature}`, 'web', 'c2')).toBe(false);
    expect(tokens.verify(`${payload}.${signature}x`, 'web', 'c1')).toBe(false);
    expect(tokens.verify('not-a-token', 'web', 'c1')).toBe(false);
    expect(streamTokens('another-gateway-token-0123456', () => now).verify(token, 'web', 'c1')).toBe(false);
    now += STREAM_TOKEN_TTL_MS;
    expect(tokens.verify(token, 'web', 'c1')).toBe(false);
  });

  test('from=now with fromOffset is a 400; from must be now', async () => {
    const both = await request(gateway.url, 'GET', events('c1', 'from=now&fromOffset=3'), { token: TOKEN });
    expect(both.status).toBe(400);
    expect(JSON.stringify(both.body)).toContain('give from=now or fromOffset, not both');
    expect((await request(gateway.url, 'GET', events('c1', 'from=start'), { token: TOKEN })).status).toBe(400);
  });
});
