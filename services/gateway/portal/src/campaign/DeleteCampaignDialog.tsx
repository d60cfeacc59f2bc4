import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';

export function DeleteCampaignDialog({ campaign, opened, onClose }: { campaign: CampaignView; opened: boolean; onClose(): void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const remove = useMutation({
    mutationFn: () => api.remove(campaign.id),
    onSuccess: () => {
      qc.removeQueries({ queryKey: ['campaign', campaign.id] });
      void qc.invalidateQueries({ queryKey: ['campaigns'] });
      notifications.show({ message: `Campaign “${campaign.name}” deleted` });
      navigate('/campaigns?filter=all');
    },
  });
  return (
    <Modal opened={opened} onClose={() => { remove.reset(); onClose(); }} title="Delete campaign">
      <Stack>
        <Text>Delete <b>{campaign.name}</b> with its stages, strategies and contacts? This cannot be undone.</Text>
        {campaign.status === 'RUNNING' && <Text size="sm" c="orange">The campaign is running: stop it first.</Text>}
        <ErrorAlert error={remove.error} title="The campaign could not be deleted" />
        <Group justify="flex-end">
          <Button variant="default" onClick={onClose} data-autofocus>Cancel</Button>
          <Button color="red" loading={remove.isPending} onClick={() => remove.mutate()}>Delete</Button>
        </Group>
      </Stack>
    </Modal>
  );
}
