import { Anchor, Badge, Loader, Modal, ScrollArea, Stack, Table, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { channelLabel, dateTime, titleCase } from '../format';

const STATUS_COLORS: Record<string, string> = { PLANNED: 'gray', STARTED: 'blue', COMPLETED: 'green', INTERRUPTED: 'yellow', ERROR: 'red', MISSED: 'orange' };

/** The communications of one contact; Go to session opens the conversation in Sessions, in a new tab. */
export function CommunicationsDialog({ campaignId, contactKey, running, onClose }: { campaignId: string; contactKey: string | null; running: boolean; onClose(): void }) {
  const contact = useQuery({
    queryKey: ['contact', campaignId, contactKey],
    queryFn: () => api.contact(campaignId, contactKey!),
    enabled: Boolean(contactKey),
    refetchInterval: running ? 3000 : false,
  });
  const c = contact.data;
  return (
    <Modal opened={contactKey !== null} onClose={onClose} size="90%" title={`Communications${c?.name ? ` of ${c.name}` : ''}`}>
      <Stack>
        {contact.isPending && <Loader size="sm" aria-label="Loading communications" />}
        <ErrorAlert error={contact.error} title="The communications could not be loaded" />
        {c && c.communications.length === 0 && <Text c="dimmed">No communication is planned for this contact yet.</Text>}
        {c && c.communications.length > 0 && (
          <ScrollArea>
            <Table aria-label="Communications" striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Name</Table.Th><Table.Th>Status</Table.Th><Table.Th>Session status</Table.Th><Table.Th>Channel</Table.Th>
                  <Table.Th>Result</Table.Th><Table.Th>Agent</Table.Th><Table.Th>Start date</Table.Th><Table.Th>Finish date</Table.Th><Table.Th>Session</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {c.communications.map((m) => (
                  <Table.Tr key={m.id} data-testid="communication-row">
                    <Table.Td>{m.name}<Text size="xs" c="dimmed">{m.stageName}{m.variant ? ` · ${m.variant}` : ''}</Text></Table.Td>
                    <Table.Td><Badge variant="light" color={STATUS_COLORS[m.status] ?? 'gray'}>{titleCase(m.status)}</Badge></Table.Td>
                    <Table.Td>{m.sessionStatus ?? '—'}</Table.Td>
                    <Table.Td>{channelLabel(m.channel)}</Table.Td>
                    <Table.Td>{m.result ?? '—'}</Table.Td>
                    <Table.Td>{m.agent ?? '—'}</Table.Td>
                    <Table.Td>{dateTime(m.startedAt ?? m.startDate)}</Table.Td>
                    <Table.Td>{dateTime(m.finishedAt)}</Table.Td>
                    <Table.Td>
                      {m.sessionId ? <Anchor href={`/sessions/${encodeURIComponent(m.sessionId)}`} target="_blank" rel="noopener">Go to session</Anchor> : <Text size="sm" c="dimmed">—</Text>}
                    </Table.Td>
                  </Table.Tr>
                ))}
              </Table.Tbody>
            </Table>
          </ScrollArea>
        )}
      </Stack>
    </Modal>
  );
}
