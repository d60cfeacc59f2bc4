import {
  BadRequestException, Body, Controller, Delete, Get, Header, HttpCode, Inject, Param, ParseUUIDPipe, Patch, Post, Put, Query, Res, StreamableFile,
  UploadedFile, UseInterceptors,
} from '@nestjs/common';
import { FileInterceptor } from '@nestjs/platform-express';
import { ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { CAMPAIGNS_API, type CampaignsApi } from '@herald/contracts';
import { Workspace } from '../workspace';
import {
  AddStageDto, AddStrategyDto, CreateCampaignDto, ImportCampaignDto, ListCampaignsQuery, LogsQuery, ResultDefinitionsDto, SettingsDto,
  UpdateCampaignDto, UpdateStrategyDto,
} from './campaigns.dto';
import { PerformanceQuery } from './campaigns.dto';
import { Allow } from '../auth/roles';

const uuid = (field: string) => new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException({ statusCode: 400, error: 'invalid', message: `${field}: must be a UUID`, field }) });
const id = uuid('campaignId');
const bad = (field: string, message: string) => new BadRequestException({ statusCode: 400, error: 'invalid', message: `${field}: ${message}`, field });

/** A small uploaded text file (strategy code, YAML), decoded strictly as UTF-8. */
function textOf(file: Express.Multer.File | undefined, what: string): string {
  if (!file) throw bad('file', `${what} is required`);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(file.buffer);
  } catch {
    throw bad('file', 'must be UTF-8 text');
  }
}

const fileBody = (extra: Record<string, { type: string }> = {}) => ({
  schema: { type: 'object', required: ['file', ...Object.keys(extra)], properties: { file: { type: 'string', format: 'binary' }, ...extra } },
});
const smallFile = (bytes: number) => UseInterceptors(FileInterceptor('file', { limits: { fileSize: bytes, files: 1, fields: 10 } }));

@ApiTags('campaigns')
@Allow('viewer')
@Controller('api/campaigns')
export class CampaignsHttpController {
  constructor(@Inject(CAMPAIGNS_API) private readonly campaigns: CampaignsApi) {}

  @Post()
  @Allow('campaign_manager')
  create(@Workspace() ws: string, @Body() body: CreateCampaignDto) {
    return this.campaigns.createCampaign(ws, body);
  }

  @Get()
  list(@Workspace() ws: string, @Query() query: ListCampaignsQuery) {
    return this.campaigns.listCampaigns(ws, query);
  }

  /** Import campaign: the exported file and its secret key. A wrong key or a changed byte is refused before anything is read. */
  @Post('import')
  @Allow('campaign_manager')
  @ApiConsumes('multipart/form-data')
  @ApiBody(fileBody({ secretKey: { type: 'string' } }))
  @smallFile(8 * 1024 * 1024)
  import(@Workspace() ws: string, @Body() body: ImportCampaignDto, @UploadedFile() file?: Express.Multer.File) {
    if (!file) throw bad('file', 'the exported campaign file is required');
    return this.campaigns.importCampaign(ws, file.buffer, body.secretKey);
  }

  @Get(':campaignId')
  get(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    return this.campaigns.getCampaign(ws, campaignId);
  }

  /** Rename, change the description or labels. */
  @Patch(':campaignId')
  @Allow('campaign_manager')
  update(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Body() body: UpdateCampaignDto) {
    return this.campaigns.updateCampaign(ws, campaignId, body);
  }

  /** Refused while the campaign runs (confirmation is the portal's). */
  @Delete(':campaignId')
  @Allow('campaign_manager')
  @HttpCode(204)
  async remove(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    await this.campaigns.deleteCampaign(ws, campaignId);
  }

  @Post(':campaignId/start')
  @Allow('operator')
  @HttpCode(200)
  start(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    return this.campaigns.startCampaign(ws, campaignId);
  }

  @Post(':campaignId/stop')
  @Allow('operator')
  @HttpCode(200)
  stop(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    return this.campaigns.stopCampaign(ws, campaignId);
  }

  /** The way out of ERROR. */
  @Post(':campaignId/force-stop')
  @Allow('operator')
  @HttpCode(200)
  forceStop(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    return this.campaigns.forceStopCampaign(ws, campaignId);
  }

  @Post(':campaignId/stages')
  @Allow('campaign_manager')
  addStage(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Body() body: AddStageDto) {
    return this.campaigns.addStage(ws, campaignId, body);
  }

  @Put(':campaignId/stages/:stageId')
  @Allow('campaign_manager')
  updateStage(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Param('stageId', uuid('stageId')) stageId: string, @Body() body: AddStageDto) {
    return this.campaigns.updateStage(ws, campaignId, stageId, body);
  }

  @Delete(':campaignId/stages/:stageId')
  @Allow('campaign_manager')
  removeStage(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Param('stageId', uuid('stageId')) stageId: string) {
    return this.campaigns.removeStage(ws, campaignId, stageId);
  }

  @Post(':campaignId/strategies')
  @Allow('campaign_manager')
  @ApiConsumes('multipart/form-data')
  @ApiBody(fileBody({ name: { type: 'string' }, description: { type: 'string' }, type: { type: 'string' }, functionName: { type: 'string' } }))
  @smallFile(1024 * 1024)
  addStrategy(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Body() body: AddStrategyDto, @UploadedFile() file?: Express.Multer.File) {
    const code = textOf(file, 'a .py file');
    return this.campaigns.addStrategy(ws, campaignId, { ...body, fileName: file!.originalname, code });
  }

  @Patch(':campaignId/strategies/:strategyId')
  @Allow('campaign_manager')
  updateStrategy(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Param('strategyId', uuid('strategyId')) strategyId: string, @Body() body: UpdateStrategyDto) {
    return this.campaigns.updateStrategy(ws, campaignId, strategyId, body);
  }

  /** Replace file: a new version of the code. */
  @Put(':campaignId/strategies/:strategyId/file')
  @Allow('campaign_manager')
  @ApiConsumes('multipart/form-data')
  @ApiBody(fileBody())
  @smallFile(1024 * 1024)
  replaceFile(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Param('strategyId', uuid('strategyId')) strategyId: string, @UploadedFile() file?: Express.Multer.File) {
    const code = textOf(file, 'a .py file');
    return this.campaigns.replaceStrategyFile(ws, campaignId, strategyId, { fileName: file!.originalname, code });
  }

  /** Show code: the source with its version. */
  @Get(':campaignId/strategies/:strategyId/code')
  code(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Param('strategyId', uuid('strategyId')) strategyId: string) {
    return this.campaigns.getStrategyCode(ws, campaignId, strategyId);
  }

  /** Download: the .py file as uploaded. */
  @Get(':campaignId/strategies/:strategyId/file')
  async download(
    @Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Param('strategyId', uuid('strategyId')) strategyId: string,
    @Res({ passthrough: true }) res: { setHeader(name: string, value: string): void },
  ) {
    const file = await this.campaigns.getStrategyCode(ws, campaignId, strategyId);
    res.setHeader('content-type', 'text/x-python; charset=utf-8');
    res.setHeader('content-disposition', attachment(file.fileName));
    return new StreamableFile(Buffer.from(file.code, 'utf8'));
  }

  @Delete(':campaignId/strategies/:strategyId')
  @Allow('campaign_manager')
  removeStrategy(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Param('strategyId', uuid('strategyId')) strategyId: string) {
    return this.campaigns.removeStrategy(ws, campaignId, strategyId);
  }

  @Patch(':campaignId/settings')
  @Allow('campaign_manager')
  settings(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Body() body: SettingsDto) {
    return this.campaigns.updateSettings(ws, campaignId, body);
  }

  /** Upload YAML (validated). */
  @Put(':campaignId/analytics')
  @Allow('campaign_manager')
  @ApiConsumes('multipart/form-data')
  @ApiBody(fileBody())
  @smallFile(512 * 1024)
  uploadAnalytics(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @UploadedFile() file?: Express.Multer.File) {
    const yaml = textOf(file, 'a .yaml file');
    return this.campaigns.uploadAnalytics(ws, campaignId, { fileName: file!.originalname, yaml });
  }

  /** Download YAML. */
  @Get(':campaignId/analytics')
  async downloadAnalytics(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Res({ passthrough: true }) res: { setHeader(name: string, value: string): void }) {
    const file = await this.campaigns.getAnalytics(ws, campaignId);
    res.setHeader('content-type', 'application/yaml; charset=utf-8');
    res.setHeader('content-disposition', attachment(file.fileName));
    return new StreamableFile(Buffer.from(file.yaml, 'utf8'));
  }

  /** Add results / Update results: the campaign's own result fields (ResultFlag and ResultDatetime are built in). */
  @Put(':campaignId/results')
  @Allow('campaign_manager')
  results(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Body() body: ResultDefinitionsDto) {
    return this.campaigns.setResultDefinitions(ws, campaignId, body.results);
  }

  /** The performance panel: total and processed contacts, completion and success rates, stage and status distribution by period (docs/analytics.md). */
  @Get(':campaignId/performance')
  @Allow('viewer')
  performance(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Query() q: PerformanceQuery) {
    return this.campaigns.getPerformance(ws, campaignId, q.period ?? 'day');
  }

  /** Show Logs: the campaign engine log, oldest first from a cursor, filterable by level and contact. */
  @Get(':campaignId/logs')
  logs(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Query() q: LogsQuery) {
    return this.campaigns.getLogs(ws, campaignId, { level: q.level, contactKey: q.contact, after: q.after, limit: q.limit });
  }

  /** Export campaign: the encrypted archive (base64) and its secret key, shown this once. */
  @Post(':campaignId/export')
  @Allow('campaign_manager')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  async export(@Workspace() ws: string, @Param('campaignId', id) campaignId: string) {
    const { fileName, data, secretKey } = await this.campaigns.exportCampaign(ws, campaignId);
    return { fileName, secretKey, archive: data.toString('base64') };
  }
}

function attachment(fileName: string): string {
  const ascii = fileName.replace(/[^\w.-]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(fileName)}`;
}
