import { importPKCS8, SignJWT } from 'jose';
import webPush from 'web-push';
import type { ContactState } from '@herald/contracts';
import type { AgentDefinition } from '../../agents/agent-registry';
import { notSent, ended, type ChannelAdapter, type DispatchRequest, type StartResult } from '../channel-adapter';
import { providerFetch } from '../provider-http';
import { renderTemplate } from '../template';

type Fcm = NonNullable<NonNullable<AgentDefinition['push']>['fcm']>;
type WebPushConfig = NonNullable<NonNullable<AgentDefinition['push']>['webPush']>;

const FCM_SCOPE = 'https://www.googleapis.com/auth/firebase.messaging';

/**
 * Mobile Push, one-way, through the agent's push configuration (only agents
 * with one serve the channel):
 * - FCM HTTP v1: an OAuth 2.0 access token from the service account (an
 *   RS256 JWT assertion exchanged at the token URI, cached until it nearly
 *   expires), then `POST /v1/projects/{project}/messages:send` to the
 *   contact's registration token (`push_token` parameter).
 * - Web Push: the contact's subscription (`web_push_subscription`
 *   parameter: {endpoint, keys: {p256dh, auth}}), the payload encrypted
 *   (aes128gcm) and the request signed with VAPID by the `web-push` package,
 *   sent by our HTTP client (rate answers waited out, a lost answer not resent).
 * Title and body are templates with the contact's values (stage settings
 * first, then the agent's push configuration).
 */
export class MobilePushAdapter implements ChannelAdapter {
  readonly channel = 'mobile_push';
  private readonly tokens = new Map<string, { token: string; until: number }>();

  async start({ communicationId, contact, stage, agent }: DispatchRequest): Promise<StartResult> {
    const push = agent?.push;
    if (!push || (!push.fcm && !push.webPush)) return notSent(`agent "${stage.agent ?? ''}" has no push notification configuration`);
    const s = stage.settings as { title?: string; body?: string };
    const title = renderTemplate(s.title ?? push.title ?? '', contact);
    const body = renderTemplate(s.body ?? push.body ?? '', contact);
    if (!title && !body) return notSent('settings.body: a push notification needs a title or a body');
    const token = typeof contact.parameters.push_token === 'string' ? contact.parameters.push_token : null;
    if (token && push.fcm) {
      const name = await this.fcm(push.fcm, token, title, body, communicationId);
      return ended('COMPLETED', 'DELIVERED', null, { delivered: true, provider: 'fcm', name, title, body }, name);
    }
    const subscription = subscriptionOf(contact);
    if (subscription && push.webPush) {
      const location = await this.webPush(push.webPush, subscription, title, body, communicationId);
      return ended('COMPLETED', 'DELIVERED', null, { delivered: true, provider: 'webpush', title, body }, location);
    }
    return notSent('the contact has no push_token (FCM) or web_push_subscription (Web Push) the agent can use');
  }

  private async fcm(c: Fcm, token: string, title: string, body: string, communicationId: string): Promise<string> {
    const apiUrl = (c.apiUrl ?? 'https://fcm.googleapis.com').replace(/\/+$/, '');
    const r = await providerFetch(`${apiUrl}/v1/projects/${encodeURIComponent(c.projectId)}/messages:send`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${await this.accessToken(c)}` },
      body: JSON.stringify({ message: { token, notification: { title, body }, data: { communicationId } } }),
    }, { what: 'FCM', limits: [{ key: `fcm:${c.projectId}`, perSecond: 500 }] });
    const answer = r.json as { name?: string; error?: { status?: string; message?: string } } | null;
    if (!r.ok) throw new Error(`FCM answered ${r.status}${answer?.error?.status ? ` ${answer.error.status}` : ''}: ${answer?.error?.message ?? r.text.slice(0, 200)}`);
    return answer?.name ?? '';
  }

  /** OAuth 2.0 for service accounts: a signed JWT assertion exchanged for an access token. */
  private async accessToken(c: Fcm): Promise<string> {
    const tokenUrl = c.tokenUrl ?? 'https://oauth2.googleapis.com/token';
    const key = `${c.clientEmail}|${tokenUrl}`;
    const cached = this.tokens.get(key);
    if (cached && cached.until > Date.now()) return cached.token;
    const assertion = await new SignJWT({ scope: FCM_SCOPE })
      .setProtectedHeader({ alg: 'RS256', typ: 'JWT' }).setIssuer(c.clientEmail).setAudience(tokenUrl).setIssuedAt().setExpirationTime('1h')
      .sign(await importPKCS8(c.privateKey ?? '', 'RS256'));
    const r = await providerFetch(tokenUrl, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }).toString(),
    }, { what: 'Google OAuth', retryLostResponse: true });
    const answer = r.json as { access_token?: string; expires_in?: number; error?: string; error_description?: string } | null;
    if (!r.ok || !answer?.access_token) throw new Error(`service account token refused (${r.status}): ${answer?.error_description ?? answer?.error ?? r.text.slice(0, 200)}`);
    this.tokens.set(key, { token: answer.access_token, until: Date.now() + ((answer.expires_in ?? 3600) - 60) * 1000 });
    return answer.access_token;
  }

  private async webPush(c: WebPushConfig, subscription: webPush.PushSubscription, title: string, body: string, communicationId: string): Promise<string | null> {
    const details = webPush.generateRequestDetails(subscription, JSON.stringify({ title, body, communicationId }), {
      vapidDetails: { subject: c.subject, publicKey: c.publicKey, privateKey: c.privateKey ?? '' }, TTL: 24 * 3600,
    });
    const r = await providerFetch(details.endpoint, {
      method: 'POST', headers: details.headers as Record<string, string>, body: details.body ?? undefined,
    }, { what: 'Web Push', limits: [{ key: `webpush:${new URL(details.endpoint).host}`, perSecond: 100 }] });
    if (r.status === 404 || r.status === 410) throw new Error(`Web Push: the subscription is gone (${r.status})`);
    if (!r.ok) throw new Error(`Web Push answered ${r.status}: ${r.text.slice(0, 200)}`);
    return r.headers.get('location');
  }
}

function subscriptionOf(contact: ContactState): webPush.PushSubscription | null {
  let s: unknown = contact.parameters.web_push_subscription;
  if (typeof s === 'string') {
    try {
      s = JSON.parse(s);
    } catch {
      return null;
    }
  }
  const sub = s as { endpoint?: unknown; keys?: { p256dh?: unknown; auth?: unknown } } | null;
  return sub && typeof sub.endpoint === 'string' && typeof sub.keys?.p256dh === 'string' && typeof sub.keys?.auth === 'string'
    ? { endpoint: sub.endpoint, keys: { p256dh: sub.keys.p256dh, auth: sub.keys.auth } }
    : null;
}
