import { StorageDriverClaim } from '@temporalio/common';
import { encodeReferencePayload } from '@temporalio/common/lib/internal-non-workflow';
import { createHash } from 'node:crypto';
import { CONTENT_STORE_DRIVER_NAME } from '../../../src/store';
/**
 * Part 2's inputs straight through a Temporal client: malformed `send` updates and `message` signals, some as
 * payloads no converter wrote (another SDK's encodings, JSON cut short).
 */
import fc from 'fast-check';
import { WorkflowUpdateFailedError, WorkflowUpdateStage, type WorkflowHandle } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { sendUpdate } from '../../../src/conversation/protocol';
import { type Stack } from '../stack';
import { badMessageId, nested, wrongType } from './drafts';

/** A malformed update is refused at once; one not answered by then is counted as such. */
const UPDATE_WAIT_MS = 30_000;

const utf8 = (text: string) => new TextEncoder().encode(text);

/** A claim of external storage as the SDK writes one into a payload, with claim data of the caller's choosing. */
const claim = (driverName: string, claimData: Record<string, string>) =>
  encodeReferencePayload({ driverName, claim: new StorageDriverClaim(claimData), sizeBytes: 100_000 });

interface TemporalInput {
  marker: string;
  fault: string;
  args: unknown[];
  /** Raw payloads, bytes no converter of this deployment wrote, instead of `args`. */
  payloads?: temporal.api.common.v1.IPayload[];
}

/**
 * A message as the `send` update and the `message` signal take it (InboundMessage), broken in one way: what a buggy
 * app in any language might send.
 */
export function badTemporalMessage(receiverURL: string): fc.Arbitrary<(marker: string) => TemporalInput> {
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
    // Forged claims of the content store's external storage: the SDK resolves them before any workflow code runs.
    raw('claim of an unknown storage driver', (marker) => claim('acme-s3', { bucket: 'b', key: marker })),
    raw('claim without a content reference', (marker) => claim(CONTENT_STORE_DRIVER_NAME, { path: marker })),
    raw('claim with a path for a reference', (marker) => claim(CONTENT_STORE_DRIVER_NAME, { ref: `../../${marker}` })),
    raw('claim of content not in the store', (marker) =>
      claim(CONTENT_STORE_DRIVER_NAME, {
        ref: `sha256:${createHash('sha256').update(`not stored ${marker}`).digest('hex')}`,
        note: marker,
      }),
    ),
  );
}

export type UpdateOutcome = 'refused' | 'accepted' | 'unanswered';

/** One `send` update: through the client's executeUpdate or startUpdate, or raw payloads through the service. */
export async function sendBadUpdate(
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
