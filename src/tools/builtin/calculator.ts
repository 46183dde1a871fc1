/** The `calculator` tool: arithmetic a model would otherwise guess at. */
import { z } from 'zod';
import { defineTool } from '../define-tool';
import { evaluateArithmetic } from './arithmetic';

export const calculator = defineTool({
  name: 'calculator',
  description:
    'Evaluates an arithmetic expression exactly. Supports + - * / % ^ (power), parentheses, unary minus, ' +
    'decimals and 1e3 notation, the constants pi and e, and the functions sqrt, abs, round(x, digits?), ' +
    'floor, ceil, min, max, ln and log10. Example: "round((17.5 - 3) * 1.2^2, 2)".',
  parameters: z.object({
    expression: z.string().min(1).max(1_000).describe('The expression to evaluate, e.g. "2 * (3 + 4)"'),
  }),
  execute: ({ expression }) => {
    const value = evaluateArithmetic(expression);
    // 15 significant digits hide binary floating-point noise (0.1 + 0.2 gives 0.3, not 0.30000000000000004).
    return { expression, result: Number(value.toPrecision(15)) };
  },
});
