import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { OUTCOMES, type Outcome } from '@herald/contracts';

/** Contact Filters: name, email, phone and external id match a part of the value, case-insensitively. */
export class ContactFilterQuery {
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) name?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) email?: string;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(50) phone?: string;
  @ApiPropertyOptional({ enum: OUTCOMES }) @IsOptional() @IsIn(OUTCOMES) outcome?: Outcome;
  @ApiPropertyOptional() @IsOptional() @IsString() @MaxLength(200) externalId?: string;
  @ApiPropertyOptional({ description: 'Created on or after (ISO-8601)' }) @IsOptional() @IsISO8601() createdFrom?: string;
  @ApiPropertyOptional({ description: 'Created before (ISO-8601)' }) @IsOptional() @IsISO8601() createdTo?: string;
}

export class ContactListQuery extends ContactFilterQuery {
  @ApiPropertyOptional({ description: 'Cursor: the `next` of the previous page' }) @IsOptional() @IsString() after?: string;
  @ApiPropertyOptional({ minimum: 1, maximum: 500 }) @IsOptional() @Type(() => Number) @IsInt() @Min(1) @Max(500) limit?: number;
}
