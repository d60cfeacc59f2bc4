import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, startSmtpServer, TEST_ADMIN_KEY } from '@herald/testing';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { ensurePortalBuilt } from '../src/portal/portal-build';
import { startEmbedded } from './harness';
import { choose, chooseFile, launchBrowser, screenshot, screenshotDir, watchProblems } from './portal-browser';
import { api } from './walking-skeleton';
import { chatCampaign, converse, startLlmStandIn, startTelegramStandIn } from './chat-campaign';

// The portal in a real browser (Debian's chromium, headless, driven by
// playwright-core) against `npm start`'s embedded platform: every step goes
// through the screens as a campaign owner would, and checks what they see.

const DATA_LOAD = `
async def run(contact: Contact, existing_contact: Contact | None, logger, **kwargs) -> Contact:
    # C-1001 is contacted now; C-1002 tomorrow, so the campaign keeps running.
    start = datetime.now(timezone.utc) + (timedelta(0) if contact.object_id == "C-1001" else timedelta(days=1))
    contact.communications.append(Communication(
        name="Initial Message", stage_name="1 Payment reminder", start_date=start, end_date=start + timedelta(hours=1)))
    contact.current_stage = "1 Payment reminder"
    logger.info("planned the reminder")
    return contact
`;

const AGGREGATION = `
async def run(contact: Contact, session_results: dict | None, logger, **kwargs) -> Contact:
    for comm in contact.communications:
        if comm.flagged:
            comm.status.status = CommunicationStatus.COMPLETED
    if session_results.get("delivered"):
        contact.outcome = OutcomeStatus.POSITIVE
        contact.current_stage = "2 Done"
    return contact
`;

const CONTACTS = [
  'object_id,external_id,name,email,phone,amount_due,due_date',
  'C-1001,U-501,John Doe,john@example.com,+12025550123,250,2026-07-01',
  'C-1002,U-502,Jane Smith,jane@example.com,+12025550124,480,2026-07-03',
  'C-1003,U-503,Nobody,,,10,2026-07-04',
].join('\n');

const SATISFACTION_YAML = 'metrics:\n  - name: satisfaction\n    type: scale\n    question: How satisfied is the client?\n';

const ANALYTICS_YAML = `title: Chat quality
depth: 7
metrics:
  - code: intent
    name: Payment intent
    type: enum
    values: [will_pay, disputes, refuses]
    question: What does the contact intend to do?
  - code: interested
    name: Interested in paying
    type: boolean
    question: Did the contact show interest in paying?
`;

const py = (name: string, code: string) => ({ name, mimeType: 'text/x-python', buffer: Buffer.from(code) });

describe('portal in a browser', () => {
  // The steps build on each other: after a failure the rest stop at once instead of each waiting out its time limit.
  let failed: string | null = null;
  const step = (name: string, fn: () => Promise<void>) => it(name, async () => {
    if (failed) throw new Error(`skipped: the step "${failed}" failed`);
    try {
      await fn();
    } catch (error) {
      failed = name;
      await page?.screenshot({ path: join(tmpdir(), 'herald-portal-failure.png'), fullPage: true }).catch(() => undefined); // kept for a look
      throw error;
    }
  });
  let platform: Awaited<ReturnType<typeof startEmbedded>>;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: string[];
  let campaignUrl = '';
  let exported: { file: string; key: string } | null = null;
  const work = mkdtempSync(join(tmpdir(), 'herald-portal-'));
  const shots = screenshotDir(join(work, 'screenshots'));

  before(async () => {
    await ensurePortalBuilt();
    smtp = await startSmtpServer();
    platform = await startEmbedded();
    const mail = await api(platform.base, 'POST', '/api/integrations', { name: 'mail', type: 'smtp', config: { host: '127.0.0.1', port: smtp.port, secure: false, from: 'collections@herald.example' } });
    assert.equal(mail.status, 201, JSON.stringify(mail.body));
    browser = await launchBrowser();
    context = await browser.newContext({ baseURL: platform.base, viewport: { width: 1440, height: 900 }, acceptDownloads: true });
    context.setDefaultTimeout(15_000);
    page = await context.newPage();
    problems = await watchProblems(page);
  });

  after(async () => {
    await browser?.close();
    await platform?.stop();
    await smtp?.close();
    rmSync(work, { recursive: true, force: true });
  });

  step('serves the portal with a strict policy, long-lived assets and the API untouched', async () => {
    const index = await fetch(`${platform.base}/campaigns/anything`);
    assert.equal(index.status, 200);
    const csp = index.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/, 'no inline script, no eval');
    assert.match(csp, /frame-ancestors 'none'/);
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    const html = await index.text();
    assert.ok(nonce && html.includes(`content="${nonce}"`), 'the page carries its own response nonce');
    assert.equal(index.headers.get('cache-control'), 'no-store');
    const second = await fetch(`${platform.base}/`);
    assert.notEqual(/'nonce-([^']+)'/.exec(second.headers.get('content-security-policy') ?? '')?.[1], nonce, 'a new nonce per response');

    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    assert.ok(script, html);
    const asset = await fetch(`${platform.base}${script}`, { headers: { 'accept-encoding': 'br' } });
    assert.equal(asset.status, 200);
    assert.equal(asset.headers.get('cache-control'), 'public, max-age=31536000, immutable');
    assert.equal(asset.headers.get('content-encoding'), 'br');
    const etag = asset.headers.get('etag')!;
    assert.equal((await fetch(`${platform.base}${script}`, { headers: { 'if-none-match': etag } })).status, 304);
    assert.equal((await fetch(`${platform.base}/assets/nothing.js`)).status, 404);
    assert.equal((await fetch(`${platform.base}/assets/..%2f..%2fpackage.json`)).status, 404);

    const preview = await fetch(`${platform.base}/portal/preview`);
    assert.match(preview.headers.get('content-security-policy') ?? '', /style-src 'unsafe-inline'/);
    assert.doesNotMatch(preview.headers.get('content-security-policy') ?? '', /script-src[^;]*unsafe/);

    const unknown = await api(platform.base, 'GET', '/api/nothing-here');
    assert.equal(unknown.status, 404);
    assert.equal(typeof unknown.body, 'object', 'API paths still answer JSON');
  });

  step('sign in: a wrong API key is refused where it was typed; the admin key opens the portal, and the session survives a reload', async () => {
    await page.goto('/');
    const form = page.getByRole('form', { name: 'Sign in to Herald' });
    await form.getByRole('textbox', { name: 'API key' }).fill('hk_wrongwrong00_' + 'x'.repeat(43));
    await form.getByRole('button', { name: 'Sign in' }).click();
    await form.getByRole('alert').filter({ hasText: /not valid/ }).waitFor();
    await screenshot(page, shots, 'sign-in');
    await form.getByRole('textbox', { name: 'API key' }).fill(TEST_ADMIN_KEY);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Role').filter({ hasText: 'Admin' }).waitFor();
    const cookie = (await context.cookies()).find((c) => c.name === 'herald_session');
    assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Strict', 'an HttpOnly, SameSite=Strict session cookie');
    assert.ok(!cookie.value.includes(TEST_ADMIN_KEY.slice(16)), 'the cookie does not carry the key');
    await page.reload();
    await page.getByLabel('Role').filter({ hasText: 'Admin' }).waitFor();
  });

  step('campaign list: Running by default, create a campaign, status message on hover', async () => {
    await page.goto('/');
    assert.equal(await page.getByRole('tab', { name: 'Running' }).getAttribute('aria-selected'), 'true');
    await page.getByText('No campaign is running').waitFor();
    await page.getByRole('button', { name: 'Create campaign' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create campaign' });
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.getByText('Name is required').waitFor();
    await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('Pre-collection');
    await dialog.getByRole('textbox', { name: 'Description', exact: true }).fill('Remind before the due date');
    await dialog.getByRole('button', { name: 'Create' }).click();
    await dialog.waitFor({ state: 'hidden' });
    // Created: the list switches to All and selects it.
    const row = page.getByTestId('campaign-row').filter({ hasText: 'Pre-collection' });
    await row.getByText('Created').hover();
    await page.getByRole('tooltip').filter({ hasText: /contacts|Data Load/i }).waitFor();
    await page.getByRole('textbox', { name: 'Search campaigns', exact: true }).fill('nothing-like-this');
    await page.getByText('No campaign matches').waitFor();
    await page.getByRole('textbox', { name: 'Search campaigns', exact: true }).fill('due date'); // matches the description
    await row.waitFor();
    await row.dblclick();
    await page.getByRole('heading', { name: 'Pre-collection' }).waitFor();
    campaignUrl = new URL(page.url()).pathname;
    assert.match(campaignUrl, /^\/campaigns\/[0-9a-f-]{36}$/);
  });

  step('stages: the fields follow the channel; a stage with A/B variants and a live email preview', async () => {
    await page.getByRole('button', { name: 'Add Stage' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create Stage' });
    await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('1 Payment reminder');
    await dialog.getByRole('textbox', { name: 'Description', exact: true }).fill('Email reminder');
    await choose(dialog, page, 'Channel', 'Twilio');
    await dialog.getByRole('textbox', { name: 'Start state' }).waitFor();
    assert.equal(await dialog.getByRole('textbox', { name: 'Email subject' }).count(), 0);
    await choose(dialog, page, 'Channel', 'Email Notification');
    assert.equal(await dialog.getByRole('textbox', { name: 'Start state' }).count(), 0);
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.getByText('Required for this channel').first().waitFor(); // nothing sent before the required fields are there

    await dialog.getByRole('switch', { name: 'A/B Testing' }).check();
    const control = dialog.getByRole('group', { name: 'Control Group' });
    const experimental = dialog.getByRole('group', { name: 'Experimental Group' });
    for (const [group, weight, html] of [[control, '70', false], [experimental, '30', true]] as const) {
      await group.getByRole('textbox', { name: 'Weight' }).fill(weight);
      await choose(group, page, 'Integration', 'mail');
      await group.getByRole('textbox', { name: 'Email subject' }).fill('Payment due, {{name}}');
      if (html) await group.getByText('HTML', { exact: true }).click();
      await group.getByRole('textbox', { name: 'Email template' }).fill(html
        ? '<p style="color: rgb(200, 0, 0)">Dear {{name}}, <b>{{parameters.amount_due}}</b> is due.</p><img src=x onerror="document.body.textContent=\'pwned\'">'
        : 'Hello {{name}}, {{amount_due}} is due on {{due_date}}.');
    }
    await control.frameLocator('iframe[title="Email template preview"]').getByText('Hello John Doe, 250 is due on 2026-07-01.').waitFor();
    const preview = experimental.frameLocator('iframe[title="Email template preview"]');
    await preview.getByText('Dear John Doe').waitFor();
    assert.equal(await preview.locator('p').evaluate((p) => (globalThis as any).getComputedStyle(p).color), 'rgb(200, 0, 0)', "the template's inline style applies in the preview");
    assert.equal(await preview.getByText('pwned').count(), 0, "the template's event handler does not run");
    await screenshot(page, shots, 'stage-dialog-ab');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    const stage = page.getByTestId('stage-row').filter({ hasText: '1 Payment reminder' });
    await stage.getByText('A/B testing').waitFor();
    await stage.getByText('Control (control, weight 70)').waitFor();

    await page.getByRole('button', { name: 'Add Stage' }).click();
    await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill('2 Done');
    await dialog.getByRole('textbox', { name: 'Description', exact: true }).fill('Terminal stage');
    await choose(dialog, page, 'Channel', 'No Communication');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await dialog.waitFor({ state: 'hidden' });
    await page.getByTestId('stage-row').filter({ hasText: '2 Done' }).waitFor();
    await screenshot(page, shots, 'stages');
  });

  step('strategies: upload by file, errors with their line, show code, one per type', async () => {
    await page.getByRole('tab', { name: 'Strategies' }).click();
    const add = async (name: string, type: string, file: ReturnType<typeof py>, expectError?: RegExp) => {
      await page.getByRole('button', { name: 'Add Strategy' }).click();
      const dialog = page.getByRole('dialog', { name: 'Add Strategy' });
      await dialog.getByRole('textbox', { name: 'Name', exact: true }).fill(name);
      await dialog.getByRole('textbox', { name: 'Description', exact: true }).fill(`${type} strategy`);
      await choose(dialog, page, 'Type', type);
      await dialog.getByRole('textbox', { name: 'Function name', exact: true }).fill('run');
      await chooseFile(page, dialog.getByRole('button', { name: 'Upload file' }), file);
      await dialog.getByTestId('chosen-file').filter({ hasText: file.name }).waitFor();
      await dialog.getByRole('button', { name: 'Save' }).click();
      if (expectError) {
        await dialog.getByRole('alert').filter({ hasText: expectError }).waitFor();
        await dialog.getByRole('button', { name: 'Cancel' }).click();
        return;
      }
      await dialog.waitFor({ state: 'hidden' });
      await page.getByTestId('strategy-row').filter({ hasText: name }).waitFor();
    };
    await add('Broken', 'Data Load', py('broken.py', 'def run(contact:\n    return contact\n'), /line 1/);
    await add('Load', 'Data Load', py('data_load.py', DATA_LOAD));
    await add('Follow-up', 'Aggregation', py('aggregation.py', AGGREGATION));

    await page.getByRole('button', { name: 'Show code of Load' }).click();
    const code = page.getByTestId('strategy-code');
    await code.locator('.hljs-keyword', { hasText: 'async' }).first().waitFor();
    assert.match(await code.innerText(), /planned the reminder/);
    const download = page.getByRole('link', { name: 'Download file' });
    assert.match((await download.getAttribute('href')) ?? '', /\/strategies\/[0-9a-f-]+\/file$/);
    await screenshot(page, shots, 'strategy-code');
    await page.keyboard.press('Escape');

    // Two of three types used: Add Strategy offers only the last one.
    await page.getByRole('button', { name: 'Add Strategy' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add Strategy' });
    await dialog.getByRole('combobox', { name: 'Type', exact: true }).click();
    assert.deepEqual(await page.getByRole('option').allInnerTexts(), ['Contact answer intermediate analysis']);
    await page.keyboard.press('Escape');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await screenshot(page, shots, 'strategies');
  });

  step('contacts: Start waits for contacts; upload shows progress and the report', async () => {
    await page.getByRole('tab', { name: 'Contacts' }).click();
    assert.equal(await page.getByRole('button', { name: 'Start' }).isDisabled(), true);
    await page.getByText('Start is unavailable until the campaign has contacts.').waitFor();
    await chooseFile(page, page.getByRole('button', { name: 'Upload new contacts' }), { name: 'contacts.csv', mimeType: 'text/csv', buffer: Buffer.from(CONTACTS) });
    const report = page.getByTestId('upload-report');
    await report.getByText('Contacts uploaded successfully').waitFor({ timeout: 60_000 });
    assert.match(await report.innerText(), /Imported: 2 · Rejected: 1/);
    const rejected = page.getByRole('table', { name: 'Rejected rows' });
    assert.match(await rejected.innerText(), /4\s+\S+\s+.*email or a phone/);
    await page.getByTestId('contact-row').nth(1).waitFor();
    assert.equal(await page.getByTestId('contact-row').count(), 2);
    await page.getByRole('button', { name: 'Show parameters and results of John Doe' }).click();
    await page.getByRole('cell', { name: 'amount_due', exact: true }).waitFor();
    await page.getByTestId('status-tag').filter({ hasText: 'Configured' }).waitFor();
    await screenshot(page, shots, 'contacts');
  });

  step('start, stop and start again; a contact outcome changes; its communications', async () => {
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByTestId('status-tag').filter({ hasText: 'Running' }).waitFor();
    await page.getByRole('button', { name: 'Stop' }).click();
    await page.getByTestId('status-tag').filter({ hasText: 'Stopped' }).waitFor();
    await page.getByRole('button', { name: 'Start' }).click();
    await page.getByTestId('status-tag').filter({ hasText: 'Running' }).waitFor();

    const john = page.locator('[data-testid="contact-row"][data-key="o:C-1001"]');
    await john.getByTestId('outcome').filter({ hasText: 'Positive' }).waitFor({ timeout: 60_000 });
    await john.getByRole('cell', { name: '2 Done' }).waitFor();
    assert.equal(await page.locator('[data-testid="contact-row"][data-key="o:C-1002"]').getByTestId('outcome').textContent(), 'Uncertain');

    await john.getByRole('button', { name: /communications of John Doe/ }).click();
    const comms = page.getByRole('dialog', { name: /Communications of John Doe/ });
    const row = comms.getByTestId('communication-row');
    await row.getByText('Completed').waitFor();
    assert.match(await row.innerText(), /Initial Message[\s\S]*DELIVERED[\s\S]*Email Notification/);
    await screenshot(page, shots, 'communications');
    await page.keyboard.press('Escape');
  });

  step('performance panel: the selected campaign\'s numbers and charts', async () => {
    // The panel reads the server's counters (the campaign-performance read model), never the contacts list.
    const campaignId = campaignUrl.split('/').pop()!;
    const listed: string[] = [];
    const onRequest = (r: { url(): string }) => {
      if (new URL(r.url()).pathname.endsWith('/contacts')) listed.push(r.url());
    };
    page.on('request', onRequest);
    await page.goto('/campaigns');
    const row = page.getByTestId('campaign-row').filter({ hasText: 'Pre-collection' });
    await row.click(); // one click selects (Running tab: the campaign runs)
    const panel = page.getByRole('region', { name: 'Performance panel' });
    await panel.getByTestId('metric-total-contacts').filter({ hasText: '2' }).waitFor();
    assert.equal(await panel.getByTestId('metric-processed-contacts').innerText(), '1');
    assert.equal(await panel.getByTestId('metric-success-rate').innerText(), '0%');
    assert.match((await panel.getByTestId('status-chart').getAttribute('aria-label')) ?? '', /Positive 1.*Uncertain 1/);
    assert.match((await panel.getByTestId('stage-chart').getAttribute('aria-label')) ?? '', /1 Payment reminder 1.*2 Done 1|2 Done 1.*1 Payment reminder 1/);
    const monthly = page.waitForResponse((r) => r.url().includes(`/api/campaigns/${campaignId}/performance?period=month`) && r.ok());
    await panel.getByText('Month', { exact: true }).click();
    const served = await (await monthly).json();
    const perf = (await api(platform.base, 'GET', `/api/campaigns/${campaignId}/performance?period=month`)).body;
    assert.deepEqual([served.totalContacts, served.processedContacts, served.successfulContacts, served.completionRate], [2, 1, 0, 0]);
    assert.deepEqual(served, perf, 'the panel shows what the API answers');
    // The charts are cut where the server cut them: one month, named by the period the API returned.
    const month = (perf.periods as string[])[0].slice(0, 7);
    await panel.getByTestId('status-chart').and(page.locator(`[aria-label^="Status distribution (${month})"]`)).waitFor();
    assert.equal(await panel.getByTestId('metric-processed-contacts').innerText(), String(perf.processedContacts));
    assert.equal(await panel.getByTestId('metric-completion-rate').innerText(), `${perf.completionRate * 100}%`);
    page.off('request', onRequest);
    assert.deepEqual(listed, [], 'the panel paged through no contacts');
    await screenshot(page, shots, 'campaign-list');
    await row.dblclick();
    await page.getByRole('heading', { name: 'Pre-collection' }).waitFor();
  });

  step('logs with level and contact filters; settings: results and YAML analytics', async () => {
    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('menuitem', { name: 'Show Logs' }).click();
    await page.getByTestId('log-row').filter({ hasText: 'planned the reminder' }).first().waitFor();
    await page.getByRole('textbox', { name: 'Contact' }).fill('o:C-1002');
    await page.getByTestId('log-row').filter({ hasText: 'o:C-1001' }).first().waitFor({ state: 'detached' });
    await page.getByTestId('log-row').first().waitFor();
    for (const text of await page.getByTestId('log-row').allInnerTexts()) assert.match(text, /o:C-1002/);
    await choose(page, page, 'Level', 'ERROR');
    await page.getByText('No log entries match these filters').waitFor();
    await screenshot(page, shots, 'logs');
    await page.goBack();
    await page.goto(`${campaignUrl}?tab=settings`);

    await page.getByRole('button', { name: 'Add results' }).click();
    const results = page.getByRole('dialog', { name: 'Campaign Results' });
    await results.getByRole('textbox', { name: 'Code', exact: true }).fill('promise_date');
    await results.getByRole('textbox', { name: 'Name', exact: true }).fill('Promise date');
    await results.getByRole('button', { name: 'Save' }).click();
    await results.waitFor({ state: 'hidden' });
    await page.getByTestId('result-row').filter({ hasText: 'promise_date' }).waitFor();
    await page.getByRole('button', { name: 'Update results' }).waitFor();

    await page.getByRole('button', { name: 'Set YAML analytics' }).click();
    const yaml = page.getByRole('dialog', { name: 'YAML analytics' });
    await chooseFile(page, yaml.getByRole('button', { name: 'Upload YAML' }), { name: 'metrics.yaml', mimeType: 'application/yaml', buffer: Buffer.from('metrics:\n  - [unclosed\n') });
    await yaml.getByRole('alert').filter({ hasText: /line/ }).waitFor();
    await chooseFile(page, yaml.getByRole('button', { name: 'Upload YAML' }), { name: 'metrics.yaml', mimeType: 'application/yaml', buffer: Buffer.from('metrics:\n  - name: satisfaction\n') });
    await yaml.getByRole('alert').filter({ hasText: /metrics\[0\]\.type: must be one of boolean, number, scale, enum, text/ }).waitFor();
    await chooseFile(page, yaml.getByRole('button', { name: 'Upload YAML' }), { name: 'metrics.yaml', mimeType: 'application/yaml', buffer: Buffer.from(SATISFACTION_YAML) });
    await yaml.getByText('Uploaded · metrics.yaml v1').waitFor();
    await yaml.getByTestId('analysis-status').filter({ hasText: 'Not calculated yet' }).waitFor();
    assert.match((await yaml.getByRole('link', { name: 'Download YAML' }).getAttribute('href')) ?? '', /\/analytics$/);
    await screenshot(page, shots, 'settings-yaml');
    await page.keyboard.press('Escape');
  });

  step('export shows the secret key once; import with a wrong key fails, with the key succeeds', async () => {
    await page.getByRole('button', { name: 'More actions' }).click();
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('menuitem', { name: 'Export campaign' }).click()]);
    const dialog = page.getByRole('dialog', { name: 'Export campaign' });
    const key = (await dialog.getByTestId('secret-key').innerText()).trim();
    assert.match(key, /^[A-Za-z0-9_-]{40,}$/);
    await dialog.getByText('Shown once').waitFor();
    const file = join(work, download.suggestedFilename());
    await download.saveAs(file);
    assert.ok(readFileSync(file).subarray(0, 8).equals(Buffer.from('HERALDX1')), 'the sealed archive');
    await dialog.getByRole('button', { name: 'Done' }).click();
    await dialog.waitFor({ state: 'hidden' });
    assert.equal(await page.getByText(key).count(), 0, 'the key is gone once the dialog closes');
    exported = { file, key };

    await page.goto('/campaigns');
    await page.getByRole('button', { name: 'Import campaign' }).click();
    const importing = page.getByRole('dialog', { name: 'Import campaign' });
    const archive = { name: download.suggestedFilename(), mimeType: 'application/octet-stream', buffer: readFileSync(exported.file) };
    await importing.getByLabel('Secret Key').fill('wrong-key-wrong-key-wrong-key-wrong-key-00');
    await chooseFile(page, importing.getByRole('button', { name: /Campaign file/ }), archive);
    await importing.getByRole('button', { name: 'Import' }).click();
    await importing.getByRole('alert').waitFor();
    await importing.getByLabel('Secret Key').fill(exported.key);
    await importing.getByRole('button', { name: 'Import' }).click();
    await importing.waitFor({ state: 'hidden' });
    await page.getByRole('heading', { name: 'Pre-collection' }).waitFor();
    assert.notEqual(new URL(page.url()).pathname, campaignUrl, 'a new campaign');
    await page.getByTestId('stage-row').filter({ hasText: '1 Payment reminder' }).getByText('A/B testing').waitFor();
    await page.getByRole('tab', { name: 'Strategies' }).click();
    await page.getByTestId('strategy-row').filter({ hasText: 'Follow-up' }).waitFor();
    assert.equal(await page.getByTestId('strategy-row').count(), 2);
  });

  step('delete asks for confirmation; a running campaign is refused with the reason', async () => {
    // The imported copy: no contacts, not running.
    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    const confirm = page.getByRole('dialog', { name: 'Delete campaign' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    await confirm.waitFor({ state: 'hidden' });
    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await page.waitForURL(/\/campaigns\?filter=all$/);
    await eventually(async () => (await page.getByTestId('campaign-row').count()) === 1, { what: 'only the original campaign in the list' });

    await page.goto(campaignUrl);
    await page.getByRole('button', { name: 'More actions' }).click();
    await page.getByRole('menuitem', { name: 'Delete' }).click();
    await confirm.getByRole('button', { name: 'Delete' }).click();
    await confirm.getByRole('alert').filter({ hasText: /run/i }).waitFor();
  });

  step("deep analysis: the YAML analytics dialog's Status, Recalculate, Stop and Continue calculation; View Deep Analysis and a session's transcript", async () => {
    // Three ended Telegram conversations, made through the API (chat-campaign.ts), and a stand-in for the LLM endpoint.
    const llm = await startLlmStandIn((key, t) => (key === 'intent' ? (/friday/i.test(t) ? 'will_pay' : /wrong/i.test(t) ? 'disputes' : 'refuses') : /friday/i.test(t)), 'sk-portal');
    const telegram = await startTelegramStandIn();
    try {
      const contacts = [
        { objectId: 'T1', name: 'Tina', chatId: 9101, says: 'I can pay on Friday' },
        { objectId: 'T2', name: 'Tom', chatId: 9102, says: 'This bill is wrong' },
        { objectId: 'T3', name: 'Tess', chatId: 9103, says: 'No thanks' },
      ];
      const chats = await chatCampaign(platform.base, { name: 'Chats', llmUrl: llm.url, apiKey: 'sk-portal', telegramUrl: telegram.url, yaml: null, contacts });
      const sessions = await converse(platform.base, chats, telegram, contacts);

      await page.goto(`/campaigns/${chats.campaignId}?tab=settings`);
      await page.getByRole('button', { name: 'Set YAML analytics' }).click();
      const dialog = page.getByRole('dialog', { name: 'YAML analytics' });
      assert.equal(await dialog.getByRole('button', { name: 'Recalculate' }).isDisabled(), true, 'nothing to calculate without a YAML');
      await chooseFile(page, dialog.getByRole('button', { name: 'Upload YAML' }), { name: 'chats.yaml', mimeType: 'application/yaml', buffer: Buffer.from(ANALYTICS_YAML) });
      const status = dialog.getByTestId('analysis-status');
      await status.filter({ hasText: 'Not calculated yet' }).waitFor();

      // Recalculate while the endpoint holds its answers: Progress, with Stop.
      const release = llm.hold();
      await dialog.getByRole('button', { name: 'Recalculate' }).click();
      await status.filter({ hasText: 'Progress · 0 of 3 sessions' }).waitFor();
      await dialog.getByTestId('analysis-counts').filter({ hasText: /being analysed/ }).waitFor();
      assert.equal(await dialog.getByRole('button', { name: 'Continue calculation' }).isDisabled(), true, 'one calculation at a time');
      await screenshot(page, shots, 'settings-yaml-progress');
      await dialog.getByRole('button', { name: 'Stop' }).click();
      await status.filter({ hasText: 'Stopped · 0 of 3 sessions' }).waitFor();
      assert.equal(await dialog.getByRole('button', { name: 'Stop' }).count(), 0, 'Stop shows only while it runs');
      release();

      // Continue calculation: the three sessions never analysed.
      await dialog.getByRole('button', { name: 'Continue calculation' }).click();
      await status.filter({ hasText: 'Done · 3 of 3 sessions' }).waitFor({ timeout: 30_000 });
      await page.keyboard.press('Escape');

      // View Deep Analysis from the performance panel.
      await page.goto('/campaigns?filter=all'); // its conversations are over: Finished, not Running
      await page.getByTestId('campaign-row').filter({ hasText: 'Chats' }).click();
      await page.getByRole('region', { name: 'Performance panel' }).getByRole('link', { name: 'View Deep Analysis' }).click();
      await page.getByRole('heading', { name: 'Deep Analysis: Chats' }).waitFor();
      await page.getByTestId('analysed-sessions').filter({ hasText: '3 analysed sessions' }).waitFor();
      const intent = page.getByRole('region', { name: 'Payment intent' });
      assert.equal(await intent.getByTestId('metric-chart-intent').getAttribute('aria-label'), 'Payment intent: will_pay 1, disputes 1, refuses 1');
      await page.getByRole('region', { name: 'Interested in paying' }).getByText('Yes: 33.3%').waitFor();
      const rows = page.getByTestId('analysed-session-row');
      await rows.nth(2).waitFor();
      assert.equal(await rows.count(), 3);
      const tina = rows.filter({ hasText: 'o:T1' });
      assert.match(await tina.innerText(), /will_pay\s+Yes/);
      await screenshot(page, shots, 'deep-analysis');
      await tina.getByRole('link', { name: 'Open transcript' }).click();
      await page.waitForURL(new RegExp(`/sessions/${sessions.T1}$`));
      await page.getByTestId('message').filter({ hasText: 'I can pay on Friday' }).waitFor();
    } finally {
      await llm.close();
      await telegram.close();
    }
  });

  step('a viewer sees the campaign but not the actions their role lacks, with the reason', async () => {
    const viewer = await api(platform.base, 'POST', '/api/api-keys', { name: 'portal viewer', role: 'viewer' });
    assert.equal(viewer.status, 201, JSON.stringify(viewer.body));
    await page.getByRole('button', { name: 'Sign out' }).click();
    const form = page.getByRole('form', { name: 'Sign in to Herald' });
    await form.getByRole('textbox', { name: 'API key' }).fill(viewer.body.key);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Role').filter({ hasText: 'Viewer' }).waitFor();
    await page.goto(campaignUrl);
    // The campaign runs (the previous step): Stop is there, and disabled for a viewer, saying why.
    const stop = page.getByRole('button', { name: 'Stop', exact: true });
    await stop.waitFor();
    assert.equal(await stop.isDisabled(), true);
    assert.match((await stop.getAttribute('title')) ?? '', /role \(Viewer\) lacks the permission to start and stop campaigns/);
    const add = page.getByRole('button', { name: 'Add Stage' });
    assert.equal(await add.isDisabled(), true);
    assert.match((await add.getAttribute('title')) ?? '', /needs Campaign manager or above/);
    await screenshot(page, shots, 'viewer');
    // Back as the admin for what follows.
    await page.getByRole('button', { name: 'Sign out' }).click();
    await form.getByRole('textbox', { name: 'API key' }).fill(TEST_ADMIN_KEY);
    await form.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Role').filter({ hasText: 'Admin' }).waitFor();
  });

  step('sessions without a sessions API show a clear placeholder; no page error and no policy violation anywhere', async () => {
    await page.goto('/sessions/00000000-0000-0000-0000-000000000000');
    await page.getByText('No transcript here').or(page.getByText('The session could not be loaded')).waitFor();
    assert.deepEqual(problems.filter((p) => !/Failed to load resource/.test(p)), []);
  });
});
