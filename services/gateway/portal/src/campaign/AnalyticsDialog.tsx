import { Alert, Badge, Button, FileButton, Group, Modal, Progress, Stack, Text, Tooltip } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconDownload, IconPlayerStop, IconRefresh, IconPlayerPlay, IconUpload } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { analysisApi, statusLabel, type AnalysisStatusView } from '../deep-analysis/analysis-api';

/** Set YAML analytics: Upload YAML, Download YAML, the analysis Status with Stop, Recalculate, Continue calculation. */
export function AnalyticsDialog({ campaign, opened, onClose }: { campaign: CampaignView; opened: boolean; onClose(): void }) {
  const qc = useQueryClient();
  const key = ['analysis-status', campaign.id];
  const status = useQuery({
    queryKey: key, queryFn: () => analysisApi.status(campaign.id), enabled: opened,
    refetchInterval: (q) => (q.state.data?.state === 'running' ? 1000 : 5000),
  });
  const changed = (next: AnalysisStatusView) => {
    qc.setQueryData(key, next);
    void qc.invalidateQueries({ queryKey: ['analysis-results', campaign.id] });
  };
  const upload = useMutation({
    mutationFn: (file: File) => {
      const form = new FormData();
      form.set('file', file, file.name);
      return api.uploadAnalytics(campaign.id, form);
    },
    onSuccess: (next) => {
      qc.setQueryData(['campaign', campaign.id], next);
      void qc.invalidateQueries({ queryKey: key });
      notifications.show({ color: 'green', message: 'YAML analytics uploaded' });
    },
  });
  const control = useMutation({
    mutationFn: (what: 'recalculate' | 'continue' | 'stop') =>
      what === 'recalculate' ? analysisApi.recalculate(campaign.id) : what === 'continue' ? analysisApi.continueCalculation(campaign.id) : analysisApi.stop(campaign.id),
    onSuccess: changed,
  });
  const a = campaign.analytics;
  const s = status.data;
  const running = s?.state === 'running';
  // A calculation started by a button runs to its end (or Stop); sessions analysed as they end (live) give way to one.
  const busy = running && s?.run?.kind !== 'live';
  const why = !a ? 'Upload a YAML file first' : busy ? 'A calculation is running: Stop it first' : null;
  const label = s ? statusLabel(s) : null;
  return (
    <Modal opened={opened} onClose={() => { upload.reset(); control.reset(); onClose(); }} title="YAML analytics" size="lg">
      <Stack>
        <Text size="sm" c="dimmed">A YAML file defines the metrics Deep Analysis computes from conversations (satisfaction, interest, …), the analysis depth and how results are shown.</Text>
        <Group>
          <FileButton onChange={(f) => f && upload.mutate(f)} accept=".yaml,.yml,application/yaml,text/yaml">
            {(props) => <Button {...props} leftSection={<IconUpload size={16} />} loading={upload.isPending}>Upload YAML</Button>}
          </FileButton>
          <Tooltip label="No YAML file is uploaded for this campaign" disabled={Boolean(a)}>
            <span>
              <Button component="a" href={a ? api.analyticsUrl(campaign.id) : undefined} download variant="default" leftSection={<IconDownload size={16} />} disabled={!a}
                data-disabled={!a || undefined}>Download YAML</Button>
            </span>
          </Tooltip>
        </Group>
        {upload.isPending && <Progress value={100} animated aria-label="Uploading the YAML file" />}
        <ErrorAlert error={upload.error} title="The YAML file was refused" />
        <Group gap="xs">
          <Text fw={500}>Status:</Text>
          {a ? <Badge color="green" variant="light">Uploaded · {a.fileName} v{a.version}</Badge> : <Badge color="gray" variant="light">No YAML</Badge>}
          {a && label && <Badge color={label.color} variant="light" data-testid="analysis-status">{label.label}</Badge>}
          {running && (
            <Button size="xs" color="red" variant="light" leftSection={<IconPlayerStop size={14} />} loading={control.isPending && control.variables === 'stop'}
              onClick={() => control.mutate('stop')}>Stop</Button>
          )}
        </Group>
        {a && s && s.counts.total > 0 && (
          <Stack gap={4}>
            <Progress value={(100 * (s.counts.done + s.counts.failed + s.counts.cancelled)) / s.counts.total} animated={running} aria-label="Analysis progress" />
            <Text size="xs" c="dimmed" data-testid="analysis-counts">
              {s.counts.done} analysed · {s.counts.running} being analysed · {s.counts.pending} waiting · {s.counts.failed} failed · {s.counts.cancelled} cancelled
              {s.run?.since ? ` · sessions since ${new Date(s.run.since).toLocaleDateString()}` : ''}
            </Text>
          </Stack>
        )}
        {a && s?.state === 'idle' && <Text size="sm" c="dimmed">New sessions are analysed as they end. Recalculate or Continue calculation covers the earlier ones (as far back as the file's depth).</Text>}
        {s?.lastError && <Alert color="orange" variant="light" title="Last error">{s.lastError}</Alert>}
        <ErrorAlert error={status.error ?? control.error} title="Deep analysis" />
        <Group>
          <Tooltip label={why ?? 'Apply the whole file again to the sessions within its depth, replacing their results'} multiline maw={280}>
            <span>
              <Button variant="default" leftSection={<IconRefresh size={16} />} disabled={Boolean(why)} loading={control.isPending && control.variables === 'recalculate'}
                onClick={() => control.mutate('recalculate')}>Recalculate</Button>
            </span>
          </Tooltip>
          <Tooltip label={why ?? 'Analyse only the sessions and metrics without a result of this file'} multiline maw={280}>
            <span>
              <Button variant="default" leftSection={<IconPlayerPlay size={16} />} disabled={Boolean(why)} loading={control.isPending && control.variables === 'continue'}
                onClick={() => control.mutate('continue')}>Continue calculation</Button>
            </span>
          </Tooltip>
        </Group>
      </Stack>
    </Modal>
  );
}
