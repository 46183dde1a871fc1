/** The HTTP headers the gateway reads or sets beyond the standard ones. */

/** Request: the message's id, when the body has none (`POST .../messages`). */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Request (chat completions): the message's id. Response: the id of the message posted, given or generated. */
export const MESSAGE_ID_HEADER = 'x-vigil-message-id';
/** Request (chat completions): the conversation, instead of the `user` field. */
export const CONVERSATION_ID_HEADER = 'x-vigil-conversation-id';
/** Response: the id under which the request's log lines are written, named in 5xx messages. */
export const REQUEST_ID_HEADER = 'x-request-id';
