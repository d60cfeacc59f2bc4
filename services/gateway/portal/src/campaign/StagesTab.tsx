import { ActionIcon, Badge, Button, Group, Modal, Stack, Table, Text, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPencil, IconPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { channelLabel } from '../format';
import { StageDialog } from './StageDialog';
import { useAccess } from '../access';

type StageView = CampaignView['stages'][number];

export function StagesTab({ campaign }: { campaign: CampaignView }) {
  const [editing, setEditing] = useState<StageView | null>(null);
  const [adding, setAdding] = useState(false);
  const [deleting, setDeleting] = useState<StageView | null>(null);
  const qc = useQueryClient();
  const remove = useMutation({
    mutationFn: (s: StageView) => api.removeStage(campaign.id, s.id),
    onSuccess: (next, s) => { qc.setQueryData(['campaign', campaign.id], next); notifications.show({ message: `Stage “${s.name}” deleted` }); setDeleting(null); },
  });
  const cannot = useAccess().why('campaign_manager', 'change stages');
  return (
    <Stack>
      <Group justify="space-between">
        <Text c="dimmed" size="sm">Each stage ties a channel to an agent. Strategies move contacts between stages by name.</Text>
        <Button leftSection={<IconPlus size={16} />} disabled={Boolean(cannot)} title={cannot ?? undefined} onClick={() => setAdding(true)}>Add Stage</Button>
      </Group>
      {campaign.stages.length === 0 ? (
        <Text c="dimmed" ta="center" py="xl">No stages yet. Click Add Stage to describe the first communication step.</Text>
      ) : (
        <Table aria-label="Stages" verticalSpacing="sm">
          <Table.Thead>
            <Table.Tr><Table.Th>Name</Table.Th><Table.Th>Configs</Table.Th><Table.Th w={100}><span className="sr-only">Actions</span></Table.Th></Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {campaign.stages.map((s) => (
              <Table.Tr key={s.id} data-testid="stage-row">
                <Table.Td>
                  <Text fw={500}>{s.name}</Text>
                  <Text size="sm" c="dimmed">{s.description}</Text>
                </Table.Td>
                <Table.Td>
                  {s.variants?.length ? (
                    <Stack gap={2}>
                      <Badge variant="light" color="grape" w="fit-content">A/B testing</Badge>
                      {s.variants.map((v) => (
                        <Text size="sm" key={v.label}>{v.label} ({v.group}, weight {v.weight}): {channelLabel(v.channel)}{v.agent ? ` · ${v.agent}` : ''}</Text>
                      ))}
                    </Stack>
                  ) : (
                    <Text size="sm">{channelLabel(s.channel)}{s.agent ? ` · Agent: ${s.agent}` : ''}</Text>
                  )}
                </Table.Td>
                <Table.Td>
                  <Group gap={4} wrap="nowrap">
                    <Tooltip label="Edit"><ActionIcon variant="subtle" aria-label={`Edit stage ${s.name}`} onClick={() => setEditing(s)}><IconPencil size={16} /></ActionIcon></Tooltip>
                    <Tooltip label="Delete"><ActionIcon variant="subtle" color="red" aria-label={`Delete stage ${s.name}`} onClick={() => setDeleting(s)}><IconTrash size={16} /></ActionIcon></Tooltip>
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <StageDialog campaign={campaign} stage={editing} opened={adding || editing !== null} onClose={() => { setAdding(false); setEditing(null); }} />
      <Modal opened={deleting !== null} onClose={() => { setDeleting(null); remove.reset(); }} title="Delete stage">
        <Stack>
          <Text>Delete the stage <b>{deleting?.name}</b>? Strategies that move contacts to it by name will fail to find it.</Text>
          <ErrorAlert error={remove.error} title="The stage could not be deleted" />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setDeleting(null)} data-autofocus>Cancel</Button>
            <Button color="red" loading={remove.isPending} onClick={() => deleting && remove.mutate(deleting)}>Delete</Button>
          </Group>
        </Stack>
      </Modal>
    </Stack>
  );
}
