import { BadRequestException, Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { DISPATCH_API, type DispatchApi } from '@herald/contracts';
import { Workspace } from '../workspace';
import { Allow } from '../auth/roles';

/** Sessions: the conversations behind communications, with their full transcripts ("Go to session"). */
@ApiTags('sessions')
@Allow('viewer')
@Controller('api/sessions')
export class SessionsHttpController {
  constructor(@Inject(DISPATCH_API) private readonly dispatch: DispatchApi) {}

  @Get()
  @ApiQuery({ name: 'campaignId', required: false })
  @ApiQuery({ name: 'contactKey', required: false })
  @ApiQuery({ name: 'communicationId', required: false })
  @ApiQuery({ name: 'status', required: false, enum: ['open', 'closed'] })
  @ApiQuery({ name: 'limit', required: false })
  list(@Workspace() ws: string, @Query() q: Record<string, string>) {
    if (q.status && q.status !== 'open' && q.status !== 'closed') throw new BadRequestException({ statusCode: 400, error: 'invalid', message: 'status: must be open or closed', field: 'status' });
    const limit = q.limit === undefined ? undefined : Number(q.limit);
    if (limit !== undefined && (!Number.isInteger(limit) || limit < 1 || limit > 500)) throw new BadRequestException({ statusCode: 400, error: 'invalid', message: 'limit: must be an integer from 1 to 500', field: 'limit' });
    return this.dispatch.listSessions(ws, {
      campaignId: q.campaignId || undefined, contactKey: q.contactKey || undefined, communicationId: q.communicationId || undefined,
      status: (q.status as 'open' | 'closed') || undefined, limit,
    });
  }

  @Get(':sessionId')
  get(@Workspace() ws: string, @Param('sessionId') sessionId: string) {
    return this.dispatch.getSession(ws, sessionId);
  }
}
