import { Button, FileInput, Group, Modal, PasswordInput, Progress, Stack, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconFileZip } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';

/** Import campaign: the Secret Key shown at export and the exported file. */
export function ImportCampaignDialog({ opened, onClose, onImported }: { opened: boolean; onClose(): void; onImported(c: CampaignView): void }) {
  const [key, setKey] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [progress, setProgress] = useState(0);
  const [tried, setTried] = useState(false);
  const qc = useQueryClient();
  const run = useMutation({
    mutationFn: () => {
      const form = new FormData();
      form.set('secretKey', key.trim());
      form.set('file', file!, file!.name);
      return api.import(form, setProgress);
    },
    onSuccess: (c) => {
      void qc.invalidateQueries({ queryKey: ['campaigns'] });
      notifications.show({ color: 'green', message: `Campaign “${c.name}” imported` });
      setKey(''); setFile(null); setTried(false); run.reset();
      onImported(c);
    },
  });
  return (
    <Modal opened={opened} onClose={onClose} title="Import campaign">
      <form noValidate onSubmit={(e) => { e.preventDefault(); setTried(true); if (key.trim() && file) run.mutate(); }}>
        <Stack>
          <Text size="sm" c="dimmed">Choose the file made by Export campaign and enter the secret key shown when it was exported.</Text>
          <PasswordInput label="Secret Key" required value={key} onChange={(e) => setKey(e.currentTarget.value)} autoComplete="off"
            error={tried && !key.trim() ? 'The secret key is required' : null} />
          <FileInput label="Campaign file" required placeholder="Choose the exported file" leftSection={<IconFileZip size={16} />}
            value={file} onChange={setFile} clearable error={tried && !file ? 'Choose the exported file' : null} />
          {run.isPending && <Progress value={progress * 100} aria-label="Upload progress" animated />}
          <ErrorAlert error={run.error} title="The campaign could not be imported" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>Cancel</Button>
            <Button type="submit" loading={run.isPending}>Import</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
