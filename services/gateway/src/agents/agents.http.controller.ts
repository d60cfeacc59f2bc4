import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query } from '@nestjs/common';
import { ApiBody, ApiProperty, ApiPropertyOptional, ApiQuery, ApiTags } from '@nestjs/swagger';
import { DISPATCH_API, type AgentInput, type DispatchApi } from '@herald/contracts';
import { Workspace } from '../workspace';
import { Allow } from '../auth/roles';

class AgentDoc {
  @ApiProperty() name!: string;
  @ApiProperty({ enum: ['llm', 'webhook', 'scripted'] }) backend!: string;
  @ApiPropertyOptional({ example: ['whatsapp', 'telegram'] }) channels?: string[];
  @ApiPropertyOptional({ example: ['wa-main'] }) integrations?: string[];
  @ApiPropertyOptional({ example: [{ name: 'greeting', prompt: 'Remind the customer politely of the due amount.', start: true }] }) states?: object[];
  @ApiPropertyOptional({ example: 86400 }) silenceTimeoutSeconds?: number;
  @ApiPropertyOptional({ example: { integration: 'openai', extract: [{ name: 'OutcomeStatus' }, { name: 'PromiseDate' }] } }) llm?: object;
  @ApiPropertyOptional({ example: { url: 'https://agents.example.com/turn', secret: 'write-only' } }) webhook?: object;
  @ApiPropertyOptional({ example: { greeting: 'Hello {{name}}', rules: [{ match: 'pay', reply: 'Thank you', end: true, results: { OutcomeStatus: 'PROMISED' } }] } }) scripted?: object;
  @ApiPropertyOptional({ description: 'Mobile Push: fcm {projectId, clientEmail, privateKey} and/or webPush {subject, publicKey, privateKey}; private keys are write-only' }) push?: object;
}

/** The agent registry (docs/agents.md). Validated field by field by dispatch; secrets are write-only. */
@ApiTags('agents')
@Allow('viewer')
@Controller('api/agents')
export class AgentsHttpController {
  constructor(@Inject(DISPATCH_API) private readonly dispatch: DispatchApi) {}

  @Post()
  @Allow('campaign_manager')
  @ApiBody({ type: AgentDoc })
  create(@Workspace() ws: string, @Body() body: Record<string, unknown>) {
    return this.dispatch.saveAgent(ws, body as unknown as AgentInput);
  }

  @Put(':name')
  @Allow('campaign_manager')
  @ApiBody({ type: AgentDoc })
  save(@Workspace() ws: string, @Param('name') name: string, @Body() body: Record<string, unknown>) {
    return this.dispatch.saveAgent(ws, { ...(body as unknown as AgentInput), name });
  }

  /** `?channel=` lists the agents that serve it (Mobile Push: the agents with a push configuration). */
  @Get()
  @ApiQuery({ name: 'channel', required: false })
  list(@Workspace() ws: string, @Query('channel') channel?: string) {
    return this.dispatch.listAgents(ws, { channel: channel || undefined });
  }

  @Get(':name')
  get(@Workspace() ws: string, @Param('name') name: string) {
    return this.dispatch.getAgent(ws, name);
  }

  @Delete(':name')
  @Allow('campaign_manager')
  @HttpCode(204)
  async remove(@Workspace() ws: string, @Param('name') name: string) {
    await this.dispatch.removeAgent(ws, name);
  }
}
