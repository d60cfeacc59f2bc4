import { BadRequestException, Body, Controller, Get, HttpCode, Inject, Param, ParseUUIDPipe, Post, Put } from '@nestjs/common';
import { ApiBody, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsInt, IsISO8601, IsOptional, Max, Min } from 'class-validator';
import { SCHEDULER_API, type SchedulerApi, type SchedulingPolicy } from '@herald/contracts';
import { Workspace } from '../workspace';
import { Allow } from '../auth/roles';

const id = new ParseUUIDPipe({ exceptionFactory: () => new BadRequestException({ statusCode: 400, error: 'invalid', message: 'campaignId: must be a UUID', field: 'campaignId' }) });

export class DryRunDto {
  @ApiPropertyOptional({ description: 'ISO-8601 start of the virtual clock (when Start would be pressed); default now' })
  @IsOptional() @IsISO8601() from?: string;
  @ApiPropertyOptional({ description: 'How many contacts to return in full (all are simulated); default 100' })
  @IsOptional() @IsInt() @Min(0) @Max(1000) contactLimit?: number;
  @ApiPropertyOptional({ description: 'Simulated ends up to this many days after `from` run the Aggregation strategy; default 31' })
  @IsOptional() @IsInt() @Min(1) @Max(366) horizonDays?: number;
  @ApiPropertyOptional({ description: 'At most this many simulated Aggregation runs; default 20,000' })
  @IsOptional() @IsInt() @Min(1) @Max(100_000) maxAggregationRuns?: number;
}

class PolicyDoc {
  @ApiProperty({ nullable: true, description: 'At most maxStarts starts per person (email or phone) across the workspace in any rolling perHours (max 168)', example: { maxStarts: 2, perHours: 24 } })
  frequencyCap!: { maxStarts: number; perHours: number } | null;
  @ApiProperty({ description: 'Starts per minute per channel; a start beyond it waits, never dropped', example: { email_notification: { perMinute: 600 } } })
  rateLimits!: Record<string, { perMinute: number }>;
}

@ApiTags('scheduling')
@Allow('viewer')
@Controller('api')
export class SchedulingHttpController {
  constructor(@Inject(SCHEDULER_API) private readonly scheduler: SchedulerApi) {}

  @Get('scheduling/policy')
  getPolicy(@Workspace() ws: string) {
    return this.scheduler.getPolicy(ws);
  }

  /** Validated field by field by the scheduler (errors name the field). */
  @Put('scheduling/policy')
  @Allow('admin')
  @ApiBody({ type: PolicyDoc })
  setPolicy(@Workspace() ws: string, @Body() body: Record<string, unknown>) {
    return this.scheduler.setPolicy(ws, body as unknown as SchedulingPolicy);
  }

  @Post('campaigns/:campaignId/dry-run')
  @Allow('operator')
  @HttpCode(200)
  dryRun(@Workspace() ws: string, @Param('campaignId', id) campaignId: string, @Body() body: DryRunDto) {
    return this.scheduler.dryRun(ws, campaignId, { from: body.from, contactLimit: body.contactLimit, horizonDays: body.horizonDays, maxAggregationRuns: body.maxAggregationRuns });
  }
}
