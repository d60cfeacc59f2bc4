import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, generateKeyPairSync, randomBytes } from 'node:crypto';
import { importJWK, importSPKI, jwtVerify } from 'jose';
import webPush from 'web-push';
import { DispatchFixture, sendJson, startStandIn } from '../../testing/dispatch-fixture.spec';
const ece = require('http_ece') as { decrypt(body: Buffer, params: object): Buffer };

/*
 * Stands in for Google's OAuth 2.0 token endpoint (service-account JWT
 * bearer grant, RS256 assertion with iss/aud/scope), FCM HTTP v1 (POST
 * /v1/projects/{project}/messages:send with the Bearer token, answering
 * {name: "projects/p/messages/<id>"}; 404 UNREGISTERED for an unknown
 * token) and a browser push service (RFC 8030 endpoint that checks the
 * VAPID authorization (RFC 8292) and decrypts the aes128gcm payload
 * (RFC 8291) with the subscriber's keys, answering 201).
 */
describe('Mobile Push: FCM HTTP v1 and Web Push (VAPID)', () => {
  let f: DispatchFixture;
  let google: Awaited<ReturnType<typeof startStandIn>>;
  let browser: Awaited<ReturnType<typeof startStandIn>>;
  let campaignId: string;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
  const vapid = webPush.generateVAPIDKeys();
  const subscriber = createECDH('prime256v1');
  subscriber.generateKeys();
  const auth = randomBytes(16);
  const delivered: unknown[] = [];

  before(async () => {
    google = await startStandIn(async (req, res) => {
      if (req.url === '/token') {
        const form = new URLSearchParams(req.body);
        if (form.get('grant_type') !== 'urn:ietf:params:oauth:grant-type:jwt-bearer') return sendJson(res, 400, { error: 'unsupported_grant_type' });
        try {
          const { payload } = await jwtVerify(form.get('assertion')!, await importSPKI(publicKey, 'RS256'), { issuer: 'herald@project.iam.gserviceaccount.com', audience: `${google.url}/token` });
          if (payload.scope !== 'https://www.googleapis.com/auth/firebase.messaging') return sendJson(res, 400, { error: 'invalid_scope' });
        } catch (e) {
          return sendJson(res, 400, { error: 'invalid_grant', error_description: String(e) });
        }
        return sendJson(res, 200, { access_token: 'ya29.token', expires_in: 3599, token_type: 'Bearer' });
      }
      if (req.headers.authorization !== 'Bearer ya29.token') return sendJson(res, 401, { error: { code: 401, status: 'UNAUTHENTICATED', message: 'Request had invalid authentication credentials.' } });
      const message = (req.json as { message: { token: string } }).message;
      if (message.token === 'stale') return sendJson(res, 404, { error: { code: 404, status: 'NOT_FOUND', message: 'Requested entity was not found.', details: [{ errorCode: 'UNREGISTERED' }] } });
      sendJson(res, 200, { name: `projects/herald-app/messages/${google.requests.length}` });
    });
    browser = await startStandIn(async (req, res) => {
      const m = /^vapid t=([^,]+), k=(.+)$/.exec(String(req.headers.authorization));
      const raw = Buffer.from(m?.[2] ?? '', 'base64url');
      try {
        const key = await importJWK({ kty: 'EC', crv: 'P-256', x: raw.subarray(1, 33).toString('base64url'), y: raw.subarray(33, 65).toString('base64url') }, 'ES256');
        await jwtVerify(m![1], key, { audience: browser.url, subject: 'mailto:ops@bank.example' });
      } catch {
        res.writeHead(403).end();
        return;
      }
      const body = Buffer.from(req.body, 'latin1');
      delivered.push({ encoding: req.headers['content-encoding'], ttl: req.headers.ttl, payload: JSON.parse(ece.decrypt(body, { version: 'aes128gcm', privateKey: subscriber, authSecret: auth }).toString()) });
      res.writeHead(201, { location: `${browser.url}/msg/1` }).end();
    }, 'latin1');
    f = await DispatchFixture.create({ workers: false });
    await f.rt.agents.save(f.ws, { name: 'Pusher', backend: 'scripted', scripted: { rules: [] }, push: {
      title: 'Payment due', body: '{{amount}} is due, {{name}}',
      fcm: { projectId: 'herald-app', clientEmail: 'herald@project.iam.gserviceaccount.com', privateKey, apiUrl: google.url, tokenUrl: `${google.url}/token` },
      webPush: { subject: 'mailto:ops@bank.example', publicKey: vapid.publicKey, privateKey: vapid.privateKey } } });
    await f.rt.agents.save(f.ws, { name: 'Plain', backend: 'scripted', scripted: { rules: [] } });
    campaignId = await f.campaign([
      { name: 'Push', description: 'd', channel: 'mobile_push', agent: 'Pusher', settings: {} },
      { name: 'NoPush', description: 'd', channel: 'mobile_push', agent: 'Plain', settings: {} },
    ]);
  });
  after(async () => {
    await f.close();
    await google.close();
    await browser.close();
  });

  it('lists only agents with a push configuration for the channel, and keeps their private keys write-only', async () => {
    const agents = await f.rt.agents.list(f.ws, { channel: 'mobile_push' });
    assert.deepEqual(agents.map((a) => a.name), ['Pusher']);
    assert.deepEqual(agents[0].secrets, ['push.fcm.privateKey', 'push.webPush.privateKey']);
    assert.equal(JSON.stringify(agents).includes('PRIVATE KEY'), false);
  });

  it('sends through FCM HTTP v1 with a service-account token, once', async () => {
    const start = await f.started(campaignId, 'Push', 'mobile_push', { name: 'Ann', parameters: { push_token: 'device-1', amount: '70 EUR' } }, { agent: 'Pusher' });
    await f.rt.handler.handle(start);
    await f.rt.handler.handle(start);
    const sends = google.requests.filter((r) => r.url.endsWith('/messages:send'));
    assert.equal(sends.length, 1);
    assert.equal(sends[0].url, '/v1/projects/herald-app/messages:send');
    assert.deepEqual((sends[0].json as { message: object }).message, { token: 'device-1', notification: { title: 'Payment due', body: '70 EUR is due, Ann' }, data: { communicationId: (start.data as { communicationId: string }).communicationId } });
    const [end] = await f.ends(start.streamId);
    assert.deepEqual([end.status, end.sessionStatus, (end.sessionResults as { name: string }).name], ['COMPLETED', 'DELIVERED', 'projects/herald-app/messages/2']);
    const stale = await f.started(campaignId, 'Push', 'mobile_push', { parameters: { push_token: 'stale' } }, { agent: 'Pusher' });
    await f.rt.handler.handle(stale);
    assert.match(String((await f.ends(stale.streamId))[0].result), /404 NOT_FOUND/);
    assert.equal(google.requests.filter((r) => r.url === '/token').length, 1, 'the access token is reused');
  });

  it('sends a VAPID-signed, encrypted Web Push to the subscription', async () => {
    const subscription = { endpoint: `${browser.url}/push/abc`, keys: { p256dh: subscriber.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } };
    const start = await f.started(campaignId, 'Push', 'mobile_push', { name: 'Bob', parameters: { web_push_subscription: JSON.stringify(subscription), amount: '5 EUR' } }, { agent: 'Pusher' });
    await f.rt.handler.handle(start);
    assert.equal(delivered.length, 1);
    assert.deepEqual(delivered[0], { encoding: 'aes128gcm', ttl: '86400', payload: { title: 'Payment due', body: '5 EUR is due, Bob', communicationId: (start.data as { communicationId: string }).communicationId } });
    assert.equal((await f.ends(start.streamId))[0].status, 'COMPLETED');
  });

  it('refuses agents without a push configuration and contacts without a push address', async () => {
    const plain = await f.started(campaignId, 'NoPush', 'mobile_push', { parameters: { push_token: 'device-2' } }, { agent: 'Plain' });
    await f.rt.handler.handle(plain);
    assert.match(String((await f.ends(plain.streamId))[0].result), /no push notification configuration/);
    const none = await f.started(campaignId, 'Push', 'mobile_push', {}, { agent: 'Pusher' });
    await f.rt.handler.handle(none);
    assert.match(String((await f.ends(none.streamId))[0].result), /push_token/);
  });
});
