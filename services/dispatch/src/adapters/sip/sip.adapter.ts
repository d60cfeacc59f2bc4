import type { IntegrationRecord } from '../../integrations/integrations';
import type { SessionRecord } from '../../sessions/session-store';
import { ended, notSent, type ChannelAdapter, type ConversationPort, type DispatchRequest, type StartResult } from '../channel-adapter';
import { SipUserAgent } from './sip-user-agent';

export interface SipConfig { host: string; port: number; from: string; username?: string; password?: string; ringSeconds: number; maxCallSeconds: number }

/** How a failed INVITE ends the communication. */
function failure(status: number, reason: string): StartResult {
  if ([486, 600, 603].includes(status)) return ended('INTERRUPTED', status === 603 ? 'DECLINED' : 'BUSY', `SIP ${status} ${reason}`);
  if ([408, 480, 487].includes(status)) return ended('INTERRUPTED', 'NO_ANSWER', `SIP ${status} ${reason}`);
  return ended('ERROR', 'FAILED', `SIP ${status} ${reason}`);
}

/**
 * SIP voice: a SIP user agent places the call to the contact's number
 * through the integration's server (INVITE; CANCEL after ringSeconds
 * without an answer; digest authentication). An answered call opens the
 * session; it ends when the callee hangs up (BYE), when maxCallSeconds
 * pass, or when the session ends for another reason (Herald sends BYE).
 * Media (RTP, speech) is not carried by this adapter.
 */
export class SipAdapter implements ChannelAdapter {
  readonly channel = 'sip';
  private readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(private readonly ua: SipUserAgent, private readonly port: () => ConversationPort) {}

  async start({ sessionId, contact, integration }: DispatchRequest): Promise<StartResult> {
    if (integration?.type !== 'sip') return notSent('no SIP integration for this stage');
    if (!contact.phone) return notSent('the contact has no phone number');
    const c = integration.config as unknown as SipConfig;
    const to = contact.phone.replace(/[^\d+]/g, '');
    const { outcome, callId } = await this.ua.call(
      { host: c.host, port: c.port, to, from: c.from, username: c.username, password: c.password, ringSeconds: c.ringSeconds },
      { onRemoteHangup: () => void this.port().endSession(sessionId, { status: 'COMPLETED', sessionStatus: 'REMOTE_HANGUP', result: 'the callee hung up' }) },
    );
    if (outcome.state === 'failed') return failure(outcome.status, outcome.reason);
    this.timers.set(sessionId, setTimeout(() => {
      void this.port().endSession(sessionId, { status: 'COMPLETED', sessionStatus: 'MAX_DURATION', result: `the call reached ${c.maxCallSeconds} s` });
    }, c.maxCallSeconds * 1000));
    return { kind: 'open', address: to, providerMessageId: callId, sent: null, thread: { callId } };
  }

  /** No media path: nothing is said over SIP by this adapter. */
  async reply(): Promise<{ providerMessageId: string | null }> {
    return { providerMessageId: null };
  }

  async finish(session: SessionRecord, integration: IntegrationRecord | null): Promise<void> {
    clearTimeout(this.timers.get(session.sessionId));
    this.timers.delete(session.sessionId);
    const callId = session.thread.callId;
    if (integration?.type !== 'sip' || typeof callId !== 'string') return;
    const c = integration.config as unknown as SipConfig;
    await this.ua.hangUp(callId, { host: c.host, port: c.port, from: c.from });
  }

  async close(): Promise<void> {
    for (const t of this.timers.values()) clearTimeout(t);
    await this.ua.close();
  }
}
