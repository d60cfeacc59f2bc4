import type { ContactEvent } from '@herald/contact-model';
import type { RecordedEvent } from '@herald/contracts';
import { ContactHook, snapshot } from '../hooks/contact-hook';

/**
 * Runs the Intermediate analysis strategy (`on_agent_answer`) on each
 * message of a live conversation, the contact's and the agent's
 * (`message.role`). Returning None means no change.
 */
export class IntermediateAnalysisHandler {
  /** The only events it acts on. */
  static readonly TYPES: readonly ContactEvent['type'][] = ['SessionMessageAdded'];

  constructor(private readonly hook: ContactHook) {}

  async handle(recorded: RecordedEvent): Promise<void> {
    const event = recorded as RecordedEvent<ContactEvent>;
    if (event.type !== 'SessionMessageAdded') return;
    const m = event.data;
    await this.hook.run(recorded, {
      type: 'INTERMEDIATE_ANALYSIS',
      hook: 'intermediate',
      prefix: 'int',
      details: { communicationId: m.communicationId, sessionId: m.sessionId, messageId: m.messageId },
      input: (contact) => ({
        contact: snapshot(contact),
        message: { role: m.role, content: m.content, createdAt: m.createdAt, sessionId: m.sessionId, communicationId: m.communicationId },
      }),
    });
  }
}
