import { BadRequestException, Controller, Get, Header, HttpCode, Inject, Param, ParseUUIDPipe, Post, Query, Res, UploadedFile, UseInterceptors } from '@nestjs/common';
import type { Response } from 'express';
import { once } from 'node:events';
import { stringify } from 'csv-stringify';
import { FileInterceptor } from '@nestjs/platform-express';
import { ApiBody, ApiConsumes, ApiTags } from '@nestjs/swagger';
import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { diskStorage } from 'multer';
import { INGESTION_API, type IngestionApi } from '@herald/contracts';
import { Workspace } from '../workspace';
import { ContactFilterQuery, ContactListQuery } from './contacts.dto';
import { Allow, Audited } from '../auth/roles';

const uuid = (field: string) => new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException({ statusCode: 400, error: 'invalid', message: `${field}: must be a UUID`, field }) });
const CHUNK = 1024 * 1024;

@ApiTags('contacts')
@Allow('viewer')
@Controller('api/campaigns/:campaignId/contacts')
export class ContactsHttpController {
  constructor(@Inject(INGESTION_API) private readonly ingestion: IngestionApi) {}

  /**
   * Accepts the file (spooled to a temporary file, never held in memory),
   * hands it to ingestion chunk by chunk, and answers 202 with the upload:
   * poll GET .../uploads/:uploadId for progress and the report.
   */
  @Post('uploads')
  @Allow('operator')
  @HttpCode(202)
  @ApiConsumes('multipart/form-data')
  @ApiBody({ schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } } })
  @UseInterceptors(FileInterceptor('file', { storage: diskStorage({ destination: tmpdir() }), limits: { fileSize: 4 * 1024 * 1024 * 1024, files: 1 } }))
  async upload(@Workspace() ws: string, @Param('campaignId', uuid('campaignId')) campaignId: string, @UploadedFile() file?: Express.Multer.File) {
    if (!file) throw new BadRequestException({ statusCode: 400, error: 'invalid', message: 'file: a CSV, JSON or JSONL file is required', field: 'file' });
    try {
      const upload = await this.ingestion.beginUpload(ws, campaignId, file.originalname);
      try {
        let seq = 0;
        for await (const chunk of createReadStream(file.path, { highWaterMark: CHUNK })) {
          await this.ingestion.appendUploadChunk(ws, upload.id, seq++, chunk as Buffer);
        }
        return await this.ingestion.commitUpload(ws, upload.id);
      } catch (error) {
        await this.ingestion.abortUpload(ws, upload.id, `the upload did not arrive whole: ${(error as Error).message}`).catch(() => undefined);
        throw error;
      }
    } finally {
      await unlink(file.path).catch(() => undefined);
    }
  }

  @Get('uploads/:uploadId')
  getUpload(@Workspace() ws: string, @Param('campaignId', uuid('campaignId')) campaignId: string, @Param('uploadId', uuid('uploadId')) uploadId: string) {
    return this.ingestion.getUpload(ws, campaignId, uploadId);
  }

  /** The contacts table with Contact Filters; Load More passes `next` back as `after`. */
  @Get()
  list(@Workspace() ws: string, @Param('campaignId', uuid('campaignId')) campaignId: string, @Query() q: ContactListQuery) {
    return this.ingestion.listContacts(ws, campaignId, q);
  }

  /**
   * Download contacts: the current filters' list as CSV, streamed page by
   * page. Cells that a spreadsheet would run as a formula (starting with
   * = + - @, a tab or a carriage return) are prefixed with a quote.
   */
  @Get('export.csv')
  @Allow('campaign_manager')
  @Audited('contacts.exportCsv')
  @Header('content-type', 'text/csv; charset=utf-8')
  async download(
    @Workspace() ws: string, @Param('campaignId', uuid('campaignId')) campaignId: string, @Query() q: ContactFilterQuery,
    @Res() res: Response,
  ) {
    const first = await this.ingestion.listContacts(ws, campaignId, { ...q, limit: 500 });
    res.setHeader('content-disposition', `attachment; filename="contacts-${campaignId}.csv"`);
    const csv = stringify({ header: true, columns: CSV_COLUMNS.map(([key, header]) => ({ key, header })), bom: true, cast: { string: neutralise } });
    csv.pipe(res);
    let page = first;
    for (;;) {
      for (const c of page.items) {
        const row = { ...c, parameters: JSON.stringify(c.parameters), results: JSON.stringify(c.results) };
        if (!csv.write(row)) await once(csv, 'drain');
      }
      if (!page.next) break;
      page = await this.ingestion.listContacts(ws, campaignId, { ...q, after: page.next, limit: 500 });
    }
    csv.end();
  }

  /** The contact's state rebuilt from its events, with its communication history. */
  @Get(':contactKey')
  get(@Workspace() ws: string, @Param('campaignId', uuid('campaignId')) campaignId: string, @Param('contactKey') contactKey: string) {
    return this.ingestion.getContact(ws, campaignId, contactKey);
  }
}

const CSV_COLUMNS = [
  ['key', 'Key'], ['name', 'Name'], ['email', 'Email'], ['phone', 'Phone'], ['currentStage', 'Current stage'], ['communications', 'Communications'],
  ['createdAt', 'Created'], ['outcome', 'Outcome'], ['externalId', 'External id'], ['parameters', 'Parameters'], ['results', 'Results'],
] as const;

/** OWASP CSV injection: a leading = + - @ TAB or CR makes a spreadsheet evaluate the cell. */
export function neutralise(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}
