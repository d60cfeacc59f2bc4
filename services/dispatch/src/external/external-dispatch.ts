import { campaignStreamId, deterministicEventId, newEvent, type Event, type ExternalDispatchView, type JsonObject } from '@herald/contracts';
import { rebuild as rebuildCampaign } from '@herald/campaign-model';
import { openingOf } from '../dispatch-handler';
import type { DispatchRuntime } from '../dispatch-runtime';
import { endCommunication, loadContact, sessionMessage } from '../sessions/contact-stream';
import { resolveStage } from '../sessions/stage-resolution';

/**
 * An external adapter's claim of a dispatch request it consumed from
 * `dispatch.requests.<channel>`: the platform's send ledger decides who
 * sends (claimed: false means someone did before), and the answer carries
 * what the adapter needs: the contact's addresses and parameters, the
 * resolved stage settings (A/B variant applied) and the rendered opening.
 */
export async function claimExternal(rt: DispatchRuntime, workspaceId: string, streamId: string, communicationId: string): Promise<ExternalDispatchView | null> {
  const snapshot = await loadContact(rt.options.store, streamId);
  const communication = snapshot?.contact.communications.find((c) => c.id === communicationId);
  if (!snapshot || !communication || snapshot.events[0]?.metadata.workspaceId !== workspaceId) return null;
  const { contact } = snapshot;
  const campaign = rebuildCampaign(await rt.options.store.readStream(campaignStreamId(contact.campaignId)));
  const stageDef = campaign?.stages.find((s) => s.name === communication.stageName);
  const channel = communication.channel ?? stageDef?.channel ?? 'unknown';
  const stage = stageDef
    ? resolveStage(stageDef, { communicationId, channel, agent: communication.agent, variant: communication.variant })
    : { name: communication.stageName, channel, agent: communication.agent, settings: {}, variant: communication.variant, chosenHere: false };
  const claim = communication.status === 'STARTED' ? await rt.ledger.claim(communicationId, workspaceId, channel) : false;
  if (claim === true) {
    await rt.ledger.record(communicationId, 'sent', { external: true }, null);
    // A variant picked here by weight is recorded on the communication, as the built-in dispatch does.
    if (stage.chosenHere) {
      await rt.options.store.append(streamId, [newEvent('CommunicationUpdated', { communicationId, changes: { variant: stage.variant } },
        { workspaceId, correlationId: communicationId, eventId: deterministicEventId(`variant:${communicationId}`) })], 'any');
    }
  }
  return {
    claimed: claim === true, communicationId, streamId, sessionId: deterministicEventId(`session:${communicationId}`), channel, stageName: stage.name,
    variant: stage.variant, agent: stage.agent, settings: { ...stage.settings },
    contact: { key: contact.key, name: contact.name, email: contact.email, phone: contact.phone, parameters: contact.parameters },
    opening: openingOf(stage, contact),
  };
}

/** What an external adapter publishes on `dispatch.status` (proto/herald/dispatch.proto, message DispatchStatus, JSON). */
export interface DispatchStatusMessage {
  workspaceId: string;
  streamId: string;
  communicationId: string;
  /** Unique per status message: a redelivered status is applied once. */
  statusId: string;
  /** SENT and DELIVERED keep the communication going; COMPLETED, INTERRUPTED and ERROR end it. */
  status: 'SENT' | 'DELIVERED' | 'COMPLETED' | 'INTERRUPTED' | 'ERROR';
  sessionStatus?: string;
  result?: string;
  sessionResults?: JsonObject;
  providerMessageId?: string;
  messages?: { messageId: string; role: 'agent' | 'contact'; content: string; createdAt?: string }[];
}

const FINAL = new Set(['COMPLETED', 'INTERRUPTED', 'ERROR']);

/** Checks a status message field by field; the error names the field. */
export function parseStatus(value: unknown): DispatchStatusMessage {
  const m = value as Partial<DispatchStatusMessage> | null;
  if (!m || typeof m !== 'object') throw new Error('not a JSON object');
  for (const f of ['workspaceId', 'streamId', 'communicationId', 'statusId', 'status'] as const) {
    if (typeof m[f] !== 'string' || !m[f]) throw new Error(`${f}: is required`);
  }
  if (!['SENT', 'DELIVERED', ...FINAL].includes(m.status!)) throw new Error(`status: "${m.status}" is not SENT, DELIVERED, COMPLETED, INTERRUPTED or ERROR`);
  (m.messages ?? []).forEach((x, i) => {
    if (typeof x?.messageId !== 'string' || (x.role !== 'agent' && x.role !== 'contact') || typeof x.content !== 'string') {
      throw new Error(`messages[${i}]: needs messageId, role (agent or contact) and content`);
    }
  });
  if (m.sessionResults !== undefined && (typeof m.sessionResults !== 'object' || m.sessionResults === null || Array.isArray(m.sessionResults))) throw new Error('sessionResults: must be an object');
  return m as DispatchStatusMessage;
}

/**
 * Applies one status from an external adapter: the transcript messages and
 * the session id on the communication, the delivery state, and the end.
 * Every event id derives from the status (or message) id: redeliveries of
 * the same Kafka message append nothing.
 */
export async function applyExternalStatus(rt: DispatchRuntime, m: DispatchStatusMessage): Promise<void> {
  const store = rt.options.store;
  const snapshot = await loadContact(store, m.streamId);
  if (!snapshot || snapshot.events[0]?.metadata.workspaceId !== m.workspaceId) throw new Error(`streamId: no contact stream ${m.streamId} in workspace ${m.workspaceId}`);
  if (!snapshot.contact.communications.some((c) => c.id === m.communicationId)) throw new Error(`communicationId: ${m.communicationId} is not a communication of ${m.streamId}`);
  const meta = { workspaceId: m.workspaceId, correlationId: m.communicationId };
  const sessionId = deterministicEventId(`session:${m.communicationId}`);
  const events: Event[] = [
    newEvent('CommunicationUpdated', { communicationId: m.communicationId, changes: { sessionId } }, { ...meta, eventId: deterministicEventId(`opened:${m.communicationId}`) }),
    ...(m.messages ?? []).map((x) => sessionMessage(`ext:${m.communicationId}:${x.messageId}`, { communicationId: m.communicationId, sessionId, role: x.role, content: x.content, createdAt: x.createdAt }, meta)),
  ];
  const known = new Set(snapshot.events.map((e) => e.metadata.eventId));
  const fresh = events.filter((e) => !known.has(e.metadata.eventId));
  if (FINAL.has(m.status)) {
    await endCommunication(store, m.streamId, m.communicationId,
      { status: m.status as 'COMPLETED' | 'INTERRUPTED' | 'ERROR', sessionStatus: m.sessionStatus ?? m.status, result: m.result ?? null, sessionResults: { ...(m.sessionResults ?? {}), sessionId } },
      meta, fresh);
    await rt.ledger.record(m.communicationId, m.status === 'ERROR' ? 'failed' : 'sent', { external: true, status: m.status }, m.providerMessageId ?? null);
    return;
  }
  fresh.push(newEvent('CommunicationUpdated', { communicationId: m.communicationId, changes: { sessionStatus: m.sessionStatus ?? m.status } },
    { ...meta, eventId: deterministicEventId(`ext-status:${m.communicationId}:${m.statusId}`) }));
  const still = snapshot.contact.communications.find((c) => c.id === m.communicationId)?.status === 'STARTED';
  await store.append(m.streamId, still ? fresh : fresh.filter((e) => e.type === 'SessionMessageAdded'), 'any');
}
