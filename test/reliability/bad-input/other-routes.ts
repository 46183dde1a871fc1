/**
 * Part 2's other routes: the OpenAI-compatible models and chat completions, the signed inbound webhook, schedules,
 * health, and a route that does not exist.
 */
import fc from 'fast-check';
import { AGENT } from '../stack';
import {
  AGENT_SEGMENT,
  type Draft,
  type Mod,
  type Route,
  type Signing,
  type Targets,
  badMessageId,
  conversationPath,
  draft,
  fault,
  fields,
  headerOddities,
  hugeHeader,
  injectKey,
  misshapen,
  nested,
  oddities,
  requestFaults,
  unparsable,
  wrongType,
} from './drafts';

/** The chat request's messages, as an array of objects (a fault before may have replaced them). */
function chatMessages(d: Draft): Record<string, unknown>[] {
  const body = fields(d);
  const messages = body.messages;
  if (!Array.isArray(messages) || messages.length === 0 || typeof messages.at(-1) !== 'object' || !messages.at(-1)) {
    body.messages = [{ role: 'user', content: 'hi' }];
  }
  return body.messages as Record<string, unknown>[];
}

const chatFaults: fc.Arbitrary<Mod> = fc.oneof(
  fc
    .constantFrom<unknown>(`${AGENT}:x`, '', 1, null, 'nosuch-agent', `${AGENT} `, 'Storm', 'm'.repeat(201))
    .map((model) => fault('model invalid', 0, (d) => (fields(d).model = model))),
  fc.constant(fault('model missing', 0, (d) => delete fields(d).model)),
  fc
    .constantFrom<unknown>([], 'hi', [1], [null], [[]], {}, null)
    .map((messages) => fault('messages invalid', 0, (d) => (fields(d).messages = messages))),
  fc.integer({ min: 20, max: 300_000 }).map((depth) =>
    fault('messages deeply nested', 1, (d, marker) => {
      const body = fields(d);
      delete body.messages;
      d.body = body;
      d.text = undefined;
      injectKey(d, 'messages', nested(depth, `"${marker}"`));
    }),
  ),
  fc
    .constantFrom('assistant', 'system', 'tool', 'developer', 'function', 'robot', '')
    .map((role) => fault(`last message from ${role || 'no role'}`, 0, (d) => (chatMessages(d).at(-1)!.role = role))),
  fc
    .constantFrom<unknown>(
      [{ type: 'image_url', image_url: { url: 'http://127.0.0.1/x.png' } }],
      [{ type: 'input_audio' }],
      42,
      null,
      { text: 'x' },
      [],
      '',
    )
    .map((content) => fault('last message not text', 0, (d) => (chatMessages(d).at(-1)!.content = content))),
  fc.integer({ min: 100_001, max: 500_000 }).map((n) =>
    fault('last message over 100,000 characters', 0, (d, marker) => {
      chatMessages(d).at(-1)!.content = `${marker}${'x'.repeat(n)}`;
    }),
  ),
  fc.constant(
    fault('an earlier tool message', 0, (d, marker) => {
      chatMessages(d).unshift({ role: 'tool', content: marker, tool_call_id: 'c1' });
    }),
  ),
  fc.constant(
    fault('more than 1,000 earlier messages', 0, (d, marker) => {
      const earlier = Array.from({ length: 1_001 }, (_, i) => ({
        role: i % 2 ? 'assistant' : 'user',
        content: marker,
      }));
      chatMessages(d).unshift(...earlier);
    }),
  ),
  fc
    .constantFrom<[string, unknown]>(
      ['tools', [{ type: 'function', function: { name: 'f', parameters: {} } }]],
      ['functions', [{ name: 'f' }]],
      ['n', 2],
      ['n', 0],
      ['n', 'one'],
      ['stream', 'yes'],
      ['stream', 1],
      ['stream_options', 'all'],
      ['stream_options', { include_usage: 'yes' }],
      ['user', 42],
      ['user', ''],
    )
    .map(([key, value]) => fault(`${key} invalid`, 0, (d) => (fields(d)[key] = value))),
  fc
    .tuple(
      fc.constantFrom('x-vigil-conversation-id', 'x-vigil-message-id', 'idempotency-key'),
      // Outside both grammars: a message id may hold `/` and `%` (any visible ASCII), a conversation id may not.
      fc.constantFrom('a b', 'é', '\u00ff', 'h'.repeat(201)),
    )
    .map(([header, value]) =>
      fault(`${header} invalid`, 2, (d, marker) => {
        d.headers[header] = header === 'x-vigil-conversation-id' ? `c${value}` : `${marker}${value}`;
      }),
    ),
);

export function chatRoutes(targets: Targets): Route[] {
  const models: Route = {
    name: 'GET /models',
    weight: 2,
    changes: false,
    template: fc.constant(() => draft('GET /models', 'GET', ['v1', 'models'])),
    faults: requestFaults(targets, 'none'),
    oddities: headerOddities,
  };
  const completions: Route = {
    name: 'POST /chat/completions',
    weight: 12,
    changes: true,
    template: fc.tuple(fc.option(fc.constantFrom(...targets.all)), fc.boolean()).map(
      ([conversationId, stream]) =>
        (marker: string) =>
          draft('POST /chat/completions', 'POST', ['v1', 'chat', 'completions'], {
            body: {
              model: AGENT,
              messages: [
                { role: 'system', content: `system ${marker}` },
                { role: 'user', content: `hi ${marker}` },
              ],
              ...(stream ? { stream: true } : {}),
            },
            headers: conversationId === null ? {} : { 'x-vigil-conversation-id': conversationId },
          }),
    ),
    faults: fc.oneof(
      { arbitrary: chatFaults, weight: 6 },
      { arbitrary: unparsable, weight: 2 },
      {
        arbitrary: fc
          .constantFrom<unknown>(null, 1, 'text', [], true)
          .map((value) => fault('body not an object', 0, (d) => (d.body = value))),
        weight: 1,
      },
      { arbitrary: requestFaults(targets, 'none'), weight: 2 },
    ),
    oddities,
  };
  return [models, completions];
}

/** A delivery signed correctly, so that its body is judged. */
const webhookFieldFaults = (targets: Targets): fc.Arbitrary<Mod> =>
  fc.oneof(
    fc.constant(fault('agent missing (the signature covers none)', 0, (d) => delete fields(d).agent)),
    fc
      .constantFrom<unknown>('assistant', 'Storm', 1, null, `${AGENT}:x`)
      .map((agent) => fault("agent not the route's", 0, (d) => (fields(d).agent = agent))),
    fc.constant(
      fault('agent takes no webhooks', 2, (d) => {
        fields(d).agent = 'assistant';
        d.segments[AGENT_SEGMENT] = 'assistant';
      }),
    ),
    fc.constant(
      fault('agent outside the grammar, in URL and body', 2, (d) => {
        fields(d).agent = `${AGENT}:x`;
        d.segments[AGENT_SEGMENT] = encodeURIComponent(`${AGENT}:x`);
      }),
    ),
    badMessageId.map((id) => fault('id outside the grammar', 0, (d, marker) => (fields(d).id = id(marker)))),
    fc
      .oneof(
        fc.constantFrom(...targets.all).map((t) => `${t}/x`),
        fc.constantFrom(...targets.all).map((t) => `${t} `),
        fc.constantFrom<unknown>('', 1, null, 'ü', 'c'.repeat(201)),
      )
      .map((id) => fault('conversationId outside the grammar', 0, (d) => (fields(d).conversationId = id))),
    fc.constant(fault('content missing', 0, (d) => delete fields(d).content)),
    wrongType.map((v) => fault('content not text', 0, (d) => (fields(d).content = v))),
    fc
      .integer({ min: 100_001, max: 600_000 })
      .map((n) =>
        fault('content over 100,000 characters', 0, (d, marker) => (fields(d).content = `${marker}${'x'.repeat(n)}`)),
      ),
    fc
      .constantFrom<unknown>('', 1, 'a'.repeat(201))
      .map((author) => fault('author invalid', 0, (d) => (fields(d).author = author))),
    fc
      .constantFrom<unknown>(
        'javascript:alert(1)',
        'http://user:secret@127.0.0.1:1/x',
        'ftp://127.0.0.1/x',
        'not a url',
        1,
        null,
        '',
      )
      .map((replyTo) => fault('replyTo invalid', 0, (d) => (fields(d).replyTo = replyTo))),
    fc.constant(fault('a channel instead of replyTo', 0, (d) => (fields(d).channel = { type: 'log' }))),
  );

export function webhookRoute(targets: Targets): Route {
  return {
    name: 'POST …/webhook',
    weight: 12,
    changes: true,
    template: fc.constantFrom(...targets.all).map(
      (conversationId) => (marker: string) =>
        draft('POST …/webhook', 'POST', ['v1', 'agents', AGENT, 'webhook'], {
          auth: 'none',
          signing: 'good',
          body: { id: marker, agent: AGENT, conversationId, content: `hook ${marker}` },
        }),
    ),
    faults: fc.oneof(
      {
        arbitrary: fc
          .constantFrom<Signing>('none', 'garbage', 'wrong-secret', 'old', 'future', 'twice')
          .map((signing) => fault(`signature ${signing}`, 2, (d) => (d.signing = signing))),
        weight: 4,
      },
      { arbitrary: webhookFieldFaults(targets), weight: 6 },
      { arbitrary: misshapen, weight: 2 },
      { arbitrary: unparsable, weight: 2 },
      {
        arbitrary: fc
          .constantFrom('?wait=true', '?x=1', '?__proto__=1')
          .map((query) => fault(`query ${query}`, 2, (d) => (d.query = query))),
        weight: 1,
      },
      { arbitrary: hugeHeader, weight: 1 },
    ),
    oddities,
  };
}

export function scheduleRoutes(targets: Targets): Route[] {
  const target = fc.constantFrom(...targets.all);
  const create: Route = {
    name: 'POST …/schedules',
    weight: 5,
    changes: true,
    template: fc.tuple(target, fc.constantFrom({ every: '1h' }, { cron: '0 9 * * 1-5' })).map(
      ([conversationId, when]) =>
        (marker: string) =>
          draft('POST …/schedules', 'POST', conversationPath(AGENT, conversationId, 'schedules'), {
            body: { content: `tick ${marker}`, ...when },
          }),
    ),
    faults: fc.oneof(
      {
        arbitrary: fc.oneof(
          fc.constantFrom<unknown>('soon', '-1h', '0s', '', '1.5s', 'x'.repeat(101), 5, '1 parsec').map((every) =>
            fault('every invalid', 0, (d) => {
              const body = fields(d);
              delete body.cron;
              body.every = every;
            }),
          ),
          fc
            .constantFrom<unknown>('not a cron', '', '* * *', '99 99 * * *', '* * * * * * * *', 'L W # ? H', 7)
            .map((cron) =>
              fault('cron invalid', 0, (d) => {
                const body = fields(d);
                delete body.every;
                body.cron = cron;
              }),
            ),
          fc.constant(
            fault('both every and cron', 0, (d) => Object.assign(fields(d), { every: '1h', cron: '0 9 * * *' })),
          ),
          fc.constant(
            fault('neither every nor cron', 0, (d) => {
              delete fields(d).every;
              delete fields(d).cron;
            }),
          ),
          fc.constant(fault('content missing', 0, (d) => delete fields(d).content)),
          fc
            .constantFrom<unknown>(`${AGENT}:x`, '', 'a b', 1)
            .map((name) => fault('name invalid', 0, (d) => (fields(d).name = name))),
          fc
            .constantFrom<unknown>({ type: 'sms' }, { type: 'webhook', url: 'javascript:x' })
            .map((channel) => fault('channel invalid', 0, (d) => (fields(d).channel = channel))),
        ),
        weight: 4,
      },
      { arbitrary: misshapen, weight: 1 },
      { arbitrary: unparsable, weight: 1 },
      { arbitrary: requestFaults(targets), weight: 2 },
    ),
    oddities,
  };
  const list: Route = {
    name: 'GET …/schedules',
    weight: 2,
    changes: false,
    template: target.map(
      (conversationId) => () => draft('GET …/schedules', 'GET', conversationPath(AGENT, conversationId, 'schedules')),
    ),
    faults: requestFaults(targets, 'grammar'),
    oddities: headerOddities,
  };
  const listAll: Route = {
    name: 'GET /schedules',
    weight: 2,
    changes: false,
    template: fc
      .constantFrom('', `?agent=${AGENT}`, `?conversationId=${targets.all[0]}`)
      .map((query) => () => draft('GET /schedules', 'GET', ['v1', 'schedules'], { query })),
    faults: fc.oneof(
      fc
        .constantFrom('?agent=a:b', '?agent=', '?conversationId=%00', '?extra=1', '?agent=a&agent=b')
        .map((query) => fault(`query ${query}`, 2, (d) => (d.query = query))),
      requestFaults(targets, 'none'),
    ),
    oddities: headerOddities,
  };
  const remove: Route = {
    name: 'DELETE /schedules/:id',
    weight: 2,
    changes: false,
    template: fc
      .oneof(
        fc.string({ minLength: 1, maxLength: 20 }).map(encodeURIComponent),
        fc.integer({ min: 501, max: 3_000 }).map((n) => 's'.repeat(n)),
        fc.constantFrom('%00', '..', '%2F..%2F', `${AGENT}:${targets.all[0]}`),
      )
      .map((id) => () => draft('DELETE /schedules/:id', 'DELETE', ['v1', 'schedules', id])),
    faults: requestFaults(targets, 'none'),
    oddities: headerOddities,
  };
  return [create, list, listAll, remove];
}

export function otherRoutes(targets: Targets): Route[] {
  const health: Route = {
    name: 'GET /healthz',
    weight: 2,
    changes: false,
    template: fc
      .constantFrom('', '?x=1', '?%zz', `?${'q'.repeat(3_000)}=1`)
      .map((query) => () => draft('GET /healthz', 'GET', ['healthz'], { query, auth: 'none' })),
    faults: hugeHeader,
    oddities: headerOddities,
  };
  // Methods and paths no route has, some with dot segments that would name a route if resolved: a 404 or 405.
  const nowhere: Route = {
    name: 'no such route',
    weight: 2,
    changes: true,
    template: fc
      .tuple(
        fc.constantFrom('PUT', 'PATCH', 'OPTIONS', 'GET', 'POST', 'DELETE'),
        fc.constantFrom(...targets.all),
        fc.constantFrom(
          (c: string) => conversationPath(AGENT, c, 'messages', 'x'),
          (c: string) => conversationPath(AGENT, c, 'nope'),
          (c: string) => ['v1', 'agents', AGENT, 'conversations', c, '..', '..', 'x'],
          (c: string) => ['v1', 'agents', AGENT, 'conversations', c, 'x', '..', 'cancel', 'y'],
          (c: string) => ['v2', 'agents', AGENT, 'conversations', c, 'messages'],
          (c: string) => ['v1', '..', 'v1', 'agents', AGENT, 'conversations', c, 'messages', 'z'],
          () => ['v1', 'agents', AGENT, 'conversations'],
          () => ['v1', '%2e%2e', 'healthz', 'x'],
        ),
      )
      .map(
        ([method, conversationId, path]) =>
          (marker: string) =>
            draft('no such route', method, path(conversationId), {
              body: method === 'GET' ? undefined : { content: `nowhere ${marker}` },
            }),
      ),
    faults: fc.constant(fault('no such route', 2, () => undefined)),
    oddities: headerOddities,
  };
  return [health, nowhere];
}
