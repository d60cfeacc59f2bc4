import { BadRequestException, Controller, Get, Query, Res } from '@nestjs/common';
import { ApiProduces, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { Workspace } from '../workspace';
import { HistoryReader } from './history-reader';
import { toReplayLine } from './ndjson';
import { Allow, Audited } from '../auth/roles';

const PAGE = 1000;
const PREFIXES: Record<string, string> = { campaign: 'campaign-', contact: 'contact-', audit: 'audit-' };
/** Without a category: the campaign and contact streams, as on Kafka. The audit trail (which this very call extends) only when asked for. */
const DEFAULT_PREFIXES = [PREFIXES.campaign, PREFIXES.contact];

function intParam(field: string, raw: string | undefined, min: number, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < min) {
    throw new BadRequestException({ statusCode: 400, error: 'invalid', message: `${field}: must be an integer >= ${min}`, field });
  }
  return n;
}

/**
 * Replay of the whole event history as NDJSON, streamed page by page with
 * backpressure. Resumable: every line carries its global position; a client
 * whose connection broke asks again with `after=<last position it has>`.
 * The stream ends at the head as it was when the request arrived
 * (X-Herald-Head-Position); a client that wants to follow polls from there.
 */
@ApiTags('history')
@Allow('admin')
@Controller('api/events')
export class ReplayController {
  constructor(private readonly history: HistoryReader) {}

  @Get()
  @Allow('admin')
  @Audited('events.replay')
  @ApiProduces('application/x-ndjson')
  @ApiQuery({ name: 'after', required: false, description: 'global position to start after (0 = from the beginning)' })
  @ApiQuery({ name: 'limit', required: false, description: 'at most this many events' })
  @ApiQuery({ name: 'category', required: false, enum: Object.keys(PREFIXES) })
  async replay(
    @Workspace() ws: string,
    @Res() res: Response,
    @Query('after') afterRaw?: string,
    @Query('limit') limitRaw?: string,
    @Query('category') category?: string,
  ): Promise<void> {
    const after = intParam('after', afterRaw, 0, 0);
    const limit = intParam('limit', limitRaw, 1, Number.MAX_SAFE_INTEGER);
    if (category !== undefined && !PREFIXES[category]) {
      throw new BadRequestException({ statusCode: 400, error: 'invalid', message: `category: must be one of ${Object.keys(PREFIXES).join(', ')}`, field: 'category' });
    }
    const store = await this.history.store();
    const head = await store.headPosition();
    res.status(200).setHeader('content-type', 'application/x-ndjson; charset=utf-8');
    res.setHeader('x-herald-head-position', String(head));
    let position = after;
    let sent = 0;
    let closed = false;
    res.on('close', () => (closed = true));
    try {
      while (!closed && position < head && sent < limit) {
        const page = await store.readAll({ after: position, maxCount: PAGE, streamPrefixes: category ? [PREFIXES[category]] : DEFAULT_PREFIXES });
        if (!page.length) break;
        let chunk = '';
        for (const e of page) {
          if (e.position > head || sent >= limit) break;
          position = e.position;
          // The API serves one workspace; other workspaces' events are left out.
          if (e.metadata.workspaceId !== ws) continue;
          chunk += toReplayLine(e);
          sent += 1;
        }
        if (page[page.length - 1].position > head) position = head;
        if (chunk && !res.write(chunk)) await new Promise((resolve) => res.once('drain', resolve));
      }
    } finally {
      res.end();
    }
  }
}
