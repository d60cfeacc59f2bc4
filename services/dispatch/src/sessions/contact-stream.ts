import { deterministicEventId, newEvent, type ContactState, type Event, type MetadataInput, type RecordedEvent } from '@herald/contracts';
import { WrongExpectedRevisionError, type EventStore } from '@herald/event-store';
import { rebuild as rebuildContact, type ContactEvent } from '@herald/contact-model';
import type { DispatchOutcome } from '../adapters/channel-adapter';
import type { TranscriptMessage } from '../agents/agent-backend';

export interface ContactSnapshot {
  readonly contact: ContactState;
  readonly events: readonly RecordedEvent[];
}

export async function loadContact(store: EventStore, streamId: string): Promise<ContactSnapshot | null> {
  const events = await store.readStream(streamId);
  const contact = rebuildContact(events);
  return contact ? { contact, events } : null;
}

/** The id of a session's opening message (the agent's first words on its communication). */
export function openingMessageId(communicationId: string): string {
  return deterministicEventId(`opening:${communicationId}`);
}

/**
 * The session's messages as recorded on the contact's stream (the source of
 * truth), in stream order but with the opening first: the opening is recorded
 * once the provider has accepted it, so a contact who answers at once may be
 * recorded before it, yet the conversation began with it.
 */
export function transcriptOf(events: readonly RecordedEvent[], sessionId: string): (TranscriptMessage & { messageId: string; eventId: string })[] {
  const messages = (events as RecordedEvent<ContactEvent>[])
    .filter((e) => e.type === 'SessionMessageAdded' && e.data.sessionId === sessionId)
    .map((e) => {
      const d = e.data as Extract<ContactEvent, { type: 'SessionMessageAdded' }>['data'];
      return { messageId: d.messageId, role: d.role, content: d.content, createdAt: d.createdAt, eventId: e.metadata.eventId, communicationId: d.communicationId };
    });
  const opening = messages.findIndex((m) => m.messageId === openingMessageId(m.communicationId));
  if (opening > 0) messages.unshift(...messages.splice(opening, 1));
  return messages.map(({ communicationId: _, ...m }) => m);
}

/** A SessionMessageAdded whose event id (and message id) derive from `cause`: appending it again is a no-op. */
export function sessionMessage(cause: string, m: { communicationId: string; sessionId: string; role: 'agent' | 'contact'; content: string; createdAt?: string }, meta: MetadataInput): Event {
  const id = deterministicEventId(cause);
  return newEvent('SessionMessageAdded', {
    communicationId: m.communicationId, sessionId: m.sessionId, messageId: id, role: m.role, content: m.content, createdAt: m.createdAt ?? new Date().toISOString(),
  }, { ...meta, eventId: id });
}

/**
 * Appends CommunicationEnded once (id `end:<communication id>`), only while
 * the communication is still STARTED, together with `before` (e.g. the
 * agent's last message) in the same atomic append.
 */
export async function endCommunication(store: EventStore, streamId: string, communicationId: string, outcome: DispatchOutcome, meta: MetadataInput, before: readonly Event[] = []): Promise<boolean> {
  for (let attempt = 0; attempt < 10; attempt++) {
    const snapshot = await loadContact(store, streamId);
    const communication = snapshot?.contact.communications.find((c) => c.id === communicationId);
    if (!snapshot || communication?.status !== 'STARTED') {
      if (before.length) await store.append(streamId, before, 'any');
      return false;
    }
    const endedEvent = newEvent('CommunicationEnded', {
      communicationId, status: outcome.status, sessionStatus: outcome.sessionStatus, result: outcome.result,
      finishedAt: new Date().toISOString(), sessionResults: outcome.sessionResults,
    }, { ...meta, eventId: deterministicEventId(`end:${communicationId}`) });
    const known = new Set(snapshot.events.map((e) => e.metadata.eventId));
    try {
      await store.append(streamId, [...before.filter((e) => !known.has(e.metadata.eventId)), endedEvent], snapshot.contact.revision);
      return true;
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
    }
  }
  throw new Error(`could not end communication ${communicationId}: the contact kept changing`);
}

/**
 * endCommunication() for many contacts in one append: each stream at the
 * revision of the snapshot given. What cannot go that way (no snapshot, a
 * stream twice, a communication no longer STARTED, a stream that moved on
 * since) ends one by one through endCommunication().
 */
export async function endCommunicationMany(store: EventStore, items: readonly {
  streamId: string; snapshot: ContactSnapshot | null; communicationId: string; outcome: DispatchOutcome; meta: MetadataInput; before?: readonly Event[];
}[]): Promise<void> {
  const batch: { item: (typeof items)[number]; events: Event[] }[] = [];
  const alone: (typeof items)[number][] = [];
  const streams = new Set<string>();
  for (const item of items) {
    const communication = item.snapshot?.contact.communications.find((c) => c.id === item.communicationId);
    if (!item.snapshot || streams.has(item.streamId) || communication?.status !== 'STARTED') {
      alone.push(item);
      continue;
    }
    streams.add(item.streamId);
    const known = new Set(item.snapshot.events.map((e) => e.metadata.eventId));
    const { outcome } = item;
    batch.push({ item, events: [
      ...(item.before ?? []).filter((e) => !known.has(e.metadata.eventId)),
      newEvent('CommunicationEnded', {
        communicationId: item.communicationId, status: outcome.status, sessionStatus: outcome.sessionStatus, result: outcome.result,
        finishedAt: new Date().toISOString(), sessionResults: outcome.sessionResults,
      }, { ...item.meta, eventId: deterministicEventId(`end:${item.communicationId}`) }),
    ] });
  }
  if (batch.length) {
    try {
      await store.appendMany(batch.map(({ item, events }) => ({ streamId: item.streamId, expectedRevision: item.snapshot!.contact.revision, events })));
    } catch (error) {
      if (!(error instanceof WrongExpectedRevisionError)) throw error;
      alone.push(...batch.map((b) => b.item));
    }
  }
  for (const item of alone) await endCommunication(store, item.streamId, item.communicationId, item.outcome, item.meta, item.before ?? []);
}
