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
 * decoded exactly as before, so every recorded history replays unchanged.
 *
 * Loaded in the workflow sandbox (the bundler's `payloadConverterPath`, see src/workers/workflow-bundle.ts) and
 * by Node for clients: sandbox-safe, no I/O.
 */
import { DefaultPayloadConverter, type Payload, type PayloadConverter } from '@temporalio/common';

/** What an unreadable payload becomes: an object no schema of the protocol accepts. */
export interface UndecodablePayload {
  undecodablePayload: string;
}

const ENCODING_KEY = 'encoding';

class TolerantPayloadConverter implements PayloadConverter {
  private readonly inner = new DefaultPayloadConverter();

  toPayload<T>(value: T): Payload {
    return this.inner.toPayload(value);
  }

  fromPayload<T>(payload: Payload): T {
    try {
      return this.inner.fromPayload<T>(payload);
    } catch {
      // The payload's encoding, never its data: this value can reach a log line or a refusal's message.
      const encoding = payload.metadata?.[ENCODING_KEY];
      const named = encoding ? String.fromCharCode(...encoding.slice(0, 64)) : 'none';
      const undecodable: UndecodablePayload = {
        undecodablePayload: `a payload in encoding ${JSON.stringify(named)} that could not be decoded`,
      };
      return undecodable as T;
    }
  }
}

export const payloadConverter: PayloadConverter = new TolerantPayloadConverter();
