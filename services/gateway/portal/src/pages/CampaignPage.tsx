import { ActionIcon, Anchor, Button, Group, Loader, Menu, Paper, Stack, TagsInput, Tabs, Text, Textarea, Title, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconDots, IconFileExport, IconListDetails, IconPencil, IconPlayerPlay, IconPlayerStop, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams, useSearchParams } from 'react-router';
import { api, ApiError, type CampaignView } from '../api';
import { ContactsTab } from '../campaign/ContactsTab';
import { DeleteCampaignDialog } from '../campaign/DeleteCampaignDialog';
import { ExportDialog } from '../campaign/ExportDialog';
import { RenameDialog } from '../campaign/RenameDialog';
import { SettingsTab } from '../campaign/SettingsTab';
import { StagesTab } from '../campaign/StagesTab';
import { StrategiesTab } from '../campaign/StrategiesTab';
import { ErrorAlert } from '../components/ErrorAlert';
import { StatusTag } from '../components/StatusTag';
import { useAccess } from '../access';

const TABS = ['stages', 'strategies', 'contacts', 'settings'] as const;

/** One campaign: the header (Start / Stop, Save, more actions) and the four tabs. */
export function CampaignPage() {
  const { id = '' } = useParams();
  const [params, setParams] = useSearchParams();
  const tab = (TABS as readonly string[]).includes(params.get('tab') ?? '') ? params.get('tab')! : 'stages';
  const campaign = useQuery({ queryKey: ['campaign', id], queryFn: () => api.campaign(id), refetchInterval: 3000 });

  if (campaign.isPending) return <Loader aria-label="Loading the campaign" />;
  if (campaign.error) {
    return (
      <Stack>
        <ErrorAlert error={campaign.error} title={campaign.error instanceof ApiError && campaign.error.status === 404 ? 'This campaign does not exist (it may have been deleted)' : 'The campaign could not be loaded'} />
        <Anchor component={Link} to="/campaigns">Back to the campaign list</Anchor>
      </Stack>
    );
  }
  const c = campaign.data;
  return (
    <Stack>
      <Header campaign={c} />
      <Tabs value={tab} onChange={(v) => { const next = new URLSearchParams(params); next.set('tab', v ?? 'stages'); setParams(next, { replace: true }); }} keepMounted={false}>
        <Tabs.List>
          <Tabs.Tab value="stages">Stages</Tabs.Tab>
          <Tabs.Tab value="strategies">Strategies</Tabs.Tab>
          <Tabs.Tab value="contacts">Contacts</Tabs.Tab>
          <Tabs.Tab value="settings">Settings</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="stages" pt="md"><StagesTab campaign={c} /></Tabs.Panel>
        <Tabs.Panel value="strategies" pt="md"><StrategiesTab campaign={c} /></Tabs.Panel>
        <Tabs.Panel value="contacts" pt="md"><ContactsTab campaign={c} /></Tabs.Panel>
        <Tabs.Panel value="settings" pt="md"><SettingsTab campaign={c} /></Tabs.Panel>
      </Tabs>
    </Stack>
  );
}

function Header({ campaign: c }: { campaign: CampaignView }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [dialog, setDialog] = useState<'rename' | 'export' | 'delete' | null>(null);
  const [description, setDescription] = useState(c.description);
  const [labels, setLabels] = useState(c.labels);
  // Follow the server's values unless the owner is editing them.
  const dirty = description !== c.description || labels.join('\n') !== c.labels.join('\n');
  const [seen, setSeen] = useState(c.revision);
  useEffect(() => {
    if (c.revision !== seen) {
      setSeen(c.revision);
      if (!dirty) { setDescription(c.description); setLabels(c.labels); }
    }
  }, [c.revision, seen, dirty, c.description, c.labels]);

  const refresh = (next: CampaignView) => {
    qc.setQueryData(['campaign', c.id], next);
    void qc.invalidateQueries({ queryKey: ['campaigns'] });
  };
  const lifecycle = useMutation({
    mutationFn: (action: 'start' | 'stop' | 'forceStop') => api[action](c.id),
    onSuccess: (next) => { refresh(next); notifications.show({ message: `Campaign ${next.status === 'RUNNING' ? 'started' : 'stopped'}` }); },
  });
  const save = useMutation({
    mutationFn: () => api.update(c.id, { description: description.trim(), labels }),
    onSuccess: (next) => { refresh(next); notifications.show({ color: 'green', message: 'Saved' }); },
  });

  const access = useAccess();
  const cannotOperate = access.why('operator', 'start and stop campaigns');
  const cannotManage = access.why('campaign_manager', 'change campaigns');
  const running = c.status === 'RUNNING';
  const noContacts = c.contactCount === 0;
  // The seeds' two reasons for an unavailable Start: no contacts yet, or a role without the permission.
  const startReason = noContacts ? 'Start is unavailable: the campaign has no contacts yet. Upload contacts first.' : cannotOperate ? `Start is unavailable. ${cannotOperate}` : null;
  const button = c.status === 'ERROR'
    ? <Button color="red" leftSection={<IconPlayerStop size={16} />} loading={lifecycle.isPending} disabled={Boolean(cannotOperate)} title={cannotOperate ?? undefined} onClick={() => lifecycle.mutate('forceStop')}>Force stop</Button>
    : running
      ? <Button color="orange" leftSection={<IconPlayerStop size={16} />} loading={lifecycle.isPending} disabled={Boolean(cannotOperate)} title={cannotOperate ?? undefined} onClick={() => lifecycle.mutate('stop')}>Stop</Button>
      : (
        <Tooltip label={startReason} disabled={!startReason} multiline maw={280}>
          <span>
            <Button leftSection={<IconPlayerPlay size={16} />} disabled={Boolean(startReason)} loading={lifecycle.isPending} onClick={() => lifecycle.mutate('start')}
              aria-describedby={startReason ? 'start-reason' : undefined}>Start</Button>
          </span>
        </Tooltip>
      );

  return (
    <Paper withBorder p="md">
      <Stack gap="sm">
        <Group justify="space-between" align="flex-start">
          <Stack gap={4}>
            <Anchor component={Link} to="/campaigns" size="sm">← Campaigns</Anchor>
            <Group gap="xs">
              <Title order={2}>{c.name}</Title>
              <StatusTag campaign={c} />
            </Group>
            {c.status !== 'RUNNING' && c.statusMessage && <Text size="sm" c={c.status === 'ERROR' ? 'red' : 'dimmed'}>{c.statusMessage}</Text>}
          </Stack>
          <Group gap="xs">
            {button}
            <Button variant="default" disabled={!dirty || !description.trim() || Boolean(cannotManage)} title={cannotManage ?? undefined} loading={save.isPending} onClick={() => save.mutate()}>Save</Button>
            <Menu position="bottom-end" withinPortal>
              <Menu.Target>
                <ActionIcon variant="default" size="lg" aria-label="More actions"><IconDots size={18} /></ActionIcon>
              </Menu.Target>
              <Menu.Dropdown>
                <Menu.Item leftSection={<IconPencil size={16} />} disabled={Boolean(cannotManage)} title={cannotManage ?? undefined} onClick={() => setDialog('rename')}>Rename</Menu.Item>
                <Menu.Item leftSection={<IconFileExport size={16} />} disabled={Boolean(cannotManage)} title={cannotManage ?? undefined} onClick={() => setDialog('export')}>Export campaign</Menu.Item>
                <Menu.Item leftSection={<IconListDetails size={16} />} onClick={() => navigate(`/campaigns/${c.id}/logs`)}>Show Logs</Menu.Item>
                <Menu.Divider />
                <Menu.Item color="red" leftSection={<IconTrash size={16} />} disabled={Boolean(cannotManage)} title={cannotManage ?? undefined} onClick={() => setDialog('delete')}>Delete</Menu.Item>
              </Menu.Dropdown>
            </Menu>
          </Group>
        </Group>
        {startReason && !running && c.status !== 'ERROR' && <Text id="start-reason" size="xs" c="dimmed" ta="right">{noContacts ? 'Start is unavailable until the campaign has contacts.' : startReason}</Text>}
        <ErrorAlert error={lifecycle.error} title={lifecycle.variables === 'start' ? 'The campaign could not start' : 'The campaign could not stop'} />
        <Group align="flex-start" grow>
          <Textarea label="Description" autosize minRows={1} maxRows={4} value={description} onChange={(e) => setDescription(e.currentTarget.value)}
            error={!description.trim() ? 'Description is required' : null} />
          <TagsInput label="Labels" value={labels} onChange={setLabels} placeholder="Add a label and press Enter" />
        </Group>
        <ErrorAlert error={save.error} title="The changes could not be saved" />
      </Stack>
      <RenameDialog campaign={c} opened={dialog === 'rename'} onClose={() => setDialog(null)} onDone={refresh} />
      <ExportDialog campaign={c} opened={dialog === 'export'} onClose={() => setDialog(null)} />
      <DeleteCampaignDialog campaign={c} opened={dialog === 'delete'} onClose={() => setDialog(null)} />
    </Paper>
  );
}
