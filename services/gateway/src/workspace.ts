import { createParamDecorator, ExecutionContext, UnauthorizedException } from '@nestjs/common';
import type { Principal } from './auth/roles';

/** The caller's workspace, from their credentials (the AuthGuard ran before): every service call is scoped to it. */
export const Workspace = createParamDecorator((_: unknown, ctx: ExecutionContext): string => {
  const principal = ctx.switchToHttp().getRequest<{ principal?: Principal }>().principal;
  if (!principal) throw new UnauthorizedException('sign in first');
  return principal.workspaceId;
});
