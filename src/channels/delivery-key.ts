/**
 * The `idempotency-key` of a webhook delivery, which receivers deduplicate on. It must be:
 * - the same on every attempt of the same reply (it depends on the ids only);
 * - different for different replies: unambiguous, so two (agent, conversation, message) triples never share
 *   one (before, message `inv:42` in conversation `acct` and message `42` in conversation `acct:inv` both gave
 *   `assistant:acct:inv:42`);
 * - sendable as an HTTP header value whatever the ids hold (emoji, CR/LF, NUL, a lone surrogate: ids recorded
 *   before message ids were restricted to visible ASCII, or sent by a raw Temporal client).
 *
 * Format: `<agent>:<conversationId>:<messageId>`, each part percent-encoded:
 * - `%`, and every character outside visible ASCII (`!` to `~`: spaces, controls, non-ASCII), become `%XX` per
 *   byte of its UTF-8 encoding, hex in upper case (a lone surrogate, which UTF-8 cannot encode, becomes the
 *   three bytes WTF-8 gives it: `\uD800` is `%ED%A0%80`, which is never valid UTF-8, so it matches no text);
 * - in the agent and the message id, `:` too (`%3A`); the conversation id keeps its `:` (`acct:42`).
 * So the key splits at its first and its last `:` into the three parts, and each part decodes back (with
 * `decodeURIComponent` for any id that is well-formed Unicode). Every other visible ASCII character is kept, so
 * the key is unchanged from the plain `<agent>:<conversationId>:<messageId>` unless the message id holds `:`,
 * `%` or a character outside visible ASCII: receivers that deduplicated before keep working.
 *
 * Examples: (`assistant`, `acct`, `inv:42`) gives `assistant:acct:inv%3A42`; (`assistant`, `acct:inv`, `42`)
 * gives `assistant:acct:inv:42`; message id `ok 👍` gives `...:ok%20%F0%9F%91%8D`.
 *
 * A busy refusal (DeliveryInput.refusal) is a different reply to the same message, whose real reply comes later
 * when the sender posts the id again: its key is the message's key followed by `%2Fbusy` (`...:42%2Fbusy`). No
 * encoded id holds `%2F`, since `/` is kept as it is and a `%` becomes `%25`, so the refusal's key is never a
 * reply's; its message part still decodes (to `42/busy`). A duplicate id's refusal keeps the plain key on purpose:
 * it repeats a reply the receiver already has.
 */
import type { DeliveryInput } from '../conversation/activity-contract';

export function deliveryIdempotencyKey(
  input: Pick<DeliveryInput, 'agent' | 'conversationId' | 'reply' | 'refusal'>,
): string {
  return [
    encodeKeyPart(input.agent, true),
    encodeKeyPart(input.conversationId, false),
    encodeKeyPart(input.reply.messageId, true) + (input.refusal === 'busy' ? BUSY_REFUSAL_SUFFIX : ''),
  ].join(':');
}

/** `/busy` encoded: a `%2F` no encoded id can hold (see above). */
const BUSY_REFUSAL_SUFFIX = '%2Fbusy';

/** One part of the key, encoded as described above; `escapeColon` for the agent and the message id. */
export function encodeKeyPart(text: string, escapeColon: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x21 && unit <= 0x7e && unit !== 0x25 /* % */ && !(escapeColon && unit === 0x3a) /* : */) {
      out += text[i];
      continue;
    }
    let codePoint = unit;
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const low = text.charCodeAt(i + 1);
      if (low >= 0xdc00 && low <= 0xdfff) {
        codePoint = 0x10000 + ((unit - 0xd800) << 10) + (low - 0xdc00);
        i++;
      }
    }
    for (const byte of wtf8(codePoint)) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** The UTF-8 bytes of a code point; for a lone surrogate (U+D800 to U+DFFF), the same formula: WTF-8. */
function wtf8(codePoint: number): number[] {
  if (codePoint < 0x80) return [codePoint];
  if (codePoint < 0x800) return [0xc0 | (codePoint >> 6), 0x80 | (codePoint & 0x3f)];
  if (codePoint < 0x10000) {
    return [0xe0 | (codePoint >> 12), 0x80 | ((codePoint >> 6) & 0x3f), 0x80 | (codePoint & 0x3f)];
  }
  return [
    0xf0 | (codePoint >> 18),
    0x80 | ((codePoint >> 12) & 0x3f),
    0x80 | ((codePoint >> 6) & 0x3f),
    0x80 | (codePoint & 0x3f),
  ];
}
