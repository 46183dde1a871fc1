/**
 * Part 2's requests before they are sent: a `Draft` per request, the mods that change it (a fault the gateway must
 * refuse, or an oddity it may take), and the fast-check generators of the faults and oddities many routes share:
 * path and id tricks, tokens, huge headers, unparsable and misshapen bodies, odd text.
 */
import fc from 'fast-check';
import { conversationWorkflowId } from '../../../src/conversation/protocol';
import { AGENT } from '../stack';

type Auth = 'token' | 'none' | 'wrong' | 'malformed';
export type Signing = 'good' | 'none' | 'garbage' | 'wrong-secret' | 'old' | 'future' | 'twice';

export interface Draft {
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
export interface Mod {
  name: string;
  fault: boolean;
  stage: 0 | 1 | 2;
  apply(draft: Draft, marker: string): void;
}

export const fault = (name: string, stage: Mod['stage'], apply: Mod['apply']): Mod => ({
  name,
  fault: true,
  stage,
  apply,
});
const oddity = (name: string, stage: Mod['stage'], apply: Mod['apply']): Mod => ({ name, fault: false, stage, apply });

/** The body as an object, for the mods that change its fields (a body that is not one becomes `{}`). */
export function fields(draft: Draft): Record<string, unknown> {
  if (draft.body === null || typeof draft.body !== 'object' || Array.isArray(draft.body)) draft.body = {};
  return draft.body as Record<string, unknown>;
}

/** The body as the text that will be sent; the text mods work on it. */
function textOf(draft: Draft): string {
  draft.text ??= draft.body === undefined ? '' : JSON.stringify(draft.body);
  return draft.text;
}

/** Puts `"key":value` first into the body's text; a body that is no JSON object becomes `{"key":value}`. */
export function injectKey(draft: Draft, key: string, valueText: string): void {
  const text = textOf(draft);
  draft.text =
    text.startsWith('{') && text.endsWith('}')
      ? `{"${key}":${valueText}${text === '{}' ? '' : ','}${text.slice(1)}`
      : `{"${key}":${valueText}}`;
}

export function nested(depth: number, leaf: string, open = '[', close = ']'): string {
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
export const wrongType = fc.oneof(
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.string({ maxLength: 4 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.integer(), { maxKeys: 2 }),
);

/** Message ids the protocol refuses (empty, too long, not visible ASCII, not text), given the marker. */
export const badMessageId: fc.Arbitrary<(marker: string) => unknown> = fc.oneof(
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
export const AGENT_SEGMENT = 2;
const CONVERSATION_SEGMENT = 4;

export function conversationPath(agent: string, conversationId: string, ...tail: string[]): string[] {
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

export const hugeHeader = fc
  .tuple(fc.integer({ min: 17_000, max: 80_000 }), fc.constantFrom('x-filler', 'cookie', 'accept', 'user-agent'))
  .map(([n, name]) =>
    fault('headers over 16 KiB', 2, (d) => {
      d.headers[name] = 'h'.repeat(n);
    }),
  );

/** Whatever the route, these are refused before it: a token, the header limit, the path's ids. */
export const requestFaults = (targets: Targets, path: 'agents' | 'grammar' | 'none' = 'agents') =>
  path === 'none'
    ? fc.oneof(authFaults, hugeHeader)
    : fc.oneof(
        { arbitrary: pathFaults(targets, path === 'agents'), weight: 3 },
        { arbitrary: authFaults, weight: 1 },
        { arbitrary: hugeHeader, weight: 1 },
      );

/** Bodies the JSON parser itself refuses, on every route that parses one. */
export const unparsable = fc.oneof(
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
export const misshapen = fc.oneof(
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
export const headerOddities = fc.oneof(
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

export const oddities = fc.oneof(headerOddities, textOddities);

export interface Targets {
  /** Conversations with real turns, at rest. */
  idle: string[];
  /** A conversation whose turn waits for this approval. */
  awaiting: { conversationId: string; toolCallId: string };
  all: string[];
}

export interface Route {
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

export function draft(route: string, method: string, segments: string[], extra: Partial<Draft> = {}): Draft {
  return { route, method, segments, query: '', headers: {}, auth: 'token', faults: [], ...extra };
}
