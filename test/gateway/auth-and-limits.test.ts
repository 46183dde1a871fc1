/**
 * What every request passes before a route: the bearer token (when one is configured), the body size limit,
 * and the answers when Temporal cannot be reached. Real gateways over real HTTP and the real worker.
 */
import { Client, Connection } from '@temporalio/client';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import OpenAI from 'openai';
import { defineAgent } from '../../src/agents/define-agent';
import { AgentClient } from '../../src/client';
import { createGateway } from '../../src/gateway';
import { createLogger } from '../../src/logger';
import { newId, useConversations } from '../helpers/conversation';
import { conversationPath, request, useGateway } from './gateway-fixture';

const TOKEN = 'gw-token-0123456789abcdef';
const agent = defineAgent({ name: 'tester', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([agent]);
const logLines: string[] = [];
const secured = useGateway(fx, {
  token: TOKEN,
  bodyLimitBytes: 4096,
  logger: createLogger({ level: 'trace', destination: { write: (line: string) => void logLines.push(line) } }),
});
const open = useGateway(fx);

interface ErrorBody {
  error: { code: string; message: string };
}

const path = (conversationId: string, rest = '') => conversationPath('tester', conversationId) + rest;

describe('with a token configured', () => {
  test('/healthz needs no token', async () => {
    expect(await request(secured.url, 'GET', '/healthz')).toMatchObject({ status: 200, body: { ok: true } });
  });

  test('a /v1 request without the right bearer token is 401 and reaches no conversation', async () => {
    const id = newId();
    const attempts = [
      {},
      { token: 'wrong-token-0123456789abcdef' },
      { token: TOKEN.slice(0, -1) },
      { headers: { authorization: TOKEN } },
      { headers: { authorization: `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}` } },
    ];
    for (const attempt of attempts) {
      const answer = await request<ErrorBody>(secured.url, 'POST', path(id, '/messages'), {
        ...attempt,
        body: { content: 'hi' },
      });
      expect(answer.status).toBe(401);
      expect(answer.headers.get('www-authenticate')).toBe('Bearer realm="vigil"');
      expect(answer.body).toEqual({
        error: { code: 'unauthorized', message: 'send a valid token as "Authorization: Bearer <token>"' },
      });
    }
    // Nothing reached the conversation.
    expect((await request(secured.url, 'GET', path(id), { token: TOKEN })).status).toBe(404);
  });

  test('the right token goes through', async () => {
    const id = newId();
    const answer = await request<{ reply: { content: string } }>(secured.url, 'POST', path(id, '/messages'), {
      token: TOKEN,
      body: { content: 'knock knock' },
    });
    expect(answer.status).toBe(200);
    expect(answer.body.reply.content).toBe('echo: knock knock');
  });

  test("the chat completions route answers 401 in OpenAI's shape, which the openai client reads", async () => {
    const openai = new OpenAI({ baseURL: `${secured.url}/v1`, apiKey: 'not-the-token-0123456789', maxRetries: 0 });
    const error = await openai.chat.completions
      .create({ model: 'tester', user: newId(), messages: [{ role: 'user', content: 'hi' }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError);
    expect(error).toMatchObject({ status: 401, code: 'unauthorized', type: 'authentication_error' });
  });

  test('neither the token nor a wrong one ever reaches the log', async () => {
    await request(secured.url, 'GET', path(newId()), { token: TOKEN });
    await request(secured.url, 'GET', path(newId()), { token: 'guessed-token-do-not-log-me' });
    expect(logLines.length).toBeGreaterThan(0);
    const log = logLines.join('');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toContain('guessed-token-do-not-log-me');
  });

  test("a secret put in the query string is censored in the request log; the gateway's own parameters are kept", async () => {
    const before = logLines.length;
    await request(
      secured.url,
      'GET',
      `${path(newId(), '/messages')}?access_token=query-secret-do-not-log&limit=5&api_key=another-secret`,
      {
        token: TOKEN,
      },
    );
    const lines = logLines.slice(before).map((line) => JSON.parse(line) as { req?: { url: string } });
    const logged = lines.find((line) => line.req)?.req?.url;
    expect(logged).toMatch(/\/messages\?access_token=\[redacted\]&limit=5&api_key=\[redacted\]$/);
    expect(logLines.slice(before).join('')).not.toMatch(/query-secret-do-not-log|another-secret/);
  });
});

test('a body that is not JSON is 415, as documented, and starts nothing', async () => {
  const id = newId();
  const answer = await request<ErrorBody>(open.url, 'POST', path(id, '/messages'), {
    rawBody: 'hello',
    headers: { 'content-type': 'text/plain' },
  });
  expect(answer.status).toBe(415);
  expect(answer.body.error.code).toBe('unsupported_media_type');
  expect((await request(open.url, 'GET', path(id))).status).toBe(404);
});

test('without a token configured, /v1 asks for none', async () => {
  const id = newId();
  expect((await request(open.url, 'POST', path(id, '/messages'), { body: { content: 'hello' } })).status).toBe(200);
  expect((await request(open.url, 'GET', path(id))).status).toBe(200);
});

describe('body size limit', () => {
  test("a body over the limit is 413, in Vigil's shape, and starts nothing", async () => {
    const id = newId();
    const answer = await request<ErrorBody>(secured.url, 'POST', path(id, '/messages'), {
      token: TOKEN,
      body: { content: 'x'.repeat(5000) },
    });
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({
      error: { code: 'payload_too_large', message: 'the request body is larger than 4096 bytes' },
    });
    expect((await request(secured.url, 'GET', path(id), { token: TOKEN })).status).toBe(404);
  });

  test("on the chat completions route, 413 in OpenAI's shape", async () => {
    const answer = await request(secured.url, 'POST', '/v1/chat/completions', {
      token: TOKEN,
      body: { model: 'tester', user: newId(), messages: [{ role: 'user', content: 'x'.repeat(5000) }] },
    });
    expect(answer).toMatchObject({
      status: 413,
      body: {
        error: {
          type: 'invalid_request_error',
          code: 'payload_too_large',
          message: 'the request body is larger than 4096 bytes',
          param: null,
        },
      },
    });
  });

  test('the default limit is 1 MiB', async () => {
    const id = newId();
    const big = await request<ErrorBody>(open.url, 'POST', path(id, '/messages'), {
      body: { content: 'x'.repeat(1024 * 1024) },
    });
    expect(big.body.error).toEqual({
      code: 'payload_too_large',
      message: 'the request body is larger than 1048576 bytes',
    });
    // Under the limit, the protocol's own limit on a message applies: a clear 400, not a 413.
    const long = await request<ErrorBody>(open.url, 'POST', path(id, '/messages'), {
      body: { content: 'x'.repeat(200_000) },
    });
    expect(long.status).toBe(400);
  });
});

describe('when Temporal cannot be reached', () => {
  /** A port nothing listens on: bound, then released. */
  async function closedPort(): Promise<number> {
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    server.close();
    await once(server, 'close');
    return port;
  }

  test('requests answer 503 with a retry-after, and no address or cause leaks out', async () => {
    const port = await closedPort();
    // No retry interceptor: the client gives up at the first refusal instead of retrying for seconds.
    const connection = Connection.lazy({ address: `127.0.0.1:${port}`, interceptors: [] });
    const app = createGateway({ agents: new AgentClient({ client: new Client({ connection }) }) });
    try {
      const url = await app.listen({ host: '127.0.0.1', port: 0 });
      const answer = await request<ErrorBody>(url, 'GET', path(newId()));
      expect(answer.status).toBe(503);
      expect(answer.headers.get('retry-after')).toBe('5');
      const requestId = answer.headers.get('x-request-id');
      expect(answer.body).toEqual({
        error: { code: 'unavailable', message: `Temporal is not reachable; try again shortly (request ${requestId})` },
      });
      expect(JSON.stringify(answer.body)).not.toContain(String(port));
    } finally {
      await app.close();
      await connection.close();
    }
  });
});
