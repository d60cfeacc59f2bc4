import { Badge, Tooltip } from '@mantine/core';
import type { CampaignView } from '../api';

const COLORS: Record<CampaignView['status'], string> = {
  CREATED: 'gray', CONFIGURED: 'blue', RUNNING: 'green', STOPPED: 'yellow', FINISHED: 'teal', ERROR: 'red',
};
const LABELS: Record<CampaignView['status'], string> = {
  CREATED: 'Created', CONFIGURED: 'Configured', RUNNING: 'Running', STOPPED: 'Stopped', FINISHED: 'Finished', ERROR: 'Error',
};

/** The status tag; hovering or focusing it shows the status message (the seeds: "hover over it to read the status message"). */
export function StatusTag({ campaign }: { campaign: Pick<CampaignView, 'status' | 'statusMessage'> }) {
  const tag = (
    <Badge color={COLORS[campaign.status]} variant="light" tabIndex={campaign.statusMessage ? 0 : undefined}
      aria-label={`Status: ${LABELS[campaign.status]}${campaign.statusMessage ? `. ${campaign.statusMessage}` : ''}`} data-testid="status-tag">
      {LABELS[campaign.status]}
    </Badge>
  );
  return campaign.statusMessage ? <Tooltip label={campaign.statusMessage} multiline maw={320} withArrow>{tag}</Tooltip> : tag;
}
