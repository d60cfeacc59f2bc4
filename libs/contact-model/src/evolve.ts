import type { CommunicationState, ContactState, RecordedEvent } from '@herald/contracts';
import type { ContactEvent } from './events';

/** Applies one event to the contact's state; `null` before the stream's first event. */
export function evolve(state: ContactState | null, recorded: RecordedEvent<ContactEvent> | (ContactEvent & { revision: number })): ContactState {
  const event = recorded as ContactEvent;
  const at = event.metadata.timestamp;
  const base = { revision: recorded.revision, updatedAt: at };
  if (event.type === 'ContactCreated') {
    const d = event.data;
    return {
      campaignId: d.campaignId, key: d.key,
      objectId: d.objectId, externalId: d.externalId, name: d.name, email: d.email, phone: d.phone,
      parameters: d.parameters, currentStage: null, outcome: 'UNCERTAIN', results: { ResultFlag: null, ResultDatetime: null },
      internalData: {}, communications: [], createdAt: at, ...base,
    };
  }
  if (!state) throw new Error(`contact stream must start with ContactCreated, got ${event.type}`);
  switch (event.type) {
    case 'ContactDetailsChanged':
      return { ...state, ...event.data, ...base };
    case 'ContactParametersChanged':
      return { ...state, parameters: event.data.parameters, ...base };
    case 'ContactStageChanged':
      return { ...state, currentStage: event.data.to, ...base };
    case 'ContactOutcomeSet':
      return { ...state, outcome: event.data.outcome, ...base };
    case 'ContactResultsChanged':
      return { ...state, results: event.data.results, ...base };
    case 'ContactInternalDataChanged':
      return { ...state, internalData: event.data.internalData, ...base };
    case 'CommunicationPlanned':
      return {
        ...state,
        communications: [...state.communications, {
          ...event.data.communication, status: 'PLANNED', sessionStatus: null, result: null, channel: null, agent: null,
          variant: null, startedAt: null, finishedAt: null, sessionId: null, sessionResults: null,
        }],
        ...base,
      };
    case 'CommunicationCancelled':
      return updateCommunication(state, event.data.communicationId, () => ({ status: 'INTERRUPTED', finishedAt: at }), base);
    case 'CommunicationStarted': {
      const d = event.data;
      return updateCommunication(state, d.communicationId, () => ({
        status: 'STARTED', channel: d.channel, agent: d.agent, variant: d.variant, startedAt: d.startedAt, sessionId: d.sessionId,
      }), base);
    }
    case 'CommunicationEnded': {
      const d = event.data;
      return updateCommunication(state, d.communicationId, () => ({
        status: d.status, sessionStatus: d.sessionStatus, result: d.result, finishedAt: d.finishedAt, sessionResults: d.sessionResults,
      }), base);
    }
    case 'SessionMessageAdded':
      // The transcript lives in the sessions read model; the contact only moves on.
      return { ...state, ...base };
    case 'CommunicationUpdated':
      return updateCommunication(state, event.data.communicationId, () => event.data.changes, base);
    default: {
      const unknown: never = event;
      throw new Error(`unknown contact event ${(unknown as { type: string }).type}`);
    }
  }
}

function updateCommunication(
  state: ContactState,
  id: string,
  change: (c: CommunicationState) => Partial<CommunicationState>,
  base: { revision: number; updatedAt: string },
): ContactState {
  return {
    ...state,
    communications: state.communications.map((c) => (c.id === id ? { ...c, ...change(c) } : c)),
    ...base,
  };
}

export function rebuild(events: readonly RecordedEvent[]): ContactState | null {
  let state: ContactState | null = null;
  for (const e of events) state = evolve(state, e as RecordedEvent<ContactEvent>);
  return state;
}
