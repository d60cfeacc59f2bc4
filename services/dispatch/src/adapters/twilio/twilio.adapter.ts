import type { WebhookReply, WebhookRequest } from '@herald/contracts';
import type { IntegrationRecord } from '../../integrations/integrations';
import type { SessionRecord } from '../../sessions/session-store';
import { hmacBase64, safeEqual } from '../../webhooks/signatures';
import { forbidden, notSent, ok, type ChannelAdapter, type ConversationPort, type DispatchRequest, type StartResult } from '../channel-adapter';
import { providerFetch, type ProviderResponse } from '../provider-http';

export interface TwilioConfig { accountSid: string; authToken: string; from: string; apiUrl: string; voice: string; language: string; callsPerSecond: number }

/** How many times a caller is kept waiting (one second each) for the agent's answer before an apology. */
const MAX_WAITS = 20;

/**
 * Twilio voice: the Calls API places the call (one call per second per
 * number, 429 / code 20429 waited out); Twilio then asks Herald for TwiML.
 * The agent speaks with <Say>, the contact answers into <Gather
 * input="speech">; each utterance is a contact message, and while the
 * conversation consumer prepares the agent's answer the call waits with
 * <Pause>/<Redirect>. Every callback (TwiML requests and status callbacks)
 * is verified with X-Twilio-Signature: base64 HMAC-SHA1 of the URL followed
 * by the POST parameters sorted by name, keyed with the auth token.
 */
export class TwilioAdapter implements ChannelAdapter {
  readonly channel = 'twilio';
  readonly webhookTypes = ['twilio'];

  async start({ workspaceId, sessionId, contact, integration, opening, publicUrl }: DispatchRequest): Promise<StartResult> {
    if (integration?.type !== 'twilio') return notSent('no Twilio integration for this stage');
    if (!contact.phone) return notSent('the contact has no phone number');
    const c = integration.config as unknown as TwilioConfig;
    const base = `${publicUrl}/api/webhooks/${encodeURIComponent(workspaceId)}/${encodeURIComponent(integration.name)}?session=${sessionId}`;
    const form = new URLSearchParams({ To: contact.phone, From: c.from, Url: `${base}&step=answer`, Method: 'POST', StatusCallback: `${base}&step=status`, StatusCallbackMethod: 'POST' });
    for (const e of ['initiated', 'ringing', 'answered', 'completed']) form.append('StatusCallbackEvent', e);
    const r = await this.api(c, 'Calls.json', form);
    const sid = (r.json as { sid?: string } | null)?.sid ?? null;
    return { kind: 'open', address: contact.phone, providerMessageId: sid, sent: null, thread: { callSid: sid, opening } };
  }

  /** Answers reach the caller through the TwiML of the next callback: nothing to send here. */
  async reply(): Promise<{ providerMessageId: string | null }> {
    return { providerMessageId: null };
  }

  /** The session ended while the call may still be up (a silence timeout): hang up. */
  async finish(session: SessionRecord, integration: IntegrationRecord | null): Promise<void> {
    const sid = session.thread.callSid;
    if (integration?.type !== 'twilio' || typeof sid !== 'string' || session.thread.callEnded) return;
    await this.api(integration.config as unknown as TwilioConfig, `Calls/${sid}.json`, new URLSearchParams({ Status: 'completed' })).catch(() => undefined);
  }

  async webhook(req: WebhookRequest, integration: IntegrationRecord, port: ConversationPort): Promise<WebhookReply> {
    const c = integration.config as unknown as TwilioConfig;
    const params = req.method === 'POST' ? new URLSearchParams(req.body.toString('utf8')) : new URLSearchParams();
    if (!safeEqual(req.headers['x-twilio-signature'], twilioSignature(c.authToken, req.url, params))) return forbidden('X-Twilio-Signature is missing or wrong');
    const session = await port.session(String(req.query.session ?? ''));
    if (!session || session.workspaceId !== integration.workspaceId) return twiml('<Hangup/>');
    const callSid = params.get('CallSid') ?? String(session.thread.callSid ?? '');
    const base = req.url.replace(/&step=.*$/, '');
    const turn = Number(req.query.turn ?? 0);
    switch (req.query.step) {
      case 'status': {
        const status = params.get('CallStatus') ?? '';
        if (status === 'completed') await port.endSession(session.sessionId, { status: 'COMPLETED', sessionStatus: 'COMPLETED' });
        else if (['busy', 'no-answer', 'failed', 'canceled'].includes(status)) {
          await port.endSession(session.sessionId, { status: status === 'failed' ? 'ERROR' : 'INTERRUPTED', sessionStatus: status.toUpperCase().replace('-', '_'), result: `call ${status}` });
        }
        return ok('');
      }
      case 'answer': {
        if (session.status !== 'open') return twiml('<Hangup/>');
        const opening = typeof session.thread.opening === 'string' ? session.thread.opening : null;
        if (opening) await port.agentSaid(session.sessionId, `twilio:${callSid}:opening`, opening);
        return twiml(this.gather(c, base, turn, opening));
      }
      case 'gather': {
        const speech = params.get('SpeechResult');
        if (!speech) return twiml(this.gather(c, base, turn, null));
        await port.receive({ integration, channel: this.channel, address: session.address ?? '', providerMessageId: `${callSid}:${turn}`, text: speech, sessionId: session.sessionId });
        return twiml(wait(base, port.messageIdFor(integration, `${callSid}:${turn}`), turn, 0));
      }
      case 'next': {
        const after = String(req.query.after ?? '');
        const waits = Number(req.query.waits ?? 0);
        const answer = await port.agentAnswer(session.sessionId, after);
        if (!answer) return twiml(waits >= MAX_WAITS ? `${say(c, 'Sorry, we could not continue this call. Goodbye.')}<Hangup/>` : wait(base, after, turn, waits + 1));
        if (answer.end) return twiml(`${answer.content ? say(c, answer.content) : ''}<Hangup/>`);
        return twiml(this.gather(c, base, turn + 1, answer.content));
      }
      default:
        return twiml(`${say(c, 'Goodbye.')}<Hangup/>`);
    }
  }

  private gather(c: TwilioConfig, base: string, turn: number, text: string | null): string {
    const action = xml(`${base}&step=gather&turn=${turn}`);
    return `<Gather input="speech" action="${action}" method="POST" speechTimeout="auto" language="${xml(c.language)}">${text ? say(c, text) : ''}</Gather>`
      + `<Redirect method="POST">${action}</Redirect>`;
  }

  private async api(c: TwilioConfig, path: string, form: URLSearchParams): Promise<ProviderResponse> {
    const r = await providerFetch(`${c.apiUrl}/2010-04-01/Accounts/${encodeURIComponent(c.accountSid)}/${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${c.accountSid}:${c.authToken}`).toString('base64')}` },
      body: form.toString(),
    }, {
      what: 'Twilio',
      limits: path === 'Calls.json' ? [{ key: `twilio:${c.from}`, perSecond: c.callsPerSecond || 1, burst: 1 }] : [],
      retryAfter: (res) => (res.status === 429 || (res.json as { code?: number } | null)?.code === 20429 ? (Number(res.headers.get('retry-after')) || 1) * 1000 : null),
    });
    if (!r.ok) {
      const e = r.json as { code?: number; message?: string } | null;
      throw new Error(`Twilio answered ${r.status}${e?.code ? ` (code ${e.code})` : ''}: ${e?.message ?? r.text.slice(0, 200)}`);
    }
    return r;
  }
}

/** Twilio's request signature: the full URL, then each POST parameter name and value, sorted by name. */
export function twilioSignature(authToken: string, url: string, params: URLSearchParams): string {
  const keys = [...new Set(params.keys())].sort();
  const data = url + keys.map((k) => params.getAll(k).map((v) => k + v).join('')).join('');
  return hmacBase64('sha1', authToken, data);
}

const xml = (s: string) => s.replace(/[&<>"']/g, (ch) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[ch]!);
const say = (c: TwilioConfig, text: string) => `<Say voice="${xml(c.voice)}" language="${xml(c.language)}">${xml(text)}</Say>`;
const twiml = (inner: string): WebhookReply => ({ status: 200, contentType: 'text/xml', body: `<?xml version="1.0" encoding="UTF-8"?><Response>${inner}</Response>` });
const wait = (base: string, after: string, turn: number, waits: number) =>
  `<Pause length="1"/><Redirect method="POST">${xml(`${base}&step=next&after=${after}&turn=${turn}&waits=${waits}`)}</Redirect>`;
