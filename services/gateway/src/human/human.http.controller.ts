import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiQuery, ApiTags } from '@nestjs/swagger';
import { IsIn, IsNotEmpty, IsObject, IsOptional, IsString } from 'class-validator';
import { DISPATCH_API, type DispatchApi, type JsonObject } from '@herald/contracts';
import { Workspace } from '../workspace';
import { Allow } from '../auth/roles';

export class ClaimDto {
  @ApiProperty({ description: 'Who takes the task' }) @IsString() @IsNotEmpty() assignee!: string;
}

export class CloseDto {
  @ApiProperty({ description: 'Who closes it (must hold the claim)' }) @IsString() @IsNotEmpty() assignee!: string;
  @ApiPropertyOptional({ enum: ['COMPLETED', 'INTERRUPTED', 'ERROR'] }) @IsOptional() @IsIn(['COMPLETED', 'INTERRUPTED', 'ERROR']) status?: 'COMPLETED' | 'INTERRUPTED' | 'ERROR';
  @ApiPropertyOptional({ example: 'REACHED' }) @IsOptional() @IsString() sessionStatus?: string;
  @ApiPropertyOptional({ example: 'Promised to pay on Friday' }) @IsOptional() @IsString() result?: string;
  @ApiPropertyOptional({ description: 'The session_results the Aggregation strategy receives', example: { OutcomeStatus: 'PROMISED' } })
  @IsOptional() @IsObject() sessionResults?: JsonObject;
}

/** The Human channel's work queue: people claim tasks and close them with a result. */
@ApiTags('human')
@Allow('viewer')
@Controller('api/human/tasks')
export class HumanHttpController {
  constructor(@Inject(DISPATCH_API) private readonly dispatch: DispatchApi) {}

  @Get()
  @ApiQuery({ name: 'status', required: false, enum: ['open', 'claimed', 'closed'] })
  list(@Workspace() ws: string, @Query('status') status?: string) {
    return this.dispatch.listHumanTasks(ws, { status: status || undefined });
  }

  @Post(':taskId/claim')
  @Allow('operator')
  @HttpCode(200)
  claim(@Workspace() ws: string, @Param('taskId') taskId: string, @Body() body: ClaimDto) {
    return this.dispatch.claimHumanTask(ws, taskId, body.assignee);
  }

  @Post(':taskId/close')
  @Allow('operator')
  @HttpCode(200)
  close(@Workspace() ws: string, @Param('taskId') taskId: string, @Body() body: CloseDto) {
    return this.dispatch.closeHumanTask(ws, taskId, body);
  }
}
