import { ArithmeticError, evaluateArithmetic } from '../../src/tools/builtin/arithmetic';
import { calculator } from '../../src/tools/builtin/calculator';

const ctx = { signal: new AbortController().signal, conversationId: 'c1', agent: 'a', turn: 1, toolCallId: 't1' };

describe('evaluateArithmetic', () => {
  it.each([
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3], // left-associative
    ['100 / 10 / 5', 2],
    ['2 ^ 3 ^ 2', 512], // right-associative
    ['-2 ^ 2', -4], // unary minus binds looser than ^
    ['(-2) ^ 2', 4],
    ['2 ^ -1', 0.5],
    ['--3', 3],
    ['-(4 - 6) * +2', 4],
    ['7 % 4', 3],
    ['2 * 3 % 4', 2],
    ['1.5 + .5', 2],
    ['1e3 + 2.5E-1', 1000.25],
    ['sqrt(16) + abs(-3)', 7],
    ['round(2.5)', 3],
    ['round(-2.5)', -3],
    ['round(1.005, 2)', 1.01],
    ['round(1234.5678, 1)', 1234.6],
    ['floor(-1.5) + ceil(1.2)', 0],
    ['min(4, 2, 8) * max(1, 3)', 6],
    ['ln(e) + log10(1000)', 4],
    ['round(2 * PI, 4)', 6.2832],
    ['  ( ( 1 ) )  ', 1],
  ])('%s = %d', (expression, expected) => {
    expect(evaluateArithmetic(expression)).toBeCloseTo(expected, 10);
  });

  it.each([
    ['1 / 0', 'division by zero'],
    ['5 % (2 - 2)', 'modulo by zero'],
    ['1 +', 'expected a number, a function or "(" at the end of the expression'],
    ['(1 + 2', 'expected ")" to close the parenthesis at the end of the expression'],
    ['1 + 2)', 'unexpected ")" at position 6'],
    ['2 (3)', 'unexpected "(" at position 3'],
    ['3 $ 4', 'unexpected character "$" at position 3'],
    ['foo(1)', 'unknown name "foo" at position 1'],
    ['sqrt(-4)', 'sqrt of a negative number (-4) is not a real number'],
    ['(-8) ^ 0.5', '-8 ^ 0.5 is not a real number'],
    ['max()', 'expected a number, a function or "(" ")" at position 5'],
    ['sqrt(1, 2)', 'sqrt takes 1 argument(s), got 2'],
    ['round(1, 0.5)', 'digits must be a whole number from 0 to 15'],
    ['10 ^ 400', 'the result is too large to represent'],
    ['ln(0)', 'ln is defined for positive numbers only, got 0'],
    ['', 'expected a number, a function or "(" at the end of the expression'],
  ])('%j fails with "%s"', (expression, message) => {
    expect(() => evaluateArithmetic(expression)).toThrow(ArithmeticError);
    expect(() => evaluateArithmetic(expression)).toThrow(message);
  });

  it('refuses deep nesting instead of overflowing the stack', () => {
    expect(() => evaluateArithmetic(`${'('.repeat(500)}1${')'.repeat(500)}`)).toThrow(/nested more than 100 levels/);
    expect(() => evaluateArithmetic(`${'-'.repeat(500)}1`)).toThrow(/nested more than 100 levels/);
  });

  it('never runs JavaScript', () => {
    for (const attack of ['constructor.constructor("return process")()', 'this', 'process.exit(1)', '[1][0]']) {
      expect(() => evaluateArithmetic(attack)).toThrow(ArithmeticError);
    }
  });
});

describe('calculator tool', () => {
  it('returns the expression and its result without floating-point noise', async () => {
    const args = calculator.parameters.parse({ expression: '0.1 + 0.2' });
    expect(await calculator.execute(args, ctx)).toEqual({ expression: '0.1 + 0.2', result: 0.3 });
  });

  it('rejects an empty or oversized expression by its schema', () => {
    expect(calculator.parameters.safeParse({ expression: '' }).success).toBe(false);
    expect(calculator.parameters.safeParse({ expression: '1+'.repeat(600) + '1' }).success).toBe(false);
  });
});
