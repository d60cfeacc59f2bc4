/**
 * The entry the event catalogue is generated from (tools/gen-event-docs.ts):
 * the stored contracts, exactly as the code declares them.
 */
export type { ContactEvent } from '../../libs/contact-model/src/events';
export type { CampaignEvent } from '../../libs/campaign-model/src/events';
export type { EventMetadata } from '../../libs/contracts/src/envelope';
export type { AuditEvent } from '../../libs/contracts/src/audit';
