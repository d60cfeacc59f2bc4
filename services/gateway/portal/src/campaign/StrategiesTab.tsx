import { ActionIcon, Badge, Button, Group, Modal, Stack, Table, Text, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconCode, IconPencil, IconPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { STRATEGY_TYPES, strategyTypeLabel } from '../format';
import { CodeDialog } from './CodeDialog';
import { StrategyDialog } from './StrategyDialog';
import { useAccess } from '../access';

type StrategyView = CampaignView['strategies'][number];

export function StrategiesTab({ campaign }: { campaign: CampaignView }) {
  const [dialog, setDialog] = useState<{ mode: 'add' } | { mode: 'edit' | 'code' | 'delete'; strategy: StrategyView } | null>(null);
  const qc = useQueryClient();
  const used = new Set(campaign.strategies.map((s) => s.type));
  const full = STRATEGY_TYPES.every((t) => used.has(t.value));
  const remove = useMutation({
    mutationFn: (s: StrategyView) => api.removeStrategy(campaign.id, s.id),
    onSuccess: (next, s) => { qc.setQueryData(['campaign', campaign.id], next); notifications.show({ message: `Strategy “${s.name}” deleted` }); setDialog(null); },
  });
  const reason = 'Each strategy type can be used once and all types are taken: edit an existing strategy and use Replace file instead.';
  const cannot = useAccess().why('campaign_manager', 'upload strategies');
  return (
    <Stack>
      <Group justify="space-between" align="flex-start">
        <Text c="dimmed" size="sm" maw={640}>
          Python functions the campaign calls at fixed points: Data Load (required to run) when contacts are loaded, Aggregation when a communication ends,
          Contact answer intermediate analysis after each answer.
        </Text>
        <Tooltip label={reason} disabled={!full} multiline maw={300}>
          <span><Button leftSection={<IconPlus size={16} />} disabled={full || Boolean(cannot)} title={cannot ?? undefined} onClick={() => setDialog({ mode: 'add' })} aria-describedby={full ? 'strategies-full' : undefined}>Add Strategy</Button></span>
        </Tooltip>
      </Group>
      {full && <Text id="strategies-full" size="xs" c="dimmed" ta="right">{reason}</Text>}
      {campaign.strategies.length === 0 ? (
        <Text c="dimmed" ta="center" py="xl">No strategies yet. A Data Load strategy is required for the campaign to run: click Add Strategy and upload its .py file.</Text>
      ) : (
        <Table aria-label="Strategies" verticalSpacing="sm">
          <Table.Thead>
            <Table.Tr><Table.Th>Name</Table.Th><Table.Th>Type</Table.Th><Table.Th>Function</Table.Th><Table.Th>File</Table.Th><Table.Th w={130}><span className="sr-only">Actions</span></Table.Th></Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {campaign.strategies.map((s) => (
              <Table.Tr key={s.id} data-testid="strategy-row">
                <Table.Td><Text fw={500}>{s.name}</Text><Text size="sm" c="dimmed">{s.description}</Text></Table.Td>
                <Table.Td><Badge variant="light">{strategyTypeLabel(s.type)}</Badge></Table.Td>
                <Table.Td><code>{s.functionName}</code></Table.Td>
                <Table.Td><Text size="sm">{s.fileName} <Text span c="dimmed" size="xs">v{s.version}</Text></Text></Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Tooltip label="Show code"><ActionIcon variant="subtle" aria-label={`Show code of ${s.name}`} onClick={() => setDialog({ mode: 'code', strategy: s })}><IconCode size={16} /></ActionIcon></Tooltip>
                    <Tooltip label="Edit strategy"><ActionIcon variant="subtle" aria-label={`Edit strategy ${s.name}`} onClick={() => setDialog({ mode: 'edit', strategy: s })}><IconPencil size={16} /></ActionIcon></Tooltip>
                    <Tooltip label="Delete"><ActionIcon variant="subtle" color="red" aria-label={`Delete strategy ${s.name}`} onClick={() => setDialog({ mode: 'delete', strategy: s })}><IconTrash size={16} /></ActionIcon></Tooltip>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <StrategyDialog campaign={campaign} strategy={dialog?.mode === 'edit' ? dialog.strategy : null} opened={dialog?.mode === 'add' || dialog?.mode === 'edit'} onClose={() => setDialog(null)} />
      <CodeDialog campaignId={campaign.id} strategy={dialog?.mode === 'code' ? dialog.strategy : null} onClose={() => setDialog(null)} />
      <Modal opened={dialog?.mode === 'delete'} onClose={() => { setDialog(null); remove.reset(); }} title="Delete strategy">
        <Stack>
          <Text>Delete the strategy <b>{dialog?.mode === 'delete' ? dialog.strategy.name : ''}</b> and its code?</Text>
          <ErrorAlert error={remove.error} title="The strategy could not be deleted" />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setDialog(null)} data-autofocus>Cancel</Button>
            <Button color="red" loading={remove.isPending} onClick={() => dialog?.mode === 'delete' && remove.mutate(dialog.strategy)}>Delete</Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
