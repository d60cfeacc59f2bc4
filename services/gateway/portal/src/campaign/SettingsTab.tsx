import { Badge, Button, Group, Paper, Select, Stack, Table, Text, Title } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { AnalyticsDialog } from './AnalyticsDialog';
import { ResultsDialog } from './ResultsDialog';

const BUILT_IN = new Set(['ResultFlag', 'ResultDatetime']);

export function SettingsTab({ campaign }: { campaign: CampaignView }) {
  const [dialog, setDialog] = useState<'analytics' | 'results' | null>(null);
  const custom = campaign.resultDefinitions.filter((r) => !BUILT_IN.has(r.code));
  return (
    <Stack>
      <LlmSettings campaign={campaign} />
      <Paper withBorder p="md" component="section" aria-labelledby="yaml-title">
        <Group justify="space-between">
          <Stack gap={2}>
            <Title order={3} size="h4" id="yaml-title">YAML Analytics</Title>
            <Text size="sm" c="dimmed">
              {campaign.analytics ? `${campaign.analytics.fileName} (version ${campaign.analytics.version})` : 'No YAML uploaded: upload one with the metrics Deep Analysis collects.'}
            </Text>
          </Stack>
          <Button variant="default" onClick={() => setDialog('analytics')}>Set YAML analytics</Button>
        </Group>
      </Paper>
      <Paper withBorder p="md" component="section" aria-labelledby="results-title">
        <Stack>
          <Group justify="space-between">
            <Title order={3} size="h4" id="results-title">Campaign Results</Title>
            <Button variant="default" onClick={() => setDialog('results')}>{custom.length ? 'Update results' : 'Add results'}</Button>
          </Group>
          <Table aria-label="Campaign results">
            <Table.Thead><Table.Tr><Table.Th>Code</Table.Th><Table.Th>Name</Table.Th><Table.Th>Description</Table.Th></Table.Tr></Table.Thead>
            <Table.Tbody>
              {campaign.resultDefinitions.map((r) => (
                <Table.Tr key={r.code} data-testid="result-row">
                  <Table.Td><code>{r.code}</code> {BUILT_IN.has(r.code) && <Badge size="xs" variant="light" color="gray">built in</Badge>}</Table.Td>
                  <Table.Td>{r.name}</Table.Td>
                  <Table.Td>{r.description ?? ''}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Stack>
      </Paper>
      <AnalyticsDialog campaign={campaign} opened={dialog === 'analytics'} onClose={() => setDialog(null)} />
      <ResultsDialog campaign={campaign} opened={dialog === 'results'} onClose={() => setDialog(null)} />
    </Stack>
  );
}

/** LLM Settings: the language-model integration of the campaign. */
function LlmSettings({ campaign }: { campaign: CampaignView }) {
  const qc = useQueryClient();
  const integrations = useQuery({ queryKey: ['integrations'], queryFn: api.integrations });
  const [value, setValue] = useState<string | null>(campaign.settings.llmIntegration ?? null);
  useEffect(() => setValue(campaign.settings.llmIntegration ?? null), [campaign.settings.llmIntegration]);
  const llms = (integrations.data ?? []).filter((i) => i.type === 'llm').map((i) => i.name);
  if (value && !llms.includes(value)) llms.push(value);
  const save = useMutation({
    mutationFn: () => api.settings(campaign.id, { llmIntegration: value }),
    onSuccess: (next) => { qc.setQueryData(['campaign', campaign.id], next); notifications.show({ color: 'green', message: 'LLM settings saved' }); },
  });
  return (
    <Paper withBorder p="md" component="section" aria-labelledby="llm-title">
      <Stack gap="sm">
        <Title order={3} size="h4" id="llm-title">LLM Settings</Title>
        <Group align="flex-end">
          <Select label="Language model" placeholder="Select" data={llms} value={value} onChange={setValue} clearable w={320}
            description={integrations.data && llms.length === 0 ? 'No LLM integration is configured in this workspace yet.' : 'The integration the campaign uses'} />
          <Button onClick={() => save.mutate()} loading={save.isPending} disabled={(value ?? null) === (campaign.settings.llmIntegration ?? null)}>Save</Button>
        </Group>
        <ErrorAlert error={integrations.error ?? save.error} title="LLM settings" />
      </Stack>
    </Paper>
  );
}
