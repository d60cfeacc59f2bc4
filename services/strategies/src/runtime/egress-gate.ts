import { chmod, chown, rm } from 'node:fs/promises';
import { lookup as dnsLookup } from 'node:dns/promises';
import { connect as netConnect, createServer, type Server, type Socket } from 'node:net';
import { isPublicAddress } from './address-policy';

/**
 * The only way out of a strategy worker: a Unix socket per worker, speaking
 * one line (`CONNECT <host> <port>\n`, answered `OK\n` or `ERR <why>\n`)
 * before it becomes a plain byte tunnel. The worker's network namespace has
 * no interface but loopback, so a strategy that bypassed its Python-level
 * patches would still find nothing else to connect to.
 *
 * Every tunnel is decided here, per connection (so also after an HTTP
 * redirect): the host must be on the allowlist of the campaign whose call is
 * running on that worker, and every address it resolves to must be public
 * (see address-policy.ts). The connection goes to the address that was
 * checked, so a second, different DNS answer cannot slip in.
 */

export interface EgressOptions {
  /** DNS resolution (tests stand in for a resolver). */
  lookup?: (host: string) => Promise<{ address: string; family: number }[]>;
  /** Opens the TCP connection to a checked address (tests point it at a local server). */
  connect?: (address: string, port: number) => Socket;
  connectTimeoutMs?: number;
  /** Tunnels open at once per worker. */
  maxTunnels?: number;
}

export type EgressPolicy = () => { readonly hosts: ReadonlySet<string>; readonly campaignId: string } | null;

const defaultLookup = (host: string) => dnsLookup(host, { all: true, verbatim: true });
const defaultConnect = (address: string, port: number) => netConnect({ host: address, port });

export class EgressGate {
  private readonly sockets = new Set<Socket>();

  private constructor(private readonly server: Server, private readonly path: string) {}

  /** Listens on `path`, connectable only by `owner` (the worker's user; default: this process's). */
  static async listen(path: string, policy: EgressPolicy, options: EgressOptions = {}, owner?: { uid: number; gid: number }): Promise<EgressGate> {
    const lookup = options.lookup ?? defaultLookup;
    const connect = options.connect ?? defaultConnect;
    const maxTunnels = options.maxTunnels ?? 16;
    const connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
    const server = createServer({ allowHalfOpen: false }, (client) => {
      if (gate.sockets.size >= maxTunnels * 2) {
        client.end('ERR too many connections at once\n');
        return;
      }
      gate.track(client);
      void gate.serve(client, policy, lookup, connect, connectTimeoutMs);
    });
    const gate = new EgressGate(server, path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
    try {
      // Only the worker may connect: it may run as another, unprivileged user.
      if (owner) await chown(path, owner.uid, owner.gid);
      await chmod(path, 0o600);
    } catch (error) {
      await gate.close().catch(() => undefined);
      throw error;
    }
    return gate;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    await rm(this.path, { force: true });
  }

  private track(s: Socket): void {
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
    s.on('error', () => undefined);
  }

  private async serve(client: Socket, policy: EgressPolicy, lookup: NonNullable<EgressOptions['lookup']>, connect: NonNullable<EgressOptions['connect']>, connectTimeoutMs: number): Promise<void> {
    const refuse = (why: string) => {
      if (!client.destroyed) client.end(`ERR ${why.replace(/\s+/g, ' ')}\n`);
    };
    const line = await readLine(client, 512, 5000).catch(() => null);
    if (line === null) return refuse('expected "CONNECT <host> <port>"');
    const match = /^CONNECT ([A-Za-z0-9.-]{1,253}) (\d{1,5})$/.exec(line);
    if (!match) return refuse('expected "CONNECT <host> <port>" with a host name');
    const host = match[1].toLowerCase().replace(/\.$/, '');
    const port = Number(match[2]);
    if (port < 1 || port > 65535) return refuse(`invalid port ${port}`);
    const current = policy();
    if (!current) return refuse('no strategy call is running');
    if (!current.hosts.has(host)) return refuse(`${host} is not on the campaign's egress allowlist`);
    let addresses: { address: string; family: number }[];
    try {
      addresses = await lookup(host);
    } catch (error) {
      return refuse(`cannot resolve ${host}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    if (!addresses.length) return refuse(`cannot resolve ${host}`);
    const blocked = addresses.find((a) => !isPublicAddress(a.address));
    if (blocked) return refuse(`${host} resolves to ${blocked.address}, which is not a public address`);
    if (client.destroyed) return;
    const upstream = connect(addresses[0].address, port);
    this.track(upstream);
    const timer = setTimeout(() => upstream.destroy(new Error('connect timeout')), connectTimeoutMs);
    upstream.once('connect', () => {
      clearTimeout(timer);
      if (client.destroyed) return upstream.destroy();
      client.write('OK\n');
      client.pipe(upstream);
      upstream.pipe(client);
    });
    upstream.once('error', (error) => {
      clearTimeout(timer);
      refuse(`cannot connect to ${host}:${port}: ${(error as NodeJS.ErrnoException).code ?? error.message}`);
    });
    upstream.once('close', () => client.destroy());
    client.once('close', () => upstream.destroy());
  }
}

/** Reads one line without consuming anything after it (the tunnel's first bytes may follow). */
function readLine(socket: Socket, max: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    const onData = (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const nl = buffered.indexOf(0x0a);
      if (nl === -1) {
        if (buffered.length > max) done(new Error('line too long'));
        return;
      }
      const rest = buffered.subarray(nl + 1);
      if (rest.length) socket.unshift(rest);
      done(null, buffered.subarray(0, nl).toString('latin1').replace(/\r$/, ''));
    };
    const onEnd = () => done(new Error('closed'));
    const done = (error: Error | null, line?: string) => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.pause();
      if (error) reject(error);
      else resolve(line!);
    };
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  });
}
