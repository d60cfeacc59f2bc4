import type { Pool } from 'pg';
import { campaignStreamId } from '@herald/contracts';
import { executeCommand, type EventStore } from '@herald/event-store';
import { decide, rebuild as rebuildCampaign } from '@herald/campaign-model';
import { ensureConsumerProgressSchema } from '@herald/bus';

/**
 * The consumer group of the strategies service that runs Aggregation on
 * every CommunicationEnded (services/strategies). Its progress per contact
 * stream (libs/bus, herald_consumer_progress) tells whether the strategy has
 * had its say on the last end, and so whether a follow-up may still come.
 */
export const AGGREGATION_GROUP = 'strategies.aggregation';

/** How long a blocked check waits before it looks again. */
const RETRY_MS = 1000;
/**
 * The longest wait between two checks of a campaign that is catching up. A check counts the campaign's
 * contacts (tens of ms at 100,000); with a minute, the scale-out proof's campaign finished 78 s after its
 * last Aggregation result.
 */
const MAX_BACKOFF_MS = 8000;

/**
 * Appends CampaignFinished once no contact of a running campaign has a
 * PLANNED or STARTED communication. The projection having no open row left
 * for the campaign only proposes it; before finishing, one SQL snapshot must also show that
 *  - no contact stream of the campaign has events the projection has not
 *    applied (a new contact, a follow-up just planned), and
 *  - the Aggregation strategy (when the campaign has one) has run for every
 *    communication that ended, since it may plan the next one;
 * and the command itself refuses while an upload is active (ingestion may
 * still be adding contacts) or once the campaign is no longer running.
 */
export class CampaignFinisher {
  constructor(private readonly pool: Pool, private readonly store: EventStore) {}

  private lastCheck = 0;
  private readonly backoff = new Map<string, { delay: number; next: number }>();

  /**
   * Looks, at most once per interval, for running campaigns that planned
   * communications and have none open any more (an index probe each), and
   * tries to finish them. True when one must be looked at again shortly.
   */
  async checkDue(intervalMs = RETRY_MS): Promise<boolean> {
    if (Date.now() - this.lastCheck < intervalMs) return false;
    this.lastCheck = Date.now();
    const { rows } = await this.pool.query<{ campaign_id: string; workspace_id: string }>(
      `SELECT c.campaign_id, c.workspace_id FROM scheduler_campaigns c
        WHERE c.running AND c.communicated AND NOT c.active_upload
          AND NOT EXISTS (SELECT 1 FROM scheduler_communications m WHERE m.campaign_id = c.campaign_id)`,
    );
    let pending = false;
    const now = Date.now();
    for (const row of rows) {
      const wait = this.backoff.get(row.campaign_id);
      if (wait && wait.next > now) {
        pending = true;
        continue;
      }
      if ((await this.tryFinish(row.campaign_id, row.workspace_id)) === 'later') {
        // The rest of the system is catching up (or a consumer is down): look again, less and less often, but
        // at least every MAX_BACKOFF_MS, so a campaign whose last contacts are aggregated finishes soon after.
        const delay = Math.min(MAX_BACKOFF_MS, (wait?.delay ?? RETRY_MS / 2) * 2);
        this.backoff.set(row.campaign_id, { delay, next: now + delay });
        pending = true;
      } else {
        this.backoff.delete(row.campaign_id);
      }
    }
    return pending;
  }

  /** 'finished', 'no' (nothing to do until an event asks again), or 'later' (the rest of the system is catching up). */
  async tryFinish(campaignId: string, workspaceId: string): Promise<'finished' | 'no' | 'later'> {
    const state = rebuildCampaign(await this.store.readStream(campaignStreamId(campaignId)));
    if (!state || !state.running || state.activeUploadId !== null) return 'no';
    const hasAggregation = state.strategies.some((s) => s.type === 'AGGREGATION');
    await ensureConsumerProgressSchema(this.pool);
    const { rows } = await this.pool.query<{ open: string; unprojected: string; unaggregated: string }>(
      `SELECT (SELECT count(*) FROM scheduler_communications WHERE campaign_id = $1) AS open,
              (SELECT count(*) FROM herald_streams s LEFT JOIN scheduler_contacts c ON c.stream_id = s.stream_id
                WHERE s.stream_id LIKE $2 AND s.revision > COALESCE(c.revision, -1)) AS unprojected,
              (SELECT count(*) FROM scheduler_contacts c
                 LEFT JOIN herald_consumer_progress p ON p.consumer_group = $3 AND p.stream_id = c.stream_id
                WHERE $4 AND c.campaign_id = $1 AND c.last_end_revision > COALESCE(p.revision, -1)) AS unaggregated`,
      [campaignId, `contact-${campaignId}-%`, AGGREGATION_GROUP, hasAggregation],
    );
    const r = rows[0];
    if (Number(r.open) > 0) return 'no';
    if (Number(r.unprojected) > 0 || Number(r.unaggregated) > 0) return 'later';
    const result = await executeCommand({
      store: this.store,
      streamId: campaignStreamId(campaignId),
      rebuild: rebuildCampaign,
      decide: (s) => (s && s.running && s.activeUploadId === null && s.contactCount === state.contactCount ? decide.finish(s) : []),
      metadata: { workspaceId },
    });
    return result.state?.finished ? 'finished' : 'later';
  }
}
