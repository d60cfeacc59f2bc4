import type { CommunicationStatus, EndStatus, Event, JsonObject, Outcome } from '@herald/contracts';

export interface PlannedCommunication {
  readonly id: string;
  readonly name: string;
  readonly stageName: string;
  readonly startDate: string;
  readonly endDate: string | null;
}

/** Every event of a `contact-<campaignId>-<key>` stream. Type strings are a stored contract. */
export type ContactEvent =
  | Event<'ContactCreated', {
      campaignId: string; key: string;
      objectId: string | null; externalId: string | null; name: string | null; email: string | null; phone: string | null;
      parameters: JsonObject; uploadId: string | null; row: number | null;
    }>
  | Event<'ContactDetailsChanged', Partial<Record<'objectId' | 'externalId' | 'name' | 'email' | 'phone', string | null>>>
  | Event<'ContactParametersChanged', { parameters: JsonObject }>
  | Event<'ContactStageChanged', { from: string | null; to: string | null }>
  | Event<'ContactOutcomeSet', { outcome: Outcome; previous: Outcome }>
  | Event<'ContactResultsChanged', { results: JsonObject }>
  | Event<'ContactInternalDataChanged', { internalData: JsonObject }>
  | Event<'CommunicationPlanned', { communication: PlannedCommunication }>
  | Event<'CommunicationCancelled', { communicationId: string }>
  | Event<'CommunicationStarted', {
      communicationId: string; campaignId: string; contactKey: string; stageName: string;
      channel: string; agent: string | null; variant: string | null; startedAt: string; sessionId: string | null;
    }>
  | Event<'CommunicationEnded', {
      communicationId: string; status: EndStatus; sessionStatus: string | null; result: string | null;
      finishedAt: string; sessionResults: JsonObject | null;
    }>
  /** One message of a live conversation (the session's transcript); Intermediate analysis runs on each. */
  | Event<'SessionMessageAdded', {
      communicationId: string; sessionId: string; messageId: string; role: 'agent' | 'contact'; content: string; createdAt: string;
    }>
  | Event<'CommunicationUpdated', {
      communicationId: string;
      changes: Partial<{ status: CommunicationStatus; sessionStatus: string | null; result: string | null; name: string; stageName: string; startDate: string; endDate: string | null;
        /** Set by dispatch when the conversation opens (the session behind "Go to session") and when it resolves an A/B variant itself. */
        sessionId: string; variant: string | null }>;
    }>;

export type ContactEventType = ContactEvent['type'];
export type ContactEventData<T extends ContactEventType> = Extract<ContactEvent, { type: T }>['data'];

/** An event before metadata is attached: what `decide`/`diff` return. */
export type ContactChange = { [T in ContactEventType]: { type: T; data: ContactEventData<T> } }[ContactEventType];
