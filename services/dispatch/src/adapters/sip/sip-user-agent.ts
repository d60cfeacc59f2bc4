import { createHash, randomBytes } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { Logger } from '@nestjs/common';
import { buildRequest, buildResponse, cseqOf, header, param, parseSip, uriOf, type SipMessage } from './sip-message';

export interface SipCallOptions {
  readonly host: string;
  readonly port: number;
  /** The request URI's user part (the dialled number). */
  readonly to: string;
  /** Our address of record, e.g. sip:herald@example.com. */
  readonly from: string;
  readonly username?: string;
  readonly password?: string;
  readonly ringSeconds: number;
}

export type CallOutcome =
  | { readonly state: 'answered' }
  | { readonly state: 'failed'; readonly status: number; readonly reason: string };

/** What happens to an answered call afterwards. */
export interface CallEvents {
  /** The other side hung up (BYE). */
  onRemoteHangup(): void;
}

interface Dialog {
  readonly callId: string;
  readonly localTag: string;
  remoteTag: string;
  remoteTarget: string;
  cseq: number;
  events: CallEvents | null;
  ended: boolean;
}

const T1 = 500;
const rand = (n = 8) => randomBytes(n).toString('hex');
const md5 = (s: string) => createHash('md5').update(s).digest('hex');

/**
 * A SIP user agent client over UDP (RFC 3261), enough to place calls:
 * INVITE with an SDP offer and retransmissions (timer A), provisional
 * responses, digest authentication (401/407), ACK for 2xx and for
 * failures, CANCEL when the callee does not answer in time, BYE in both
 * directions. Media (RTP) is not handled here.
 */
export class SipUserAgent {
  private socket: Socket | null = null;
  private readonly waiting = new Map<string, (m: SipMessage) => void>();
  private readonly dialogs = new Map<string, Dialog>();
  private readonly logger = new Logger('SipUserAgent');
  private localPort = 0;

  constructor(private readonly bindPort = 0) {}

  private async ensureSocket(): Promise<Socket> {
    if (this.socket) return this.socket;
    const socket = createSocket('udp4');
    socket.on('message', (data, rinfo) => this.onMessage(data, rinfo.address, rinfo.port));
    socket.on('error', (e) => this.logger.warn(`SIP socket: ${e.message}`));
    await new Promise<void>((resolve) => socket.bind(this.bindPort, resolve));
    this.localPort = socket.address().port;
    this.socket = socket;
    return socket;
  }

  /** Places a call; resolves when it is answered or has failed (busy, no answer: CANCEL after ringSeconds, errors). */
  async call(o: SipCallOptions, events: CallEvents): Promise<{ outcome: CallOutcome; callId: string }> {
    const socket = await this.ensureSocket();
    const local = await localAddressFor(o.host, o.port);
    const callId = `${rand(12)}@herald`;
    const dialog: Dialog = { callId, localTag: rand(6), remoteTag: '', remoteTarget: `sip:${o.to}@${o.host}:${o.port}`, cseq: 1, events: null, ended: false };
    const requestUri = dialog.remoteTarget;
    const fromAor = o.from.startsWith('sip:') ? o.from : `sip:${o.from}`;
    const sdp = [
      'v=0', `o=herald ${Date.now()} 1 IN IP4 ${local}`, 's=Herald', `c=IN IP4 ${local}`, 't=0 0',
      `m=audio ${this.localPort + 2} RTP/AVP 0 8 101`, 'a=rtpmap:0 PCMU/8000', 'a=rtpmap:8 PCMA/8000', 'a=rtpmap:101 telephone-event/8000', 'a=sendrecv', '',
    ].join('\r\n');
    let authorization: [string, string] | null = null;
    for (let attempt = 0; attempt < 2; attempt++) {
      const branch = `z9hG4bK${rand()}`;
      const invite = buildRequest('INVITE', requestUri, [
        ['Via', `SIP/2.0/UDP ${local}:${this.localPort};branch=${branch};rport`], ['Max-Forwards', '70'],
        ['From', `<${fromAor}>;tag=${dialog.localTag}`], ['To', `<sip:${o.to}@${o.host}>`], ['Call-ID', callId], ['CSeq', `${dialog.cseq} INVITE`],
        ['Contact', `<sip:herald@${local}:${this.localPort}>`], ['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS'], ['User-Agent', 'Herald'],
        ...(authorization ? [authorization] : []), ['Content-Type', 'application/sdp'],
      ], sdp);
      const final = await this.inviteTransaction(socket, o, invite, branch, { local, requestUri, callId, dialog, fromAor });
      if ((final.status === 401 || final.status === 407) && o.username && !authorization) {
        const challenge = header(final, final.status === 401 ? 'www-authenticate' : 'proxy-authenticate') ?? '';
        authorization = [final.status === 401 ? 'Authorization' : 'Proxy-Authorization', digest(challenge, o.username, o.password ?? '', 'INVITE', requestUri)];
        dialog.cseq++;
        continue;
      }
      if (final.status >= 200 && final.status < 300) {
        dialog.remoteTag = param(header(final, 'to'), 'tag') ?? '';
        dialog.remoteTarget = uriOf(header(final, 'contact')) ?? dialog.remoteTarget;
        dialog.events = events;
        this.dialogs.set(callId, dialog);
        socket.send(buildRequest('ACK', dialog.remoteTarget, [
          ['Via', `SIP/2.0/UDP ${local}:${this.localPort};branch=z9hG4bK${rand()};rport`], ['Max-Forwards', '70'],
          ['From', `<${fromAor}>;tag=${dialog.localTag}`], ['To', `${header(final, 'to')}`], ['Call-ID', callId], ['CSeq', `${dialog.cseq} ACK`],
        ]), o.port, o.host);
        return { outcome: { state: 'answered' }, callId };
      }
      return { outcome: { state: 'failed', status: final.status, reason: final.reason }, callId };
    }
    return { outcome: { state: 'failed', status: 401, reason: 'authentication failed' }, callId };
  }

  /** Hangs up an answered call (BYE, retransmitted until answered or 32 s). */
  async hangUp(callId: string, o: Pick<SipCallOptions, 'host' | 'port' | 'from'>): Promise<void> {
    const dialog = this.dialogs.get(callId);
    if (!dialog || dialog.ended) return;
    dialog.ended = true;
    const socket = await this.ensureSocket();
    const local = await localAddressFor(o.host, o.port);
    const branch = `z9hG4bK${rand()}`;
    dialog.cseq++;
    const fromAor = o.from.startsWith('sip:') ? o.from : `sip:${o.from}`;
    const bye = buildRequest('BYE', dialog.remoteTarget, [
      ['Via', `SIP/2.0/UDP ${local}:${this.localPort};branch=${branch};rport`], ['Max-Forwards', '70'],
      ['From', `<${fromAor}>;tag=${dialog.localTag}`], ['To', `<${dialog.remoteTarget}>;tag=${dialog.remoteTag}`], ['Call-ID', callId], ['CSeq', `${dialog.cseq} BYE`],
    ]);
    await this.nonInviteTransaction(socket, bye, branch, 'BYE', o).catch(() => undefined);
    this.dialogs.delete(callId);
  }

  async close(): Promise<void> {
    const socket = this.socket;
    this.socket = null;
    if (socket) await new Promise<void>((resolve) => socket.close(() => resolve()));
  }

  private inviteTransaction(socket: Socket, o: SipCallOptions, invite: string, branch: string, ctx: { local: string; requestUri: string; callId: string; dialog: Dialog; fromAor: string }): Promise<SipMessage> {
    return new Promise((resolve) => {
      let provisional = false;
      let interval = T1;
      let retransmit: NodeJS.Timeout | null = null;
      const send = () => socket.send(invite, o.port, o.host);
      const schedule = () => {
        retransmit = setTimeout(() => {
          if (provisional) return;
          send();
          interval = Math.min(interval * 2, 4000);
          schedule();
        }, interval);
      };
      // No final answer in time: CANCEL (same branch), then the 487 ends the INVITE.
      const ring = setTimeout(() => {
        const cancel = buildRequest('CANCEL', ctx.requestUri, [
          ['Via', `SIP/2.0/UDP ${ctx.local}:${this.localPort};branch=${branch};rport`], ['Max-Forwards', '70'],
          ['From', `<${ctx.fromAor}>;tag=${ctx.dialog.localTag}`], ['To', `<sip:${o.to}@${o.host}>`], ['Call-ID', ctx.callId], ['CSeq', `${ctx.dialog.cseq} CANCEL`],
        ]);
        void this.nonInviteTransaction(socket, cancel, branch, 'CANCEL', o).catch(() => undefined);
        giveUp = setTimeout(() => finish({ kind: 'response', method: '', uri: '', status: 408, reason: 'Request Timeout', headers: new Map(), body: '' }), 32 * T1);
      }, o.ringSeconds * 1000);
      let giveUp: NodeJS.Timeout | null = null;
      const finish = (m: SipMessage) => {
        if (retransmit) clearTimeout(retransmit);
        clearTimeout(ring);
        if (giveUp) clearTimeout(giveUp);
        this.waiting.delete(`${branch}|INVITE`);
        resolve(m);
      };
      this.waiting.set(`${branch}|INVITE`, (m) => {
        if (m.status < 200) {
          provisional = true;
          return;
        }
        if (m.status >= 300) {
          // The ACK of a failure belongs to the INVITE transaction: same branch, the response's To (with its tag).
          socket.send(buildRequest('ACK', ctx.requestUri, [
            ['Via', `SIP/2.0/UDP ${ctx.local}:${this.localPort};branch=${branch};rport`], ['Max-Forwards', '70'],
            ['From', `<${ctx.fromAor}>;tag=${ctx.dialog.localTag}`], ['To', header(m, 'to') ?? ''], ['Call-ID', ctx.callId], ['CSeq', `${ctx.dialog.cseq} ACK`],
          ]), o.port, o.host);
        }
        finish(m);
      });
      send();
      schedule();
    });
  }

  private nonInviteTransaction(socket: Socket, request: string, branch: string, method: string, o: { host: string; port: number }): Promise<SipMessage> {
    return new Promise((resolve, reject) => {
      let interval = T1;
      let timer: NodeJS.Timeout;
      const deadline = setTimeout(() => {
        clearTimeout(timer);
        this.waiting.delete(`${branch}|${method}`);
        reject(new Error(`${method}: no answer`));
      }, 64 * T1);
      const send = () => {
        socket.send(request, o.port, o.host);
        timer = setTimeout(send, interval);
        interval = Math.min(interval * 2, 4000);
      };
      this.waiting.set(`${branch}|${method}`, (m) => {
        if (m.status < 200) return;
        clearTimeout(timer);
        clearTimeout(deadline);
        this.waiting.delete(`${branch}|${method}`);
        resolve(m);
      });
      send();
    });
  }

  private onMessage(data: Buffer, address: string, port: number): void {
    const m = parseSip(data);
    if (!m) return;
    if (m.kind === 'response') {
      const branch = param(header(m, 'via'), 'branch');
      this.waiting.get(`${branch}|${cseqOf(m).method}`)?.(m);
      return;
    }
    const dialog = this.dialogs.get(header(m, 'call-id') ?? '');
    if (m.method === 'BYE' && dialog) {
      this.socket?.send(buildResponse(m, 200, 'OK'), port, address);
      if (!dialog.ended) {
        dialog.ended = true;
        this.dialogs.delete(dialog.callId);
        dialog.events?.onRemoteHangup();
      }
      return;
    }
    if (m.method === 'OPTIONS') return void this.socket?.send(buildResponse(m, 200, 'OK', [['Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS']]), port, address);
    if (m.method !== 'ACK') this.socket?.send(buildResponse(m, dialog || m.method === 'BYE' ? 481 : 405, dialog || m.method === 'BYE' ? 'Call/Transaction Does Not Exist' : 'Method Not Allowed'), port, address);
  }
}

/** Digest authentication (RFC 2617 / 8760, MD5, qop=auth when offered). */
export function digest(challenge: string, username: string, password: string, method: string, uri: string): string {
  const get = (k: string) => new RegExp(`${k}="?([^",]+)"?`, 'i').exec(challenge)?.[1];
  const realm = get('realm') ?? '';
  const nonce = get('nonce') ?? '';
  const qop = get('qop')?.split(',').map((s) => s.trim()).includes('auth') ? 'auth' : undefined;
  const ha1 = md5(`${username}:${realm}:${password}`);
  const ha2 = md5(`${method}:${uri}`);
  const cnonce = rand(8);
  const nc = '00000001';
  const response = qop ? md5(`${ha1}:${nonce}:${nc}:${cnonce}:${qop}:${ha2}`) : md5(`${ha1}:${nonce}:${ha2}`);
  const opaque = get('opaque');
  return `Digest username="${username}", realm="${realm}", nonce="${nonce}", uri="${uri}", response="${response}", algorithm=MD5`
    + (qop ? `, qop=${qop}, nc=${nc}, cnonce="${cnonce}"` : '') + (opaque ? `, opaque="${opaque}"` : '');
}

/** The local address the OS would use to reach the host (for Via, Contact and SDP). */
async function localAddressFor(host: string, port: number): Promise<string> {
  const probe = createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => probe.connect(port, host, (e?: Error) => (e ? reject(e) : resolve())));
    return probe.address().address;
  } finally {
    probe.close();
  }
}
