import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Locator, type Page } from 'playwright-core';

/** Debian's chromium (`apt-get install -y chromium`); HERALD_CHROMIUM points elsewhere. */
export const CHROMIUM = process.env.HERALD_CHROMIUM || '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no browser at ${CHROMIUM}: install Debian's chromium (apt-get install -y chromium) or set HERALD_CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

/**
 * Screenshots of the main screens. HERALD_SCREENSHOTS=docs/screenshots
 * refreshes the ones the README links; otherwise they go to a temporary
 * folder (a test run must not change the work tree).
 */
export function screenshotDir(fallback: string): string {
  const dir = process.env.HERALD_SCREENSHOTS || fallback;
  mkdirSync(dir, { recursive: true });
  return dir;
}

export async function screenshot(page: Page, dir: string, name: string): Promise<void> {
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: true, animations: 'disabled' });
}

/** Picks an option of a Mantine Select (or Autocomplete) the way a user does: open it, click the option. */
export async function choose(scope: Page | Locator, page: Page, label: string, option: string): Promise<void> {
  await scope.getByRole('combobox', { name: label, exact: true }).click();
  await page.getByRole('option', { name: option, exact: true }).click();
}

/** Clicks what opens a file chooser and gives it the files. */
export async function chooseFile(page: Page, opener: Locator, file: { name: string; mimeType: string; buffer: Buffer }): Promise<void> {
  const [chooser] = await Promise.all([page.waitForEvent('filechooser'), opener.click()]);
  await chooser.setFiles(file);
}

/** Collects what the browser reports as broken: script errors and Content-Security-Policy violations. */
export async function watchProblems(page: Page): Promise<string[]> {
  const problems: string[] = [];
  // A violation names its directive and where it happened (the console message alone does not).
  await page.addInitScript({ content: `document.addEventListener('securitypolicyviolation', (e) => console.error(
    'CSP violation in ' + location.pathname + ': ' + e.violatedDirective + ' at ' + e.sourceFile + ':' + e.lineNumber + ':' + e.columnNumber + ' sample=' + e.sample + ' on ' + String(e.target && e.target.outerHTML).slice(0, 200)));` });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    // The email preview frame exists to block what a hostile template tries (its policy refuses the template's
    // scripts and images): those refusals are the defence working, and the preview test asserts them itself.
    if (m.location().url.includes('/portal/preview') || m.text().startsWith('CSP violation in /portal/preview')) return;
    if (m.type() === 'error' && !/status of 4\d\d/.test(m.text())) problems.push(`console: ${m.text()}`);
  });
  return problems;
}
