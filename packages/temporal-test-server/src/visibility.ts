/**
 * A small visibility query language: the subset of Temporal's SQL-like list filter that tests and tools use.
 *
 *   WorkflowType = 'conversation' AND ExecutionStatus = 'Running' AND StartTime > '2026-01-01T00:00:00Z'
 *   VigilAgent IN ('a', 'b') OR (WorkflowId STARTS_WITH 'conversation:' AND VigilTokensUsed >= 3)
 *
 * Supported: = != < > <= >=, IN / NOT IN, STARTS_WITH, IS NULL / IS NOT NULL, BETWEEN .. AND .., AND, OR,
 * parentheses, backquoted names. ORDER BY and GROUP BY are answered with UNIMPLEMENTED.
 */
import { invalidArgument, unimplemented } from './errors';

export type AttributeType = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList';
export type Value = string | number | boolean | null | (string | number | boolean)[];

/** What a query sees of one execution: each attribute's value, by name. */
export type Row = (name: string) => Value | undefined;
export type Predicate = (row: Row) => boolean;

type Token = { kind: 'word' | 'string' | 'number' | 'op' | 'punct'; text: string };

function tokenize(query: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < query.length) {
    const c = query[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'" || c === '"') {
      let j = i + 1;
      let text = '';
      while (j < query.length && query[j] !== c) {
        if (query[j] === '\\' && j + 1 < query.length) j++;
        text += query[j++];
      }
      if (j >= query.length) throw invalidArgument(`invalid query: unterminated string starting at ${i}`);
      tokens.push({ kind: 'string', text });
      i = j + 1;
    } else if (c === '`') {
      const j = query.indexOf('`', i + 1);
      if (j < 0) throw invalidArgument(`invalid query: unterminated name starting at ${i}`);
      tokens.push({ kind: 'word', text: query.slice(i + 1, j) });
      i = j + 1;
    } else if (/[<>=!]/.test(c)) {
      const two = query.slice(i, i + 2);
      const op = ['<=', '>=', '!=', '<>'].includes(two) ? two : c;
      if (op === '!') throw invalidArgument(`invalid query: unexpected '!' at ${i}`);
      tokens.push({ kind: 'op', text: op === '<>' ? '!=' : op });
      i += op.length;
    } else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ kind: 'punct', text: c });
      i++;
    } else if (/[-0-9.]/.test(c)) {
      const m = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(query.slice(i));
      if (!m) throw invalidArgument(`invalid query: unexpected '${c}' at ${i}`);
      tokens.push({ kind: 'number', text: m[0] });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(query.slice(i))!;
      tokens.push({ kind: 'word', text: m[0] });
      i += m[0].length;
    } else {
      throw invalidArgument(`invalid query: unexpected '${c}' at ${i}`);
    }
  }
  return tokens;
}

const KEYWORDS = new Set(['AND', 'OR', 'NOT', 'IN', 'IS', 'NULL', 'BETWEEN', 'STARTS_WITH', 'ORDER', 'GROUP', 'BY']);

/**
 * Parses `query` into a predicate. `typeOf` names each attribute's type; an unknown attribute is an
 * INVALID_ARGUMENT, as on the real server.
 */
export function parseQuery(query: string, typeOf: (name: string) => AttributeType | undefined): Predicate {
  const tokens = tokenize(query);
  let pos = 0;
  const peek = () => tokens[pos];
  const isWord = (t: Token | undefined, w: string) => t?.kind === 'word' && t.text.toUpperCase() === w;
  const expect = (text: string) => {
    const t = tokens[pos++];
    if (!t || (t.text !== text && t.text.toUpperCase() !== text)) {
      throw invalidArgument(`invalid query: expected '${text}'${t ? ` but found '${t.text}'` : ' at the end'}`);
    }
  };

  const literal = (type: AttributeType): Value => {
    const t = tokens[pos++];
    if (!t) throw invalidArgument('invalid query: expected a value at the end');
    if (t.kind === 'string') {
      if (type === 'Datetime') {
        const ms = Date.parse(t.text);
        if (Number.isNaN(ms)) throw invalidArgument(`invalid query: '${t.text}' is not a date-time`);
        return ms;
      }
      if (type === 'Int' || type === 'Double') {
        const n = Number(t.text);
        if (Number.isNaN(n)) throw invalidArgument(`invalid query: '${t.text}' is not a number`);
        return n;
      }
      return t.text;
    }
    if (t.kind === 'number') return Number(t.text);
    if (t.kind === 'word' && /^(true|false)$/i.test(t.text)) return t.text.toLowerCase() === 'true';
    throw invalidArgument(`invalid query: expected a value but found '${t.text}'`);
  };

  const comparison = (): Predicate => {
    const t = tokens[pos++];
    if (!t || t.kind !== 'word' || KEYWORDS.has(t.text.toUpperCase())) {
      throw invalidArgument(`invalid query: expected a search attribute name${t ? ` but found '${t.text}'` : ''}`);
    }
    const name = t.text;
    const type = typeOf(name);
    if (!type) throw invalidArgument(`invalid query: unknown or unsupported search attribute name: ${name}`);
    const next = peek();
    if (isWord(next, 'IS')) {
      pos++;
      const negate = isWord(peek(), 'NOT');
      if (negate) pos++;
      expect('NULL');
      return (row) => {
        const v = row(name);
        return negate === (v !== undefined && v !== null);
      };
    }
    if (isWord(next, 'NOT') || isWord(next, 'IN')) {
      const negate = isWord(next, 'NOT');
      pos += negate ? 2 : 1;
      if (negate && !isWord(tokens[pos - 1], 'IN')) throw invalidArgument("invalid query: expected 'IN' after 'NOT'");
      expect('(');
      const values = [literal(type)];
      while (peek()?.text === ',') {
        pos++;
        values.push(literal(type));
      }
      expect(')');
      return (row) => negate !== values.some((v) => matches(row(name), '=', v));
    }
    if (isWord(next, 'STARTS_WITH')) {
      pos++;
      const prefix = literal(type);
      return (row) => anyOf(row(name), (v) => typeof v === 'string' && v.startsWith(String(prefix)));
    }
    if (isWord(next, 'BETWEEN')) {
      pos++;
      const low = literal(type);
      expect('AND');
      const high = literal(type);
      return (row) => matches(row(name), '>=', low) && matches(row(name), '<=', high);
    }
    if (next?.kind !== 'op') throw invalidArgument(`invalid query: expected an operator after '${name}'`);
    pos++;
    const value = literal(type);
    return (row) => matches(row(name), next.text, value);
  };

  const primary = (): Predicate => {
    if (peek()?.text === '(') {
      pos++;
      const inner = or();
      expect(')');
      return inner;
    }
    if (isWord(peek(), 'NOT')) {
      pos++;
      const inner = primary();
      return (row) => !inner(row);
    }
    return comparison();
  };
  const and = (): Predicate => {
    let left = primary();
    while (isWord(peek(), 'AND')) {
      pos++;
      const l = left;
      const r = primary();
      left = (row) => l(row) && r(row);
    }
    return left;
  };
  const or = (): Predicate => {
    let left = and();
    while (isWord(peek(), 'OR')) {
      pos++;
      const l = left;
      const r = and();
      left = (row) => l(row) || r(row);
    }
    return left;
  };

  if (tokens.length === 0) return () => true;
  if (isWord(tokens[0], 'ORDER') || isWord(tokens[0], 'GROUP')) {
    throw unimplemented(`${tokens[0].text.toUpperCase()} BY is not supported by the test server`);
  }
  const predicate = or();
  if (pos < tokens.length) {
    const t = tokens[pos];
    if (isWord(t, 'ORDER') || isWord(t, 'GROUP')) {
      throw unimplemented(`${t.text.toUpperCase()} BY is not supported by the test server`);
    }
    throw invalidArgument(`invalid query: unexpected '${t.text}'`);
  }
  return predicate;
}

function anyOf(value: Value | undefined, test: (v: string | number | boolean) => boolean): boolean {
  if (value === undefined || value === null) return false;
  return Array.isArray(value) ? value.some(test) : test(value);
}

function matches(actual: Value | undefined, op: string, expected: Value): boolean {
  if (op === '!=') return !matches(actual, '=', expected);
  return anyOf(actual, (v) => {
    const e = expected as string | number | boolean;
    switch (op) {
      case '=':
        return v === e;
      case '<':
        return v < e;
      case '>':
        return v > e;
      case '<=':
        return v <= e;
      case '>=':
        return v >= e;
      default:
        return false;
    }
  });
}
