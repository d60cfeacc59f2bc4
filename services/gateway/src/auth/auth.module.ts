import { Global, Module } from '@nestjs/common';
import { APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { HistoryReader } from '../ops/history-reader';
import { AuditInterceptor, AuditTrail } from './audit';
import { AuthGuard } from './auth.guard';
import { AccessHttpController } from './auth.http.controller';
import { AuthService } from './auth.service';

/** Authentication, roles and the audit trail of every gateway route (docs/security.md). */
@Global()
@Module({
  providers: [HistoryReader, AuthService, AuditTrail, { provide: APP_GUARD, useClass: AuthGuard }, { provide: APP_INTERCEPTOR, useClass: AuditInterceptor }],
  controllers: [AccessHttpController],
  exports: [HistoryReader, AuthService, AuditTrail],
})
export class AuthModule {}
