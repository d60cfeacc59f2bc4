import { BadRequestException, Controller, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, Query } from '@nestjs/common';
import { ApiQuery, ApiTags } from '@nestjs/swagger';
import { DISPATCH_API, type DispatchApi } from '@herald/contracts';
import { Workspace } from '../workspace';
import { Allow } from '../auth/roles';

const id = new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException({ statusCode: 400, error: 'invalid', message: 'campaignId: must be a UUID', field: 'campaignId' }) });

/**
 * Deep analysis of a campaign (docs/analytics.md): the YAML analytics
 * dialog's Status, Stop, Recalculate and Continue calculation, and the
 * Deep Analysis page's aggregates and per-session results. Upload and
 * Download YAML stay at PUT/GET /api/campaigns/:id/analytics.
 */
@ApiTags('deep analysis')
@Allow('viewer')
@Controller('api/campaigns/:campaignId/analytics')
export class DeepAnalysisHttpController {
  constructor(@Inject(DISPATCH_API) private readonly dispatch: DispatchApi) {}

  /** Status: none (no YAML), idle, running (Progress, with counts), stopped, done. */
  @Get('status')
  status(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    return this.dispatch.getAnalysisStatus(ws, campaignId);
  }

  /** Recalculate: the whole current YAML over the sessions within its depth, replacing their results. */
  @Post('recalculate')
  @Allow('campaign_manager')
  @HttpCode(202)
  recalculate(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    return this.dispatch.startAnalysis(ws, campaignId, 'recalculate');
  }

  /** Continue calculation: within the depth, only the sessions and metrics without a result of the current YAML. */
  @Post('continue')
  @Allow('campaign_manager')
  @HttpCode(202)
  continueCalculation(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    return this.dispatch.startAnalysis(ws, campaignId, 'continue');
  }

  /** Stop the running calculation. */
  @Post('stop')
  @Allow('campaign_manager')
  @HttpCode(200)
  stop(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    return this.dispatch.stopAnalysis(ws, campaignId);
  }

  /** Per metric: counts per value, the share of true answers, mean / min / max, the latest text answers. */
  @Get('results')
  results(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    return this.dispatch.getAnalysisResults(ws, campaignId);
  }

  /** The analysed sessions, latest first, with their values (the session id leads to the transcript: GET /api/sessions/:id). */
  @Get('sessions')
  @ApiQuery({ name: 'after', required: false, description: 'the `next` of the previous page' })
  @ApiQuery({ name: 'limit', required: false })
  sessions(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Query('after') after?: string, @Query('limit') limit?: string) {
    const n = limit === undefined ? undefined : Number(limit);
    if (n !== undefined && (!Number.isInteger(n) || n < 1 || n > 500)) throw new BadRequestException({ statusCode: 400, error: 'invalid', message: 'limit: must be an integer from 1 to 500', field: 'limit' });
    return this.dispatch.listAnalysedSessions(ws, campaignId, { after, limit: n });
  }
}
