/**
 * Token arithmetic both sides share: the workflow plans the context window with it (it may not load a
 * tokenizer) and the activities count the same framing exactly. Sandbox-safe: no imports, no I/O.
 */

/**
 * What one chat message costs beyond its content: OpenAI's documented 3 tokens of framing per message
 * (`<|start|>{role}<|message|>…<|end|>`) plus 1 for the role itself.
 */
export const MESSAGE_OVERHEAD_TOKENS = 4;

/** Every reply is primed with `<|start|>assistant<|message|>`: 3 tokens per request. */
export const REPLY_PRIMING_TOKENS = 3;

/** Put before the rolling summary, in the system message after the agent's instructions. */
export const SUMMARY_PREFIX = '\n\nSummary of the earlier conversation (written by the runtime, not the user):\n';

/** The prefix's cost: its count in both OpenAI encodings (checked by a test). */
export const SUMMARY_PREFIX_TOKENS = 16;

/**
 * The documented estimate for text no tokenizer counts: one token per 4 bytes of UTF-8, rounded up. For
 * English that is OpenAI's rule of thumb of 4 characters a token; counting bytes rather than characters keeps
 * other scripts (about one token per CJK character) from being undercounted by a factor of three.
 */
export function estimateTokens(text: string): number {
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      // A surrogate pair is one 4-byte character.
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return Math.ceil(bytes / 4);
}
