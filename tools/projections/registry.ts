import type { Pool, PoolClient } from 'pg';
import { TOPICS, type RecordedEvent } from '@herald/contracts';
import { CAMPAIGN_LIST_SCHEMA, projectCampaignList } from '../../services/campaigns/src/campaign-list/campaign-list';
import {
  CAMPAIGN_PERFORMANCE_SCHEMA, CAMPAIGN_PERFORMANCE_TABLES, projectCampaignPerformance,
} from '../../services/campaigns/src/campaign-performance/campaign-performance';
import { CONTACT_LIST_GROUP, CONTACT_LIST_SCHEMA, ensureContactListIndexes, projectContactList } from '../../services/ingestion/src/contact-list/contact-list';

/**
 * A read model that can be dropped and rebuilt from the log: the same
 * consumer group, topics, schema and projection function its service
 * subscribes with (services/<name>/src/*.workers.ts).
 */
export interface ProjectionDefinition {
  readonly name: string;
  readonly group: string;
  readonly topics: readonly string[];
  /** Tables the projection owns (swapped as a whole). */
  readonly tables: readonly string[];
  /** DDL with unqualified names: run with the shadow schema first on the search path. */
  readonly schema: string;
  readonly project: (event: RecordedEvent, topic: string, client: PoolClient) => Promise<void>;
  /** Work that runs on the live tables after the swap (e.g. optional indexes). */
  readonly afterSwap?: (pool: Pool) => Promise<unknown>;
}

export const PROJECTIONS: readonly ProjectionDefinition[] = [
  {
    name: 'campaign-list',
    group: 'campaigns.campaign-list',
    topics: [TOPICS.campaignEvents],
    tables: ['campaign_list'],
    schema: CAMPAIGN_LIST_SCHEMA,
    project: projectCampaignList,
  },
  {
    name: 'contact-list',
    group: CONTACT_LIST_GROUP,
    topics: [TOPICS.contactEvents],
    tables: ['contact_list'],
    schema: CONTACT_LIST_SCHEMA,
    project: projectContactList,
    afterSwap: ensureContactListIndexes,
  },
  {
    name: 'campaign-performance',
    group: 'campaigns.campaign-performance',
    topics: [TOPICS.contactEvents],
    tables: CAMPAIGN_PERFORMANCE_TABLES,
    schema: CAMPAIGN_PERFORMANCE_SCHEMA,
    project: projectCampaignPerformance,
  },
];
