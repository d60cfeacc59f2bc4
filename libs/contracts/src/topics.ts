import type { RecordedEvent } from './envelope';

/** Kafka topics: a stored contract for outside consumers (see docs/consuming-events.md). */
export const TOPICS = {
  campaignEvents: 'campaign.events',
  contactEvents: 'contact.events',
  dispatchStatus: 'dispatch.status',
} as const;

export const dispatchRequestsTopic = (channel: string) => `dispatch.requests.${channel}`;

/**
 * Where the relay publishes an event. The dispatch request of a started
 * communication is the CommunicationStarted event itself, routed to its
 * channel's command topic: no second write, no dual-write gap.
 */
export function topicsFor(event: Pick<RecordedEvent, 'streamId' | 'type' | 'data'>): string[] {
  if (event.streamId.startsWith('campaign-')) return [TOPICS.campaignEvents];
  if (event.streamId.startsWith('contact-')) {
    if (event.type === 'CommunicationStarted') {
      const channel = (event.data as { channel?: string }).channel;
      return channel ? [TOPICS.contactEvents, dispatchRequestsTopic(channel)] : [TOPICS.contactEvents];
    }
    return [TOPICS.contactEvents];
  }
  return [];
}

/** Kafka header names carried by every message. */
export const HEADERS = {
  eventId: 'event-id',
  eventType: 'event-type',
  position: 'global-position',
  streamId: 'stream-id',
  revision: 'stream-revision',
  schemaVersion: 'schema-version',
  workspaceId: 'workspace-id',
  correlationId: 'correlation-id',
  causationId: 'causation-id',
  traceparent: 'traceparent',
} as const;
