import { Button, Group, Modal, Stack, TextInput } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';

export function RenameDialog({ campaign, opened, onClose, onDone }: { campaign: CampaignView; opened: boolean; onClose(): void; onDone(c: CampaignView): void }) {
  const [name, setName] = useState(campaign.name);
  useEffect(() => { if (opened) setName(campaign.name); }, [opened, campaign.name]);
  const rename = useMutation({ mutationFn: () => api.update(campaign.id, { name: name.trim() }), onSuccess: (c) => { onDone(c); rename.reset(); onClose(); } });
  return (
    <Modal opened={opened} onClose={onClose} title="Rename campaign">
      <form noValidate onSubmit={(e) => { e.preventDefault(); if (name.trim()) rename.mutate(); }}>
        <Stack>
          <TextInput label="Name" required data-autofocus value={name} onChange={(e) => setName(e.currentTarget.value)} error={!name.trim() ? 'Name is required' : null} />
          <ErrorAlert error={rename.error} title="The campaign could not be renamed" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>Cancel</Button>
            <Button type="submit" loading={rename.isPending}>Rename</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
