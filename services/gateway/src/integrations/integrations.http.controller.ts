import { Body, Controller, Get, Inject, Post } from '@nestjs/common';
import { ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsNotEmpty, IsObject, IsString } from 'class-validator';
import { DISPATCH_API, type DispatchApi } from '@herald/contracts';
import { Workspace } from '../workspace';
import { Allow } from '../auth/roles';

export class IntegrationDto {
  @ApiProperty() @IsString() @IsNotEmpty() name!: string;
  @ApiProperty({ enum: ['smtp', 'whatsapp', 'messagebird', 'telegram', 'infobip', 'twilio', 'sip', 'llm'], description: 'checked by dispatch (docs/channels.md)' })
  @IsString() @IsNotEmpty() type!: string;
  @ApiProperty({ description: 'fields by type (docs/channels.md); secrets (passwords, tokens, keys) are stored encrypted and never returned' }) @IsObject() config!: Record<string, unknown>;
}

@ApiTags('integrations')
@Allow('viewer')
@Controller('api/integrations')
export class IntegrationsHttpController {
  constructor(@Inject(DISPATCH_API) private readonly dispatch: DispatchApi) {}

  @Post()
  @Allow('admin')
  configure(@Workspace() ws: string, @Body() body: IntegrationDto) {
    return this.dispatch.configureIntegration(ws, body);
  }

  @Get()
  list(@Workspace() ws: string) {
    return this.dispatch.listIntegrations(ws);
  }
}
