import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { eventually, freePort } from '@herald/testing';
import { DispatchFixture } from '../../testing/dispatch-fixture.spec';

/*
 * Real SIP over UDP against SIPp (Debian package sip-tester) as the callee:
 * its built-in UAS (answers, then waits for our BYE) and scenarios in
 * ./sipp (busy, ringing until we CANCEL, a callee that hangs up itself).
 * SIPp exits 0 only when the whole scenario ran as written.
 */
describe('SIP voice: a user agent (INVITE, ACK, CANCEL, BYE) against SIPp', () => {
  let f: DispatchFixture;
  let campaignId: string;

  before(async () => {
    f = await DispatchFixture.create({ silenceCheckMs: 50 });
    await f.rt.agents.save(f.ws, { name: 'Caller', backend: 'scripted', channels: ['sip'], scripted: { rules: [] }, silenceTimeoutSeconds: 1 });
    campaignId = await f.campaign([{ name: 'Call', description: 'd', channel: 'sip', agent: 'Caller', settings: {} }]);
  });
  after(() => f.close());

  /** SIPp on a free port with a scenario; resolves with its exit code and output. */
  async function sipp(scenario: string[]): Promise<{ port: number; done: Promise<{ code: number | null; output: string }>; child: ChildProcess }> {
    const port = await freePort();
    const child = spawn('sipp', [...scenario, '-i', '127.0.0.1', '-p', String(port), '-m', '1', '-timeout', '20s', '-nostdin'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout!.on('data', (d) => (output += d));
    child.stderr!.on('data', (d) => (output += d));
    const done = new Promise<{ code: number | null; output: string }>((resolve) => child.on('exit', (code) => resolve({ code, output })));
    await new Promise((r) => setTimeout(r, 300)); // SIPp binds its socket
    return { port, done, child };
  }

  async function call(port: number, integration: string, ringSeconds = 5) {
    await f.rt.integrations.configure(f.ws, { name: integration, type: 'sip', config: { host: '127.0.0.1', port, from: 'sip:herald@127.0.0.1', ringSeconds, maxCallSeconds: 60 } });
    const start = await f.started(campaignId, 'Call', 'sip', { phone: '+1 555 000 0101' }, { agent: 'Caller' });
    await f.db.pool.query(`SELECT 1`);
    return start;
  }

  it('an answered call opens the session; Herald hangs up (BYE) when it ends', async () => {
    const uas = await sipp(['-sn', 'uas']);
    const integration = `sip-${uas.port}`;
    await f.rt.integrations.configure(f.ws, { name: integration, type: 'sip', config: { host: '127.0.0.1', port: uas.port, from: 'sip:herald@127.0.0.1', ringSeconds: 5, maxCallSeconds: 60 } });
    const start = await f.started(campaignId, 'Call', 'sip', { phone: '+1 555 000 0101' }, { agent: 'Caller' });
    await f.db.pool.query(`UPDATE dispatch_integrations SET name = name WHERE name = $1`, [integration]);
    // The stage names no integration: the agent's, or the workspace's only one of the type; here several exist, so name it on the agent.
    await f.rt.agents.save(f.ws, { name: 'Caller', backend: 'scripted', channels: ['sip'], integrations: [integration], scripted: { rules: [] }, silenceTimeoutSeconds: 1 });
    await f.rt.handler.handle(start);
    const [end] = await eventually(async () => (await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined, { what: 'the session end' });
    assert.deepEqual([end.status, end.sessionStatus], ['COMPLETED', 'NO_RESPONSE']);
    const { code, output } = await uas.done;
    assert.equal(code, 0, `SIPp saw the whole call, BYE included:\n${output.slice(-1500)}`);
  });

  for (const [name, file, status, sessionStatus, ring] of [
    ['a busy callee ends the communication INTERRUPTED BUSY', 'busy.xml', 'INTERRUPTED', 'BUSY', 5],
    ['a callee that does not answer is CANCELled after ringSeconds', 'no-answer.xml', 'INTERRUPTED', 'NO_ANSWER', 1],
    ['a callee that hangs up ends the session', 'remote-hangup.xml', 'COMPLETED', 'REMOTE_HANGUP', 5],
  ] as const) {
    it(name, async () => {
      const uas = await sipp(['-sf', join(__dirname, 'sipp', file)]);
      const integration = `sip-${uas.port}`;
      await f.rt.integrations.configure(f.ws, { name: integration, type: 'sip', config: { host: '127.0.0.1', port: uas.port, from: 'sip:herald@127.0.0.1', ringSeconds: ring, maxCallSeconds: 60 } });
      await f.rt.agents.save(f.ws, { name: 'Caller', backend: 'scripted', channels: ['sip'], integrations: [integration], scripted: { rules: [] }, silenceTimeoutSeconds: 30 });
      const start = await f.started(campaignId, 'Call', 'sip', { phone: '+15550000102' }, { agent: 'Caller' });
      await f.rt.handler.handle(start);
      const [end] = await eventually(async () => (await f.ends(start.streamId)).length ? f.ends(start.streamId) : undefined, { what: 'the end' });
      assert.deepEqual([end.status, end.sessionStatus], [status, sessionStatus]);
      const { code, output } = await uas.done;
      assert.equal(code, 0, output.slice(-1500));
    });
  }

  void call;
});
