import type { PoolClient } from 'pg';
import type { RecordedEvent } from '@herald/contracts';
import type { ContactEvent } from '@herald/contact-model';
import { openingMessageId } from './contact-stream';

/**
 * The sessions' transcripts, a read model of SessionMessageAdded: it can be
 * dropped and rebuilt by replaying contact.events (the events are the truth).
 */
export async function projectTranscript(recorded: RecordedEvent, _topic: string, client: PoolClient): Promise<void> {
  const event = recorded as RecordedEvent<ContactEvent>;
  if (event.type !== 'SessionMessageAdded') return;
  const m = event.data;
  // The opening sorts first however late it was recorded (see transcriptOf).
  const position = m.messageId === openingMessageId(m.communicationId) ? 0 : recorded.position;
  await client.query(
    `INSERT INTO dispatch_session_messages (session_id, message_id, role, content, created_at, position) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT DO NOTHING`,
    [m.sessionId, m.messageId, m.role, m.content, m.createdAt, position],
  );
}
