import { Alert, Button, FileButton, Group, Paper, Progress, ScrollArea, Stack, Table, Text } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconUpload } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { useAccess } from '../access';

/**
 * Upload new contacts: the file's transfer (a progress bar), then the import
 * (rows read, imported, rejected, polled), then the report with every
 * rejected row and why.
 */
export function UploadContacts({ campaign }: { campaign: CampaignView }) {
  const qc = useQueryClient();
  const [sending, setSending] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [uploadId, setUploadId] = useState<string | null>(campaign.activeUploadId);
  useEffect(() => { if (campaign.activeUploadId) setUploadId(campaign.activeUploadId); }, [campaign.activeUploadId]);

  const upload = useQuery({
    queryKey: ['upload', campaign.id, uploadId],
    queryFn: () => api.getUpload(campaign.id, uploadId!),
    enabled: Boolean(uploadId),
    refetchInterval: (q) => (q.state.data && (q.state.data.state === 'completed' || q.state.data.state === 'failed') ? false : 700),
  });
  const state = upload.data?.state;
  useEffect(() => {
    if (state === 'completed') {
      notifications.show({ color: 'green', message: 'Contacts uploaded successfully' });
      void qc.invalidateQueries({ queryKey: ['contacts', campaign.id] });
      void qc.invalidateQueries({ queryKey: ['campaign', campaign.id] });
      void qc.invalidateQueries({ queryKey: ['performance', campaign.id] });
    }
  }, [state, qc, campaign.id]);

  const send = async (file: File | null) => {
    if (!file) return;
    setError(null);
    setSending(0);
    try {
      const form = new FormData();
      form.set('file', file, file.name);
      const accepted = await api.uploadContacts(campaign.id, form, setSending);
      setUploadId(accepted.id);
    } catch (e) {
      setError(e);
    } finally {
      setSending(null);
    }
  };

  const u = upload.data;
  const busy = sending !== null || state === 'receiving' || state === 'queued' || state === 'processing';
  const cannot = useAccess().why('operator', 'upload contacts');
  return (
    <Stack gap="xs">
      <Group>
        <FileButton onChange={send} accept=".csv,.json,.jsonl,.ndjson,text/csv,application/json">
          {(props) => <Button {...props} leftSection={<IconUpload size={16} />} loading={sending !== null} disabled={busy || Boolean(cannot)} title={cannot ?? undefined}>Upload new contacts</Button>}
        </FileButton>
        <Text size="xs" c="dimmed">CSV, JSON or JSONL with object_id, external_id, name, email, phone; other columns become parameters.</Text>
      </Group>
      {sending !== null && (
        <Stack gap={2}>
          <Text size="sm">Sending the file… {Math.round(sending * 100)}%</Text>
          <Progress value={sending * 100} aria-label="File transfer" />
        </Stack>
      )}
      <ErrorAlert error={error} title="The file was not accepted" />
      {u && (
        <Paper withBorder p="sm" data-testid="upload-report" aria-live="polite">
          <Stack gap="xs">
            <Text size="sm" fw={500}>
              {u.fileName}: {u.state === 'completed' ? 'Contacts uploaded successfully' : u.state === 'failed' ? 'Upload failed' : 'Importing…'}
            </Text>
            {u.state !== 'completed' && u.state !== 'failed' && <Progress value={100} animated striped aria-label="Import in progress" />}
            <Text size="sm">Rows read: <b>{u.rowsRead}</b> · Imported: <b>{u.imported}</b> · Rejected: <b>{u.rejected}</b></Text>
            {u.message && <Alert color={u.state === 'failed' ? 'red' : 'gray'}>{u.message}</Alert>}
            {u.errors.length > 0 && (
              <ScrollArea.Autosize mah={240}>
                <Table aria-label="Rejected rows" striped>
                  <Table.Thead><Table.Tr><Table.Th>Row</Table.Th><Table.Th>Field</Table.Th><Table.Th>Why</Table.Th></Table.Tr></Table.Thead>
                  <Table.Tbody>
                    {u.errors.map((e, i) => (
                      <Table.Tr key={i}><Table.Td>{e.row}</Table.Td><Table.Td>{e.field ?? '—'}</Table.Td><Table.Td>{e.message}</Table.Td></Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </ScrollArea.Autosize>
            )}
            {u.rejected > u.errors.length && <Text size="xs" c="dimmed">The first {u.errors.length} rejected rows are listed.</Text>}
          </Stack>
        </Paper>
      )}
    </Stack>
  );
}
