import { Controller, Get, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Response } from 'express';
import { renderMetrics } from '@herald/observability';
import { Allow } from '../auth/roles';

/** Prometheus scrape endpoint of the gateway process (all services when embedded). */
@ApiExcludeController()
@Allow('viewer')
@Controller()
export class MetricsController {
  @Get('metrics')
  async metrics(@Res() res: Response): Promise<void> {
    const { contentType, body } = await renderMetrics();
    res.status(200).setHeader('content-type', contentType);
    res.end(body);
  }
}
