import { Button, Group, Loader, Modal, ScrollArea, Stack, Text } from '@mantine/core';
import { IconDownload } from '@tabler/icons-react';
import { useQuery } from '@tanstack/react-query';
import hljs from 'highlight.js/lib/core';
import python from 'highlight.js/lib/languages/python';
import 'highlight.js/styles/github.css';
import { useMemo } from 'react';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';

hljs.registerLanguage('python', python);

type StrategyView = CampaignView['strategies'][number];

/** Show code: the strategy's source, highlighted, with Download file. */
export function CodeDialog({ campaignId, strategy, onClose }: { campaignId: string; strategy: StrategyView | null; onClose(): void }) {
  const code = useQuery({ queryKey: ['strategy-code', campaignId, strategy?.id, strategy?.version], queryFn: () => api.strategyCode(campaignId, strategy!.id), enabled: Boolean(strategy) });
  // highlight.js escapes the source: its output is markup for the spans it adds, nothing of the file's.
  const html = useMemo(() => (code.data ? hljs.highlight(code.data.code, { language: 'python' }).value : ''), [code.data]);
  return (
    <Modal opened={strategy !== null} onClose={onClose} size="80%" title={strategy ? `${strategy.name}: ${strategy.fileName}` : ''}>
      <Stack>
        {code.isPending && <Loader size="sm" aria-label="Loading the code" />}
        <ErrorAlert error={code.error} title="The code could not be loaded" />
        {code.data && (
          <>
            <Group justify="space-between">
              <Text size="sm" c="dimmed">Version {code.data.version} · calls <code>{code.data.functionName}</code></Text>
              <Button component="a" href={api.strategyFileUrl(campaignId, strategy!.id)} download={code.data.fileName} variant="default" leftSection={<IconDownload size={16} />}>
                Download file
              </Button>
            </Group>
            <ScrollArea.Autosize mah="65vh">
              <pre className="code-view"><code className="hljs language-python" data-testid="strategy-code" dangerouslySetInnerHTML={{ __html: html }} /></pre>
            </ScrollArea.Autosize>
          </>
        )}
      </Stack>
    </Modal>
  );
}
