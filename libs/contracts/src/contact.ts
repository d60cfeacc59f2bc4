/** Contact and communication state, as rebuilt from a contact stream. */

export const OUTCOMES = ['SUCCESS', 'POSITIVE', 'UNCERTAIN', 'NEGATIVE', 'ERROR'] as const;
export type Outcome = (typeof OUTCOMES)[number];

export const COMMUNICATION_STATUSES = ['PLANNED', 'STARTED', 'COMPLETED', 'INTERRUPTED', 'ERROR', 'MISSED'] as const;
export type CommunicationStatus = (typeof COMMUNICATION_STATUSES)[number];
export type EndStatus = Extract<CommunicationStatus, 'COMPLETED' | 'INTERRUPTED' | 'ERROR' | 'MISSED'>;
export const END_STATUSES: readonly EndStatus[] = ['COMPLETED', 'INTERRUPTED', 'ERROR', 'MISSED'];

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

export interface CommunicationState {
  readonly id: string;
  readonly name: string;
  readonly stageName: string;
  /** ISO-8601 UTC. */
  readonly startDate: string;
  /** ISO-8601 UTC; null means the campaign's default window length after startDate. */
  readonly endDate: string | null;
  readonly status: CommunicationStatus;
  readonly sessionStatus: string | null;
  readonly result: string | null;
  readonly channel: string | null;
  readonly agent: string | null;
  readonly variant: string | null;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly sessionId: string | null;
  /** Session results the channel reported when the communication ended. */
  readonly sessionResults: JsonObject | null;
}

/** The fields a strategy can change; everything else is the platform's. */
export interface ContactData {
  readonly objectId: string | null;
  readonly externalId: string | null;
  readonly name: string | null;
  readonly email: string | null;
  readonly phone: string | null;
  readonly parameters: JsonObject;
  readonly currentStage: string | null;
  readonly outcome: Outcome;
  readonly results: JsonObject;
  readonly internalData: JsonObject;
  readonly communications: readonly CommunicationState[];
}

export interface ContactState extends ContactData {
  readonly campaignId: string;
  /** 'o:<object_id>', else 'e:<external_id>', else 'r:<generated>' (never matches another row). */
  readonly key: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** Revision of the last event applied (-1 before the first). */
  readonly revision: number;
}

export function contactKeyOf(row: { objectId?: string | null; externalId?: string | null }): string | null {
  if (row.objectId) return `o:${row.objectId}`;
  if (row.externalId) return `e:${row.externalId}`;
  return null;
}

export const campaignStreamId = (campaignId: string) => `campaign-${campaignId}`;
export const contactStreamId = (campaignId: string, contactKey: string) => `contact-${campaignId}-${contactKey}`;
