/**
 * The address side of the http_fetch guard: a host name is resolved once, every address it resolves to is
 * checked, and the request then connects to that checked address (see `pinnedLookup`), so a DNS answer that
 * changes between the check and the connection (DNS rebinding) cannot send the request elsewhere.
 */
import { lookup } from 'node:dns/promises';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';
import { VigilError } from '../../../errors';

export interface ResolvedAddress {
  address: string;
  /** 4 or 6. */
  family: number;
}

/** Resolves a host name to all its addresses; the system resolver unless a test or app supplies another. */
export type Resolve = (hostname: string) => Promise<ResolvedAddress[]>;

export const systemResolve: Resolve = (hostname) => lookup(hostname, { all: true, verbatim: true });

/** The fetch was refused by policy (host, scheme, address or redirect); the message says which and why. */
export class FetchRefusedError extends VigilError {}

const RANGE_NAMES: Record<string, string> = {
  loopback: 'a loopback address',
  private: 'a private address',
  linkLocal: 'a link-local address',
  uniqueLocal: 'a unique-local address',
  carrierGradeNat: 'a carrier-grade NAT address',
  multicast: 'a multicast address',
  unspecified: 'an unspecified address',
  broadcast: 'a broadcast address',
};

/**
 * Why `address` is not a public address, or undefined when it is. Only global unicast counts as public: IPv4
 * outside every special-purpose range, IPv6 inside 2000::/3 and outside its special ranges. IPv4-mapped IPv6
 * (`::ffff:127.0.0.1`) is judged as the IPv4 address it carries.
 */
export function nonPublicReason(address: string): string | undefined {
  if (!ipaddr.isValid(address)) return 'not an IP address';
  const ip = ipaddr.process(address);
  const range = ip.range();
  if (range !== 'unicast') return RANGE_NAMES[range] ?? `a special-purpose (${range}) address`;
  if (ip.kind() === 'ipv6' && !ip.match(ipaddr.parseCIDR('2000::/3'))) {
    return 'outside the global unicast range 2000::/3';
  }
  return undefined;
}

/**
 * Resolves `hostname` (an IP literal resolves to itself) and returns the address to connect to.
 *
 * @throws FetchRefusedError when any resolved address is not public, unless `allowPrivateNetworks`: a name with
 *   one private address among public ones is refused as a whole rather than raced.
 */
export async function resolveCheckedAddress(
  hostname: string,
  options: { resolve: Resolve; allowPrivateNetworks: boolean },
): Promise<ResolvedAddress> {
  const family = isIP(hostname);
  const addresses = family !== 0 ? [{ address: hostname, family }] : await options.resolve(hostname);
  if (addresses.length === 0) throw new FetchRefusedError(`${hostname} did not resolve to any address`);
  if (!options.allowPrivateNetworks) {
    for (const { address } of addresses) {
      const reason = nonPublicReason(address);
      if (reason !== undefined) {
        const via = address === hostname ? '' : ` (${hostname} resolves to it)`;
        throw new FetchRefusedError(
          `refused: ${address} is ${reason}${via}; this tool only fetches from public addresses`,
        );
      }
    }
  }
  return addresses[0];
}

/** A `lookup` for http.request that answers with the already-checked address instead of asking DNS again. */
export function pinnedLookup(pinned: ResolvedAddress): LookupFunction {
  return (_hostname, options, callback) => {
    if (options.all) callback(null, [pinned]);
    else callback(null, pinned.address, pinned.family);
  };
}
