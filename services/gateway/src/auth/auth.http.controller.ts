import { Body, Controller, Delete, Get, HttpCode, NotFoundException, Param, ParseUUIDPipe, Patch, Post, Query, Req, Res, UnauthorizedException } from '@nestjs/common';
import { ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsEmail, IsIn, IsNotEmpty, IsOptional, IsString, MaxLength, ValidateIf } from 'class-validator';
import type { Request, Response } from 'express';
import { AuditTrail, type AuditedRequest } from './audit';
import { AuthService, SESSION_COOKIE } from './auth.service';
import { Allow, Public, ROLES, type Principal, type Role } from './roles';

export class SessionDto {
  @ApiPropertyOptional({ description: 'An API key (hk_…)' }) @ValidateIf((o) => !o.token) @IsString() @IsNotEmpty() apiKey?: string;
  @ApiPropertyOptional({ description: 'An OpenID Connect token of the configured issuer' }) @ValidateIf((o) => !o.apiKey) @IsString() @IsNotEmpty() token?: string;
  @ApiPropertyOptional({ description: 'The workspace, for members of several' }) @IsOptional() @IsString() workspace?: string;
}

export class CreateApiKeyDto {
  @ApiProperty({ example: 'analytics export' }) @IsString() @IsNotEmpty() @MaxLength(200) name!: string;
  @ApiProperty({ enum: ROLES }) @IsIn(ROLES) role!: Role;
}

export class AddMemberDto {
  @ApiPropertyOptional({ description: 'Invite by e-mail: bound to the person on their first sign-in with a verified address' })
  @ValidateIf((o) => !o.subject) @IsEmail() email?: string;
  @ApiPropertyOptional({ description: 'Or by the identity provider\'s subject (sub)' }) @ValidateIf((o) => !o.email) @IsString() @IsNotEmpty() subject?: string;
  @ApiPropertyOptional({ description: 'Issuer of the subject (default: the configured HERALD_OIDC_ISSUER)' }) @IsOptional() @IsString() issuer?: string;
  @ApiProperty({ enum: ROLES }) @IsIn(ROLES) role!: Role;
}

export class SetRoleDto {
  @ApiProperty({ enum: ROLES }) @IsIn(ROLES) role!: Role;
}

export class CreateWorkspaceDto {
  @ApiProperty({ example: 'Collections EU' }) @IsString() @IsNotEmpty() @MaxLength(200) name!: string;
}

const principalOf = (req: AuditedRequest): Principal => req.principal!;

/** Signing in, the caller's identity, and an admin's workspace management: members, API keys, new workspaces, the audit log. */
@ApiTags('access')
@Controller('api')
export class AccessHttpController {
  constructor(private readonly auth: AuthService, private readonly trail: AuditTrail) {}

  /** The portal signs in with an API key or a token and gets an HttpOnly session cookie (12 hours). */
  @Post('session')
  @Public()
  @HttpCode(200)
  async signIn(@Body() body: SessionDto, @Req() req: Request, @Res({ passthrough: true }) res: Response) {
    const credential = (body.apiKey ?? body.token)!;
    const principal = await this.auth.fromBearer(credential, body.workspace ?? null).catch((error) => {
      if (error instanceof UnauthorizedException) throw new UnauthorizedException((error.message).replace(/^authorization: /, `${body.apiKey ? 'apiKey' : 'token'}: `));
      throw error;
    });
    const cookie = await this.auth.openSession(principal, credential);
    const secure = req.secure || req.headers['x-forwarded-proto'] === 'https';
    res.cookie(SESSION_COOKIE, cookie, { httpOnly: true, sameSite: 'strict', secure, path: '/', maxAge: 12 * 3600 * 1000 });
    await this.trail.record(req as AuditedRequest, principal, 'access.signIn', 'succeeded', 200);
    return this.view(principal);
  }

  @Delete('session')
  @Public()
  @HttpCode(204)
  signOut(@Res({ passthrough: true }) res: Response) {
    res.clearCookie(SESSION_COOKIE, { path: '/' });
  }

  @Get('me')
  @Allow('viewer')
  async me(@Req() req: AuditedRequest) {
    return this.view(principalOf(req));
  }

  @Get('api-keys')
  @Allow('admin')
  apiKeys(@Req() req: AuditedRequest) {
    return this.auth.identities.listApiKeys(principalOf(req).workspaceId);
  }

  /** The key is shown once, in this answer; only its hash is kept. */
  @Post('api-keys')
  @Allow('admin')
  async createApiKey(@Req() req: AuditedRequest, @Body() body: CreateApiKeyDto) {
    const p = principalOf(req);
    const { record, key } = await this.auth.identities.createApiKey(p.workspaceId, body.name, body.role, p.actor);
    return { ...record, key };
  }

  @Delete('api-keys/:keyId')
  @Allow('admin')
  @HttpCode(204)
  async revokeApiKey(@Req() req: AuditedRequest, @Param('keyId') keyId: string) {
    if (!(await this.auth.identities.revokeApiKey(principalOf(req).workspaceId, keyId))) throw new NotFoundException(`API key ${keyId} not found`);
  }

  @Get('members')
  @Allow('admin')
  members(@Req() req: AuditedRequest) {
    return this.auth.identities.listMembers(principalOf(req).workspaceId);
  }

  @Post('members')
  @Allow('admin')
  addMember(@Req() req: AuditedRequest, @Body() body: AddMemberDto) {
    const p = principalOf(req);
    const issuer = body.subject ? body.issuer ?? process.env.HERALD_OIDC_ISSUER ?? null : null;
    return this.auth.identities.addMember(p.workspaceId, { issuer, subject: body.subject ?? null, email: body.email ?? null, role: body.role }, p.actor);
  }

  @Patch('members/:memberId')
  @Allow('admin')
  async setMemberRole(@Req() req: AuditedRequest, @Param('memberId', new ParseUUIDPipe({ errorHttpStatusCode: 404 })) memberId: string, @Body() body: SetRoleDto) {
    const member = await this.auth.identities.setMemberRole(principalOf(req).workspaceId, memberId, body.role);
    if (!member) throw new NotFoundException(`member ${memberId} not found`);
    return member;
  }

  @Delete('members/:memberId')
  @Allow('admin')
  @HttpCode(204)
  async removeMember(@Req() req: AuditedRequest, @Param('memberId', new ParseUUIDPipe({ errorHttpStatusCode: 404 })) memberId: string) {
    if (!(await this.auth.identities.removeMember(principalOf(req).workspaceId, memberId))) throw new NotFoundException(`member ${memberId} not found`);
  }

  /** A new workspace (tenant) with its first admin key, shown once. The caller does not become a member of it. */
  @Post('workspaces')
  @Allow('admin')
  async createWorkspace(@Req() req: AuditedRequest, @Body() body: CreateWorkspaceDto) {
    const p = principalOf(req);
    const workspace = await this.auth.identities.createWorkspace(body.name, p.actor);
    const { record, key } = await this.auth.identities.createApiKey(workspace.id, 'first admin', 'admin', p.actor);
    return { workspace, adminKey: { ...record, key } };
  }

  /** The workspace's audit log, oldest first; page with `from` (the revision after the last one read). */
  @Get('audit')
  @Allow('admin')
  async audit(@Req() req: AuditedRequest, @Query('from') from?: string, @Query('limit') limit?: string) {
    const fromRevision = Math.max(0, Number(from) || 0);
    const max = Math.min(Math.max(Number(limit) || 100, 1), 1000);
    const events = await this.trail.read(principalOf(req).workspaceId, fromRevision, max);
    return {
      items: events.map((e) => ({ revision: e.revision, ...(e.data as object) })),
      next: events.length === max ? events[events.length - 1].revision + 1 : null,
    };
  }

  private async view(p: Principal) {
    const workspace = await this.auth.identities.workspace(p.workspaceId);
    return { actor: p.actor, name: p.actorName, role: p.role, via: p.via, workspace: { id: p.workspaceId, name: workspace?.name ?? p.workspaceId } };
  }
}
