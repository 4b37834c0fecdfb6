/**
 * Lists of IP addresses and CIDR ranges (IPv4 and IPv6), as `countersign.auth.trustProxy` gives
 * them: parsed once, each entry checked, then asked whether an address lies inside. IPv4-mapped
 * IPv6 addresses (`::ffff:10.0.0.1`, what a dual-stack socket reports) count as their IPv4
 * address, so an operator's `10.0.0.0/8` means what it says on either kind of socket.
 */
import { BlockList, isIP } from 'node:net';
import { fail } from '../errors.js';

/** An address as compared: without an IPv6 zone (`%eth0`), IPv4-mapped IPv6 as IPv4, lower case. */
export function normalizeAddress(address: string): string {
  const bare = address.trim().replace(/%.*$/, '').toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(bare);
  return mapped !== null && isIP(mapped[1]!) === 4 ? mapped[1]! : bare;
}

/** Why `entry` is not an address or CIDR range, or null when it is one. */
export function ipRangeProblem(entry: string): string | null {
  const [address = '', prefix, extra] = entry.split('/');
  if (extra !== undefined) return 'has more than one "/"';
  const family = isIP(address);
  if (family === 0) return 'is not an IPv4 or IPv6 address';
  if (prefix === undefined) return null;
  const bits = /^\d{1,3}$/.test(prefix) ? Number(prefix) : NaN;
  const max = family === 4 ? 32 : 128;
  return Number.isInteger(bits) && bits <= max ? null : `has a prefix length outside 0..${max}`;
}

export class IpRanges {
  private readonly list = new BlockList();
  readonly size: number;

  /** `what` names the setting in the error a bad entry raises (CONFIG_INVALID). */
  constructor(entries: readonly string[], what: string) {
    for (const entry of entries) {
      const problem = ipRangeProblem(entry);
      if (problem !== null) fail('CONFIG_INVALID', `${what}: ${JSON.stringify(entry)} ${problem}`);
      const [text = '', prefix] = entry.split('/');
      const address = normalizeAddress(text);
      const type = isIP(address) === 4 ? 'ipv4' : 'ipv6';
      if (prefix === undefined) this.list.addAddress(address, type);
      else this.list.addSubnet(address, Number(prefix), type);
    }
    this.size = entries.length;
  }

  /** True when `address` (any spelling normalizeAddress accepts) lies in one of the ranges. */
  contains(address: string): boolean {
    const a = normalizeAddress(address);
    const family = isIP(a);
    if (family === 0) return false;
    return this.list.check(a, family === 4 ? 'ipv4' : 'ipv6');
  }
}
