import { Module } from '@nestjs/common';
import { PortalBuilder } from './portal-build';
import { PortalController } from './portal.controller';

/** The web portal (docs/portal.md): served by the gateway, built from services/gateway/portal. */
@Module({ controllers: [PortalController], providers: [{ provide: PortalBuilder, useFactory: () => new PortalBuilder() }] })
export class PortalModule {}
