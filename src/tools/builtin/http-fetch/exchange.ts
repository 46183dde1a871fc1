/** One HTTP request of the http_fetch tool, to an address checked beforehand, and a bounded read of its body. */
import http from 'node:http';
import https from 'node:https';
import { pinnedLookup, type ResolvedAddress } from './address-check';

export function sendRequest(
  url: URL,
  pinned: ResolvedAddress,
  options: { method: 'GET' | 'HEAD'; signal: AbortSignal },
): Promise<http.IncomingMessage> {
  const client = url.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const request = client.request(
      url,
      {
        method: options.method,
        // The host name stays in the URL, so the Host header and TLS (SNI, certificate check) use it; only the
        // connection goes to the pinned address.
        lookup: pinnedLookup(pinned),
        // A fresh connection each time: a pooled socket would carry no record of which address was checked.
        agent: false,
        signal: options.signal,
        headers: {
          'user-agent': 'Vigil-http_fetch/1',
          accept: '*/*',
          // Uncompressed, so the size limit counts what is read and nothing expands behind it.
          'accept-encoding': 'identity',
        },
      },
      resolve,
    );
    request.on('error', reject);
    request.end();
  });
}

/** Reads at most `maxBytes` of a body, then drops the connection instead of reading the rest. */
export async function readBounded(
  response: http.IncomingMessage,
  maxBytes: number,
): Promise<{ bytes: Buffer; truncated: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  let truncated = false;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    const room = maxBytes - size;
    if (chunk.length > room) {
      chunks.push(chunk.subarray(0, room));
      size += room;
      truncated = true;
      break; // Leaving the loop destroys the response and its socket.
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { bytes: Buffer.concat(chunks, size), truncated };
}
