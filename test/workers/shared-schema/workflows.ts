/**
 * Workflows for shared-schema.test.ts: each run reports what it found in the thread's schema cache, which only a
 * preloaded cache lets one run see from another.
 */
import { InboundMessage } from '../../../src/conversation/protocol';
import { sharedSchema } from '../../../src/conversation/shared-schema';

export interface Probe {
  /** How many runs of this workflow on the worker thread took the probe from the cache before this one. */
  runsBefore: number;
  /** Whether this run's protocol module holds the InboundMessage schema that the first run's built. */
  sameSchemaAsFirstRun: boolean;
  /** Whether a shared (never frozen) schema still parses: zod writes into a schema as it checks. */
  valid: boolean;
  invalid: boolean;
}

export async function schemaProbe(): Promise<Probe> {
  const probe = sharedSchema('test.probe', () => ({ runs: 0, firstInboundMessage: InboundMessage }));
  const runsBefore = probe.runs++;
  return {
    runsBefore,
    sameSchemaAsFirstRun: probe.firstInboundMessage === InboundMessage,
    valid: InboundMessage.safeParse({ id: 'm-1', content: 'hello' }).success,
    invalid: InboundMessage.safeParse({ id: 'has space', content: 'hello' }).success,
  };
}
