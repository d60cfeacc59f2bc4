import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { eventually, TEST_ADMIN_KEY } from '@herald/testing';
import { file, form, startEmbedded } from './harness';
import { api } from './walking-skeleton';

/*
 * Authentication, roles, workspaces and the audit log through the gateway.
 * The OpenID Connect provider is a loopback stand-in for an identity provider
 * (Keycloak, Entra ID, Auth0, ...): it publishes a discovery document and a
 * JWKS and signs RS256 tokens the way they do.
 */

const ISSUER_PATH = '/realms/herald';
const AUDIENCE = 'herald-portal';

async function startIssuer(): Promise<{ issuer: string; sign(claims: Record<string, unknown>, options?: { audience?: string; expiresIn?: string; foreign?: boolean }): Promise<string>; close(): Promise<void> }> {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const foreign = await generateKeyPair('RS256');
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let issuer = '';
  const server: Server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json');
    if (req.url === `${ISSUER_PATH}/.well-known/openid-configuration`) return res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/protocol/openid-connect/certs` }));
    if (req.url === `${ISSUER_PATH}/protocol/openid-connect/certs`) return res.end(JSON.stringify({ keys: [jwk] }));
    res.statusCode = 404;
    res.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as { port: number }).port}${ISSUER_PATH}`;
  return {
    issuer,
    sign: (claims, o = {}) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'k1' }).setIssuer(issuer).setAudience(o.audience ?? AUDIENCE)
      .setIssuedAt().setExpirationTime(o.expiresIn ?? '10m').sign(o.foreign ? foreign.privateKey : privateKey),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const DATA_LOAD = `
def run(contact, existing_contact, logger, **kwargs):
    contact.communications.append(Communication(name="Call", stage_name="Desk", start_date=datetime.now(timezone.utc) - timedelta(minutes=1)))
    contact.current_stage = "Desk"
    return contact
`;

describe('access: authentication, roles, workspaces, audit (embedded)', () => {
  let idp: Awaited<ReturnType<typeof startIssuer>>;
  let platform: Awaited<ReturnType<typeof startEmbedded>>;
  let base: string;
  const keys: Record<string, string> = {};
  const ids: Record<string, string> = {};
  let otherAdmin = '';

  before(async () => {
    idp = await startIssuer();
    platform = await startEmbedded({ HERALD_OIDC_ISSUER: idp.issuer, HERALD_OIDC_AUDIENCE: AUDIENCE });
    base = platform.base;
    for (const role of ['viewer', 'operator', 'campaign_manager']) {
      const r = await api(base, 'POST', '/api/api-keys', { name: `${role} key`, role });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.match(r.body.key, /^hk_[a-z0-9]{12}_/);
      keys[role] = r.body.key;
    }
    // Workspace A: a running campaign with a Human stage, so that a task, an upload, a contact, a stage and a strategy exist.
    const campaign = await api(base, 'POST', '/api/campaigns', { name: 'Collections', description: 'A' }, keys.campaign_manager);
    assert.equal(campaign.status, 201, JSON.stringify(campaign.body));
    ids.campaignId = campaign.body.id;
    const stage = await api(base, 'POST', `/api/campaigns/${ids.campaignId}/stages`, { name: 'Desk', description: 'people call', channel: 'human', agent: 'collector', settings: {} }, keys.campaign_manager);
    assert.equal(stage.status, 201, JSON.stringify(stage.body));
    ids.stageId = stage.body.stages[0].id;
    const strategy = await api(base, 'POST', `/api/campaigns/${ids.campaignId}/strategies`,
      form({ name: 'Load', description: 'plan a call', type: 'DATA_LOAD', functionName: 'run', file: file('load.py', DATA_LOAD, 'text/x-python') }), keys.campaign_manager);
    assert.equal(strategy.status, 201, JSON.stringify(strategy.body));
    ids.strategyId = strategy.body.strategies[0].id;
    const upload = await api(base, 'POST', `/api/campaigns/${ids.campaignId}/contacts/uploads`,
      form({ file: file('c.csv', 'object_id,name,phone\nC-1,Ann,+12025550123\n', 'text/csv') }), keys.operator);
    assert.equal(upload.status, 202, JSON.stringify(upload.body));
    ids.uploadId = upload.body.id;
    await eventually(async () => (await api(base, 'GET', `/api/campaigns/${ids.campaignId}/contacts/uploads/${ids.uploadId}`, undefined, keys.viewer)).body.state === 'completed', { what: 'the upload' });
    ids.contactKey = 'o:C-1';
    assert.equal((await api(base, 'POST', `/api/campaigns/${ids.campaignId}/start`, undefined, keys.operator)).status, 200);
    const task = await eventually(async () => (await api(base, 'GET', '/api/human/tasks', undefined, keys.viewer)).body[0], { what: 'the human task' });
    ids.taskId = task.taskId ?? task.id;
    const agent = await api(base, 'POST', '/api/agents', { name: 'Bot', backend: 'scripted', channels: ['telegram'], scripted: { rules: [] } }, keys.campaign_manager);
    assert.equal(agent.status, 201, JSON.stringify(agent.body));
    ids.name = 'Bot';
    ids.keyId = /^hk_([a-z0-9]{12})_/.exec(keys.viewer)![1];
    const member = await api(base, 'POST', '/api/members', { email: 'ops@example.com', role: 'operator' });
    assert.equal(member.status, 201, JSON.stringify(member.body));
    ids.memberId = member.body.id;
    // Workspace B, with its own admin.
    const ws = await api(base, 'POST', '/api/workspaces', { name: 'Other tenant' });
    assert.equal(ws.status, 201, JSON.stringify(ws.body));
    otherAdmin = ws.body.adminKey.key;
  });

  after(async () => {
    await platform?.stop();
    await idp?.close();
  });

  it('answers 401 without credentials or with a bad key, and keeps health and webhooks open', async () => {
    for (const path of ['/api/campaigns', '/api/me', '/api/audit', '/api/events']) assert.equal((await api(base, 'GET', path, undefined, null)).status, 401, path);
    const bad = await api(base, 'GET', '/api/campaigns', undefined, 'hk_aaaaaaaaaaaa_' + 'b'.repeat(43));
    assert.equal(bad.status, 401);
    assert.match(bad.body.message, /not valid/);
    assert.equal((await api(base, 'GET', '/health', undefined, null)).status, 200);
    // A provider's webhook is not signed in: it answers by its signature (403 here: unknown integration, no signature).
    assert.notEqual((await api(base, 'POST', '/api/webhooks/default/nothing', {}, null)).status, 401);
  });

  it('enforces the roles: a viewer reads but gets 403 on strategy upload, contact export and campaign import', async () => {
    const me = await api(base, 'GET', '/api/me', undefined, keys.viewer);
    assert.deepEqual([me.status, me.body.role, me.body.workspace.id], [200, 'viewer', 'default']);
    assert.equal((await api(base, 'GET', `/api/campaigns/${ids.campaignId}`, undefined, keys.viewer)).status, 200);
    const upload = await api(base, 'POST', `/api/campaigns/${ids.campaignId}/strategies`,
      form({ name: 'Agg', description: 'd', type: 'AGGREGATION', functionName: 'run', file: file('a.py', 'def run(contact, session_results, logger, **kw):\n    return contact\n') }), keys.viewer);
    assert.equal(upload.status, 403);
    assert.match(upload.body.message, /campaign_manager role/);
    assert.equal((await api(base, 'GET', `/api/campaigns/${ids.campaignId}/contacts/export.csv`, undefined, keys.viewer)).status, 403);
    assert.equal((await api(base, 'POST', '/api/campaigns/import', form({ secretKey: 'x', file: file('c.zip', 'x') }), keys.viewer)).status, 403);
    // The operator starts and stops and uploads, but does not change the campaign nor manage the workspace.
    assert.equal((await api(base, 'POST', `/api/campaigns/${ids.campaignId}/stop`, undefined, keys.operator)).status, 200);
    assert.equal((await api(base, 'PATCH', `/api/campaigns/${ids.campaignId}`, { name: 'renamed' }, keys.operator)).status, 403);
    assert.equal((await api(base, 'POST', '/api/integrations', { name: 'm', type: 'smtp', config: {} }, keys.campaign_manager)).status, 403);
    assert.equal((await api(base, 'GET', '/api/members', undefined, keys.campaign_manager)).status, 403);
    assert.equal((await api(base, 'GET', `/api/campaigns/${ids.campaignId}/contacts/export.csv`, undefined, keys.campaign_manager)).status, 200);
  });

  it('answers 404 to every endpoint called with another workspace\'s ids', async () => {
    const openapi = (await api(base, 'GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const bodies: Record<string, unknown> = {
      'PATCH /api/campaigns/{campaignId}': { name: 'x' },
      'POST /api/campaigns/{campaignId}/stages': { name: 'x', description: 'y', channel: 'no_communication', settings: {} },
      'PUT /api/campaigns/{campaignId}/stages/{stageId}': { name: 'x', description: 'y', channel: 'no_communication', settings: {} },
      'PATCH /api/campaigns/{campaignId}/strategies/{strategyId}': { name: 'x' },
      'PUT /api/campaigns/{campaignId}/strategies/{strategyId}/file': form({ file: file('x.py', 'def run(contact, existing_contact, logger, **kw):\n    return contact\n') }),
      'POST /api/campaigns/{campaignId}/strategies': form({ name: 'x', description: 'y', type: 'AGGREGATION', functionName: 'run', file: file('x.py', 'def run(contact, session_results, logger, **kw):\n    return contact\n') }),
      'PATCH /api/campaigns/{campaignId}/settings': { defaultWindowMinutes: 60 },
      'PUT /api/campaigns/{campaignId}/analytics': form({ file: file('a.yaml', 'metrics: []\n') }),
      'PUT /api/campaigns/{campaignId}/results': { results: [] },
      'POST /api/campaigns/{campaignId}/contacts/uploads': form({ file: file('c.csv', 'object_id,phone\nX,+12025550199\n', 'text/csv') }),
      'POST /api/campaigns/{campaignId}/dry-run': {},
      'POST /api/human/tasks/{taskId}/claim': { assignee: 'eve' },
      'POST /api/human/tasks/{taskId}/close': { assignee: 'eve', status: 'COMPLETED' },
      'PUT /api/agents/{name}': { name: 'Bot', backend: 'scripted', channels: ['telegram'], scripted: { rules: [] } },
      'PATCH /api/members/{memberId}': { role: 'admin' },
    };
    // Public routes name their workspace in the URL and answer by signature or token; everything else is tried.
    const publicRoutes = /^\/api\/(webhooks|unsubscribe)\//;
    const idOf = (name: string) => ids[name] ?? (name === 'sessionId' ? '00000000-0000-4000-8000-000000000000' : undefined);
    let tried = 0;
    const wrong: string[] = [];
    // PUT /api/agents/{name} creates or replaces the caller's own agent of that name (names are per workspace): checked below.
    const upserts = new Set(['PUT /api/agents/{name}']);
    const query: Record<string, string> = { 'GET /api/campaigns/{campaignId}/contacts/{contactKey}/as-of': `?at=${encodeURIComponent(new Date().toISOString())}` };
    for (const [template, methods] of Object.entries(openapi.paths)) {
      if (!template.includes('{') || publicRoutes.test(template)) continue;
      for (const method of Object.keys(methods)) {
        if (upserts.has(`${method.toUpperCase()} ${template}`)) continue;
        const path = template.replace(/\{(\w+)\}/g, (_, name: string) => {
          const v = idOf(name);
          assert.ok(v, `the test knows no id for {${name}} of ${method.toUpperCase()} ${template}`);
          return encodeURIComponent(v);
        });
        const key = `${method.toUpperCase()} ${template}`;
        const r = await api(base, method.toUpperCase(), path + (query[key] ?? ''), bodies[key], otherAdmin);
        if (r.status !== 404) wrong.push(`${key}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
        tried++;
      }
    }
    assert.deepEqual(wrong, [], "every endpoint answers 404 to workspace B's admin calling with workspace A's ids");
    assert.ok(tried >= 30, `only ${tried} endpoints tried`);
    // And B sees none of A's rows in its lists.
    assert.deepEqual((await api(base, 'GET', '/api/campaigns?filter=all', undefined, otherAdmin)).body, []);
    assert.deepEqual((await api(base, 'GET', '/api/human/tasks', undefined, otherAdmin)).body, []);
    assert.equal((await api(base, 'GET', '/api/agents', undefined, otherAdmin)).body.length, 0);
    const own = await api(base, 'PUT', '/api/agents/Bot', bodies['PUT /api/agents/{name}'], otherAdmin);
    assert.equal(own.status, 200, 'B may have an agent of the same name: its own');
    assert.equal((await api(base, 'GET', '/api/agents/Bot', undefined, keys.viewer)).body.channels[0], 'telegram');
    assert.equal((await api(base, 'DELETE', '/api/agents/Bot', undefined, otherAdmin)).status, 204);
    assert.equal((await api(base, 'GET', '/api/agents/Bot', undefined, keys.viewer)).status, 200, "deleting B's agent leaves A's");
    // Workspace A is untouched: its campaign still has its name and stage.
    const still = await api(base, 'GET', `/api/campaigns/${ids.campaignId}`, undefined, keys.viewer);
    assert.deepEqual([still.body.name, still.body.stages.length], ['Collections', 1]);
  });

  it('signs people in with OpenID Connect tokens of the configured issuer, as members invited by e-mail', async () => {
    const token = await idp.sign({ sub: 'u-42', email: 'ops@example.com', email_verified: true, name: 'Olga Ops' });
    const me = await api(base, 'GET', '/api/me', undefined, token);
    assert.deepEqual([me.status, me.body.role, me.body.name, me.body.actor], [200, 'operator', 'Olga Ops', `oidc:${idp.issuer}#u-42`]);
    // Bound to the subject: the same person keeps access with another address at the provider.
    assert.equal((await api(base, 'GET', '/api/me', undefined, await idp.sign({ sub: 'u-42', email: 'olga@new.example', email_verified: true }))).body.role, 'operator');
    const unverified = await idp.sign({ sub: 'u-43', email: 'ops@example.com', email_verified: false });
    assert.equal((await api(base, 'GET', '/api/me', undefined, unverified)).status, 403, 'an unverified address does not match an invitation');
    for (const [why, t] of [
      ['wrong audience', await idp.sign({ sub: 'u-42' }, { audience: 'someone-else' })],
      ['expired', await idp.sign({ sub: 'u-42' }, { expiresIn: '-5m' })],
      ['signed by another key', await idp.sign({ sub: 'u-42' }, { foreign: true })],
      ['not a JWT', 'abc.def.ghi'],
    ] as const) {
      const r = await api(base, 'GET', '/api/me', undefined, t);
      assert.equal(r.status, 401, `${why}: ${JSON.stringify(r.body)}`);
    }
    const stranger = await api(base, 'GET', '/api/me', undefined, await idp.sign({ sub: 'nobody' }));
    assert.equal(stranger.status, 403);
    assert.match(stranger.body.message, /not a member/);
  });

  it('portal sessions: an HttpOnly cookie that ends with its key and refuses cross-site changes', async () => {
    const r = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: keys.operator }) });
    assert.equal(r.status, 200);
    const setCookie = r.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /herald_session=[^;]+; .*HttpOnly/i);
    assert.match(setCookie, /SameSite=Strict/i);
    const cookie = setCookie.split(';')[0];
    const me = await fetch(`${base}/api/me`, { headers: { cookie } });
    assert.equal(((await me.json()) as { role: string }).role, 'operator');
    const crossSite = await fetch(`${base}/api/campaigns/${ids.campaignId}/start`, { method: 'POST', headers: { cookie, origin: 'https://evil.example' } });
    assert.equal(crossSite.status, 403);
    const sameSite = await fetch(`${base}/api/campaigns/${ids.campaignId}/start`, { method: 'POST', headers: { cookie, origin: base } });
    assert.equal(sameSite.status, 200);
    const other = await api(base, 'POST', '/api/api-keys', { name: 'short-lived', role: 'viewer' });
    const session = await fetch(`${base}/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiKey: other.body.key }) });
    const otherCookie = (session.headers.get('set-cookie') ?? '').split(';')[0];
    assert.equal((await fetch(`${base}/api/me`, { headers: { cookie: otherCookie } })).status, 200);
    assert.equal((await api(base, 'DELETE', `/api/api-keys/${other.body.id}`)).status, 204);
    assert.equal((await fetch(`${base}/api/me`, { headers: { cookie: otherCookie } })).status, 401, 'revoking the key ends its sessions');
    assert.equal((await api(base, 'GET', '/api/me', undefined, other.body.key)).status, 401);
  });

  it('keeps an audit record of every privileged action, refused ones included', async () => {
    const audit = await api(base, 'GET', '/api/audit?limit=1000');
    assert.equal(audit.status, 200);
    const items = audit.body.items as { actor: string; action: string; target: Record<string, string>; outcome: string; status: number; requestId: string; at: string }[];
    const viewerId = `apikey:${ids.keyId}`;
    const denied = items.find((i) => i.actor === viewerId && i.action === 'contacts.exportCsv');
    assert.ok(denied, JSON.stringify(items.slice(-5)));
    assert.deepEqual([denied.outcome, denied.status, denied.target.campaignId], ['denied', 403, ids.campaignId]);
    assert.ok(denied.requestId && !Number.isNaN(Date.parse(denied.at)));
    const start = items.find((i) => i.action === 'campaigns.start' && i.outcome === 'succeeded');
    assert.ok(start && start.target.campaignId === ids.campaignId);
    assert.ok(items.some((i) => i.action === 'access.createApiKey' && i.outcome === 'succeeded'));
    assert.ok(items.some((i) => i.action === 'contacts.exportCsv' && i.outcome === 'succeeded'), 'a read of personal data is audited');
    assert.ok(!items.some((i) => i.action === 'campaigns.get'), 'plain reads are not');
    assert.ok(!JSON.stringify(items).includes(keys.viewer.slice(16)), 'no secret in the audit log');
    // The other workspace's log holds only its own actions.
    const theirs = await api(base, 'GET', '/api/audit', undefined, otherAdmin);
    assert.ok(theirs.body.items.every((i: { actor: string }) => i.actor === theirs.body.items[0].actor));
    assert.equal((await api(base, 'GET', '/api/audit', undefined, keys.campaign_manager)).status, 403);
  });
});

describe('access: the first admin of a new installation (embedded)', () => {
  it('is created once, printed and kept in the data folder (0600)', async () => {
    const platform = await startEmbedded({ HERALD_BOOTSTRAP_ADMIN_KEY: '' });
    try {
      const printed = await eventually(async () => /API key (hk_[a-z0-9]{12}_[A-Za-z0-9_-]{43})/.exec(platform.herald.output())?.[1], { what: 'the printed key' });
      const path = join(platform.dataDir, 'admin-api-key');
      assert.ok(existsSync(path));
      assert.equal(readFileSync(path, 'utf8').trim(), printed);
      assert.equal(statSync(path).mode & 0o777, 0o600);
      const me = await api(platform.base, 'GET', '/api/me', undefined, printed);
      assert.deepEqual([me.status, me.body.role], [200, 'admin']);
      assert.equal((await api(platform.base, 'GET', '/api/me', undefined, TEST_ADMIN_KEY)).status, 401, 'no other key exists');
    } finally {
      await platform.stop();
    }
  });
});
