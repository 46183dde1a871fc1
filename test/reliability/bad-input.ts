/**
 * Part 2, bad input: over 10,000 requests that fast-check generates against every gateway route and the signed
 * webhook route (wrong types, huge and deeply nested bodies, unicode and NUL, prototype-pollution keys, ids with
 * `:` and path tricks, huge headers, wrong content types, truncated JSON, absurd query numbers, missing and wrong
 * tokens and signatures), 16 at a time over raw node:http so that paths and headers go exactly as generated; then
 * malformed `send` updates and `message` signals straight through a Temporal client, some of them as payloads no
 * converter wrote (another SDK's encodings, JSON cut short).
 *
 * Every request that could change something is invalid by construction: one the gateway would take, aimed at one
 * of a few target conversations with real turns (one of them waiting for an approval), with at least one fault
 * the gateway must refuse. So there is no valid input to tell apart: any 2xx to such a request, any trace of it in
 * a history, any change to a target, any conversation or schedule it started is a finding. Each input carries a
 * marker (`bad-<tag>-<n>z` over HTTP, `upd-…` and `sig-…` through Temporal) that is looked for in every history
 * afterwards, with the claims of the content store resolved. A signal cannot be refused: Temporal records it
 * before the workflow sees it, so signal markers are in history by design. What must hold for signals is that the
 * workflow drops each malformed one (it logs each) and no target changes. At the end the targets must still work
 * through the gateway: the waiting approval is granted and its turn finishes, and a new message is answered.
 *
 * Not generated: a forged claim of the content store's external storage (a payload that names stored content that
 * is not there). The worker cannot tell it from content lost from the store, and must not drop a message whose
 * content is only missing for now, so that conversation's workflow task fails until the content is back: for a
 * forged claim, until an operator resets the workflow to before it. A known limit, not something this part checks.
 */
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import fc from 'fast-check';
import { appendFileSync, readFileSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SIGNATURE_HEADER, signWebhookBody } from '../../src/channels/webhook-signature';
import { conversationWorkflowId, messageSignal, sendUpdate } from '../../src/conversation/protocol';
import type { RecordedRequest, ScriptStep } from '../../src/testing/scripted-model';
import type { Figures } from './figures';
import { allHistories, type StoredHistory, wholeTranscript } from './histories';
import type { Random } from './random';
import { AGENT, type Stack } from './stack';

const PART = '2. bad input';
const HTTP_REQUESTS = 10_500;
const IN_FLIGHT = 16;
const UPDATES = 300;
const SIGNALS = 200;
/** An answer not here by then counts as none: no route may keep a client waiting on bad input. */
const ANSWER_WAIT_MS = 30_000;
/** A malformed update is refused at once; one not answered by then is counted as such. */
const UPDATE_WAIT_MS = 30_000;
/** The gateway's body limit (VIGIL_GATEWAY_BODY_LIMIT, its default in the stack). */
const BODY_LIMIT = 1_048_576;
/** How much of an answer's body is kept for answers.log. */
const KEPT_BODY_CHARS = 16 * 1024;
/** What the worker logs for each malformed `message` signal it drops. */
const DROPPED_SIGNAL = /dropped an invalid message signal/g;

interface Targets {
  /** Conversations with real turns, at rest. */
  idle: string[];
  /** A conversation whose turn waits for this approval. */
  awaiting: { conversationId: string; toolCallId: string };
  all: string[];
}

// ---- A request, as the generator builds it --------------------------------------------------------------------

type Auth = 'token' | 'none' | 'wrong' | 'malformed';
type Signing = 'good' | 'none' | 'garbage' | 'wrong-secret' | 'old' | 'future' | 'twice';

interface Draft {
  route: string;
  method: string;
  /** The path, segment by segment, each exactly as sent (encoded or raw). */
  segments: string[];
  query: string;
  headers: Record<string, string>;
  auth: Auth;
  /** A JSON value, serialized when sent; `text` instead for a body that is not a serialization. */
  body?: unknown;
  text?: string;
  /** `null`: no content-type header although there is a body. */
  contentType?: string | null;
  /** Inbound webhooks: how the body is signed. */
  signing?: Signing;
  /** What the generator broke; a request with any must be refused. */
  faults: string[];
}

/**
 * A change to a draft: a fault the gateway must refuse, or an oddity (unicode, NUL, extra headers) it may take.
 * Each fault alone makes the request invalid, whatever runs after it. Stages run in order, oddities first within
 * one (so that no oddity undoes a fault): 0 the body's fields, 1 the body as a whole or as text, 2 path, query,
 * headers and auth.
 */
interface Mod {
  name: string;
  fault: boolean;
  stage: 0 | 1 | 2;
  apply(draft: Draft, marker: string): void;
}

const fault = (name: string, stage: Mod['stage'], apply: Mod['apply']): Mod => ({ name, fault: true, stage, apply });
const oddity = (name: string, stage: Mod['stage'], apply: Mod['apply']): Mod => ({ name, fault: false, stage, apply });

/** The body as an object, for the mods that change its fields (a body that is not one becomes `{}`). */
function fields(draft: Draft): Record<string, unknown> {
  if (draft.body === null || typeof draft.body !== 'object' || Array.isArray(draft.body)) draft.body = {};
  return draft.body as Record<string, unknown>;
}

/** The body as the text that will be sent; the text mods work on it. */
function textOf(draft: Draft): string {
  draft.text ??= draft.body === undefined ? '' : JSON.stringify(draft.body);
  return draft.text;
}

/** Puts `"key":value` first into the body's text; a body that is no JSON object becomes `{"key":value}`. */
function injectKey(draft: Draft, key: string, valueText: string): void {
  const text = textOf(draft);
  draft.text =
    text.startsWith('{') && text.endsWith('}')
      ? `{"${key}":${valueText}${text === '{}' ? '' : ','}${text.slice(1)}`
      : `{"${key}":${valueText}}`;
}

function nested(depth: number, leaf: string, open = '[', close = ']'): string {
  return `${open.repeat(depth)}${leaf}${close.repeat(depth)}`;
}

/** Text the schemas take as text but that is hard on what comes after: controls, NUL, RTL, lone surrogates. */
const oddText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '\u0000',
    '\u0000\u0000',
    '\u202e\u2066evil',
    '\ud800',
    '\udfff\ud800',
    '😀👨‍👩‍👧',
    '\r\n\t\b\f',
    '\ufeff\uffff',
  ),
);

/** JSON values of the wrong type, wherever text is wanted. */
const wrongType = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

/** Message ids the protocol refuses (empty, too long, not visible ASCII, not text), given the marker. */
const badMessageId: fc.Arbitrary<(marker: string) => unknown> = fc.oneof(
  fc
    .constantFrom(' x', '\u0000', 'é', '\n', '😀', '\r\nx-injected: 1', '\t')
    .map((suffix) => (marker: string) => `${marker}${suffix}`),
  fc.constant(() => ''),
  fc.integer({ min: 201, max: 5_000 }).map((n) => (marker: string) => `${marker}${'i'.repeat(n)}`),
  wrongType.map((value) => () => value),
);

/** Keys no body schema has. Object.prototype's names among them: a schema must not find them on its shape. */
const unknownKey = fc.oneof(
  fc.string({ maxLength: 10 }).map((key) => `_${key}`),
  fc.constantFrom('role', 'extra', 'ID', 'Content', 'toString', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'),
);

// ---- Faults many routes share ----

/** `/v1/agents/:agent/conversations/:id`: where the agent and the conversation are in a path. */
const AGENT_SEGMENT = 2;
const CONVERSATION_SEGMENT = 4;

function conversationPath(agent: string, conversationId: string, ...tail: string[]): string[] {
  return ['v1', 'agents', encodeURIComponent(agent), 'conversations', encodeURIComponent(conversationId), ...tail];
}

/** No agent's name: `:`, encoded slashes and NUL, dot tricks, unicode, lengths, or a name no worker serves. */
const badAgentSegment = fc.oneof(
  fc.constantFrom(
    `${AGENT}:x`,
    `${AGENT}%3Ax`,
    `${AGENT}%2Fx`,
    `${AGENT}%2F..%2F${AGENT}`,
    `${AGENT}%00`,
    '%00',
    'st%C3%B6rm',
    `${AGENT}%20`,
    `${AGENT}%5C..`,
    '%',
    '%E0%A4%A',
    `${AGENT}%0D%0Ax-injected:1`,
    `${AGENT}%252F`,
  ),
  fc.integer({ min: 201, max: 3_000 }).map((n) => 'a'.repeat(n)),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 12 }).map((s) => encodeURIComponent(`${AGENT}${s}~`)),
);

/** Agent names no worker serves: refused by every route that asks which agents there are. */
const unknownAgentSegment = fc.constantFrom('Storm', `${AGENT}-nosuch`, '%2e%2e', `${AGENT}.`, '_');

/** Conversation ids outside the grammar, built on a target's: a slip in the check would land on the target. */
const badConversationSegment = (target: string) =>
  fc.oneof(
    fc.constantFrom(
      `${target}%00`,
      `${target}%2F..%2F${target}`,
      `..%2F${target}`,
      `${target}%2F`,
      `${target}%20`,
      `${target}%C3%BC`,
      `${target}%0D%0Ax-injected:1`,
      `${target}%252F`,
      `${target}%5C`,
      `${target}%3F`,
      `${target}%23`,
      `${target}%`,
      `${target}%E0%A4%A`,
      `${target}%F0%9F%98%80`,
      `${target}%7E`,
      encodeURIComponent(conversationWorkflowId(AGENT, target)).replace(/%3A/g, '%2F'),
    ),
    fc.integer({ min: 201, max: 3_000 }).map((n) => `${target}${'c'.repeat(n)}`),
    fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 8 })
      .map((s) => encodeURIComponent(`${target}${s}`))
      .filter((s) => s.includes('%')),
  );

/** `agents`: whether the route asks which agents the workers serve (stream tokens and schedule lists do not). */
const pathFaults = (targets: Targets, agents = true) =>
  fc.oneof(
    (agents ? fc.oneof(badAgentSegment, unknownAgentSegment) : badAgentSegment).map((segment) =>
      fault('not an agent', 2, (d) => {
        d.segments[AGENT_SEGMENT] = segment;
      }),
    ),
    fc
      .constantFrom(...targets.all)
      .chain(badConversationSegment)
      .map((segment) =>
        fault('conversation id outside the grammar', 2, (d) => {
          d.segments[CONVERSATION_SEGMENT] = segment;
        }),
      ),
  );

const authFaults = fc.constantFrom(
  fault('no token', 2, (d) => (d.auth = 'none')),
  fault('wrong token', 2, (d) => (d.auth = 'wrong')),
  fault('Basic auth', 2, (d) => (d.auth = 'malformed')),
);

const hugeHeader = fc
  .tuple(fc.integer({ min: 17_000, max: 80_000 }), fc.constantFrom('x-filler', 'cookie', 'accept', 'user-agent'))
  .map(([n, name]) =>
    fault('headers over 16 KiB', 2, (d) => {
      d.headers[name] = 'h'.repeat(n);
    }),
  );

/** Whatever the route, these are refused before it: a token, the header limit, the path's ids. */
const requestFaults = (targets: Targets, path: 'agents' | 'grammar' | 'none' = 'agents') =>
  path === 'none'
    ? fc.oneof(authFaults, hugeHeader)
    : fc.oneof(
        { arbitrary: pathFaults(targets, path === 'agents'), weight: 3 },
        { arbitrary: authFaults, weight: 1 },
        { arbitrary: hugeHeader, weight: 1 },
      );

/** Bodies the JSON parser itself refuses, on every route that parses one. */
const unparsable = fc.oneof(
  fc.nat({ max: 10_000 }).map((cut) =>
    fault('truncated JSON', 1, (d, marker) => {
      const text = textOf(d);
      d.text = text.length > 2 ? text.slice(0, Math.max(1, Math.min(cut, text.length - 1))) : `{"x":"${marker}`;
      d.contentType = 'application/json';
    }),
  ),
  fc
    .constantFrom(
      `{content: 'x'}`,
      `{'content':'x'}`,
      '{"content":"x",}',
      'NaN',
      'undefined',
      '{"content":"x"}',
      '{"content":"x"}{"content":"y"}',
      '\u0000',
      '\ufeff{"content":"x"}',
      '{"content":"\\x41"}',
      '{"content":"\\ud83d\\u"}',
      '[',
      '{"a":1e999999999999}',
      'content=x',
      '<xml/>',
    )
    .map((text) =>
      fault('not JSON', 1, (d, marker) => {
        // The marker after it: trailing text makes even a JSON prefix no JSON.
        d.text = `${text}${marker}`;
        d.contentType = 'application/json';
      }),
    ),
  fc.constantFrom('__proto__', 'constructor').map((key) =>
    fault(`${key} key`, 1, (d, marker) => {
      injectKey(d, key, key === '__proto__' ? `{"polluted":"${marker}"}` : `{"prototype":{"polluted":"${marker}"}}`);
      d.contentType = 'application/json';
    }),
  ),
  fc.constant(
    fault('empty JSON body', 1, (d) => {
      d.body = undefined;
      d.text = '';
      d.contentType = 'application/json';
    }),
  ),
  fc
    .tuple(
      fc.constantFrom(
        'text/plain',
        'application/x-www-form-urlencoded',
        'application/xml',
        'multipart/form-data; boundary=x',
        'application/octet-stream',
        'text/html',
        null,
      ),
      fc.constantFrom('', 'content=hi', '<a/>'),
    )
    .map(([type, extra]) =>
      fault(`content type ${type ?? 'missing'}`, 1, (d) => {
        d.text = `${textOf(d) || '{}'}${extra}`;
        d.contentType = type;
      }),
    ),
  fc.integer({ min: 1_050_000, max: 2_500_000 }).map((n) =>
    fault('body over the limit', 1, (d) => {
      injectKey(d, 'pad', `"${'p'.repeat(n)}"`);
      d.contentType = 'application/json';
    }),
  ),
);

/** Bodies a strict schema refuses, on every route whose body has one. */
const misshapen = fc.oneof(
  fc
    .constantFrom<unknown>(null, 1, -0.5, 'text', [], true, [{}], '')
    .map((value) => fault('body not an object', 0, (d) => (d.body = value))),
  fc.tuple(unknownKey, fc.option(wrongType, { nil: undefined })).map(([key, value]) =>
    fault('unknown field', 0, (d, marker) => {
      fields(d)[key] = value ?? marker;
    }),
  ),
  fc.tuple(fc.integer({ min: 20, max: 400_000 }), fc.boolean()).map(([depth, arrays]) =>
    fault('deeply nested unknown field', 1, (d, marker) => {
      injectKey(d, '_deep', arrays ? nested(depth, `"${marker}"`) : nested(depth, `"${marker}"`, '{"a":', '}'));
    }),
  ),
);

// ---- Oddities ----

/** Headers a client or a proxy adds, with junk in them (Latin-1 is all HTTP carries). */
const headerOddities = fc.oneof(
  fc
    .tuple(
      fc.constantFrom('x-forwarded-for', 'x-request-id', 'accept-language', 'x-vigil-extra', 'user-agent', 'via'),
      fc.string({ unit: 'binary', maxLength: 60 }).map((s) => s.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?')),
    )
    .map(([name, value]) => oddity('odd header', 2, (d) => (d.headers[name] = value))),
  fc
    .constantFrom('*/*', 'application/json', 'text/html', 'application/json;q=0.1, */*;q=0.01')
    .map((accept) => oddity('accept', 2, (d) => (d.headers.accept = accept))),
  fc.constant(
    oddity('JSON with a charset', 1, (d) => {
      if (d.contentType === undefined && d.body !== undefined) d.contentType = 'application/json; charset=utf-8';
    }),
  ),
);

/** Unicode, NUL and controls in the body's text fields, which the schemas take as text. */
const textOddities = oddText.map((text) =>
  oddity('odd text', 0, (d) => {
    if (d.body === null || typeof d.body !== 'object' || Array.isArray(d.body)) return;
    const body = d.body as Record<string, unknown>;
    for (const key of ['content', 'reason', 'author']) if (typeof body[key] === 'string') body[key] += text;
  }),
);

const oddities = fc.oneof(headerOddities, textOddities);

// ---- The routes ----

interface Route {
  name: string;
  weight: number;
  /** False for a route that only reads: a request without a fault may be answered 2xx. */
  changes: boolean;
  /** Refused even without a fault: an approval nothing waits for. */
  alwaysRefused?: string;
  template: fc.Arbitrary<(marker: string) => Draft>;
  faults: fc.Arbitrary<Mod>;
  oddities: fc.Arbitrary<Mod>;
}

function draft(route: string, method: string, segments: string[], extra: Partial<Draft> = {}): Draft {
  return { route, method, segments, query: '', headers: {}, auth: 'token', faults: [], ...extra };
}

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

function messageRoutes(targets: Targets): Route[] {
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

function conversationRoutes(targets: Targets): Route[] {
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

function approvalRoute(targets: Targets): Route {
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

function eventRoutes(targets: Targets): Route[] {
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

function chatRoutes(targets: Targets): Route[] {
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

function webhookRoute(targets: Targets): Route {
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

function scheduleRoutes(targets: Targets): Route[] {
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

function otherRoutes(targets: Targets): Route[] {
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

function requestArbitrary(routes: Route[]): fc.Arbitrary<(marker: string) => Draft> {
  return fc.oneof(
    ...routes.map((route) => ({
      weight: route.weight,
      arbitrary: fc
        .tuple(
          route.template,
          fc.array(route.faults, { minLength: route.changes && !route.alwaysRefused ? 1 : 0, maxLength: 3 }),
          fc.array(route.oddities, { maxLength: 2 }),
        )
        .map(([template, faults, odd]) => (marker: string) => {
          const d = template(marker);
          const mods = [...odd, ...faults].sort((a, b) => a.stage - b.stage);
          for (const mod of mods) {
            mod.apply(d, marker);
            if (mod.fault) d.faults.push(mod.name);
          }
          if (route.alwaysRefused && d.faults.length === 0) d.faults.push(route.alwaysRefused);
          return d;
        }),
    })),
  );
}

// ---- Sending -------------------------------------------------------------------------------------------------

/** A request ready to send. */
interface Shot {
  marker: string;
  route: string;
  method: string;
  path: string;
  headers: Record<string, string | string[]>;
  body?: string;
  faults: string[];
}

function render(stack: Stack, d: Draft, marker: string): Shot {
  const body = d.text ?? (d.body === undefined ? undefined : JSON.stringify(d.body));
  const headers: Record<string, string | string[]> = { 'x-bad-input': marker, ...d.headers };
  if (body !== undefined && d.contentType !== null) headers['content-type'] = d.contentType ?? 'application/json';
  // Framed always: Node's client sends a DELETE's body without a length, which the server then reads as the start of
  // a request of its own, after a DELETE without a body (a valid one).
  if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
  const token = stack.secrets.VIGIL_GATEWAY_TOKEN;
  if (d.auth === 'token') headers.authorization = `Bearer ${token}`;
  if (d.auth === 'wrong') headers.authorization = `Bearer ${token.slice(0, -1)}${token.endsWith('A') ? 'B' : 'A'}`;
  if (d.auth === 'malformed') headers.authorization = `Basic ${Buffer.from(`vigil:${marker}`).toString('base64')}`;
  if (d.signing !== undefined && d.signing !== 'none') {
    const secret = stack.secrets.VIGIL_WEBHOOK_IN_SECRET;
    const signed = body ?? '';
    const now = Date.now();
    const signatures: Record<Exclude<Signing, 'none'>, () => string | string[]> = {
      good: () => signWebhookBody(secret, signed, now),
      'wrong-secret': () => signWebhookBody(`${secret}x`, signed, now),
      old: () => signWebhookBody(secret, signed, now - 3_600_000),
      future: () => signWebhookBody(secret, signed, now + 3_600_000),
      twice: () => [signWebhookBody(secret, signed, now), signWebhookBody(secret, signed, now - 1_000)],
      garbage: () => `t=${marker},v1=${'0'.repeat(64)}`,
    };
    headers[SIGNATURE_HEADER] = signatures[d.signing]();
  }
  return {
    marker,
    route: d.route,
    method: d.method,
    path: `/${d.segments.join('/')}${d.query}`,
    headers,
    body,
    faults: d.faults,
  };
}

interface Answer {
  status: number;
  text: string;
  /** Node's client would not send it (a path or a header it refuses to write). */
  unsendable?: string;
  /** No answer within ANSWER_WAIT_MS, or the connection dropped without one. */
  lost?: string;
  /** A body over the limit: the gateway closed the connection before reading it all, its 413 unread. */
  closedUnread?: boolean;
}

function send(stack: Stack, agent: http.Agent, shot: Shot): Promise<Answer> {
  const url = new URL(stack.gatewayURL);
  return new Promise((resolve) => {
    let req: http.ClientRequest;
    try {
      req = http.request({
        host: url.hostname,
        port: url.port,
        method: shot.method,
        path: shot.path,
        headers: shot.headers,
        agent,
      });
    } catch (error) {
      resolve({ status: 0, text: '', unsendable: error instanceof Error ? error.message : String(error) });
      return;
    }
    let answered: Answer | undefined;
    const done = (answer: Answer) => {
      if (answered) return;
      answered = answer;
      clearTimeout(timer);
      resolve(answer);
    };
    const timer = setTimeout(() => {
      done({ status: 0, text: '', lost: `no answer within ${ANSWER_WAIT_MS} ms` });
      req.destroy();
    }, ANSWER_WAIT_MS);
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      // An event stream does not end by itself: its status and head are the answer.
      if ((res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        done({ status, text: `(event stream, ${res.headers['content-type']})` });
        res.destroy();
        return;
      }
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        if (text.length < KEPT_BODY_CHARS) text += chunk;
      });
      res.on('end', () => done({ status, text }));
      res.on('error', (error) => done({ status, text, lost: `answer cut off: ${error.message}` }));
    });
    // A server that refuses a body over its limit answers 413 and closes without reading the rest; the client,
    // still writing, may see the closed connection before it reads the answer. That is a refusal, not a lost
    // request. Any other request that got no answer is lost.
    req.on('error', (error: NodeJS.ErrnoException) => {
      const refusedUnread =
        (error.code === 'EPIPE' || error.code === 'ECONNRESET') && (shot.body?.length ?? 0) > BODY_LIMIT;
      done(
        refusedUnread
          ? { status: 0, text: '', closedUnread: true }
          : { status: 0, text: '', lost: `no answer: ${error.message}` },
      );
    });
    req.end(shot.body);
  });
}

async function pool<T>(items: readonly T[], inFlight: number, each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < items.length) await each(items[next++]);
    }),
  );
}

// ---- Temporal client inputs ----------------------------------------------------------------------------------

interface TemporalInput {
  marker: string;
  fault: string;
  args: unknown[];
  /** Raw payloads, bytes no converter of this deployment wrote, instead of `args`. */
  payloads?: temporal.api.common.v1.IPayload[];
}

const utf8 = (text: string) => new TextEncoder().encode(text);

/**
 * A message as the `send` update and the `message` signal take it (InboundMessage), broken in one way: what a buggy
 * app in any language might send.
 */
function badTemporalMessage(receiverURL: string): fc.Arbitrary<(marker: string) => TemporalInput> {
  const base = (marker: string): Record<string, unknown> => ({ id: marker, content: `temporal ${marker}` });
  const broken = <V>(
    name: string,
    values: fc.Arbitrary<V>,
    change: (m: Record<string, unknown>, v: V, marker: string) => void,
  ) =>
    values.map((v) => (marker: string): TemporalInput => {
      const message = base(marker);
      change(message, v, marker);
      return { marker, fault: name, args: [message] };
    });
  const raw = (name: string, payload: (marker: string) => temporal.api.common.v1.IPayload) =>
    fc.constant((marker: string): TemporalInput => ({ marker, fault: name, args: [], payloads: [payload(marker)] }));
  const json = (marker: string) => utf8(JSON.stringify(base(marker)));
  return fc.oneof(
    broken('content missing', fc.constant(0), (m) => delete m.content),
    broken('content not text', wrongType, (m, v) => (m.content = v)),
    broken('content empty', fc.constant(''), (m, v) => (m.content = v)),
    broken('content over 100,000 characters', fc.integer({ min: 100_001, max: 300_000 }), (m, n, marker) => {
      m.content = `${marker}${'x'.repeat(n)}`;
    }),
    broken('id outside the grammar', badMessageId, (m, id, marker) => (m.id = id(marker))),
    broken('id missing', fc.constant(0), (m) => delete m.id),
    broken('author invalid', fc.constantFrom<unknown>('', 1, null, 'a'.repeat(201)), (m, v) => (m.author = v)),
    broken(
      'channel invalid',
      fc.constantFrom<unknown>(
        { type: 'sms' },
        { type: 'webhook' },
        { type: 'webhook', url: 'javascript:alert(1)' },
        { type: 'webhook', url: receiverURL.replace('http://', 'http://user:secret@') },
        { type: 'webhook', url: 'ftp://127.0.0.1/x' },
        { type: 'webhook', url: receiverURL, extra: 1 },
        'log',
        null,
      ),
      (m, v) => (m.channel = v),
    ),
    broken(
      'metadata invalid',
      fc.oneof(
        fc.constantFrom<unknown>([], 'meta', 1, null),
        fc.integer({ min: 17, max: 3_000 }).map((depth) => JSON.parse(nested(depth, '1', '{"a":', '}')) as unknown),
        fc.integer({ min: 17_000, max: 100_000 }).map((n) => ({ big: 'm'.repeat(n) })),
      ),
      (m, v) => (m.metadata = v),
    ),
    broken(
      'payment invalid',
      fc.constantFrom<unknown>({}, { reference: '' }, { reference: 1 }, { reference: 'r', extra: 1 }),
      (m, v) => (m.payment = v),
    ),
    broken('unknown field', fc.constantFrom('extra', 'role', 'turn', 'seen'), (m, key, marker) => (m[key] = marker)),
    broken('__proto__ key', fc.constant(0), (m, _, marker) => {
      Object.defineProperty(m, '__proto__', { value: { polluted: marker }, enumerable: true });
    }),
    broken('constructor.prototype key', fc.constant(0), (m, _, marker) => {
      Object.defineProperty(m, 'constructor', { value: { prototype: { polluted: marker } }, enumerable: true });
    }),
    broken('metadata too deep behind a __proto__ key', fc.constant(0), (m, _, marker) => {
      m.metadata = JSON.parse(`{"__proto__":{"polluted":"${marker}"},"deep":${nested(40, '1')}}`) as unknown;
    }),
    fc
      .constantFrom<unknown>(null, 1, 'text', true, [])
      .map((v) => (marker: string): TemporalInput => ({ marker, fault: 'not an object', args: [v] })),
    fc.constant((marker: string): TemporalInput => ({ marker, fault: 'no argument', args: [] })),
    fc.constant((marker: string): TemporalInput => ({
      marker,
      fault: 'two arguments',
      args: [base(marker), { id: `${marker}-2`, content: marker }],
    })),
    raw('payload not JSON', (marker) => ({
      metadata: { encoding: utf8('json/plain') },
      data: utf8(`{"id":"${marker}",`),
    })),
    raw('payload in an unknown encoding', (marker) => ({
      metadata: { encoding: utf8('application/x-pickle') },
      data: json(marker),
    })),
    raw('payload without an encoding', (marker) => ({ metadata: {}, data: json(marker) })),
    raw('payload as a protobuf message', (marker) => ({
      metadata: { encoding: utf8('json/protobuf'), messageType: utf8('acme.Message') },
      data: json(marker),
    })),
    raw('payload as bytes', (marker) => ({ metadata: { encoding: utf8('binary/plain') }, data: json(marker) })),
    raw('payload null', () => ({ metadata: { encoding: utf8('binary/null') } })),
  );
}

type UpdateOutcome = 'refused' | 'accepted' | 'unanswered';

/** One `send` update: through the client's executeUpdate or startUpdate, or raw payloads through the service. */
async function sendBadUpdate(
  stack: Stack,
  target: WorkflowHandle,
  input: TemporalInput,
  how: 'execute' | 'start',
): Promise<{ outcome: UpdateOutcome; detail?: string }> {
  // Refused at once, or never: a conversation that does not answer within this is a finding, not a hang.
  return stack.connection
    .withDeadline(Date.now() + UPDATE_WAIT_MS, () => sendBadUpdateNow(stack, target, input, how))
    .catch((error: unknown) => ({
      outcome: 'unanswered' as const,
      detail: error instanceof Error ? error.message : String(error),
    }));
}

async function sendBadUpdateNow(
  stack: Stack,
  target: WorkflowHandle,
  input: TemporalInput,
  how: 'execute' | 'start',
): Promise<{ outcome: UpdateOutcome; detail?: string }> {
  try {
    if (input.payloads) {
      const response = await stack.client.workflowService.updateWorkflowExecution({
        namespace: stack.client.options.namespace,
        workflowExecution: { workflowId: target.workflowId },
        request: {
          meta: { updateId: input.marker, identity: 'bad-input' },
          input: { name: sendUpdate.name, args: { payloads: input.payloads } },
        },
        waitPolicy: {
          lifecycleStage:
            temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage
              .UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED,
        },
      });
      if (response.outcome?.failure) return { outcome: 'refused' };
      const accepted =
        response.stage ===
          temporal.api.enums.v1.UpdateWorkflowExecutionLifecycleStage
            .UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ACCEPTED || response.outcome?.success;
      return accepted ? { outcome: 'accepted' } : { outcome: 'unanswered', detail: `stage ${response.stage}` };
    }
    if (how === 'start') {
      const update = await target.startUpdate(sendUpdate.name, {
        args: input.args as [unknown],
        updateId: input.marker,
        waitForStage: WorkflowUpdateStage.ACCEPTED,
      });
      await update.result();
    } else {
      await target.executeUpdate(sendUpdate.name, { args: input.args as [unknown], updateId: input.marker });
    }
    return { outcome: 'accepted' };
  } catch (error) {
    if (error instanceof WorkflowUpdateFailedError) return { outcome: 'refused' };
    return { outcome: 'unanswered', detail: error instanceof Error ? error.message : String(error) };
  }
}

// ---- Reading back ----------------------------------------------------------------------------------------------

/** The model: a tool call that needs approval for a message that asks for one, else an echo. */
function badInputModel(request: RecordedRequest): ScriptStep {
  const messages = request.body.messages;
  const last = messages.at(-1);
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const asked = typeof lastUser?.content === 'string' ? lastUser.content : '';
  if (last?.role === 'tool') return { content: `done: ${typeof last.content === 'string' ? last.content : ''}` };
  if (asked.startsWith('approve ')) {
    return {
      toolCalls: [{ id: `transfer-${asked.slice('approve '.length)}`, name: 'transfer', arguments: '{"amount":7}' }],
    };
  }
  return { content: `echo ${asked}` };
}

/** A conversation as it shows itself: its state and its whole transcript. */
async function snapshot(stack: Stack, conversationId: string): Promise<string> {
  const [state, transcript] = await Promise.all([
    stack.agents.state(AGENT, conversationId),
    wholeTranscript(stack.agents, AGENT, conversationId),
  ]);
  return JSON.stringify({ state, transcript });
}

function firstDifference(before: string, after: string): string {
  let i = 0;
  while (i < before.length && before[i] === after[i]) i++;
  return `before …${before.slice(Math.max(0, i - 60), i + 100)}… after …${after.slice(Math.max(0, i - 60), i + 100)}…`;
}

async function workflowIds(stack: Stack): Promise<Set<string>> {
  const ids = new Set<string>();
  for await (const execution of stack.client.workflow.list()) ids.add(execution.workflowId);
  return ids;
}

/**
 * Every history as text, its payloads decoded, with what the content store holds for each claim in it: a large
 * input is in history only as a claim.
 */
async function historyText(stack: Stack, histories: StoredHistory[]): Promise<string> {
  const text = histories.map((h) => JSON.stringify(h.events, decodeBytes)).join('\n');
  const refs = [...new Set(text.match(/sha256:[0-9a-f]{64}/g) ?? [])];
  const stored = refs.length === 0 ? [] : await stack.store.getMany(refs);
  const claimed = stored.map((content) => {
    try {
      const payload = temporal.api.common.v1.Payload.decode(Buffer.from(content, 'base64'));
      return `${content}\n${Buffer.from(payload.data ?? []).toString('utf8')}`;
    } catch {
      return content;
    }
  });
  return [text, ...claimed].join('\n');
}

function decodeBytes(_key: string, value: unknown): unknown {
  return value instanceof Uint8Array ? Buffer.from(value).toString('utf8') : value;
}

/** Waits for the worker to have logged `count` more signals dropped than `from` lines in, for at most 10 s. */
async function droppedSignals(logFile: string, from: number, count: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const dropped = (readFileSync(logFile, 'utf8').slice(from).match(DROPPED_SIGNAL) ?? []).length;
    if (dropped >= count || Date.now() > deadline) return dropped;
    // The log comes through the worker's stdout pipe, some time after the workflow task that wrote it.
    await sleep(100);
  }
}

// ---- The part --------------------------------------------------------------------------------------------------

export async function badInput(stack: Stack, figures: Figures, random: Random, tag: string): Promise<void> {
  const started = Date.now();
  stack.model.respondWith(badInputModel);

  // The targets: conversations with real turns, and one whose turn waits for an approval.
  const awaitingId = `bad-${tag}-awaiting`;
  const targets: Targets = {
    idle: [0, 1, 2].map((i) => `bad-${tag}-target-${i}`),
    awaiting: { conversationId: awaitingId, toolCallId: `transfer-${tag}` },
    all: [],
  };
  targets.all = [...targets.idle, awaitingId];
  for (const conversationId of targets.idle) {
    for (const i of [1, 2]) {
      await stack.agents.send(AGENT, conversationId, { id: `${conversationId}-m${i}`, content: `real ${i}` });
    }
  }
  await stack.agents.post(AGENT, awaitingId, { id: `${awaitingId}-m1`, content: `approve ${tag}` });
  const watching = new AbortController();
  const giveUp = setTimeout(() => watching.abort(), 60_000);
  let asked = false;
  for await (const { event } of stack.agents.events(AGENT, awaitingId, { fromOffset: 0, signal: watching.signal })) {
    asked = event.type === 'tool.awaiting_approval';
    if (asked) break;
  }
  clearTimeout(giveUp);
  watching.abort();
  if (!asked) throw new Error(`${awaitingId} asked for no approval within 60 s`);

  const before = new Map<string, string>();
  for (const conversationId of targets.all) before.set(conversationId, await snapshot(stack, conversationId));
  const workflowsBefore = await workflowIds(stack);
  const workerLog = join(stack.runDir, 'worker.log');
  const workerLogFrom = readFileSync(workerLog, 'utf8').length;
  const starts = { gateway: stack.gateway.starts, worker: stack.worker.starts };

  // The HTTP barrage.
  const routes = [
    ...messageRoutes(targets),
    ...conversationRoutes(targets),
    approvalRoute(targets),
    ...eventRoutes(targets),
    ...chatRoutes(targets),
    webhookRoute(targets),
    ...scheduleRoutes(targets),
    ...otherRoutes(targets),
  ];
  const shots = fc
    .sample(requestArbitrary(routes), { numRuns: HTTP_REQUESTS, seed: random.seed })
    .map((build, n) => render(stack, build(`bad-${tag}-${n}z`), `bad-${tag}-${n}z`));
  const httpStarted = Date.now();
  const statuses = new Map<number, number>();
  const routesHit = new Set<string>();
  const answers: string[] = [];
  const serverErrors: string[] = [];
  const taken: string[] = [];
  const lost: string[] = [];
  let unsendable = 0;
  let closedUnread = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: IN_FLIGHT });
  await pool(shots, IN_FLIGHT, async (shot) => {
    const answer = await send(stack, agent, shot);
    routesHit.add(shot.route);
    const what = `${shot.method} ${shot.path.slice(0, 160)} [${shot.faults.join(', ') || 'no fault'}]`;
    if (answer.unsendable) {
      unsendable++;
      return;
    }
    if (answer.closedUnread) {
      closedUnread++;
      return;
    }
    answers.push(`${answer.status} ${answer.text}`);
    if (answer.lost) {
      lost.push(`${what}: ${answer.lost}`);
      return;
    }
    statuses.set(answer.status, (statuses.get(answer.status) ?? 0) + 1);
    if (answer.status >= 500) serverErrors.push(`${answer.status} ${what}: ${answer.text.slice(0, 300)}`);
    if (shot.faults.length > 0 && answer.status < 300)
      taken.push(`${answer.status} ${what}: ${answer.text.slice(0, 300)}`);
  });
  agent.destroy();
  const httpSeconds = (Date.now() - httpStarted) / 1000;
  appendFileSync(join(stack.runDir, 'answers.log'), `${answers.join('\n')}\n`);

  // Malformed updates and signals, straight through the deployment's Temporal client.
  const temporalStarted = Date.now();
  const messages = badTemporalMessage(stack.receiver.url);
  const handle = (conversationId: string): WorkflowHandle =>
    stack.client.workflow.getHandle(conversationWorkflowId(AGENT, conversationId));
  const updates = fc
    .sample(
      fc.tuple(messages, fc.constantFrom(...targets.all), fc.constantFrom<'execute' | 'start'>('execute', 'start')),
      {
        numRuns: UPDATES,
        seed: random.seed + 1,
      },
    )
    .map(([build, conversationId, how], n) => ({ input: build(`upd-${tag}-${n}z`), conversationId, how }));
  const signals = fc
    .sample(fc.tuple(messages, fc.constantFrom(...targets.all)), { numRuns: SIGNALS, seed: random.seed + 2 })
    .map(([build, conversationId], n) => ({ input: build(`sig-${tag}-${n}z`), conversationId }));
  const updateOutcomes = new Map<UpdateOutcome, number>();
  const updateProblems: string[] = [];
  await pool(updates, 8, async ({ input, conversationId, how }) => {
    const { outcome, detail } = await sendBadUpdate(stack, handle(conversationId), input, how);
    updateOutcomes.set(outcome, (updateOutcomes.get(outcome) ?? 0) + 1);
    if (outcome !== 'refused')
      updateProblems.push(`${outcome}: ${input.marker} (${input.fault}, ${how}) ${detail ?? ''}`);
  });
  const signalProblems: string[] = [];
  await pool(signals, 8, async ({ input, conversationId }) => {
    const target = handle(conversationId);
    try {
      if (input.payloads) {
        await stack.client.workflowService.signalWorkflowExecution({
          namespace: stack.client.options.namespace,
          workflowExecution: { workflowId: target.workflowId },
          signalName: messageSignal.name,
          input: { payloads: input.payloads },
          identity: 'bad-input',
        });
      } else {
        await target.signal(messageSignal.name, ...input.args);
      }
    } catch (error) {
      signalProblems.push(`${input.marker} (${input.fault}) to ${conversationId}: ${(error as Error).message}`);
    }
  });
  // An update after them all: a conversation has handled every signal before it answers it (this one is refused).
  for (const conversationId of targets.all) {
    const fence = { marker: `fence-${tag}-${conversationId}`, fault: 'fence', args: [{ content: '' }] };
    await sendBadUpdate(stack, handle(conversationId), fence, 'execute');
  }
  const dropped = await droppedSignals(workerLog, workerLogFrom, signals.length);
  const temporalSeconds = (Date.now() - temporalStarted) / 1000;

  // What the bad input left behind.
  const changed: string[] = [];
  for (const conversationId of targets.all) {
    const after = await snapshot(stack, conversationId);
    const was = before.get(conversationId)!;
    if (after !== was) changed.push(`${conversationId}: ${firstDifference(was, after)}`);
  }
  const text = await historyText(stack, await allHistories(stack.client));
  const found = [...new Set(text.match(new RegExp(`(bad|upd)-${tag}-\\d+z`, 'g')) ?? [])];
  const started_ = [...(await workflowIds(stack))].filter((id) => !workflowsBefore.has(id));
  for await (const schedule of stack.client.schedule.list()) started_.push(`schedule ${schedule.scheduleId}`);

  // The targets still work, through the gateway: the approval is granted and its turn finishes (asking again for
  // a message answers with its reply once there is one), and a new message is answered.
  const gateway = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${stack.gatewayURL}${path}`, {
      method,
      headers: { ...stack.auth, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return {
      status: response.status,
      body: (await response.json().catch(() => undefined)) as { reply?: { content: string } },
    };
  };
  const healthz = await fetch(`${new URL(stack.gatewayURL).origin}/healthz`).then(
    (r) => r.status,
    () => 0,
  );
  const conversations = `/agents/${AGENT}/conversations`;
  const approval = await gateway('POST', `${conversations}/${awaitingId}/approvals/${targets.awaiting.toolCallId}`, {
    decision: 'approve',
  });
  const approved = await gateway('POST', `${conversations}/${awaitingId}/messages`, {
    id: `${awaitingId}-m1`,
    content: `approve ${tag}`,
  });
  const turn = await gateway('POST', `${conversations}/${targets.idle[0]}/messages`, {
    id: `bad-${tag}-after`,
    content: 'still there?',
  });
  const afterwards = [
    healthz === 200 ? '' : `healthz ${healthz}`,
    approval.status === 200 ? '' : `approval ${approval.status}`,
    approved.body.reply?.content === 'done: moved 7'
      ? ''
      : `approved turn ${JSON.stringify(approved.body).slice(0, 200)}`,
    turn.body.reply?.content === 'echo still there?' ? '' : `new turn ${JSON.stringify(turn.body).slice(0, 200)}`,
    stack.gateway.starts === starts.gateway && stack.worker.starts === starts.worker ? '' : 'a process was restarted',
  ].filter(Boolean);

  const classes = [2, 3, 4, 5].map((c) => {
    const count = [...statuses].filter(([s]) => Math.floor(s / 100) === c).reduce((sum, [, k]) => sum + k, 0);
    return `${c}xx ${count}`;
  });
  figures.note(PART, 'HTTP requests (routes, in flight)', `${shots.length} (${routesHit.size}, ${IN_FLIGHT})`);
  figures.note(PART, 'answers by status class', classes.join(', '));
  figures.note(
    PART,
    'answers by status',
    [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([s, k]) => `${s}: ${k}`)
      .join(', '),
  );
  figures.note(PART, "requests Node's client would not send (raw paths)", unsendable);
  figures.note(PART, 'bodies over the limit cut off by the gateway (413 unread)', closedUnread);
  figures.zero(PART, '5xx answers', serverErrors.length);
  figures.zero(PART, 'requests without an answer', lost.length);
  figures.zero(PART, 'invalid requests answered 2xx', taken.length);
  figures.note(
    PART,
    'malformed send updates / message signals (Temporal client)',
    `${updates.length} / ${signals.length}`,
  );
  figures.zero(PART, 'send updates not refused', updateProblems.length);
  figures.zero(PART, 'signals Temporal did not take', signalProblems.length);
  figures.check(
    PART,
    'malformed signals dropped by the workflow (worker log)',
    `${dropped}/${signals.length}`,
    dropped === signals.length,
  );
  // Requests and updates; signals are recorded by Temporal before the workflow sees them, so theirs are left out.
  figures.zero(PART, 'refused requests and updates found in a history', found.length);
  figures.zero(PART, 'conversations or schedules started by bad input', started_.length);
  figures.check(
    PART,
    'target conversations unchanged (state, transcript)',
    `${targets.all.length - changed.length}/${targets.all.length}`,
    changed.length === 0,
  );
  figures.check(
    PART,
    'targets served afterwards (approval, a turn), no process restarted',
    afterwards.length === 0 ? 'yes' : 'no',
    afterwards.length === 0,
  );
  figures.note(
    PART,
    'seconds (HTTP / Temporal client / all)',
    `${httpSeconds.toFixed(0)} / ${temporalSeconds.toFixed(0)} / ${((Date.now() - started) / 1000).toFixed(0)}`,
  );

  const problems = [
    ...serverErrors.map((p) => `5xx: ${p}`),
    ...lost.map((p) => `no answer: ${p}`),
    ...taken.map((p) => `taken: ${p}`),
    ...updateProblems.map((p) => `update ${p}`),
    ...signalProblems.map((p) => `signal ${p}`),
    ...found.map((m) => `in a history: ${m}`),
    ...started_.map((id) => `started: ${id}`),
    ...changed.map((c) => `changed: ${c}`),
    ...afterwards.map((a) => `afterwards: ${a}`),
  ];
  for (const problem of problems.slice(0, 40)) process.stderr.write(`  ${PART}: ${problem.slice(0, 500)}\n`);
}
