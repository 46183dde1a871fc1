/**
 * Reads a provider's successful HTTP response into a CompletionAssembly: a server-sent event stream (what a
 * `stream: true` request asks for), or one JSON completion (what `stream: false` asks for, and what a provider
 * that cannot stream answers either way). SSE is parsed by eventsource-parser, which takes comments (keep-alives),
 * CRLF line ends and events split across network reads as the SSE specification says.
 */
import { createParser, type EventSourceMessage } from 'eventsource-parser';
import { type CompletionAssembly, ProviderResponseUnreadable } from './completion-assembly';

/** The provider reported an error in a response that began as a success (mid-stream, or a 200 with an error). */
export class ProviderReportedError extends Error {
  override name = 'ProviderReportedError';
  constructor(
    message: string,
    /** The error's own code, when it is an HTTP status (OpenRouter sends those). */
    readonly status: number | undefined,
  ) {
    super(message);
  }
}

/**
 * The connection broke while the answer was being read (undici's "terminated"): the provider, or a proxy before
 * it, went away mid-answer. `cause` is what the read threw. A retry usually gets a whole answer.
 */
export class ProviderConnectionLost extends Error {
  override name = 'ProviderConnectionLost';
  constructor(cause: unknown) {
    super('the connection closed before the answer was complete', { cause });
  }
}

export interface ReadOptions {
  /** Each piece of reply text, as it arrives. */
  onText?: (text: string) => void;
  /** Any bytes arrived (keep-alive comments included): the provider is not silent. */
  onBytes?: () => void;
}

/** How much of an unreadable answer its error quotes. */
const QUOTE_CHARS = 120;

export async function readProviderResponse(
  response: Response,
  assembly: CompletionAssembly,
  options: ReadOptions = {},
): Promise<void> {
  const type = response.headers.get('content-type') ?? '';
  if (type.includes('text/event-stream')) return readEventStream(response, assembly, options);
  const text = await response.text().catch((error: unknown) => {
    throw new ProviderConnectionLost(error);
  });
  options.onBytes?.();
  if (!type.includes('json') && type !== '') {
    throw new ProviderResponseUnreadable(`answered ${type.split(';')[0]}, not a chat completion: ${quote(text)}`);
  }
  takeData(text, assembly, options);
}

async function readEventStream(response: Response, assembly: CompletionAssembly, options: ReadOptions): Promise<void> {
  if (!response.body) throw new ProviderResponseUnreadable('answered an event stream without a body');
  const events: EventSourceMessage[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event) });
  const decoder = new TextDecoder();
  let done = false;
  for await (const bytes of connectionLostOnError(response.body)) {
    options.onBytes?.();
    parser.feed(decoder.decode(bytes, { stream: true }));
    for (const event of events.splice(0)) {
      // Anything after [DONE] is not part of the answer.
      if (done) continue;
      if (event.data === '[DONE]') done = true;
      else if (event.event === 'error') throw reportedError(parseJson(event.data));
      else takeData(event.data, assembly, options);
    }
  }
}

/** The body's bytes; a failure to read them (not what is made of them) is a ProviderConnectionLost. */
async function* connectionLostOnError(body: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    for (;;) {
      const read = await reader.read().catch((error: unknown) => {
        throw new ProviderConnectionLost(error);
      });
      if (read.done) return;
      yield read.value;
    }
  } finally {
    // The reader of a stream read to its end, or given up on (an error in what was read): release the connection.
    await reader.cancel().catch(() => undefined);
  }
}

function takeData(data: string, assembly: CompletionAssembly, options: ReadOptions): void {
  const value = parseJson(data);
  if (isErrorBody(value)) throw reportedError(value);
  for (const text of assembly.add(value)) options.onText?.(text);
}

function parseJson(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new ProviderResponseUnreadable(`sent data that is not JSON: ${quote(data)}`);
  }
}

function isErrorBody(value: unknown): value is { error: unknown } {
  return typeof value === 'object' && value !== null && 'error' in value && (value as { error: unknown }).error != null;
}

/** `{ error: { message, code } }` (OpenAI's shape, sent mid-stream by OpenRouter), or a bare message. */
function reportedError(value: unknown): ProviderReportedError {
  const error = isErrorBody(value) ? value.error : value;
  const { message, code } = (typeof error === 'object' && error !== null ? error : { message: error }) as {
    message?: unknown;
    code?: unknown;
  };
  const text = typeof message === 'string' && message !== '' ? message : quote(JSON.stringify(error) ?? '');
  const status = typeof code === 'number' && code >= 400 && code < 600 ? code : undefined;
  return new ProviderReportedError(text, status);
}

function quote(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return JSON.stringify(flat.length > QUOTE_CHARS ? `${flat.slice(0, QUOTE_CHARS)}…` : flat);
}
