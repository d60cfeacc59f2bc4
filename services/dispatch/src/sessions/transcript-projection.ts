import type { PoolClient } from 'pg';
import type { RecordedEvent } from '@herald/contracts';
import type { ContactEvent } from '@herald/contact-model';
import { openingMessageId } from './contact-stream';

/**
 * The sessions' transcripts, a read model of SessionMessageAdded: it can be
 * dropped and rebuilt by replaying contact.events (the events are the truth).
 */
export async function projectTranscript(recorded: RecordedEvent, topic: string, client: PoolClient): Promise<void> {
  await projectTranscriptMany([{ event: recorded, topic }], client);
}

/** The same rows for many events, in one statement (what a delivered batch applies). */
export async function projectTranscriptMany(items: readonly { event: RecordedEvent; topic: string }[], client: PoolClient): Promise<void> {
  const rows = items.flatMap(({ event }) => {
    if (event.type !== 'SessionMessageAdded') return [];
    const m = (event as RecordedEvent<Extract<ContactEvent, { type: 'SessionMessageAdded' }>>).data;
    // The opening sorts first however late it was recorded (see transcriptOf).
    return [{ ...m, position: m.messageId === openingMessageId(m.communicationId) ? 0 : event.position }];
  });
  if (!rows.length) return;
  await client.query(
    `INSERT INTO dispatch_session_messages (session_id, message_id, role, content, created_at, position)
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::timestamptz[], $6::bigint[])
     ON CONFLICT DO NOTHING`,
    [rows.map((r) => r.sessionId), rows.map((r) => r.messageId), rows.map((r) => r.role), rows.map((r) => r.content), rows.map((r) => r.createdAt), rows.map((r) => r.position)],
  );
}
