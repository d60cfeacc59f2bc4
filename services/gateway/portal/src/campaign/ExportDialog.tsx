import { Alert, Button, Code, CopyButton, Group, Loader, Modal, Stack, Text } from '@mantine/core';
import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { saveFile } from '../format';

const bytes = (b64: string) => Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0));

/**
 * Export campaign: the archive downloads and its secret key is shown this
 * once. The key lives only in this dialog's state: closing it forgets it.
 */
export function ExportDialog({ campaign, opened, onClose }: { campaign: CampaignView; opened: boolean; onClose(): void }) {
  const run = useMutation({
    mutationFn: () => api.export(campaign.id),
    onSuccess: (r) => saveFile(r.fileName, bytes(r.archive), 'application/zip'),
  });
  // One export per opening: each export makes a new key.
  const asked = useRef(false);
  const { mutate } = run;
  useEffect(() => {
    if (opened && !asked.current) { asked.current = true; mutate(); }
    if (!opened) asked.current = false;
  }, [opened, mutate]);
  const close = () => { run.reset(); onClose(); };
  const result = run.data;
  return (
    <Modal opened={opened} onClose={close} title="Export campaign" closeOnClickOutside={false}>
      <Stack>
        {run.isPending && <Group><Loader size="sm" /><Text>Preparing the archive…</Text></Group>}
        <ErrorAlert error={run.error} title="The campaign could not be exported" />
        {result && (
          <>
            <Text>The archive <b>{result.fileName}</b> was downloaded. To import it elsewhere you need this secret key:</Text>
            <Code block data-testid="secret-key">{result.secretKey}</Code>
            <Alert color="yellow" title="Shown once">Herald does not keep this key. Copy it now and store it with the file; without it the archive cannot be imported.</Alert>
            <Group justify="space-between">
              <Button variant="default" onClick={() => saveFile(result.fileName, bytes(result.archive), 'application/zip')}>Download again</Button>
              <Group gap="xs">
                <CopyButton value={result.secretKey}>
                  {({ copied, copy }) => <Button variant="light" onClick={copy}>{copied ? 'Copied' : 'Copy key'}</Button>}
                </CopyButton>
                <Button onClick={close}>Done</Button>
              </Group>
            </Group>
          </>
        )}
      </Stack>
    </Modal>
  );
}
