// An accessibility sweep with axe-core (WCAG 2.x A and AA rules, and axe's best
// practices) over every page, hydrated, in light and in dark mode, at a
// desktop's width and a 320 px phone's, and over
// the states a user meets: a form with its errors, the list with a search that
// finds nothing, the list after a save. Every violation is reported with the
// page, the rule and the elements it names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, waitForHydration, axeViolations as violations, VIEWPORTS } from './harness.mjs';

const shared = useServerAndBrowser();

const PAGES = ['/', '/?q=nobody-matches', '/?saved=a', '/new', '/edit?id=a', '/delete?id=a',
  '/history?id=a', '/audit', '/import', '/status', '/no-such-page'];
/** Plain server-rendered pages, without the wasm. */
const STATIC_PAGES = ['/sign-in'];

for (const [width, viewport] of Object.entries(VIEWPORTS)) for (const colorScheme of ['light', 'dark']) {
  test(`axe finds nothing on any page in ${colorScheme} mode, ${width} width`, async () => {
    // axe is injected as a script: the pages' own policy would block it.
    const context = await shared.browser.newContext({ colorScheme, viewport, bypassCSP: true });
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
      buffer: Buffer.from(`customerID,firstName,lastName\naxe-${colorScheme}-${width},Ann,Axe\n,No,Id\n`),
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
