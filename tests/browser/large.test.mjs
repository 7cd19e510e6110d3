// The list at 100,000 customers (scripts/bench/gen_customers.py on the embedded
// store), in real headless Chromium: text typed before the page has hydrated,
// on a slow 4G connection with a 4x slower CPU, is kept and searched; accent-
// and case-insensitive full-name search; sorting either way with IDs in natural
// order; bulk delete and Undo; counts formatted; axe-core finds nothing on the
// list's pages. (The 100,000-row import is in import.test.mjs.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  useServerAndBrowser, newPage, waitForHydration, legacyApi, axeViolations, VIEWPORTS,
} from './harness.mjs';

const N = 100_000;
const shared = useServerAndBrowser({ generated: N });

const { set: apiSet } = legacyApi(shared);

const ids = (page) => page.locator('tbody td.id').allTextContents();
const settled = (page) => page.waitForFunction(
  () => document.querySelector('.results')?.getAttribute('aria-busy') === 'false');

test('text typed before hydration on a slow phone is kept, then searched', async () => {
  const { page, problems } = await newPage(shared.browser);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8,
  });
  await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
  await page.goto(shared.server.base + '/', { waitUntil: 'domcontentloaded' });
  const box = page.locator('#search');
  await box.pressSequentially('Quennell');
  assert.equal(await page.locator('html[data-hydrated]').count(), 0, 'typed before hydration');
  await waitForHydration(page);
  await page.getByText('100 customers match “Quennell”').waitFor({ timeout: 20_000 });
  assert.equal(await box.inputValue(), 'Quennell');
  assert.equal(new URL(page.url()).searchParams.get('q'), 'Quennell');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('search ignores case and accents and matches first and last name together', async () => {
  await apiSet('acc-1', 'José', 'Fernández');
  await apiSet('acc-2', 'Jürgen', 'Müller');
  const { page, problems } = await newPage(shared.browser);
  await page.goto(shared.server.base + '/');
  await waitForHydration(page);
  await page.getByText(`${(N + 2).toLocaleString('en-US')} customers`).waitFor();
  const box = page.getByLabel('Search by ID or name');
  for (const [typed, expected] of [['fernandez', ['acc-1']], ['JOSE FERNANDEZ', ['acc-1']],
    ['muller', ['acc-2']], ['jurgen müller', ['acc-2']]]) {
    await box.fill(typed);
    await page.waitForFunction((typed) => new URL(location.href).searchParams.get('q') === typed, typed);
    await settled(page);
    assert.deepEqual(await ids(page), expected, typed);
  }
  assert.deepEqual(problems, []);
  await page.context().close();
});

for (const javaScriptEnabled of [true, false]) {
  const js = `JavaScript ${javaScriptEnabled ? 'on' : 'off'}`;
  test(`sorting at 100,000 either way, IDs in natural order (${js})`, async () => {
    for (const id of ['nat-10', 'nat-2', 'nat-1']) await apiSet(id, 'Natural', `Order ${js}`);
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(`${shared.server.base}/?q=${encodeURIComponent(`Natural Order ${js}`)}&sort=id`);
    if (javaScriptEnabled) await waitForHydration(page);
    assert.deepEqual(await ids(page), ['nat-1', 'nat-2', 'nat-10']);
    await page.getByTitle('Sort by ID, descending').click();
    await page.waitForURL((url) => url.searchParams.get('order') === 'desc');
    if (javaScriptEnabled) await settled(page);
    assert.deepEqual(await ids(page), ['nat-10', 'nat-2', 'nat-1']);

    // The whole store by last name, descending: the last names at the end of the alphabet.
    await page.goto(`${shared.server.base}/?sort=last&order=desc`);
    if (javaScriptEnabled) await waitForHydration(page);
    const lasts = await page.locator('tbody td[data-label="Last name"]').allTextContents();
    assert.equal(lasts.length, 25);
    assert.ok(lasts.every((last) => last === 'Zhang'), lasts.join());
    await page.getByText(/^Showing 1–25 of 100,0\d\d$/).waitFor();
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}

test('bulk delete and Undo at 100,000', async () => {
  await apiSet('bulk-big-1', 'Bulkbig', 'One');
  await apiSet('bulk-big-2', 'Bulkbig', 'Two');
  const { page, problems } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/?q=Bulkbig`);
  await waitForHydration(page);
  await page.getByLabel('Select every customer on this page').check();
  await page.getByText('2 selected').waitFor();
  await page.getByRole('button', { name: 'Delete selected…' }).click();
  await page.getByText('Delete these 2 customers?').waitFor();
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Yes, delete 2 customers' }).click();
  await page.getByText('Deleted 2 customers.').waitFor();
  assert.equal((await fetch(`${shared.server.base}/get/bulk-big-1`)).status, 404);
  await page.getByRole('button', { name: 'Undo' }).click();
  await page.getByText('Restored 2 customers.').waitFor();
  assert.equal((await fetch(`${shared.server.base}/get/bulk-big-2`)).status, 200);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('axe finds nothing on the list at 100,000, light and dark, desktop and phone', async () => {
  const failures = [];
  for (const [width, viewport] of Object.entries(VIEWPORTS)) {
    for (const colorScheme of ['light', 'dark']) {
      const context = await shared.browser.newContext({ colorScheme, viewport, bypassCSP: true });
      const page = await context.newPage();
      for (const path of ['/', '/?q=fernandez', '/?sort=last&order=desc', '/?last=1']) {
        await page.goto(shared.server.base + path);
        await waitForHydration(page);
        failures.push(...await axeViolations(page, `${path} ${colorScheme} ${width}`));
      }
      // A page further on, reached by its link, with one row ticked.
      await page.goto(shared.server.base + '/');
      await waitForHydration(page);
      await page.getByRole('link', { name: 'Next' }).first().click();
      await page.waitForURL(/after=/);
      await waitForHydration(page);
      await page.locator('tbody input[type=checkbox]').first().check();
      await page.getByText('1 selected').waitFor();
      failures.push(...await axeViolations(page, `next page, ticked ${colorScheme} ${width}`));
      await context.close();
    }
  }
  assert.deepEqual(failures, []);
});
