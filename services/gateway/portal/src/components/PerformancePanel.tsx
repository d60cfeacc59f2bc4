import { Button, Group, Loader, Paper, SegmentedControl, SimpleGrid, Stack, Text, Title, Tooltip } from '@mantine/core';
import { IconChartDots } from '@tabler/icons-react';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link } from 'react-router';
import { api, type CampaignPerformanceView, type PerformancePeriod } from '../api';
import { titleCase } from '../format';
import { BarChart, type Series } from './BarChart';
import { ErrorAlert } from './ErrorAlert';
import { StatusTag } from './StatusTag';

type Period = PerformancePeriod;
const OUTCOME_HEX: Record<string, string> = { SUCCESS: '#40c057', POSITIVE: '#12b886', UNCERTAIN: '#adb5bd', NEGATIVE: '#fd7e14', ERROR: '#fa5252' };

/** The label of a period the API names by its first day (UTC): the day, "week of" its Monday, or the month. */
export function periodLabel(start: string, period: Period): string {
  if (period === 'month') return start.slice(0, 7);
  if (period === 'week') return `week of ${start}`;
  return start;
}

const pct = (rate: number | null) => (rate === null ? '—' : `${Math.round(rate * 1000) / 10}%`);
const summary = (what: string, series: Series[]) => `${what}: ${series.map((s) => `${s.label} ${s.values.reduce((a, b) => a + b, 0)}`).join(', ')}`;

function charts(p: CampaignPerformanceView) {
  const labels = p.periods.map((start) => periodLabel(start, p.period));
  return {
    labels,
    stages: p.stages.map((s): Series => ({ label: s.stage ?? '(no stage)', values: s.contacts })),
    statuses: p.outcomes.map((o): Series => ({ label: titleCase(o.outcome), color: OUTCOME_HEX[o.outcome], values: o.contacts })),
  };
}

/**
 * The performance panel of the selected campaign: the numbers come from the
 * campaign-performance read model (GET /api/campaigns/:id/performance),
 * counted on the server as contacts change; docs/analytics.md defines each.
 */
export function PerformancePanel({ campaignId }: { campaignId: string | null }) {
  const [period, setPeriod] = useState<Period>('day');
  const campaign = useQuery({ queryKey: ['campaign', campaignId], queryFn: () => api.campaign(campaignId!), enabled: Boolean(campaignId) });
  const performance = useQuery({
    queryKey: ['performance', campaignId, period],
    queryFn: () => api.performance(campaignId!, period),
    enabled: Boolean(campaignId),
    refetchInterval: 15_000,
    // Switching the period keeps the numbers on screen until the new distribution arrives.
    placeholderData: (previous, query) => (query?.queryKey[1] === campaignId ? keepPreviousData(previous) : undefined),
  });
  const p = performance.data;
  const chart = useMemo(() => (p ? charts(p) : null), [p]);

  if (!campaignId) {
    return (
      <Paper withBorder p="xl">
        <Stack align="center" gap="xs" py="xl">
          <IconChartDots size={40} stroke={1.2} />
          <Title order={2} size="h4">Performance</Title>
          <Text c="dimmed" ta="center">Select a campaign in the list to see its contacts, completion and success rates, and their distribution over time.</Text>
        </Stack>
      </Paper>
    );
  }
  return (
    <Paper withBorder p="md" aria-label="Performance panel" component="section">
      <Stack>
        <Group justify="space-between">
          <Group gap="xs">
            <Title order={2} size="h3">{campaign.data?.name ?? '…'}</Title>
            {campaign.data && <StatusTag campaign={campaign.data} />}
          </Group>
          <Tooltip label="LLM-based metrics from the campaign's YAML analytics (docs/analytics.md)" multiline maw={260}>
            <Button variant="light" component={Link} to={`/campaigns/${campaignId}/deep-analysis`}>View Deep Analysis</Button>
          </Tooltip>
        </Group>
        <ErrorAlert error={campaign.error ?? performance.error} title="The performance data could not be loaded" />
        {performance.isPending && <Loader size="sm" aria-label="Loading performance" />}
        {p && chart && (
          <>
            <SimpleGrid cols={{ base: 2, lg: 4 }}>
              <Metric label="Total contacts" value={String(p.totalContacts)} />
              <Metric label="Processed contacts" value={String(p.processedContacts)} />
              <Metric label="Completion rate" value={pct(p.completionRate)} />
              <Metric label="Success rate" value={pct(p.successRate)} />
            </SimpleGrid>
            {p.totalContacts === 0 ? (
              <Text c="dimmed" ta="center" py="lg">No contacts yet: upload contacts on the campaign's Contacts tab to see charts here.</Text>
            ) : (
              <>
                <Group justify="space-between">
                  <Text fw={500}>Distribution by period</Text>
                  <SegmentedControl aria-label="Period" value={period} onChange={(v) => setPeriod(v as Period)}
                    data={[{ value: 'day', label: 'Day' }, { value: 'week', label: 'Week' }, { value: 'month', label: 'Month' }]} />
                </Group>
                <Title order={3} size="h5">Stage Distribution by Period</Title>
                <BarChart testId="stage-chart" labels={chart.labels} series={chart.stages} summary={summary(`Stage distribution (${chart.labels.join(', ')})`, chart.stages)} />
                <Title order={3} size="h5">Status Distribution by Period</Title>
                <BarChart testId="status-chart" labels={chart.labels} series={chart.statuses} summary={summary(`Status distribution (${chart.labels.join(', ')})`, chart.statuses)} />
              </>
            )}
          </>
        )}
      </Stack>
    </Paper>
  );
}

function Metric({ label, value }: { label: string; value: string }) {
  return (
    <Paper withBorder p="sm" radius="sm">
      <Text size="xs" c="dimmed" tt="uppercase" fw={700}>{label}</Text>
      <Text size="xl" fw={700} data-testid={`metric-${label.toLowerCase().replace(/ /g, '-')}`}>{value}</Text>
    </Paper>
  );
}

