/**
 * A small arithmetic language for the calculator tool, evaluated by a recursive-descent parser: no `eval`, no
 * `Function`, nothing beyond numbers, operators and the functions listed here. General expression libraries
 * (mathjs) bring matrices, units, assignments and function definitions that a model's input should not reach.
 *
 *   expression := term (("+" | "-") term)*
 *   term       := unary (("*" | "/" | "%") unary)*
 *   unary      := ("+" | "-") unary | power
 *   power      := primary ("^" unary)?          right-associative; -2^2 is -(2^2), as in mathematics
 *   primary    := number | constant | function "(" expression ("," expression)* ")" | "(" expression ")"
 */
import { VigilError } from '../../errors';

/** A malformed or undefined expression; the message says what and where, for the model to fix. */
export class ArithmeticError extends VigilError {}

/** Deeper nesting than this is refused rather than risking the stack on hostile input. */
const MAX_DEPTH = 100;

const CONSTANTS: Record<string, number> = { pi: Math.PI, e: Math.E };

interface MathFunction {
  arity: [min: number, max: number];
  apply(args: number[]): number;
}

const FUNCTIONS: Record<string, MathFunction> = {
  sqrt: {
    arity: [1, 1],
    apply: ([x]) => {
      if (x < 0) throw new ArithmeticError(`sqrt of a negative number (${x}) is not a real number`);
      return Math.sqrt(x);
    },
  },
  abs: { arity: [1, 1], apply: ([x]) => Math.abs(x) },
  floor: { arity: [1, 1], apply: ([x]) => Math.floor(x) },
  ceil: { arity: [1, 1], apply: ([x]) => Math.ceil(x) },
  round: {
    arity: [1, 2],
    apply: ([x, digits = 0]) => {
      if (!Number.isInteger(digits) || digits < 0 || digits > 15) {
        throw new ArithmeticError('round(x, digits): digits must be a whole number from 0 to 15');
      }
      // Scaling through the decimal exponent avoids 1.005 * 100 = 100.49999 style surprises; numbers already
      // written with an exponent (1e21, 1e-7) fall back to plain scaling. Halves round away from zero.
      const viaExponent = Number(`${roundHalfAway(Number(`${x}e${digits}`))}e-${digits}`);
      return Number.isNaN(viaExponent) ? roundHalfAway(x * 10 ** digits) / 10 ** digits : viaExponent;
    },
  },
  min: { arity: [1, Infinity], apply: (xs) => Math.min(...xs) },
  max: { arity: [1, Infinity], apply: (xs) => Math.max(...xs) },
  ln: { arity: [1, 1], apply: ([x]) => logarithm(Math.log, 'ln', x) },
  log10: { arity: [1, 1], apply: ([x]) => logarithm(Math.log10, 'log10', x) },
};

type Token =
  | { kind: 'number'; value: number; at: number }
  | { kind: 'name'; value: string; at: number }
  | { kind: 'symbol'; value: string; at: number }
  | { kind: 'end'; at: number };

/**
 * Evaluates an arithmetic expression.
 *
 * @example evaluateArithmetic('2 + 3 * (4 - 1)^2') // 29
 * @throws ArithmeticError for bad syntax, unknown names, division by zero or a result that is not finite.
 */
export function evaluateArithmetic(expression: string): number {
  const parser = new Parser(tokenize(expression));
  const value = parser.expression(0);
  parser.expectEnd();
  if (!Number.isFinite(value)) throw new ArithmeticError('the result is too large to represent');
  return value;
}

class Parser {
  private position = 0;

  constructor(private readonly tokens: Token[]) {}

  expression(depth: number): number {
    if (depth > MAX_DEPTH) throw new ArithmeticError(`expression is nested more than ${MAX_DEPTH} levels deep`);
    let value = this.term(depth);
    for (let op = this.symbol('+', '-'); op; op = this.symbol('+', '-')) {
      const right = this.term(depth);
      value = op === '+' ? value + right : value - right;
    }
    return value;
  }

  private term(depth: number): number {
    let value = this.unary(depth);
    for (let op = this.symbol('*', '/', '%'); op; op = this.symbol('*', '/', '%')) {
      const right = this.unary(depth);
      if (op === '*') value *= right;
      else if (right === 0) throw new ArithmeticError(op === '/' ? 'division by zero' : 'modulo by zero');
      else value = op === '/' ? value / right : value % right;
    }
    return value;
  }

  private unary(depth: number): number {
    if (depth > MAX_DEPTH) throw new ArithmeticError(`expression is nested more than ${MAX_DEPTH} levels deep`);
    const op = this.symbol('+', '-');
    if (op) {
      const value = this.unary(depth + 1);
      return op === '-' ? -value : value;
    }
    return this.power(depth);
  }

  private power(depth: number): number {
    const base = this.primary(depth);
    if (!this.symbol('^')) return base;
    const exponent = this.unary(depth + 1);
    const value = base ** exponent;
    if (Number.isNaN(value)) {
      throw new ArithmeticError(`${base} ^ ${exponent} is not a real number`);
    }
    return value;
  }

  private primary(depth: number): number {
    const token = this.next();
    if (token.kind === 'number') return token.value;
    if (token.kind === 'symbol' && token.value === '(') {
      const value = this.expression(depth + 1);
      this.expect(')', 'to close the parenthesis');
      return value;
    }
    if (token.kind === 'name') {
      const fn = FUNCTIONS[token.value];
      if (fn) return this.call(token.value, fn, depth);
      const constant = CONSTANTS[token.value];
      if (constant !== undefined) return constant;
      throw new ArithmeticError(
        `unknown name "${token.value}" at position ${token.at + 1}; ` +
          `functions: ${Object.keys(FUNCTIONS).join(', ')}; constants: ${Object.keys(CONSTANTS).join(', ')}`,
      );
    }
    throw new ArithmeticError(`expected a number, a function or "(" ${describe(token)}`);
  }

  private call(name: string, fn: MathFunction, depth: number): number {
    this.expect('(', `after ${name}`);
    const args = [this.expression(depth + 1)];
    while (this.symbol(',')) args.push(this.expression(depth + 1));
    this.expect(')', `to close ${name}(`);
    const [min, max] = fn.arity;
    if (args.length < min || args.length > max) {
      const wanted = min === max ? `${min}` : max === Infinity ? `at least ${min}` : `${min} to ${max}`;
      throw new ArithmeticError(`${name} takes ${wanted} argument(s), got ${args.length}`);
    }
    return fn.apply(args);
  }

  expectEnd(): void {
    const token = this.next();
    if (token.kind !== 'end') throw new ArithmeticError(`unexpected ${describe(token)}`);
  }

  private expect(symbol: string, why: string): void {
    const token = this.next();
    if (token.kind !== 'symbol' || token.value !== symbol) {
      throw new ArithmeticError(`expected "${symbol}" ${why} ${describe(token)}`);
    }
  }

  /** Consumes the next token if it is one of `symbols`, returning it. */
  private symbol(...symbols: string[]): string | undefined {
    const token = this.tokens[this.position];
    if (token.kind === 'symbol' && symbols.includes(token.value)) {
      this.position++;
      return token.value;
    }
    return undefined;
  }

  private next(): Token {
    const token = this.tokens[this.position];
    if (token.kind !== 'end') this.position++;
    return token;
  }
}

const NUMBER = /(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y;
const NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;
const SYMBOLS = new Set(['+', '-', '*', '/', '%', '^', '(', ')', ',']);

function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let at = 0;
  while (at < source.length) {
    const char = source[at];
    if (/\s/.test(char)) {
      at++;
      continue;
    }
    NUMBER.lastIndex = at;
    const number = NUMBER.exec(source);
    if (number) {
      tokens.push({ kind: 'number', value: Number(number[0]), at });
      at += number[0].length;
      continue;
    }
    NAME.lastIndex = at;
    const name = NAME.exec(source);
    if (name) {
      tokens.push({ kind: 'name', value: name[0].toLowerCase(), at });
      at += name[0].length;
      continue;
    }
    if (SYMBOLS.has(char)) {
      tokens.push({ kind: 'symbol', value: char, at });
      at++;
      continue;
    }
    throw new ArithmeticError(`unexpected character "${char}" at position ${at + 1}`);
  }
  tokens.push({ kind: 'end', at });
  return tokens;
}

function describe(token: Token): string {
  return token.kind === 'end' ? 'at the end of the expression' : `"${token.value}" at position ${token.at + 1}`;
}

function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}

function logarithm(log: (x: number) => number, name: string, x: number): number {
  if (x <= 0) throw new ArithmeticError(`${name} is defined for positive numbers only, got ${x}`);
  return log(x);
}
