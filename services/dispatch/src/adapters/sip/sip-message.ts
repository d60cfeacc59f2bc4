/** A SIP message (RFC 3261): start line, headers (names in lower case, compact forms expanded), body. */
export interface SipMessage {
  readonly kind: 'request' | 'response';
  readonly method: string;
  readonly uri: string;
  readonly status: number;
  readonly reason: string;
  readonly headers: ReadonlyMap<string, string[]>;
  readonly body: string;
}

const COMPACT: Record<string, string> = { v: 'via', f: 'from', t: 'to', i: 'call-id', m: 'contact', l: 'content-length', c: 'content-type', k: 'supported' };

export function parseSip(data: Buffer | string): SipMessage | null {
  const text = data.toString();
  const split = text.indexOf('\r\n\r\n');
  const head = (split >= 0 ? text.slice(0, split) : text).replace(/\r\n[ \t]+/g, ' ').split('\r\n');
  const body = split >= 0 ? text.slice(split + 4) : '';
  const start = head.shift() ?? '';
  const headers = new Map<string, string[]>();
  for (const line of head) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const raw = line.slice(0, colon).trim().toLowerCase();
    const name = COMPACT[raw] ?? raw;
    // Via and Contact may list several values on one line.
    const values = name === 'via' ? line.slice(colon + 1).split(/,(?=\s*SIP\/)/i) : [line.slice(colon + 1)];
    headers.set(name, [...(headers.get(name) ?? []), ...values.map((v) => v.trim())]);
  }
  const response = /^SIP\/2\.0 (\d{3}) ?(.*)$/.exec(start);
  if (response) return { kind: 'response', method: '', uri: '', status: Number(response[1]), reason: response[2], headers, body };
  const request = /^([A-Z]+) (\S+) SIP\/2\.0$/.exec(start);
  if (request) return { kind: 'request', method: request[1], uri: request[2], status: 0, reason: '', headers, body };
  return null;
}

export const header = (m: SipMessage, name: string): string | undefined => m.headers.get(name)?.[0];

/** CSeq "<number> <method>". */
export function cseqOf(m: SipMessage): { seq: number; method: string } {
  const [seq, method] = (header(m, 'cseq') ?? '0 NONE').split(/\s+/);
  return { seq: Number(seq), method };
}

/** A parameter of a header value (`;tag=`, `;branch=`). */
export const param = (value: string | undefined, name: string): string | undefined => new RegExp(`;\\s*${name}=([^;>\\s,]+)`, 'i').exec(value ?? '')?.[1];

/** The URI inside a name-addr (`"Ann" <sip:ann@host>;tag=x` gives sip:ann@host). */
export const uriOf = (value: string | undefined): string | undefined => /<([^>]+)>/.exec(value ?? '')?.[1] ?? value?.split(';')[0]?.trim();

export function buildRequest(method: string, uri: string, headers: [string, string][], body = ''): string {
  return [`${method} ${uri} SIP/2.0`, ...headers.map(([k, v]) => `${k}: ${v}`), `Content-Length: ${Buffer.byteLength(body)}`, '', body].join('\r\n');
}

export function buildResponse(request: SipMessage, status: number, reason: string, extra: [string, string][] = []): string {
  const copy: [string, string][] = [];
  for (const v of request.headers.get('via') ?? []) copy.push(['Via', v]);
  for (const name of ['from', 'to', 'call-id', 'cseq']) {
    const v = header(request, name);
    if (v) copy.push([name === 'call-id' ? 'Call-ID' : name === 'cseq' ? 'CSeq' : name[0].toUpperCase() + name.slice(1), v]);
  }
  return [`SIP/2.0 ${status} ${reason}`, ...[...copy, ...extra].map(([k, v]) => `${k}: ${v}`), 'Content-Length: 0', '', ''].join('\r\n');
}
