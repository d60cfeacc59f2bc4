import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { METHOD_METADATA, MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { RequestMethod } from '@nestjs/common';
import { GatewayModule } from '../gateway.module';
import { PUBLIC_KEY, ROLE_KEY, isRole } from './roles';

type Ctor = new (...args: never[]) => unknown;

function controllersOf(module: Ctor, seen = new Set<Ctor>()): Ctor[] {
  if (seen.has(module)) return [];
  seen.add(module);
  const own = (Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, module) ?? []) as Ctor[];
  const imported = (Reflect.getMetadata(MODULE_METADATA.IMPORTS, module) ?? []) as Ctor[];
  return [...own, ...imported.flatMap((m) => (typeof m === 'function' ? controllersOf(m, seen) : []))];
}

describe('gateway routes', () => {
  it('each route declares who may call it (@Allow with a role, or @Public); nothing is open by omission', () => {
    const routes: string[] = [];
    const undeclared: string[] = [];
    const publicRoutes: string[] = [];
    for (const controller of controllersOf(GatewayModule as Ctor)) {
      const proto = controller.prototype as Record<string, unknown>;
      for (const name of Object.getOwnPropertyNames(proto)) {
        const handler = proto[name];
        if (name === 'constructor' || typeof handler !== 'function' || Reflect.getMetadata(PATH_METADATA, handler) === undefined) continue;
        const route = `${RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler)]} ${Reflect.getMetadata(PATH_METADATA, controller)}/${Reflect.getMetadata(PATH_METADATA, handler)} (${controller.name}.${name})`;
        routes.push(route);
        const role = Reflect.getMetadata(ROLE_KEY, handler) ?? Reflect.getMetadata(ROLE_KEY, controller);
        const open = Reflect.getMetadata(PUBLIC_KEY, handler) ?? Reflect.getMetadata(PUBLIC_KEY, controller);
        if (open) publicRoutes.push(route);
        else if (!isRole(role)) undeclared.push(route);
      }
    }
    assert.ok(routes.length > 50, `found only ${routes.length} routes`);
    assert.deepEqual(undeclared, []);
    // The open routes are the ones that cannot carry a member's credentials: health, the portal's files, signing in, provider webhooks.
    for (const r of publicRoutes) assert.match(r, /\((HealthController|PortalController|WebhooksHttpController)\.|\(AccessHttpController\.sign(In|Out)\)$/, r);
  });
});
