import { Alert, Anchor, Badge, Button, Group, List, Loader, Paper, SimpleGrid, Stack, Table, Text, Title, Tooltip } from '@mantine/core';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api } from '../api';
import { BarChart } from '../components/BarChart';
import { ErrorAlert } from '../components/ErrorAlert';
import { dateTime } from '../format';
import { analysisApi, statusLabel, type AnalysedSessionView, type MetricAggregateView } from './analysis-api';

const pct = (rate: number | null | undefined) => (rate === null || rate === undefined ? '—' : `${Math.round(rate * 1000) / 10}%`);
const num = (x: number | null | undefined, unit: string | null) => (x === null || x === undefined ? '—' : `${x}${unit ? ` ${unit}` : ''}`);

/** Deep Analysis: the campaign's YAML metrics added up over its analysed sessions, and the sessions one by one with their transcripts. */
export function DeepAnalysisPage() {
  const { id = '' } = useParams();
  const campaign = useQuery({ queryKey: ['campaign', id], queryFn: () => api.campaign(id) });
  const status = useQuery({ queryKey: ['analysis-status', id], queryFn: () => analysisApi.status(id), refetchInterval: (q) => (q.state.data?.state === 'running' ? 2000 : false) });
  const running = status.data?.state === 'running';
  const results = useQuery({ queryKey: ['analysis-results', id], queryFn: () => analysisApi.results(id), refetchInterval: running ? 2000 : false });
  const sessions = useInfiniteQuery({
    queryKey: ['analysis-results', id, 'sessions'],
    queryFn: ({ pageParam }) => analysisApi.sessions(id, pageParam),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.next,
    refetchInterval: running ? 2000 : false,
  });
  const r = results.data;
  const label = status.data ? statusLabel(status.data) : null;
  const rows = sessions.data?.pages.flatMap((p) => p.items) ?? [];
  const byCode = new Map((r?.metrics ?? []).map((m) => [m.code, m]));
  return (
    <Stack>
      <Anchor component={Link} to={`/campaigns/${id}?tab=settings`} size="sm">← {campaign.data?.name ?? 'Campaign'}</Anchor>
      <Group gap="sm">
        <Title order={2}>Deep Analysis{campaign.data ? `: ${campaign.data.name}` : ''}</Title>
        {label && <Badge color={label.color} variant="light" data-testid="analysis-status">{label.label}</Badge>}
      </Group>
      {r?.title && <Text fw={500}>{r.title}</Text>}
      <ErrorAlert error={campaign.error ?? status.error ?? results.error ?? sessions.error} title="Deep analysis could not be loaded" />
      {results.isPending && <Loader size="sm" aria-label="Loading the analysis" />}
      {r && r.yamlVersion === null && (
        <Alert color="gray" title="No YAML analytics">
          This campaign has no YAML analytics file yet. Upload one on the <Anchor component={Link} to={`/campaigns/${id}?tab=settings`}>Settings tab</Anchor> (Set YAML analytics): it defines the metrics Deep Analysis reads from each conversation.
        </Alert>
      )}
      {r && r.yamlVersion !== null && (
        <>
          <Text size="sm" c="dimmed" data-testid="analysed-sessions">
            {r.sessions} analysed session{r.sessions === 1 ? '' : 's'} · YAML version {r.yamlVersion} · depth {r.depthDays} days
          </Text>
          {r.sessions === 0 && <Text c="dimmed">No session has been analysed yet: sessions are analysed as they end; Recalculate in the YAML analytics dialog covers earlier ones.</Text>}
          <SimpleGrid cols={{ base: 1, md: 2 }}>
            {r.metrics.filter((m) => m.chart !== 'none').map((m) => <MetricCard key={m.code} metric={m} />)}
          </SimpleGrid>
          <Title order={3} size="h4">Sessions</Title>
          {rows.length > 0 && (
            <Table aria-label="Analysed sessions" striped>
              <Table.Thead>
                <Table.Tr>
                  <Table.Th>Contact</Table.Th><Table.Th>Ended</Table.Th>
                  {r.sessionColumns.map((code) => <Table.Th key={code}>{byCode.get(code)?.name ?? code}</Table.Th>)}
                  <Table.Th>Transcript</Table.Th>
                </Table.Tr>
              </Table.Thead>
              <Table.Tbody>
                {rows.map((s) => <SessionRow key={s.sessionId} session={s} columns={r.sessionColumns} />)}
              </Table.Tbody>
            </Table>
          )}
          {sessions.hasNextPage && <Button variant="default" onClick={() => void sessions.fetchNextPage()} loading={sessions.isFetchingNextPage} w="fit-content">Load More</Button>}
        </>
      )}
    </Stack>
  );
}

function MetricCard({ metric: m }: { metric: MetricAggregateView }) {
  const answered = `${m.answered} of ${m.analysed} session${m.analysed === 1 ? '' : 's'} answered`;
  let body = null;
  if (m.chart === 'list') {
    body = m.samples?.length
      ? <List size="sm" spacing={4}>{m.samples.map((x) => <List.Item key={x.sessionId}>{x.value} <Anchor component={Link} to={`/sessions/${x.sessionId}`} size="xs">transcript</Anchor></List.Item>)}</List>
      : <Text size="sm" c="dimmed">No answers yet.</Text>;
  } else if (m.chart === 'stat' || m.type === 'number') {
    body = <Text size="sm" data-testid="metric-stat">Mean {num(m.mean, m.unit)} · min {num(m.minValue, m.unit)} · max {num(m.maxValue, m.unit)}</Text>;
  } else {
    const bars = m.type === 'boolean' ? [{ value: 'Yes', count: m.trueCount ?? 0 }, { value: 'No', count: m.falseCount ?? 0 }] : m.counts ?? [];
    body = (
      <Stack gap={4}>
        {m.type === 'boolean' && <Text size="sm">Yes: {pct(m.trueRate)}</Text>}
        {m.type === 'scale' && <Text size="sm">Mean {num(m.mean, m.unit)}</Text>}
        <BarChart labels={bars.map((b) => b.value)} series={[{ label: 'Sessions', values: bars.map((b) => b.count) }]}
          summary={`${m.name}: ${bars.map((b) => `${b.value} ${b.count}`).join(', ')}`} testId={`metric-chart-${m.code}`} />
      </Stack>
    );
  }
  return (
    <Paper withBorder p="md" component="section" aria-label={m.name} data-testid="metric-card">
      <Stack gap="xs">
        <Group justify="space-between"><Title order={4} size="h5">{m.name}</Title><Text size="xs" c="dimmed">{answered}</Text></Group>
        {m.description && <Text size="sm" c="dimmed">{m.description}</Text>}
        {body}
      </Stack>
    </Paper>
  );
}

function SessionRow({ session: s, columns }: { session: AnalysedSessionView; columns: string[] }) {
  const show = (v: unknown) => (v === null || v === undefined ? '—' : typeof v === 'boolean' ? (v ? 'Yes' : 'No') : String(v));
  return (
    <Table.Tr data-testid="analysed-session-row">
      <Table.Td>{s.contactKey}</Table.Td>
      <Table.Td style={{ whiteSpace: 'nowrap' }}>{dateTime(s.endedAt)}</Table.Td>
      {columns.map((code) => (
        <Table.Td key={code}>
          {s.errors[code] ? <Tooltip label={s.errors[code]}><span>{show(s.values[code])}</span></Tooltip> : show(s.values[code])}
        </Table.Td>
      ))}
      <Table.Td><Anchor component={Link} to={`/sessions/${encodeURIComponent(s.sessionId)}`}>Open transcript</Anchor></Table.Td>
    </Table.Tr>
  );
}
