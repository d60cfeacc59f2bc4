import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Where strategies may connect. Only public unicast addresses: loopback,
 * private, link-local (the cloud metadata service at 169.254.169.254),
 * carrier-grade NAT, multicast, reserved and documentation ranges are
 * refused, and so are IPv6 forms that embed an IPv4 address (IPv4-mapped is
 * unwrapped first; NAT64, 6to4 and Teredo are refused outright).
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  try {
    return ipaddr.process(address).range() === 'unicast';
  } catch {
    return false;
  }
}

export interface Allowlist {
  /** Normalised host names (lower case, no trailing dot, punycode). */
  readonly hosts: readonly string[];
  /** Entries that are not host names, with the reason. */
  readonly rejected: readonly { entry: string; reason: string }[];
}

const LOCAL_NAMES = /(^|\.)(localhost|local|internal|localdomain|home\.arpa)$/;

/**
 * A campaign's egress allowlist: host names only. IP literals in any
 * encoding (decimal 2852039166, hex 0xa9fea9fe, octal, IPv6) are refused
 * here, the WHATWG URL parser being the one that knows every encoding; the
 * egress proxy checks the addresses a name resolves to as well.
 */
export function normaliseAllowlist(entries: unknown): Allowlist {
  const hosts = new Set<string>();
  const rejected: { entry: string; reason: string }[] = [];
  for (const raw of Array.isArray(entries) ? entries : []) {
    const entry = typeof raw === 'string' ? raw.trim() : '';
    if (!entry) {
      rejected.push({ entry: String(raw), reason: 'not a host name' });
      continue;
    }
    let host: string;
    try {
      host = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(entry) ? entry : `http://${entry}`).hostname;
    } catch {
      rejected.push({ entry, reason: 'not a host name' });
      continue;
    }
    host = host.replace(/\.$/, '').toLowerCase();
    if (!host) rejected.push({ entry, reason: 'not a host name' });
    else if (isIP(host.replace(/^\[|\]$/g, ''))) rejected.push({ entry, reason: 'IP addresses are not allowed, only host names' });
    else if (LOCAL_NAMES.test(host) || !host.includes('.')) rejected.push({ entry, reason: 'local names are not allowed' });
    else hosts.add(host);
  }
  return { hosts: [...hosts].sort(), rejected };
}
