import { z } from 'zod';
import { defineAgent } from '../../src/agents/define-agent';
import { calculator, defineTool } from '../../src/tools';

/** Queries the test asked about, in call order: the observable side effect of the `lookup` tool. */
export const lookups: string[] = [];

/** A tool that needs a person's approval before it runs. */
export const lookup = defineTool({
  name: 'lookup',
  description: 'Looks something up. Needs approval.',
  parameters: z.object({ q: z.string() }),
  approval: 'ask',
  execute: ({ q }) => {
    lookups.push(q);
    return `found ${q}`;
  },
});

/** The agent of the replay captures: a calculator that runs at once and a lookup that asks first. */
export const replayAgent = defineAgent({
  name: 'replayed',
  instructions: 'Be brief.',
  model: 'test-model',
  tools: [calculator, lookup],
});
