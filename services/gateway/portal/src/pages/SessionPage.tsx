import { Alert, Badge, Group, Loader, Paper, Stack, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { useParams } from 'react-router';
import { api, ApiError } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { channelLabel, dateTime } from '../format';

/** Sessions: the transcript of one conversation, message by message. */
export function SessionPage() {
  const { id = '' } = useParams();
  const session = useQuery({ queryKey: ['session', id], queryFn: () => api.session(id), refetchInterval: (q) => (q.state.data?.status === 'open' ? 3000 : false) });
  if (session.isPending) return <Loader aria-label="Loading the session" />;
  if (session.error) {
    const missing = session.error instanceof ApiError && session.error.status === 404;
    return (
      <Stack>
        <Title order={2}>Session</Title>
        {missing
          ? <Alert color="gray" title="No transcript here">This server has no session {id}, or its sessions API (/api/sessions) is not available yet.</Alert>
          : <ErrorAlert error={session.error} title="The session could not be loaded" />}
      </Stack>
    );
  }
  const s = session.data;
  return (
    <Stack maw={900}>
      <Title order={2}>Session</Title>
      <Paper withBorder p="sm">
        <Group gap="lg">
          <Text size="sm">Channel: <b>{channelLabel(s.channel)}</b></Text>
          <Text size="sm">Agent: <b>{s.agent ?? '—'}</b></Text>
          <Text size="sm">Contact: <b>{s.contactKey}</b></Text>
          <Badge variant="light" color={s.status === 'open' ? 'blue' : 'gray'}>{s.status === 'open' ? 'Open' : 'Closed'}</Badge>
          <Text size="sm" c="dimmed">{dateTime(s.startedAt)} – {s.endedAt ? dateTime(s.endedAt) : 'now'}{s.endReason ? ` (${s.endReason})` : ''}</Text>
        </Group>
      </Paper>
      {s.messages.length === 0 && <Text c="dimmed">No messages yet.</Text>}
      <Stack gap="xs" component="ol" p={0} style={{ listStyle: 'none' }} aria-label="Transcript">
        {s.messages.map((m) => (
          <Paper component="li" key={m.messageId} withBorder p="sm" className={m.role === 'agent' ? 'chat-agent' : 'chat-contact'}
            bg={m.role === 'agent' ? 'var(--mantine-color-gray-0)' : 'var(--mantine-color-blue-0)'} data-testid="message">
            <Text size="xs" c="dimmed">{m.role === 'agent' ? s.agent ?? 'Agent' : 'Contact'} · {dateTime(m.createdAt)}</Text>
            <Text className="pre-wrap">{m.content}</Text>
          </Paper>
        ))}
      </Stack>
    </Stack>
  );
}
