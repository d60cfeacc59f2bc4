import { Controller, Get, Module } from '@nestjs/common';
import { CampaignsHttpController } from './campaigns/campaigns.http.controller';
import { ContactsHttpController } from './contacts/contacts.http.controller';
import { IntegrationsHttpController } from './integrations/integrations.http.controller';
import { SchedulingHttpController } from './scheduling/scheduling.http.controller';
import { OpsModule } from './ops/ops.module';
import { AgentsHttpController } from './agents/agents.http.controller';
import { HumanHttpController } from './human/human.http.controller';
import { SessionsHttpController } from './sessions/sessions.http.controller';
import { DeepAnalysisHttpController } from './deep-analysis/deep-analysis.http.controller';
import { WebhooksHttpController } from './webhooks/webhooks.http.controller';
import { PortalModule } from './portal/portal.module';
import { AuthModule } from './auth/auth.module';
import { Public } from './auth/roles';

@Controller()
class HealthController {
  @Get('health')
  @Public()
  health() {
    return { status: 'ok' };
  }
}

/** The public REST API. It holds no state: every call goes to a service API (in process or over gRPC). */
@Module({ imports: [AuthModule, OpsModule, PortalModule], controllers: [HealthController, CampaignsHttpController, ContactsHttpController, IntegrationsHttpController, SchedulingHttpController,
  AgentsHttpController, SessionsHttpController, HumanHttpController, WebhooksHttpController, DeepAnalysisHttpController] })
export class GatewayModule {}
