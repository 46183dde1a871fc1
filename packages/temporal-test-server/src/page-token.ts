/**
 * The test server's paging tokens (history, visibility lists, schedule lists): the offset of the next page, as
 * JSON. Opaque to clients, as on a real server; a token this server did not make is refused as the real one
 * refuses it.
 */
import { invalidArgument } from './errors';

export function pageToken(offset: number): Uint8Array {
  return Buffer.from(JSON.stringify({ offset }));
}

/** The offset a token names; 0 for none. */
export function readPageToken(token: Uint8Array | null | undefined): number {
  if (!token || token.length === 0) return 0;
  try {
    const offset = Number(JSON.parse(Buffer.from(token).toString()).offset);
    if (!Number.isInteger(offset) || offset < 0) throw new Error();
    return offset;
  } catch {
    throw invalidArgument('Invalid NextPageToken.');
  }
}
