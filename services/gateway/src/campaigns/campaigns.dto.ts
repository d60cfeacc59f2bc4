import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { ArrayMaxSize, IsArray, IsIn, IsInt, IsNotEmpty, IsNumber, IsObject, IsOptional, IsString, Max, MaxLength, Min, ValidateIf, ValidateNested } from 'class-validator';
import { CHANNEL_IDS, STRATEGY_TYPES } from '@herald/campaign-model';
import { PERFORMANCE_PERIODS, type PerformancePeriod } from '@herald/contracts';

export class CreateCampaignDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(200) name!: string;
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(2000) description!: string;
  @ApiPropertyOptional({ type: [String] }) @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) labels?: string[];
}

export class StageVariantDto {
  @ApiProperty({ description: 'Name of the alternative configuration' }) @IsString() @IsNotEmpty() @MaxLength(100) label!: string;
  @ApiPropertyOptional({ enum: ['control', 'experimental'] }) @IsOptional() @IsIn(['control', 'experimental']) group?: string;
  @ApiProperty({ description: 'How often this configuration is chosen, relative to the others' }) @IsNumber() @Min(0.0001) @Max(1000) weight!: number;
  @ApiPropertyOptional({ enum: CHANNEL_IDS, description: 'Defaults to the stage channel' }) @IsOptional() @IsIn(CHANNEL_IDS) channel?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() agent?: string;
  @ApiPropertyOptional() @IsOptional() @IsObject() settings?: Record<string, unknown>;
}

export class AddStageDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(200) name!: string;
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(2000) description!: string;
  @ApiProperty({ enum: CHANNEL_IDS }) @IsIn(CHANNEL_IDS) channel!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() agent?: string;
  @ApiPropertyOptional({ description: 'Channel-specific fields, e.g. integration, subject, inputType, template for email_notification' })
  @IsOptional() @IsObject() settings?: Record<string, unknown>;
  @ApiPropertyOptional({ type: [StageVariantDto], description: 'A/B testing: alternative configurations (label, weight, channel settings)' })
  @IsOptional() @IsArray() @ArrayMaxSize(10) @ValidateNested({ each: true }) @Type(() => StageVariantDto) variants?: StageVariantDto[];
}

export class AddStrategyDto {
  @ApiProperty() @IsString() @IsNotEmpty() name!: string;
  @ApiProperty() @IsString() @IsNotEmpty() description!: string;
  @ApiProperty({ enum: STRATEGY_TYPES }) @IsIn(STRATEGY_TYPES) type!: string;
  @ApiProperty() @IsString() @IsNotEmpty() functionName!: string;
}

export class ListCampaignsQuery {
  @ApiPropertyOptional({ enum: ['all', 'running'] }) @IsOptional() @IsIn(['all', 'running']) filter?: 'all' | 'running';
  @ApiPropertyOptional() @IsOptional() @IsString() search?: string;
}

export class UpdateCampaignDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(200) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() @MaxLength(2000) description?: string;
  @ApiPropertyOptional({ type: [String] }) @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) labels?: string[];
}

export class UpdateStrategyDto {
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() description?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @IsNotEmpty() functionName?: string;
}

export class SettingsDto {
  @ApiPropertyOptional({ nullable: true, description: 'The language-model integration (LLM Settings)' })
  @IsOptional() @ValidateIf((_o, v) => v !== null) @IsString() @IsNotEmpty() llmIntegration?: string | null;
  @ApiPropertyOptional({ description: 'Window length for communications planned without an end date (minutes, default 1440)' })
  @IsOptional() @IsInt() @Min(1) @Max(129600) defaultWindowMinutes?: number;
  @ApiPropertyOptional({ description: 'Wall-time limit per strategy call (seconds, default 5)' }) @IsOptional() @IsNumber() @Min(0.1) @Max(60) strategyTimeoutSeconds?: number;
  @ApiPropertyOptional({ description: 'IANA time zone for contacts whose own is unknown' }) @IsOptional() @IsString() defaultTimezone?: string;
  @ApiPropertyOptional({ type: [String], description: 'Host names strategies may call' }) @IsOptional() @IsArray() @ArrayMaxSize(50) @IsString({ each: true }) egressAllowlist?: string[];
}

export class ResultDefinitionDto {
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(64) code!: string;
  @ApiProperty() @IsString() @IsNotEmpty() @MaxLength(200) name!: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(2000) description?: string;
}

export class ResultDefinitionsDto {
  @ApiProperty({ type: [ResultDefinitionDto] }) @IsArray() @ArrayMaxSize(100) @ValidateNested({ each: true }) @Type(() => ResultDefinitionDto) results!: ResultDefinitionDto[];
}

export class LogsQuery {
  @ApiPropertyOptional({ enum: ['DEBUG', 'INFO', 'WARNING', 'ERROR'] }) @IsOptional() @IsIn(['DEBUG', 'INFO', 'WARNING', 'ERROR', 'debug', 'info', 'warning', 'error']) level?: string;
  @ApiPropertyOptional({ description: 'Only entries about this contact key' }) @IsOptional() @IsString() contact?: string;
  @ApiPropertyOptional({ description: 'Cursor: the `next` of the previous page' }) @IsOptional() @Type(() => Number) @IsInt() @Min(0) after?: number;
  @ApiPropertyOptional() @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(1000) limit?: number;
}

export class ImportCampaignDto {
  @ApiProperty({ description: 'The secret key shown when the campaign was exported' }) @IsString() @IsNotEmpty() secretKey!: string;
}

export class PerformanceQuery {
  @ApiPropertyOptional({ enum: PERFORMANCE_PERIODS, description: 'How the distributions are cut: UTC days, ISO weeks (from Monday) or calendar months (default day)' })
  @IsOptional() @IsIn(PERFORMANCE_PERIODS) period?: PerformancePeriod;
}
