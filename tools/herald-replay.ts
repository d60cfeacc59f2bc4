/**
 * Reads Herald's whole event history (or the part after a position) from
 * the gateway's replay API and writes it as NDJSON, one event per line.
 *
 *   HERALD_API_KEY=hk_… node -r ./tools/register.js tools/herald-replay.ts --url http://127.0.0.1:3000 [--after N]
 *        [--checkpoint file] [--out file] [--category campaign|contact|audit] [--follow] [--max-retries N]
 *
 * The replay API needs an admin's credentials: an API key (or OpenID Connect
 * token) in HERALD_API_KEY, or --api-key-file with the key in a file.
 *
 * Resumable: the last position written is kept in --checkpoint (and the
 * API is asked again after it when a connection breaks), so a stopped run
 * continues where it left off without duplicates. --follow keeps polling
 * for new events.
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync, renameSync } from 'node:fs';

interface Options { url: string; token: string | null; after: number; checkpoint: string | null; out: string | null; category: string | null; follow: boolean; maxRetries: number; pollMs: number }

function parseArgs(argv: string[]): Options {
  const o: Options = { url: process.env.HERALD_URL ?? 'http://127.0.0.1:3000', token: process.env.HERALD_API_KEY || null, after: 0, checkpoint: null, out: null, category: null, follow: false, maxRetries: 8, pollMs: 1000 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === '--url') o.url = value().replace(/\/$/, '');
    else if (a === '--after') o.after = nonNegative(a, value());
    else if (a === '--checkpoint') o.checkpoint = value();
    else if (a === '--api-key-file') o.token = readFileSync(value(), 'utf8').trim();
    else if (a === '--out') o.out = value();
    else if (a === '--category') o.category = value();
    else if (a === '--follow') o.follow = true;
    else if (a === '--max-retries') o.maxRetries = nonNegative(a, value());
    else if (a === '--poll-ms') o.pollMs = nonNegative(a, value());
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

function nonNegative(name: string, raw: string): number {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`${name}: must be an integer >= 0, got ${raw}`);
  return n;
}

/** Streams one response, handing complete lines over; returns the last position handled. */
async function fetchOnce(o: Options, after: number, onLine: (line: string, position: number) => void): Promise<{ position: number; head: number }> {
  const query = new URLSearchParams({ after: String(after), ...(o.category ? { category: o.category } : {}) });
  const res = await fetch(`${o.url}/api/events?${query}`, { headers: o.token ? { authorization: `Bearer ${o.token}` } : {} });
  if (!res.ok || !res.body) {
    const message = `replay API answered ${res.status}: ${await res.text().catch(() => '')}`;
    // Credentials and parameters do not get better by asking again.
    if (res.status >= 400 && res.status < 500 && res.status !== 429) throw Object.assign(new Error(message), { fatal: true });
    throw new Error(message);
  }
  const head = Number(res.headers.get('x-herald-head-position') ?? 0);
  let position = after;
  let rest = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    rest += decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, nl);
      rest = rest.slice(nl + 1);
      if (!line) continue;
      const p = (JSON.parse(line) as { position: number }).position;
      onLine(line, p);
      position = p;
    }
  }
  // A cut connection leaves a partial last line: dropped, and asked for again after `position`.
  return { position: Math.max(position, rest ? position : head), head };
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  let position = o.after;
  if (o.checkpoint && existsSync(o.checkpoint)) position = Math.max(position, nonNegative('checkpoint', readFileSync(o.checkpoint, 'utf8').trim()));
  const save = (p: number) => {
    if (!o.checkpoint) return;
    writeFileSync(`${o.checkpoint}.tmp`, String(p));
    renameSync(`${o.checkpoint}.tmp`, o.checkpoint);
  };
  const write = (line: string) => (o.out ? appendFileSync(o.out, line + '\n') : process.stdout.write(line + '\n'));
  let failures = 0;
  let count = 0;
  for (;;) {
    try {
      let pending: string[] = [];
      let last = position;
      const flush = () => {
        if (!pending.length) return;
        write(pending.join('\n'));
        pending = [];
        // Written lines are done: a retry after a broken connection asks for what follows them.
        position = last;
        save(last);
      };
      const r = await fetchOnce(o, position, (line, p) => {
        pending.push(line);
        last = p;
        count += 1;
        if (pending.length >= 1000) flush();
      });
      flush();
      position = Math.max(last, r.position);
      save(position);
      failures = 0;
      if (!o.follow) break;
      await new Promise((resolve) => setTimeout(resolve, o.pollMs));
    } catch (error) {
      failures += 1;
      if (failures > o.maxRetries || (error as { fatal?: boolean }).fatal) throw error;
      process.stderr.write(`replay interrupted after position ${position} (${(error as Error).message}); retrying\n`);
      await new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 200 * 2 ** failures)));
    }
  }
  process.stderr.write(`replayed ${count} events, up to position ${position}\n`);
}

main().catch((error) => {
  process.stderr.write(`herald-replay: ${(error as Error).message}\n`);
  process.exit(1);
});
