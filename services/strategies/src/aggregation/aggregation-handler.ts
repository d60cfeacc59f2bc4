import type { ContactEvent } from '@herald/contact-model';
import { END_STATUSES, type RecordedEvent } from '@herald/contracts';
import { ContactHook, snapshot, type ContactHookSpec } from '../hooks/contact-hook';

/**
 * Runs the Aggregation strategy when a communication ended (completed,
 * interrupted, error, missed), with that communication flagged and the
 * session results the channel reported.
 */
export class AggregationHandler {
  /** The only events it acts on. */
  static readonly TYPES: readonly ContactEvent['type'][] = ['CommunicationEnded'];

  constructor(private readonly hook: ContactHook) {}

  async handle(recorded: RecordedEvent): Promise<void> {
    const spec = this.specFor(recorded);
    if (spec) await this.hook.run(recorded, spec);
  }

  /** Many deliveries at once: one strategy call per campaign for every communication that ended among them. */
  async handleBatch(items: readonly { event: RecordedEvent }[]): Promise<void> {
    const work = items.flatMap(({ event }) => {
      const spec = this.specFor(event);
      return spec ? [{ cause: event, spec }] : [];
    });
    if (work.length) await this.hook.runBatch(work);
  }

  private specFor(recorded: RecordedEvent): ContactHookSpec | null {
    const event = recorded as RecordedEvent<ContactEvent>;
    if (event.type !== 'CommunicationEnded' || !END_STATUSES.includes(event.data.status)) return null;
    const { communicationId } = event.data;
    return {
      type: 'AGGREGATION',
      hook: 'aggregation',
      prefix: 'agg',
      details: { communicationId, status: event.data.status },
      input: (contact) => {
        const communication = contact.communications.find((c) => c.id === communicationId);
        if (!communication) return null;
        return {
          contact: snapshot(contact),
          // The ended communication's own results; the event's copy if the state has none.
          sessionResults: communication.sessionResults ?? event.data.sessionResults ?? {},
          flaggedCommunicationId: communicationId,
        };
      },
    };
  }
}
