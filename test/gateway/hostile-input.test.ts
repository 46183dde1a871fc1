/**
 * No input gives a 5xx: every route, fed malformed and hostile paths, queries, headers and bodies, answers with a
 * 4xx that names the problem (or a normal answer), and the gateway keeps serving. A 5xx means the gateway or a
 * conversation failed, which no client input may cause (issue 16: deep metadata answered 502, an emoji id 500).
 */
import { defineAgent } from '../../src/agents/define-agent';
import { ScheduleClient } from '../../src/schedules';
import { newId, useConversations } from '../helpers/conversation';
import { createLogger } from '../../src/logger';
import { request, useGateway } from './gateway-fixture';

const agent = defineAgent({ name: 'tester', instructions: 'Be brief.', model: 'test-model' });
const fx = useConversations([agent]);
const logLines: string[] = [];
const gateway = useGateway(fx, {
  logger: createLogger({ level: 'warn', destination: { write: (line: string) => void logLines.push(line) } }),
});
// A getter: useGateway reads its options once the harness is up, and the schedule client needs the harness's client.
const withSchedules = useGateway(fx, {
  get schedules() {
    return new ScheduleClient({ client: fx.env.client, taskQueue: fx.taskQueue });
  },
});

/** 5,000 levels of arrays, written as text: JSON.stringify itself would run out of stack on it. */
const nested = `${'['.repeat(5_000)}"leaf"${']'.repeat(5_000)}`;

/** Bodies as raw text: not JSON, JSON of the wrong shape, prototype tricks, numbers out of range, deep nesting. */
const BODIES: string[] = [
  '',
  '{',
  'null',
  '[]',
  '"text"',
  '1e999',
  '{"__proto__":{"polluted":true},"content":"hi"}',
  '{"constructor":{"prototype":{"polluted":true}},"content":"hi"}',
  '{"content":{"$gt":""}}',
  '{"id":123,"content":["a"]}',
  '{"content":"hi","channel":{"type":"webhook","url":"javascript:alert(1)"}}',
  '{"content":"hi","channel":{"type":"webhook","url":"http://user:pw@127.0.0.1:1/x"}}',
  '{"decision":"approve","toolCallId":"\\u0000"}',
  '{"content":"hi","every":"-1s"}',
  '{"content":"hi","cron":"* * * * * * * *"}',
  '{"content":"\\ud800"}',
  `{"content":"hi","metadata":{"deep":${nested}}}`,
  `{"model":"tester","messages":${nested}}`,
  JSON.stringify({ model: 'tester', user: 'u', messages: [{ role: 'tool', content: 'x' }] }),
  JSON.stringify({ model: 'tester:x', user: 'u', messages: [{ role: 'user', content: 'x' }] }),
];

/** Path parameters that are not ids: encodings, separators, controls, lengths. */
const SEGMENTS = [
  '%00',
  '%E0%A4%A',
  '..',
  '%2F%2F',
  '%F0%9F%98%80',
  'a:b',
  `${'x'.repeat(600)}`,
  '%20',
  '%0D%0Ax-injected:1',
];

const QUERIES = [
  '?limit=-1',
  '?limit=1e309',
  '?offset=abc',
  '?timeoutMs=0',
  '?wait=maybe',
  '?fromOffset=-5',
  '?limit=1&limit=2',
  '?%zz=1',
];

function routes(conversationId: string, segment: string): [string, string][] {
  const c = `/v1/agents/tester/conversations/${conversationId}`;
  return [
    ['POST', `${c}/messages`],
    ['GET', `${c}/messages`],
    ['GET', c],
    ['POST', `${c}/cancel`],
    ['POST', `${c}/fork`],
    ['DELETE', c],
    ['POST', `${c}/approvals/${segment}`],
    ['POST', `${c}/schedules`],
    ['GET', `${c}/schedules`],
    ['GET', '/v1/schedules'],
    ['DELETE', `/v1/schedules/${segment}`],
    ['POST', '/v1/chat/completions'],
    ['POST', `/v1/agents/${segment}/webhook`],
    ['GET', `/v1/agents/${segment}/conversations/${segment}`],
    ['POST', `/v1/agents/${segment}/conversations/${segment}/messages`],
  ];
}

async function answerTo(url: string, method: string, path: string, rawBody?: string, contentType = 'application/json') {
  const withBody = method === 'POST' && rawBody !== undefined;
  return request(url, method, path, withBody ? { rawBody, headers: { 'content-type': contentType } } : {});
}

test.each([
  ['without schedules', () => gateway.url],
  ['with schedules', () => withSchedules.url],
])(
  'no hostile request gets a 5xx (%s), and the gateway keeps serving',
  async (_, url) => {
    const failures: string[] = [];
    const check = async (method: string, path: string, body?: string, contentType?: string) => {
      const answer = await answerTo(url(), method, path, body, contentType);
      if (answer.status >= 500)
        failures.push(`${answer.status} ${method} ${path} ${body?.slice(0, 60) ?? ''}: ${JSON.stringify(answer.body)}`);
    };
    const id = newId();
    for (const segment of SEGMENTS) {
      for (const [method, path] of routes(segment, segment)) await check(method, path, '{}');
    }
    for (const [method, path] of routes(id, 'call-1')) {
      for (const body of BODIES) await check(method, path, body);
      for (const query of QUERIES) await check(method, `${path}${query}`, '{"content":"hi"}');
      await check(method, path, 'content=hi', 'application/x-www-form-urlencoded');
      await check(method, path, '<xml/>', 'application/xml');
    }
    if (failures.length > 0) console.log(logLines.join(''));
    expect(failures).toEqual([]);
    expect((await request(url(), 'GET', '/healthz')).status).toBe(200);
  },
  300_000,
);
