// The list's pager: "Showing 26–50 of 60" and first / previous / next / last,
// with and without JavaScript, for the whole list and for a search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration } from './harness.mjs';

const shared = useServerAndBrowser();

// 53 more beside the sample's 7 (IDs a to g): 60 customers, pages of 25. Added
// by the first test to need them, once the shared server is up.
let seeding;
const seed = () => (seeding ??= addCustomers());

async function addCustomers() {
  for (let i = 0; i < 53; i++) {
    const id = `p${String(i).padStart(3, '0')}`;
    const answer = await fetch(`${shared.server.base}/set`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ customerID: id, firstName: 'Paged', lastName: `Customer ${i}` }),
    });
    assert.equal(answer.status, 200, await answer.text());
  }
}

const shown = (page) => page.locator('.pager .shown').textContent();
const firstId = (page) => page.locator('tbody tr td.id').first().textContent();

async function follow(page, name, javaScriptEnabled) {
  await page.locator('.pager a', { hasText: name }).click();
  if (!javaScriptEnabled) await page.waitForLoadState('load');
}

async function expectPage(page, text, id) {
  await page.waitForFunction(
    ([text, id]) => document.querySelector('.pager .shown')?.textContent === text
      && document.querySelector('tbody tr td.id')?.textContent === id,
    [text, id],
  );
  assert.equal(await shown(page), text);
  assert.equal(await firstId(page), id);
}

for (const javaScriptEnabled of [true, false]) {
  const js = `JavaScript ${javaScriptEnabled ? 'on' : 'off'}`;

  test(`the pager walks first, next, last and previous (${js})`, async () => {
    await seed();
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(shared.server.base + '/');
    if (javaScriptEnabled) await waitForHydration(page);
    await expectPage(page, 'Showing 1–25 of 60', 'a');
    // Nowhere to go back to: the labels stay, not as links.
    assert.equal(await page.locator('.pager a', { hasText: 'First' }).count(), 0);
    assert.equal(await page.locator('.pager [aria-disabled="true"]', { hasText: 'Previous' }).count(), 1);

    await follow(page, 'Next', javaScriptEnabled);
    await expectPage(page, 'Showing 26–50 of 60', 'p018');
    await follow(page, 'Last', javaScriptEnabled);
    await expectPage(page, 'Showing 36–60 of 60', 'p028');
    assert.equal(new URL(page.url()).searchParams.get('last'), '1');
    assert.equal(await page.locator('.pager a', { hasText: 'Next' }).count(), 0);
    await follow(page, 'Previous', javaScriptEnabled);
    await expectPage(page, 'Showing 11–35 of 60', 'p003');
    await follow(page, 'First', javaScriptEnabled);
    await expectPage(page, 'Showing 1–25 of 60', 'a');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test(`a search pages among its own matches (${js})`, async () => {
    await seed();
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(shared.server.base + '/?q=paged');
    if (javaScriptEnabled) await waitForHydration(page);
    await expectPage(page, 'Showing 1–25 of 53', 'p000');
    await follow(page, 'Last', javaScriptEnabled);
    await expectPage(page, 'Showing 29–53 of 53', 'p028');
    assert.equal(new URL(page.url()).searchParams.get('q'), 'paged', 'the search stays');
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}
