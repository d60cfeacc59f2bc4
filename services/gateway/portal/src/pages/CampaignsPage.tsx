import { ActionIcon, Button, Grid, Group, Loader, Paper, Stack, Table, Tabs, Text, TextInput, Title, Tooltip } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { IconArrowRight, IconFileImport, IconPlus, IconSearch } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate, useSearchParams } from 'react-router';
import { api } from '../api';
import { CreateCampaignDialog } from '../campaign/CreateCampaignDialog';
import { ImportCampaignDialog } from '../campaign/ImportCampaignDialog';
import { ErrorAlert } from '../components/ErrorAlert';
import { PerformancePanel } from '../components/PerformancePanel';
import { StatusTag } from '../components/StatusTag';

/** Campaigns > Python: the list on the left, the selected campaign's performance on the right. */
export function CampaignsPage() {
  const [params, setParams] = useSearchParams();
  const filter = params.get('filter') === 'all' ? 'all' : 'running'; // Running is the default filter (seeds)
  const selected = params.get('selected');
  const [search, setSearch] = useState(params.get('search') ?? '');
  const [debounced] = useDebouncedValue(search.trim(), 250);
  const [creating, setCreating] = useState(false);
  const [importing, setImporting] = useState(false);
  const navigate = useNavigate();
  const list = useQuery({ queryKey: ['campaigns', filter, debounced], queryFn: () => api.campaigns(filter, debounced), refetchInterval: 10_000 });

  const set = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) if (v === null) next.delete(k); else next.set(k, v);
    setParams(next, { replace: true });
  };
  const open = (id: string) => navigate(`/campaigns/${id}`);

  return (
    <Grid gap="md">
      <Grid.Col span={{ base: 12, md: 5 }}>
        <Paper withBorder p="md">
          <Stack gap="sm">
            <Group justify="space-between">
              <Title order={2} size="h3">Python campaigns</Title>
              <Group gap="xs">
                <Button leftSection={<IconPlus size={16} />} onClick={() => setCreating(true)}>Create campaign</Button>
                <Button variant="default" leftSection={<IconFileImport size={16} />} onClick={() => setImporting(true)}>Import campaign</Button>
              </Group>
            </Group>
            <Tabs value={filter} onChange={(v) => set({ filter: v === 'all' ? 'all' : null })}>
              <Tabs.List>
                <Tabs.Tab value="all">All</Tabs.Tab>
                <Tabs.Tab value="running">Running</Tabs.Tab>
              </Tabs.List>
            </Tabs>
            <TextInput aria-label="Search campaigns" placeholder="Search by name, description or label" leftSection={<IconSearch size={16} />}
              value={search} onChange={(e) => setSearch(e.currentTarget.value)} />
            {list.isPending && <Loader size="sm" aria-label="Loading campaigns" />}
            <ErrorAlert error={list.error} title="The campaign list could not be loaded" />
            {list.data && list.data.length === 0 && (
              <Text c="dimmed" py="lg" ta="center">
                {debounced ? `No campaign matches “${debounced}”.` : filter === 'running' ? 'No campaign is running. Open the All tab to see every campaign.' : 'No campaigns yet. Click Create campaign to make the first one.'}
              </Text>
            )}
            {list.data && list.data.length > 0 && (
              <Table highlightOnHover aria-label="Campaigns">
                <Table.Thead>
                  <Table.Tr><Table.Th>Name</Table.Th><Table.Th>Status</Table.Th><Table.Th><span className="sr-only">Open</span></Table.Th></Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {list.data.map((c) => (
                    <Table.Tr key={c.id} className="campaign-row" tabIndex={0} aria-selected={c.id === selected}
                      data-testid="campaign-row"
                      onClick={() => set({ selected: c.id })}
                      onDoubleClick={() => open(c.id)}
                      onKeyDown={(e) => {
                        if (e.key === 'Enter') open(c.id);
                        if (e.key === ' ') { e.preventDefault(); set({ selected: c.id }); }
                      }}>
                      <Table.Td>
                        <Text fw={500}>{c.name}</Text>
                        <Text size="xs" c="dimmed" lineClamp={1}>{c.description}</Text>
                        {c.labels.length > 0 && <Text size="xs" c="dimmed">{c.labels.join(', ')}</Text>}
                      </Table.Td>
                      <Table.Td><StatusTag campaign={c} /></Table.Td>
                      <Table.Td>
                        <Tooltip label="Open">
                          <ActionIcon variant="subtle" aria-label={`Open ${c.name}`} onClick={(e) => { e.stopPropagation(); open(c.id); }}>
                            <IconArrowRight size={16} />
                          </ActionIcon>
                        </Tooltip>
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            )}
            {list.data && list.data.length > 0 && <Text size="xs" c="dimmed">Click a campaign to see its performance; double-click (or Enter) opens it.</Text>}
          </Stack>
        </Paper>
      </Grid.Col>
      <Grid.Col span={{ base: 12, md: 7 }}>
        <PerformancePanel campaignId={selected} />
      </Grid.Col>
      <CreateCampaignDialog opened={creating} onClose={() => setCreating(false)} onCreated={(c) => { setCreating(false); set({ filter: 'all', selected: c.id }); }} />
      <ImportCampaignDialog opened={importing} onClose={() => setImporting(false)} onImported={(c) => { setImporting(false); open(c.id); }} />
    </Grid>
  );
}
