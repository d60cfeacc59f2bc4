import { Button, Group, Modal, Stack, TagsInput, Textarea, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiError, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';

export function CreateCampaignDialog({ opened, onClose, onCreated }: { opened: boolean; onClose(): void; onCreated(c: CampaignView): void }) {
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [labels, setLabels] = useState<string[]>([]);
  const [tried, setTried] = useState(false);
  const qc = useQueryClient();
  const create = useMutation({
    mutationFn: () => api.create({ name: name.trim(), description: description.trim(), labels }),
    onSuccess: (c) => {
      void qc.invalidateQueries({ queryKey: ['campaigns'] });
      notifications.show({ color: 'green', message: `Campaign “${c.name}” created` });
      setName(''); setDescription(''); setLabels([]); setTried(false); create.reset();
      onCreated(c);
    },
  });
  const fieldError = (f: string) => (create.error instanceof ApiError && create.error.field === f ? create.error.message : null);
  const submit = () => {
    setTried(true);
    if (name.trim() && description.trim()) create.mutate();
  };
  return (
    <Modal opened={opened} onClose={onClose} title="Create campaign">
      <form noValidate onSubmit={(e) => { e.preventDefault(); submit(); }}>
        <Stack>
          <TextInput label="Name" required data-autofocus value={name} onChange={(e) => setName(e.currentTarget.value)}
            error={(tried && !name.trim() ? 'Name is required' : null) ?? fieldError('name')} />
          <Textarea label="Description" required autosize minRows={2} value={description} onChange={(e) => setDescription(e.currentTarget.value)}
            error={(tried && !description.trim() ? 'Description is required' : null) ?? fieldError('description')} />
          <TagsInput label="Labels" description="Optional; the list's search matches them" value={labels} onChange={setLabels} />
          {create.error && !(create.error instanceof ApiError && create.error.field) && <ErrorAlert error={create.error} />}
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>Cancel</Button>
            <Button type="submit" loading={create.isPending}>Create</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
