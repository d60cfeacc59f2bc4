import { ActionIcon, Badge, Button, Code, Collapse, Group, Loader, SimpleGrid, Stack, Table, Text, Title, Tooltip, UnstyledButton } from '@mantine/core';
import { IconChevronDown, IconChevronRight, IconDownload, IconFilter } from '@tabler/icons-react';
import { useInfiniteQuery } from '@tanstack/react-query';
import { Fragment, useState } from 'react';
import { api, type CampaignView, type ContactFilters, type ContactSummary } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { dateTime, OUTCOME_COLORS, titleCase } from '../format';
import { CommunicationsDialog } from './CommunicationsDialog';
import { ContactFiltersDialog } from './ContactFiltersDialog';
import { UploadContacts } from './UploadContacts';
import { useAccess } from '../access';

const PAGE = 50;

export function ContactsTab({ campaign }: { campaign: CampaignView }) {
  const [filters, setFilters] = useState<ContactFilters>({});
  const cannotDownload = useAccess().why('campaign_manager', 'download contacts');
  const [filtering, setFiltering] = useState(false);
  const [expanded, setExpanded] = useState<Set<string>>(new Set());
  const [communications, setCommunications] = useState<string | null>(null);
  const running = campaign.status === 'RUNNING';
  const list = useInfiniteQuery({
    queryKey: ['contacts', campaign.id, filters],
    queryFn: ({ pageParam }) => api.contacts(campaign.id, filters, pageParam, PAGE),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next,
    // While the campaign runs, outcomes and stages change: every loaded page is read again.
    refetchInterval: running ? 3000 : false,
  });
  const items = list.data?.pages.flatMap((p) => p.items) ?? [];
  const active = Object.keys(filters).length;
  const toggle = (key: string) => setExpanded((s) => { const n = new Set(s); if (n.has(key)) n.delete(key); else n.add(key); return n; });

  return (
    <Stack>
      <UploadContacts campaign={campaign} />
      <Group justify="space-between">
        <Title order={3} size="h4">Contacts <Text span c="dimmed" size="sm">({campaign.contactCount})</Text></Title>
        <Group gap="xs">
          <Button variant={active ? 'light' : 'default'} leftSection={<IconFilter size={16} />} onClick={() => setFiltering(true)}>
            Search{active ? ` (${active} filter${active > 1 ? 's' : ''})` : ''}
          </Button>
          {cannotDownload
            ? <Button variant="default" leftSection={<IconDownload size={16} />} disabled title={cannotDownload}>Download contacts</Button>
            : <Button component="a" href={api.contactsCsvUrl(campaign.id, filters)} download variant="default" leftSection={<IconDownload size={16} />}>Download contacts</Button>}
        </Group>
      </Group>
      {list.isPending && <Loader size="sm" aria-label="Loading contacts" />}
      <ErrorAlert error={list.error} title="The contacts could not be loaded" />
      {list.data && items.length === 0 && (
        <Text c="dimmed" ta="center" py="xl">{active ? 'No contact matches these filters.' : 'No contacts yet. Click Upload new contacts and choose a CSV, JSON or JSONL file.'}</Text>
      )}
      {items.length > 0 && (
        <Table.ScrollContainer minWidth={900}>
          <Table aria-label="Contacts" verticalSpacing="xs">
            <Table.Thead>
              <Table.Tr>
                <Table.Th w={36}><span className="sr-only">Details</span></Table.Th>
                <Table.Th>Name</Table.Th><Table.Th>Email</Table.Th><Table.Th>Phone</Table.Th><Table.Th>Current stage</Table.Th>
                <Table.Th>Communications</Table.Th><Table.Th>Created</Table.Th><Table.Th>Outcome</Table.Th><Table.Th>External id</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {items.map((c) => (
                <Fragment key={c.key}>
                  <Table.Tr data-testid="contact-row" data-key={c.key}>
                    <Table.Td>
                      <ActionIcon variant="subtle" aria-expanded={expanded.has(c.key)} aria-label={`${expanded.has(c.key) ? 'Hide' : 'Show'} parameters and results of ${c.name ?? c.key}`} onClick={() => toggle(c.key)}>
                        {expanded.has(c.key) ? <IconChevronDown size={16} /> : <IconChevronRight size={16} />}
                      </ActionIcon>
                    </Table.Td>
                    <Table.Td>{c.name ?? '—'}</Table.Td>
                    <Table.Td>{c.email ?? '—'}</Table.Td>
                    <Table.Td>{c.phone ?? '—'}</Table.Td>
                    <Table.Td>{c.currentStage ?? '—'}</Table.Td>
                    <Table.Td>
                      <Tooltip label="Show the communications">
                        <UnstyledButton onClick={() => setCommunications(c.key)} aria-label={`${c.communications} communications of ${c.name ?? c.key}`} c="blue" fw={600} td="underline">
                          {c.communications}
                        </UnstyledButton>
                      </Tooltip>
                    </Table.Td>
                    <Table.Td>{dateTime(c.createdAt)}</Table.Td>
                    <Table.Td><Badge variant="light" color={OUTCOME_COLORS[c.outcome] ?? 'gray'} data-testid="outcome">{titleCase(c.outcome)}</Badge></Table.Td>
                    <Table.Td>{c.externalId ?? '—'}</Table.Td>
                  </Table.Tr>
                  <Table.Tr>
                    <Table.Td colSpan={9} p={0} style={{ borderBottom: expanded.has(c.key) ? undefined : 'none' }}>
                      <Collapse expanded={expanded.has(c.key)}>
                        <ContactDetails contact={c} />
                      </Collapse>
                    </Table.Td>
                  </Table.Tr>
                </Fragment>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {list.hasNextPage && (
        <Group justify="center">
          <Button variant="default" loading={list.isFetchingNextPage} onClick={() => void list.fetchNextPage()}>Load More</Button>
        </Group>
      )}
      <ContactFiltersDialog opened={filtering} value={filters} onClose={() => setFiltering(false)} onApply={(f) => { setFilters(f); setFiltering(false); }} />
      <CommunicationsDialog campaignId={campaign.id} contactKey={communications} running={running} onClose={() => setCommunications(null)} />
    </Stack>
  );
}

function ContactDetails({ contact }: { contact: ContactSummary }) {
  return (
    <SimpleGrid cols={2} p="sm" bg="var(--mantine-color-gray-0)">
      <KeyValues title="Parameters" values={contact.parameters} empty="No parameters were imported." />
      <KeyValues title="Results" values={contact.results} empty="No results collected yet." />
    </SimpleGrid>
  );
}

function KeyValues({ title, values, empty }: { title: string; values: Record<string, unknown>; empty: string }) {
  const entries = Object.entries(values ?? {});
  return (
    <Stack gap={4}>
      <Text fw={600} size="sm">{title}</Text>
      {entries.length === 0 ? <Text size="sm" c="dimmed">{empty}</Text> : (
        <Table withRowBorders={false} verticalSpacing={2}>
          <Table.Tbody>
            {entries.map(([k, v]) => (
              <Table.Tr key={k}>
                <Table.Td w="40%"><Code>{k}</Code></Table.Td>
                <Table.Td className="pre-wrap">{typeof v === 'string' ? v : JSON.stringify(v)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
    </Stack>
  );
}
