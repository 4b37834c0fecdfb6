/**
 * Who is calling: the address the limits key on and every request log line names
 * (docs/auth.md "Behind a reverse proxy"). The socket's peer, unless that peer is one of the
 * proxies `countersign.auth.trustProxy` lists; then `X-Forwarded-For` is read from the right,
 * each hop added by a trusted proxy skipped, and the first untrusted hop is the client. A hop
 * that is not an IP address ends the walk at the last proxy that is trusted (it cannot be
 * believed, and neither can anything left of it). Without trustProxy the header is ignored:
 * anyone can send it.
 */
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { normalizeAddress, type IpRanges } from '../util/ip-ranges.js';

export type ClientAddress = (req: IncomingMessage) => string;

/** The longest user agent a log line carries. */
const MAX_USER_AGENT = 256;

export function clientAddressResolver(trusted: IpRanges | undefined): ClientAddress {
  return (req) => {
    let address = normalizeAddress(req.socket.remoteAddress ?? '');
    if (trusted === undefined || trusted.size === 0 || !trusted.contains(address)) return address;
    const header = req.headers['x-forwarded-for'];
    const text = Array.isArray(header) ? header.join(',') : header;
    if (text === undefined || text === '') return address;
    const hops = text.split(',');
    for (let i = hops.length - 1; i >= 0; i--) {
      const hop = normalizeAddress(hops[i]!);
      if (isIP(hop) === 0) return address;
      address = hop;
      if (!trusted.contains(hop)) return hop;
    }
    return address;
  };
}

/** The User-Agent for a log line: cut short, control characters replaced. */
export function userAgentOf(req: IncomingMessage): string | undefined {
  const ua = req.headers['user-agent'];
  if (ua === undefined || ua === '') return undefined;
  // eslint-disable-next-line no-control-regex
  return ua.slice(0, MAX_USER_AGENT).replace(/[\u0000-\u001f\u007f]/g, '?');
}
