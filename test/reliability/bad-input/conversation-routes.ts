/**
 * Part 2's routes of a conversation: sending messages (with their `?wait`, `?timeoutMs` and Idempotency-Key
 * faults), reading, cancelling and ending, answering an approval, and the event stream with its token.
 */
import fc from 'fast-check';
import { AGENT } from '../stack';
import {
  type Mod,
  type Route,
  type Targets,
  badMessageId,
  conversationPath,
  draft,
  fault,
  fields,
  headerOddities,
  injectKey,
  misshapen,
  nested,
  oddities,
  requestFaults,
  unparsable,
  wrongType,
} from './drafts';

/** The fields of a message the protocol refuses (InboundMessage), each alone. */
const messageFieldFaults: fc.Arbitrary<Mod> = fc.oneof(
  fc.constant(fault('content missing', 0, (d) => delete fields(d).content)),
  wrongType.map((v) => fault('content not text', 0, (d) => (fields(d).content = v))),
  fc.constant(fault('content empty', 0, (d) => (fields(d).content = ''))),
  fc
    .integer({ min: 100_001, max: 900_000 })
    .map((n) =>
      fault('content over 100,000 characters', 0, (d, marker) => (fields(d).content = `${marker}${'x'.repeat(n)}`)),
    ),
  badMessageId.map((id) =>
    fault('id outside the grammar', 0, (d, marker) => {
      fields(d).id = id(marker);
      delete d.headers['idempotency-key'];
    }),
  ),
  fc
    .constantFrom<unknown>('', 0, null, [], 'a'.repeat(201), 'a'.repeat(5_000))
    .map((author) => fault('author invalid', 0, (d) => (fields(d).author = author))),
  fc
    .constantFrom<unknown>(
      { type: 'sms' },
      { type: 'webhook' },
      { type: 'webhook', url: 'javascript:alert(1)' },
      { type: 'webhook', url: 'http://user:secret@127.0.0.1:1/x' },
      { type: 'webhook', url: 'ftp://127.0.0.1/x' },
      { type: 'webhook', url: 'not a url' },
      { type: 'webhook', url: 42 },
      { type: 'log', url: 'http://127.0.0.1:1/x' },
      { type: 'LOG' },
      'log',
      null,
      { type: 'webhook', url: `http://127.0.0.1/${'u'.repeat(2_100)}` },
    )
    .map((channel) => fault('channel invalid', 0, (d) => (fields(d).channel = channel))),
  fc
    .oneof(
      fc.constantFrom<unknown>([], 'meta', 1, null),
      fc.integer({ min: 17, max: 1_000 }).map((depth) => JSON.parse(nested(depth, '1', '{"a":', '}')) as unknown),
      fc.integer({ min: 17_000, max: 200_000 }).map((n) => ({ big: 'm'.repeat(n) })),
    )
    .map((metadata) => fault('metadata invalid', 0, (d) => (fields(d).metadata = metadata))),
  // Deeper than a JSON.stringify can write: as text.
  fc.integer({ min: 1_000, max: 200_000 }).map((depth) =>
    fault('metadata nested too deep', 1, (d, marker) => {
      delete fields(d).metadata;
      d.text = undefined;
      injectKey(d, 'metadata', nested(depth, `"${marker}"`, '{"a":', '}'));
    }),
  ),
  fc
    .constantFrom<unknown>({}, { reference: '' }, { reference: 1 }, { reference: 'r', extra: 1 }, 'paid', null)
    .map((payment) => fault('payment invalid', 0, (d) => (fields(d).payment = payment))),
);

/** `?wait` and `?timeoutMs` out of range, not numbers, repeated, and options that do not exist. */
const sendQueryFaults = fc
  .constantFrom(
    '?wait=maybe',
    '?wait=FALSE',
    '?wait=true&wait=false',
    '?timeoutMs=0',
    '?timeoutMs=-1',
    '?timeoutMs=600001',
    '?timeoutMs=1e309',
    '?timeoutMs=99999999999999999999999',
    '?timeoutMs=NaN',
    '?timeoutMs=0x10',
    '?timeoutMs=1.5',
    '?timeoutMs=Infinity',
    '?timeoutMs=',
    '?wait=false&extra=1',
    '?__proto__=x',
    '?constructor[prototype][polluted]=1',
    '?timeoutMs[]=5',
    '?%zz=1',
  )
  .map((query) => fault(`query ${query}`, 2, (d) => (d.query = query)));

/** An Idempotency-Key the protocol refuses, or one that differs from the body's id. */
const idempotencyKeyFaults = fc
  .oneof(
    fc.constantFrom('a b', 'é', '\u00ff', 'differs'),
    fc.integer({ min: 201, max: 1_000 }).map((n) => 'k'.repeat(n)),
  )
  .map((key) =>
    fault('Idempotency-Key invalid', 2, (d, marker) => {
      const body = fields(d);
      if (key === 'differs') {
        body.id = marker;
        d.headers['idempotency-key'] = `${marker}-other`;
      } else {
        delete body.id;
        d.headers['idempotency-key'] = `${marker}${key}`;
      }
    }),
  );

export function messageRoutes(targets: Targets): Route[] {
  const target = fc.constantFrom(...targets.all);
  const post: Route = {
    name: 'POST …/messages',
    weight: 22,
    changes: true,
    template: fc.tuple(target, fc.constantFrom('', '?wait=false', '?timeoutMs=5000'), fc.boolean(), fc.boolean()).map(
      ([conversationId, query, idInBody, withChannel]) =>
        (marker: string) =>
          draft('POST …/messages', 'POST', conversationPath(AGENT, conversationId, 'messages'), {
            query,
            body: {
              ...(idInBody ? { id: marker } : {}),
              content: `hello ${marker}`,
              ...(withChannel ? { channel: { type: 'log' } } : {}),
            },
            headers: idInBody ? {} : { 'idempotency-key': marker },
          }),
    ),
    faults: fc.oneof(
      { arbitrary: messageFieldFaults, weight: 6 },
      { arbitrary: sendQueryFaults, weight: 2 },
      { arbitrary: idempotencyKeyFaults, weight: 1 },
      { arbitrary: misshapen, weight: 2 },
      { arbitrary: unparsable, weight: 3 },
      { arbitrary: requestFaults(targets), weight: 3 },
    ),
    oddities,
  };
  const transcript: Route = {
    name: 'GET …/messages',
    weight: 6,
    changes: false,
    template: target.map(
      (conversationId) => () => draft('GET …/messages', 'GET', conversationPath(AGENT, conversationId, 'messages')),
    ),
    faults: fc.oneof(
      {
        arbitrary: fc
          .constantFrom(
            '?limit=0',
            '?limit=-1',
            '?limit=501',
            '?limit=1e309',
            '?offset=-1',
            '?offset=abc',
            '?offset=99999999999999999999',
            '?limit=1&limit=2',
            '?limit=1.5',
            '?extra=1',
            '?__proto__=1',
          )
          .map((query) => fault(`query ${query}`, 2, (d) => (d.query = query))),
        weight: 2,
      },
      { arbitrary: requestFaults(targets), weight: 2 },
    ),
    oddities: headerOddities,
  };
  return [post, transcript];
}

export function conversationRoutes(targets: Targets): Route[] {
  const target = fc.constantFrom(...targets.all);
  const state: Route = {
    name: 'GET …/:id',
    weight: 6,
    changes: false,
    template: target.map((conversationId) => () => draft('GET …/:id', 'GET', conversationPath(AGENT, conversationId))),
    faults: requestFaults(targets),
    oddities: headerOddities,
  };
  const cancel: Route = {
    name: 'POST …/cancel',
    weight: 8,
    changes: true,
    template: fc.tuple(target, fc.constantFrom('reason', 'messageId', 'none')).map(
      ([conversationId, field]) =>
        (marker: string) =>
          draft('POST …/cancel', 'POST', conversationPath(AGENT, conversationId, 'cancel'), {
            body: field === 'none' ? undefined : { [field]: marker },
          }),
    ),
    faults: fc.oneof(
      {
        arbitrary: fc.oneof(
          fc
            .integer({ min: 2_001, max: 50_000 })
            .map((n) =>
              fault('reason over 2,000 characters', 0, (d, marker) => (fields(d).reason = `${marker}${'r'.repeat(n)}`)),
            ),
          wrongType.map((v) => fault('reason not text', 0, (d) => (fields(d).reason = v))),
          fc
            .constantFrom<unknown>('', 0, null, 'm'.repeat(201))
            .map((v) => fault('messageId invalid', 0, (d) => (fields(d).messageId = v))),
        ),
        weight: 3,
      },
      { arbitrary: misshapen, weight: 2 },
      { arbitrary: unparsable, weight: 2 },
      { arbitrary: requestFaults(targets), weight: 2 },
    ),
    oddities,
  };
  const end: Route = {
    name: 'DELETE …/:id',
    weight: 6,
    changes: true,
    template: target.map(
      (conversationId) => () => draft('DELETE …/:id', 'DELETE', conversationPath(AGENT, conversationId)),
    ),
    // The route reads no body: only what the parser refuses is a fault there.
    faults: fc.oneof({ arbitrary: requestFaults(targets), weight: 4 }, { arbitrary: unparsable, weight: 1 }),
    oddities: headerOddities,
  };
  return [state, cancel, end];
}

export function approvalRoute(targets: Targets): Route {
  const { awaiting } = targets;
  // Tool calls nothing waits for: markers, near misses of the waiting one, and the waiting one's id on the other
  // conversations. The conversation refuses the decision (409) when nothing refuses it before.
  const toolCall = fc.oneof(
    fc.constant((marker: string) => ({ conversationId: awaiting.conversationId, toolCallId: `call-${marker}` })),
    fc
      .constantFrom(`${awaiting.toolCallId}x`, awaiting.toolCallId.toUpperCase(), `${awaiting.toolCallId} `)
      .map((toolCallId) => () => ({ conversationId: awaiting.conversationId, toolCallId })),
    fc
      .constantFrom(...targets.idle)
      .map((conversationId) => () => ({ conversationId, toolCallId: awaiting.toolCallId })),
  );
  return {
    name: 'POST …/approvals/:toolCallId',
    weight: 12,
    changes: true,
    alwaysRefused: 'nothing waits for this approval',
    template: fc
      .tuple(toolCall, fc.constantFrom('approve', 'reject'), fc.option(fc.boolean()))
      .map(([which, decision, remember]) => (marker: string) => {
        const { conversationId, toolCallId } = which(marker);
        return draft(
          'POST …/approvals/:toolCallId',
          'POST',
          conversationPath(AGENT, conversationId, 'approvals', encodeURIComponent(toolCallId)),
          { body: { decision, reason: `because ${marker}`, ...(remember === null ? {} : { remember }) } },
        );
      }),
    faults: fc.oneof(
      {
        arbitrary: fc.oneof(
          fc
            .constantFrom<unknown>('maybe', 'APPROVE', 'approved', 1, null, '', ['approve'])
            .map((v) => fault('decision invalid', 0, (d) => (fields(d).decision = v))),
          fc.constant(fault('decision missing', 0, (d) => delete fields(d).decision)),
          fc
            .constantFrom<unknown>('true', 1, null, {})
            .map((v) => fault('remember not a boolean', 0, (d) => (fields(d).remember = v))),
          fc
            .integer({ min: 2_001, max: 30_000 })
            .map((n) =>
              fault('reason over 2,000 characters', 0, (d, marker) => (fields(d).reason = `${marker}${'r'.repeat(n)}`)),
            ),
          fc.constant(fault('toolCallId in the body', 0, (d) => (fields(d).toolCallId = awaiting.toolCallId))),
        ),
        weight: 4,
      },
      { arbitrary: misshapen, weight: 2 },
      { arbitrary: unparsable, weight: 2 },
      { arbitrary: requestFaults(targets), weight: 3 },
    ),
    oddities,
  };
}

export function eventRoutes(targets: Targets): Route[] {
  const target = fc.constantFrom(...targets.all);
  const events: Route = {
    name: 'GET …/events',
    weight: 4,
    changes: false,
    // A Last-Event-ID the route takes (15 digits) but no stream has reached: a poll for it would wait forever.
    template: fc.tuple(target, fc.constantFrom('?from=now', '', '?fromOffset=0', 'far')).map(
      ([conversationId, query]) =>
        () =>
          draft('GET …/events', 'GET', conversationPath(AGENT, conversationId, 'events'), {
            query: query === 'far' ? '' : query,
            headers: {
              accept: 'text/event-stream',
              ...(query === 'far' ? { 'last-event-id': '999999999999999' } : {}),
            },
          }),
    ),
    faults: fc.oneof(
      {
        arbitrary: fc
          .constantFrom(
            '?from=later',
            '?from=now&fromOffset=1',
            '?fromOffset=-1',
            '?fromOffset=1e400',
            '?fromOffset=99999999999999999999',
            '?extra=1',
          )
          .map((query) => fault(`query ${query}`, 2, (d) => (d.query = query))),
        weight: 2,
      },
      {
        arbitrary: fc.constantFrom('forged', 'a.b.c', '').map((token) =>
          fault('stream token forged, no header', 2, (d) => {
            d.auth = 'none';
            d.query = `?token=${token}`;
          }),
        ),
        weight: 1,
      },
      {
        arbitrary: fc
          .constantFrom('-1', 'abc', '1e5', '99999999999999999999', '1.5')
          .map((id) => fault('Last-Event-ID invalid', 2, (d) => (d.headers['last-event-id'] = id))),
        weight: 1,
      },
      {
        arbitrary: fc
          .constantFrom('application/json', 'text/html')
          .map((accept) => fault('Accept refuses event streams', 2, (d) => (d.headers.accept = accept))),
        weight: 1,
      },
      { arbitrary: requestFaults(targets), weight: 2 },
    ),
    oddities: headerOddities.filter((m) => m.name !== 'accept'),
  };
  const streamToken: Route = {
    name: 'POST …/stream-token',
    weight: 4,
    changes: false,
    template: target.map(
      (conversationId) => () =>
        draft('POST …/stream-token', 'POST', conversationPath(AGENT, conversationId, 'stream-token')),
    ),
    faults: fc.oneof({ arbitrary: requestFaults(targets, 'grammar'), weight: 2 }, { arbitrary: unparsable, weight: 1 }),
    oddities: headerOddities,
  };
  return [events, streamToken];
}
