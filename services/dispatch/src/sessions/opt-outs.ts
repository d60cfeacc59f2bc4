import type { Pool } from 'pg';

/** The keywords that opt a contact out of a channel (any case, the whole message, punctuation around it ignored). */
export const OPT_OUT_KEYWORDS = ['STOP', 'UNSUBSCRIBE', 'END', 'QUIT', 'STOPALL', 'REVOKE', 'OPTOUT', 'CANCEL'] as const;

/** The keyword a message is, or null. "stop." and " Stop " count; "please stop calling" is a message for the agent. */
export function optOutKeyword(text: string | null | undefined): string | null {
  const word = (text ?? '').trim().replace(/^[\s"'.,!?¡¿-]+|[\s"'.,!?¡¿-]+$/g, '').toUpperCase();
  return (OPT_OUT_KEYWORDS as readonly string[]).includes(word) ? word : null;
}

/** How an address is compared: phone numbers by their digits, emails in lower case, anything else as given. */
export function normalizeAddress(address: string | null | undefined): string | null {
  if (!address) return null;
  const a = String(address).trim();
  if (a.includes('@')) return a.toLowerCase();
  if (/^\+?[\d\s().-]{5,}$/.test(a)) return a.replace(/\D/g, '');
  return a;
}

/** Opt-outs per workspace, channel and address; recorded at once when a keyword arrives, checked before every send. */
export class OptOuts {
  constructor(private readonly pool: Pool) {}

  async record(workspaceId: string, channel: string, address: string, keyword: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO dispatch_opt_outs (workspace_id, channel, address, keyword) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
      [workspaceId, channel, normalizeAddress(address), keyword],
    );
  }

  /** Which of these (workspace, channel, address) are opted out, in one query; keys as optOutKey() makes them. */
  async optedOutAmong(candidates: readonly { workspaceId: string; channel: string; address: string }[]): Promise<Set<string>> {
    const keyed = candidates.map((c) => ({ ...c, address: normalizeAddress(c.address) })).filter((c): c is typeof c & { address: string } => Boolean(c.address));
    if (!keyed.length) return new Set();
    const { rows } = await this.pool.query<{ workspace_id: string; channel: string; address: string }>(
      `SELECT o.workspace_id, o.channel, o.address FROM dispatch_opt_outs o
         JOIN unnest($1::text[], $2::text[], $3::text[]) AS c(ws, ch, ad) ON o.workspace_id = c.ws AND o.channel = c.ch AND o.address = c.ad`,
      [keyed.map((c) => c.workspaceId), keyed.map((c) => c.channel), keyed.map((c) => c.address)],
    );
    return new Set(rows.map((r) => optOutKey(r.workspace_id, r.channel, r.address)));
  }

  async isOptedOut(workspaceId: string, channel: string, address: string | null): Promise<boolean> {
    const a = normalizeAddress(address);
    if (!a) return false;
    const { rowCount } = await this.pool.query(`SELECT 1 FROM dispatch_opt_outs WHERE workspace_id = $1 AND channel = $2 AND address = $3`, [workspaceId, channel, a]);
    return (rowCount ?? 0) > 0;
  }
}

/** The key optedOutAmong() answers with (the address normalised). */
export const optOutKey = (workspaceId: string, channel: string, address: string): string => `${workspaceId}\u0000${channel}\u0000${normalizeAddress(address)}`;
