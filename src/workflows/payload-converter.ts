/**
 * The payload converter of Vigil's workflows, and of every process that uses `vigilDataConverter`: Temporal's
 * default, except that a payload it cannot read at all (JSON cut short, an encoding it does not know, another
 * SDK's protobuf, no encoding) becomes an `UndecodablePayload` value instead of an error.
 *
 * Why: Temporal records a signal before the workflow sees it, and the SDK decodes a signal's arguments before any
 * handler runs. With the default converter, a `message` signal that no converter wrote (any client may send one)
 * failed the conversation's workflow task, and every retry of it, for good: the conversation took no message,
 * decision or cancel again until an operator reset it. Now the value reaches the handler, whose schema refuses it
 * like any malformed message, and the conversation drops it and goes on. Updates, whose arguments the SDK already
 * refused when it could not decode them, are now refused by their validators instead. A payload Vigil wrote is
 * decoded exactly as before, so every recorded history replays unchanged. The same holds for a claim of the
 * content store that cannot be resolved (see UNRESOLVED_CLAIM_ENCODINGS), except in an activity's payload.
 *
 * Loaded in the workflow sandbox (the bundler's `payloadConverterPath`, see src/workers/workflow-bundle.ts) and
 * by Node for clients: sandbox-safe, no I/O.
 */
import {
  DefaultPayloadConverter,
  type Payload,
  type PayloadConverter,
  type SerializationContext,
} from '@temporalio/common';

/** What an unreadable payload becomes: an object no schema of the protocol accepts. */
export interface UndecodablePayload {
  undecodablePayload: string;
}

export function isUndecodablePayload(value: unknown): value is UndecodablePayload {
  return typeof (value as Partial<UndecodablePayload> | null)?.undecodablePayload === 'string';
}

const ENCODING_KEY = 'encoding';

/**
 * What the content store's storage driver (src/store/payload-storage.ts) gives for a claim it cannot resolve, in
 * place of failing the workflow task that holds it: a payload with no data whose encoding says what was wrong.
 * Any client can send a signal or update holding a claim, and the SDK resolves claims before any workflow code
 * runs, so a claim that threw there failed that task and every retry of it, for good. Decoded like any unreadable
 * payload, it is dropped or refused by the protocol's schemas instead. Written into no history: the driver makes
 * them again each time the claim is read, on replay too.
 */
export const UNRESOLVED_CLAIM_ENCODINGS = {
  /** A claim naming a storage driver other than Vigil's. */
  unknownDriver: 'binary/vigil-claim-of-an-unknown-storage-driver',
  /** A claim of Vigil's driver without a `ref`, or whose `ref` is not a content reference. */
  noContentRef: 'binary/vigil-claim-without-a-content-reference',
  /** A well-formed reference the store does not have: a forged claim, or content the store lost. */
  missingContent: 'binary/vigil-claim-of-content-not-in-the-store',
  /** Content the store has but the driver never wrote (it is not an encoded payload): a forged claim. */
  notAPayload: 'binary/vigil-claim-of-content-that-is-no-payload',
} as const;

const UNRESOLVED_CLAIMS: ReadonlySet<string> = new Set(Object.values(UNRESOLVED_CLAIM_ENCODINGS));

class TolerantPayloadConverter implements PayloadConverter {
  private readonly inner = new DefaultPayloadConverter();

  toPayload<T>(value: T): Payload {
    return this.inner.toPayload(value);
  }

  fromPayload<T>(payload: Payload, context?: SerializationContext): T {
    try {
      return this.inner.fromPayload<T>(payload);
    } catch {
      // The payload's encoding, never its data: this value can reach a log line or a refusal's message.
      const encoding = payload.metadata?.[ENCODING_KEY];
      const named = encoding ? String.fromCharCode(...encoding.slice(0, 64)) : 'none';
      // An activity's result (or input, or failure details) is written by a Vigil worker, never by a client: a claim
      // there that cannot be resolved is content the store lost or cannot give. Workflow code must not go on with a
      // value it cannot read, so this throws: in the workflow it fails the workflow task, which retries until the
      // store has the content again, exactly as when the driver itself threw. No recorded history changes: these
      // encodings are new, and before them every such claim failed its workflow task in the SDK.
      if (context?.type === 'activity' && UNRESOLVED_CLAIMS.has(named))
        throw new Error(`an activity's payload could not be read from the content store: ${named}`);
      const undecodable: UndecodablePayload = {
        undecodablePayload: `a payload in encoding ${JSON.stringify(named)} that could not be decoded`,
      };
      return undecodable as T;
    }
  }
}

export const payloadConverter: PayloadConverter = new TolerantPayloadConverter();
