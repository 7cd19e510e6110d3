// An accessibility sweep with axe-core (WCAG 2.x A and AA rules, and axe's best
// practices) over every page, hydrated, in light and in dark mode, and over
// the states a user meets: a form with its errors, the list with a search that
// finds nothing, the list after a save. Every violation is reported with the
// page, the rule and the elements it names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { useServerAndBrowser, waitForHydration } from './harness.mjs';

const shared = useServerAndBrowser();
const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

const PAGES = ['/', '/?q=nobody-matches', '/?saved=a', '/new', '/edit?id=a', '/delete?id=a',
  '/history?id=a', '/audit', '/import', '/status', '/no-such-page'];
/** Plain server-rendered pages, without the wasm. */
const STATIC_PAGES = ['/sign-in'];

/** axe's violations on the page as it is now, one line per element. */
async function violations(page, label) {
  await page.addScriptTag({ path: axeSource });
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return result.violations.map((v) => ({
      rule: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return found.map((v) => `${label}: ${v.rule} (${v.impact}) ${v.help}: ${v.targets.slice(0, 5).join(', ')}`);
}

for (const colorScheme of ['light', 'dark']) {
  test(`axe finds nothing on any page in ${colorScheme} mode`, async () => {
    // axe is injected as a script: the pages' own policy would block it.
    const context = await shared.browser.newContext({ colorScheme, bypassCSP: true });
    const page = await context.newPage();
    const failures = [];
    for (const path of PAGES) {
      await page.goto(shared.server.base + path);
      await waitForHydration(page);
      failures.push(...await violations(page, path));
    }
    for (const path of STATIC_PAGES) {
      await page.goto(shared.server.base + path);
      failures.push(...await violations(page, path));
    }
    // A form with its errors shown, focus on the first.
    await page.goto(shared.server.base + '/new');
    await waitForHydration(page);
    await page.getByLabel('Customer ID').fill('a');
    await page.getByLabel('First name').fill('Taken');
    await page.getByLabel('Last name').fill('Id');
    await page.getByRole('button', { name: 'Create customer' }).click();
    await page.locator('.field-error, .notice.error').first().waitFor();
    failures.push(...await violations(page, '/new with errors'));
    // An upload's preview (with a rejected row), and the summary of its import.
    await page.goto(shared.server.base + '/import');
    await page.getByLabel('File to import').setInputFiles({
      name: 'axe.csv', mimeType: 'text/csv',
      buffer: Buffer.from(`customerID,firstName,lastName\naxe-${colorScheme},Ann,Axe\n,No,Id\n`),
    });
    await page.getByRole('button', { name: 'Check the file' }).click();
    await page.getByRole('button', { name: 'Import 1 customer' }).waitFor();
    await waitForHydration(page);
    failures.push(...await violations(page, '/import preview'));
    await page.getByRole('button', { name: 'Import 1 customer' }).click();
    await page.locator('.import-summary').waitFor();
    failures.push(...await violations(page, '/import summary'));
    await context.close();
    assert.deepEqual(failures, []);
  });
}
