import { ActionIcon, Button, Group, Modal, Stack, Text, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';

const BUILT_IN = new Set(['ResultFlag', 'ResultDatetime']);
interface Row { code: string; name: string; description: string }

/** Add results / Update results: Code (the key the strategy writes), Name, Description; Add another. */
export function ResultsDialog({ campaign, opened, onClose }: { campaign: CampaignView; opened: boolean; onClose(): void }) {
  const qc = useQueryClient();
  const [rows, setRows] = useState<Row[]>([]);
  const [tried, setTried] = useState(false);
  useEffect(() => {
    if (!opened) return;
    const custom = campaign.resultDefinitions.filter((r) => !BUILT_IN.has(r.code)).map((r) => ({ code: r.code, name: r.name, description: r.description ?? '' }));
    setRows(custom.length ? custom : [{ code: '', name: '', description: '' }]);
    setTried(false);
  }, [opened, campaign.resultDefinitions]);
  const save = useMutation({
    mutationFn: () => api.results(campaign.id, rows.map((r) => ({ code: r.code.trim(), name: r.name.trim(), ...(r.description.trim() ? { description: r.description.trim() } : {}) }))),
    onSuccess: (next) => { qc.setQueryData(['campaign', campaign.id], next); notifications.show({ color: 'green', message: 'Campaign results saved' }); save.reset(); onClose(); },
  });
  const problem = (r: Row, i: number) => ({
    code: !r.code.trim() ? 'Code is required' : BUILT_IN.has(r.code.trim()) ? 'Built in: already defined' : rows.findIndex((x) => x.code.trim() === r.code.trim()) !== i ? 'Used twice' : null,
    name: !r.name.trim() ? 'Name is required' : null,
  });
  const valid = rows.every((r, i) => { const p = problem(r, i); return !p.code && !p.name; });
  const set = (i: number, patch: Partial<Row>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
  return (
    <Modal opened={opened} onClose={onClose} title="Campaign Results" size="xl">
      <form onSubmit={(e) => { e.preventDefault(); setTried(true); if (valid) save.mutate(); }} noValidate>
        <Stack>
          <Text size="sm" c="dimmed">ResultFlag and ResultDatetime are built in. Add the codes your strategies write into contact results.</Text>
          {rows.map((r, i) => (
            <Group key={i} align="flex-start" wrap="nowrap" data-testid="result-edit-row">
              <TextInput label="Code" required value={r.code} onChange={(e) => set(i, { code: e.currentTarget.value })} error={tried ? problem(r, i).code : null} />
              <TextInput label="Name" required value={r.name} onChange={(e) => set(i, { name: e.currentTarget.value })} error={tried ? problem(r, i).name : null} />
              <TextInput label="Description" style={{ flex: 1 }} value={r.description} onChange={(e) => set(i, { description: e.currentTarget.value })} />
              <ActionIcon mt={26} variant="subtle" color="red" aria-label={`Remove result ${r.code || i + 1}`} onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))}>
                <IconTrash size={16} />
              </ActionIcon>
            </Group>
          ))}
          <Group>
            <Button variant="light" leftSection={<IconPlus size={14} />} onClick={() => setRows((rs) => [...rs, { code: '', name: '', description: '' }])}>Add another</Button>
          </Group>
          <ErrorAlert error={save.error} title="The results could not be saved" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>Cancel</Button>
            <Button type="submit" loading={save.isPending}>Save</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
