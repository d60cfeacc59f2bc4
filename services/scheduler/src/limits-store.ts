import type { Pool, PoolClient } from 'pg';
import type { SchedulingPolicy } from '@herald/contracts';
import { CapCounter, TokenBucket } from './rules/limits';
import { EMPTY_POLICY, MAX_CAP_HOURS } from './rules/policy';

/** A reservation made at firing time counts this long before its CommunicationStarted confirms it. */
export const PENDING_RESERVATION_MS = 120_000;

export interface StartRequest {
  readonly key: number;
  readonly workspaceId: string;
  readonly communicationId: string;
  readonly identities: readonly string[];
  readonly channel: string;
  readonly windowEnd: Date;
}

export type LimitVerdict = { kind: 'defer'; until: Date; reason: string } | { kind: 'missed'; reason: string };

export async function loadPolicies(pool: Pool, workspaceIds: readonly string[]): Promise<Map<string, SchedulingPolicy>> {
  const map = new Map<string, SchedulingPolicy>(workspaceIds.map((w) => [w, EMPTY_POLICY]));
  if (!workspaceIds.length) return map;
  const { rows } = await pool.query<{ workspace_id: string; policy: SchedulingPolicy }>(
    `SELECT workspace_id, policy FROM scheduler_policies WHERE workspace_id = ANY($1)`, [workspaceIds]);
  for (const r of rows) map.set(r.workspace_id, { frequencyCap: r.policy.frequencyCap ?? null, rateLimits: r.policy.rateLimits ?? {} });
  return map;
}

async function inTransaction<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The frequency cap across the workspace's campaigns. Per workspace, one
 * transaction locks the persons concerned (advisory locks in a fixed order,
 * so replicas neither overshoot the cap nor deadlock), counts their starts in
 * the rolling period, and reserves a start for each one allowed; the
 * projection confirms the reservation when CommunicationStarted is seen.
 */
export async function applyFrequencyCaps(
  pool: Pool, requests: readonly StartRequest[], policies: ReadonlyMap<string, SchedulingPolicy>, now: Date,
): Promise<Map<number, LimitVerdict>> {
  const verdicts = new Map<number, LimitVerdict>();
  const byWorkspace = groupBy(requests.filter((r) => policies.get(r.workspaceId)?.frequencyCap && r.identities.length), (r) => r.workspaceId);
  for (const [ws, list] of byWorkspace) {
    const cap = policies.get(ws)!.frequencyCap!;
    const identities = [...new Set(list.flatMap((r) => r.identities))].sort();
    await inTransaction(pool, async (client) => {
      await client.query(
        `SELECT pg_advisory_xact_lock(k) FROM (SELECT hashtextextended($1 || x, 0) AS k FROM unnest($2::text[]) x ORDER BY 1) s`,
        [`${ws}\n`, identities],
      );
      const { rows } = await client.query<{ identity: string; at: Date }>(
        `SELECT identity, at FROM scheduler_starts
          WHERE workspace_id = $1 AND identity = ANY($2) AND at > $3 AND (confirmed OR at > $4) AND NOT (communication_id = ANY($5))`,
        [ws, identities, new Date(now.getTime() - cap.perHours * 3_600_000), new Date(now.getTime() - PENDING_RESERVATION_MS), list.map((r) => r.communicationId)],
      );
      const counter = new CapCounter(cap, groupBy(rows, (r) => r.identity, (r) => r.at.getTime()));
      const reserved: StartRequest[] = [];
      for (const r of list) {
        const until = counter.blockedUntil(r.identities, now);
        if (!until) {
          counter.record(r.identities, now);
          reserved.push(r);
        } else if (until >= r.windowEnd) {
          verdicts.set(r.key, { kind: 'missed', reason: `Missed: the frequency cap (${counter.describe()} per person) allows no start before the window closes` });
        } else {
          verdicts.set(r.key, { kind: 'defer', until, reason: `frequency cap ${counter.describe()}` });
        }
      }
      const pairs = reserved.flatMap((r) => r.identities.map((i) => [r.communicationId, i] as const));
      if (pairs.length) {
        await client.query(
          `INSERT INTO scheduler_starts (communication_id, identity, workspace_id, at, confirmed)
           SELECT c, i, $3, $4, false FROM unnest($1::text[], $2::text[]) AS t(c, i) ON CONFLICT DO NOTHING`,
          [pairs.map((p) => p[0]), pairs.map((p) => p[1]), ws, now],
        );
      }
    });
  }
  return verdicts;
}

/**
 * Rate limits per workspace and channel, as token buckets kept in
 * PostgreSQL (a row lock serialises replicas). A start without a token is
 * not dropped: it waits for its slot, or is Missed if its window closes first.
 */
export async function applyRateLimits(
  pool: Pool, requests: readonly StartRequest[], policies: ReadonlyMap<string, SchedulingPolicy>, now: Date,
): Promise<Map<number, LimitVerdict>> {
  const verdicts = new Map<number, LimitVerdict>();
  const limited = groupBy(requests.filter((r) => policies.get(r.workspaceId)?.rateLimits[r.channel]), (r) => `${r.workspaceId}\n${r.channel}`);
  for (const list of limited.values()) {
    const { workspaceId: ws, channel } = list[0];
    const perMinute = policies.get(ws)!.rateLimits[channel].perMinute;
    await inTransaction(pool, async (client) => {
      const full = TokenBucket.full(perMinute, now.getTime());
      await client.query(
        `INSERT INTO scheduler_rate_buckets (workspace_id, channel, tokens, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING`,
        [ws, channel, full.tokens, now],
      );
      const { rows } = await client.query<{ tokens: number; updated_at: Date }>(
        `SELECT tokens, updated_at FROM scheduler_rate_buckets WHERE workspace_id = $1 AND channel = $2 FOR UPDATE`, [ws, channel]);
      const bucket = new TokenBucket(perMinute, Math.min(rows[0].tokens, full.capacity), rows[0].updated_at.getTime());
      for (const r of list) {
        const slot = bucket.take(now);
        if (slot === true) continue;
        verdicts.set(r.key, slot >= r.windowEnd
          ? { kind: 'missed', reason: `Missed: the rate limit of ${perMinute} per minute on ${channel} left no slot before the window closed` }
          : { kind: 'defer', until: slot, reason: `rate limit ${perMinute}/min on ${channel}` });
      }
      await client.query(`UPDATE scheduler_rate_buckets SET tokens = $3, updated_at = $4 WHERE workspace_id = $1 AND channel = $2`,
        [ws, channel, bucket.tokens, new Date(Math.max(bucket.updatedAt, rows[0].updated_at.getTime()))]);
    });
  }
  return verdicts;
}

/** Start records older than any cap's period are of no use. */
export async function pruneStarts(pool: Pool, now: Date): Promise<void> {
  await pool.query(`DELETE FROM scheduler_starts WHERE at < $1`, [new Date(now.getTime() - (MAX_CAP_HOURS + 1) * 3_600_000)]);
}

function groupBy<T, V = T>(items: readonly T[], key: (t: T) => string, value?: (t: T) => V): Map<string, V[]> {
  const map = new Map<string, V[]>();
  for (const item of items) {
    const k = key(item);
    const list = map.get(k) ?? [];
    list.push(value ? value(item) : (item as unknown as V));
    map.set(k, list);
  }
  return map;
}
