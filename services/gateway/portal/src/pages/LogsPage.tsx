import { Anchor, Badge, Button, Code, Group, Loader, Select, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconRefresh } from '@tabler/icons-react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { api } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { dateTime } from '../format';

const LEVEL_COLORS: Record<string, string> = { DEBUG: 'gray', INFO: 'blue', WARNING: 'yellow', ERROR: 'red' };

/** Show Logs: the campaign engine log (strategy output included), oldest first, with level and contact filters. */
export function LogsPage() {
  const { id = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const level = params.get('level') ?? '';
  const contactInput = params.get('contact') ?? '';
  const [contact] = useDebouncedValue(contactInput.trim(), 300);
  const campaign = useQuery({ queryKey: ['campaign', id], queryFn: () => api.campaign(id) });
  const logs = useInfiniteQuery({
    queryKey: ['logs', id, level, contact],
    queryFn: ({ pageParam }) => api.logs(id, { level: level || undefined, contact: contact || undefined, after: pageParam ?? undefined, limit: 200 }),
    initialPageParam: null as number | null,
    getNextPageParam: (last) => last.next,
  });
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value); else next.delete(key);
    setParams(next, { replace: true });
  };
  const items = logs.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Stack>
      <Anchor component={Link} to={`/campaigns/${id}`} size="sm">← {campaign.data?.name ?? 'Campaign'}</Anchor>
      <Title order={2}>Logs{campaign.data ? `: ${campaign.data.name}` : ''}</Title>
      <Group align="flex-end">
        <Select label="Level" data={[{ value: 'ALL', label: 'All levels' }, 'DEBUG', 'INFO', 'WARNING', 'ERROR']} value={level || 'ALL'} onChange={(v) => set('level', v === 'ALL' ? '' : v ?? '')} allowDeselect={false} w={160} />
        <TextInput label="Contact" placeholder="Contact key, e.g. o:C-1001" value={contactInput} onChange={(e) => set('contact', e.currentTarget.value)} w={260} />
        <Button variant="default" leftSection={<IconRefresh size={16} />} onClick={() => void logs.refetch()} loading={logs.isRefetching}>Refresh</Button>
      </Group>
      {logs.isPending && <Loader size="sm" aria-label="Loading logs" />}
      <ErrorAlert error={logs.error} title="The log could not be loaded" />
      {logs.data && items.length === 0 && <Text c="dimmed" py="lg">No log entries{level || contact ? ' match these filters' : ' yet: the engine logs when contacts are loaded and strategies run'}.</Text>}
      {items.length > 0 && (
        <Table aria-label="Log entries" striped verticalSpacing={4}>
          <Table.Thead><Table.Tr><Table.Th>Time</Table.Th><Table.Th>Level</Table.Th><Table.Th>Source</Table.Th><Table.Th>Contact</Table.Th><Table.Th>Message</Table.Th></Table.Tr></Table.Thead>
          <Table.Tbody>
            {items.map((e) => (
              <Table.Tr key={e.id} data-testid="log-row">
                <Table.Td style={{ whiteSpace: 'nowrap' }}>{dateTime(e.createdAt)}</Table.Td>
                <Table.Td><Badge size="sm" variant="light" color={LEVEL_COLORS[e.level.toUpperCase()] ?? 'gray'}>{e.level}</Badge></Table.Td>
                <Table.Td>{e.source}</Table.Td>
                <Table.Td>{e.contactKey ? <Anchor component="button" type="button" onClick={() => set('contact', e.contactKey!)}>{e.contactKey}</Anchor> : '—'}</Table.Td>
                <Table.Td>
                  <Text size="sm" className="pre-wrap">{e.message}</Text>
                  {e.details !== null && e.details !== undefined && <Code block mt={4} className="pre-wrap">{typeof e.details === 'string' ? e.details : JSON.stringify(e.details, null, 2)}</Code>}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      {logs.hasNextPage && items.length > 0 && (
        <Group justify="center"><Button variant="default" loading={logs.isFetchingNextPage} onClick={() => void logs.fetchNextPage()}>Load more</Button></Group>
      )}
    </Stack>
  );
}
