import { CanActivate, ExecutionContext, ForbiddenException, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { randomUUID } from 'node:crypto';
import type { Response } from 'express';
import { actionOf, AuditTrail, type AuditedRequest } from './audit';
import { AuthService } from './auth.service';
import { AUDITED_KEY, PUBLIC_KEY, ROLE_KEY, roleIncludes, type Role } from './roles';

/**
 * Every route of the gateway passes here. @Public routes are open; every
 * other route needs a signed-in caller whose role includes the route's
 * @Allow role. A route that declares neither is refused to everyone, so a
 * new endpoint is closed until someone decides who may call it.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(private readonly auth: AuthService, private readonly trail: AuditTrail, private readonly reflector: Reflector) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    if (ctx.getType() !== 'http') return true;
    const req = ctx.switchToHttp().getRequest<AuditedRequest>();
    const res = ctx.switchToHttp().getResponse<Response>();
    const given = req.headers['x-request-id'];
    req.requestId = typeof given === 'string' && /^[\w.:-]{1,128}$/.test(given) ? given : randomUUID();
    res.setHeader('x-request-id', req.requestId);
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const principal = await this.auth.authenticate(req);
    req.principal = principal;
    const needed = this.reflector.getAllAndOverride<Role | undefined>(ROLE_KEY, targets);
    const action = this.reflector.getAllAndOverride<string | undefined>(AUDITED_KEY, targets) ?? actionOf(ctx);
    if (!needed || !roleIncludes(principal.role, needed)) {
      await this.trail.record(req, principal, action, 'denied', 403);
      throw new ForbiddenException(needed
        ? `forbidden: ${action} needs the ${needed} role or above; you are ${principal.role}`
        : `forbidden: ${action} is not open to any role`);
    }
    return true;
  }
}
