import { CallHandler, ExecutionContext, HttpException, Injectable, Logger, NestInterceptor } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { catchError, from, mergeMap, Observable, throwError } from 'rxjs';
import { auditStreamId, DomainError, newEvent, type AuditEvent, type RecordedEvent } from '@herald/contracts';
import { HistoryReader } from '../ops/history-reader';
import { AUDITED_KEY, type Principal } from './roles';

const DOMAIN_STATUS = { invalid: 400, not_found: 404, conflict: 409, precondition: 409 } as const;

export type AuditedRequest = Request & { principal?: Principal; requestId?: string };

/** `campaigns.start` from CampaignsHttpController#start. */
export function actionOf(ctx: ExecutionContext): string {
  const area = ctx.getClass().name.replace(/(Http)?Controller$/, '');
  return `${area.charAt(0).toLowerCase()}${area.slice(1)}.${ctx.getHandler().name}`;
}

/**
 * Appends one AuditRecorded event per privileged call to the workspace's
 * audit stream: every call but GET, every GET marked @Audited, and every
 * call refused for want of a role. The record never holds bodies (they may
 * carry credentials or personal data), only the ids the route named.
 */
@Injectable()
export class AuditTrail {
  private readonly logger = new Logger('Audit');

  constructor(private readonly history: HistoryReader) {}

  async record(req: AuditedRequest, principal: Principal, action: string, outcome: 'succeeded' | 'failed' | 'denied', status: number): Promise<void> {
    const event: AuditEvent = newEvent('AuditRecorded', {
      actor: principal.actor, actorName: principal.actorName, via: principal.via, role: principal.role, action,
      request: `${req.method} ${req.originalUrl.split('?')[0]}`,
      target: Object.fromEntries(Object.entries(req.params ?? {}).map(([k, v]) => [k, String(v)])),
      outcome, status, requestId: req.requestId ?? '', at: new Date().toISOString(),
    }, { workspaceId: principal.workspaceId, correlationId: req.requestId });
    try {
      await (await this.history.store()).append(auditStreamId(principal.workspaceId), [event], 'any');
    } catch (error) {
      // The action itself happened; losing its record must be loud.
      this.logger.error(`audit record lost for ${action} by ${principal.actor}: ${(error as Error).message}`);
    }
  }

  async read(workspaceId: string, fromRevision: number, limit: number): Promise<RecordedEvent[]> {
    return (await this.history.store()).readStream(auditStreamId(workspaceId), { fromRevision, maxCount: limit });
  }
}

@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(private readonly trail: AuditTrail, private readonly reflector: Reflector) {}

  intercept(ctx: ExecutionContext, next: CallHandler): Observable<unknown> {
    const req = ctx.switchToHttp().getRequest<AuditedRequest>();
    const principal = req.principal;
    const marked = this.reflector.getAllAndOverride<string | undefined>(AUDITED_KEY, [ctx.getHandler(), ctx.getClass()]);
    if (!principal || (req.method === 'GET' && !marked)) return next.handle();
    const action = marked ?? actionOf(ctx);
    const res = ctx.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      mergeMap((value) => from(this.trail.record(req, principal, action, 'succeeded', res.statusCode || 200).then(() => value))),
      catchError((error) => from(this.trail.record(req, principal, action, 'failed', statusOf(error))).pipe(mergeMap(() => throwError(() => error)))),
    );
  }
}

function statusOf(error: unknown): number {
  if (error instanceof HttpException) return error.getStatus();
  if (error instanceof DomainError) return DOMAIN_STATUS[error.code];
  return 500;
}
