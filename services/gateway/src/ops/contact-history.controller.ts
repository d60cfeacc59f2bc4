import { BadRequestException, Controller, Get, NotFoundException, Param, ParseUUIDPipe, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { contactStreamId } from '@herald/contracts';
import { Workspace } from '../workspace';
import { HistoryReader } from './history-reader';
import { contactAsOf } from './contact-as-of';
import { Allow } from '../auth/roles';

const uuid = (field: string) => new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException({ statusCode: 400, error: 'invalid', message: `${field}: must be a UUID`, field }) });

/** Time travel: a contact's state as of any past moment, rebuilt from its stream. */
@ApiTags('history')
@Allow('viewer')
@Controller('api/campaigns/:campaignId/contacts/:contactKey/as-of')
export class ContactHistoryController {
  constructor(private readonly history: HistoryReader) {}

  @Get()
  @ApiQuery({ name: 'at', required: true, description: 'ISO-8601 moment, e.g. 2026-03-01T12:00:00Z' })
  async asOf(
    @Workspace() ws: string,
    @Param('campaignId', uuid('campaignId')) campaignId: string,
    @Param('contactKey') contactKey: string,
    @Query('at') atRaw?: string,
  ) {
    const at = atRaw ? new Date(atRaw) : null;
    if (!at || Number.isNaN(at.getTime()) || !/^\d{4}-\d{2}-\d{2}/.test(atRaw ?? '')) {
      throw new BadRequestException({ statusCode: 400, error: 'invalid', message: 'at: must be an ISO-8601 date-time, e.g. 2026-03-01T12:00:00Z', field: 'at' });
    }
    const store = await this.history.store();
    const events = await store.readStream(contactStreamId(campaignId, contactKey));
    if (!events.length || events[0].metadata.workspaceId !== ws) {
      throw new NotFoundException({ statusCode: 404, error: 'not_found', message: `contact ${contactKey} not found` });
    }
    const { state, applied } = contactAsOf(events, at);
    if (!state) {
      throw new NotFoundException({ statusCode: 404, error: 'not_found', message: `contact ${contactKey} did not exist yet at ${at.toISOString()} (created ${events[0].metadata.timestamp})` });
    }
    return { asOf: at.toISOString(), revision: state.revision, eventsApplied: applied, eventsTotal: events.length, contact: state };
  }
}
