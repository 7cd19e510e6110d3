// Sorting the list by its column headings: by ID in natural order ("2" before
// "10"), by name ignoring case and accents, either way; the order is in the URL
// and kept by the pager, the search and Back; with and without JavaScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration } from './harness.mjs';

const shared = useServerAndBrowser();

// Beside the sample's 7 (a to g, with seven different last names): customers
// 1 to 30, all "Seed Müller" or "Seed Muller", which sort as one name.
let seeding;
const seed = () => (seeding ??= addCustomers());

async function addCustomers() {
  for (let i = 1; i <= 30; i++) {
    const answer = await fetch(`${shared.server.base}/set`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ customerID: String(i), firstName: 'Seed', lastName: i % 2 ? 'Müller' : 'Muller' }),
    });
    assert.equal(answer.status, 200, await answer.text());
  }
}

const range = (from, to) => {
  const step = from <= to ? 1 : -1;
  return Array.from({ length: Math.abs(to - from) + 1 }, (_, i) => String(from + i * step));
};

/** Waits until the table starts with `ids`, then checks them. */
async function expectFirstIds(page, ids) {
  await page.waitForFunction(
    (ids) => {
      const shown = [...document.querySelectorAll('tbody td.id')].map((td) => td.textContent);
      return ids.every((id, i) => shown[i] === id);
    },
    ids,
  );
  const shown = await page.locator('tbody td.id').allTextContents();
  assert.deepEqual(shown.slice(0, ids.length), ids);
}

const sortState = (page, name) =>
  page.locator('thead th', { has: page.getByRole('link', { name }) }).getAttribute('aria-sort');

async function clickAndSettle(page, locator, javaScriptEnabled) {
  const before = page.url();
  await locator.click();
  await page.waitForURL((url) => url.href !== before);
  if (!javaScriptEnabled) await page.waitForLoadState('load');
}

for (const javaScriptEnabled of [true, false]) {
  const js = `JavaScript ${javaScriptEnabled ? 'on' : 'off'}`;

  test(`column headings sort either way, kept by the pager and the search (${js})`, async () => {
    await seed();
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(shared.server.base + '/');
    if (javaScriptEnabled) await waitForHydration(page);
    // By ID, as numbers where they are numbers.
    await expectFirstIds(page, range(1, 12));
    assert.equal(await sortState(page, 'ID'), 'ascending');
    assert.equal(await sortState(page, 'Last name'), null);

    const heading = (name) => page.locator('thead').getByRole('link', { name });
    await clickAndSettle(page, heading('Last name'), javaScriptEnabled);
    let url = new URL(page.url());
    assert.equal(url.searchParams.get('sort'), 'last');
    // Baker, D, Galic, Griffiths, Janmohamed, then the Müllers and Mullers as
    // one name, by ID.
    await expectFirstIds(page, ['a', 'b', 'd', 'e', 'c', ...range(1, 12)]);
    assert.equal(await sortState(page, 'Last name'), 'ascending');
    assert.equal(await sortState(page, 'ID'), null);

    await clickAndSettle(page, page.locator('.pager a', { hasText: 'Next' }), javaScriptEnabled);
    await expectFirstIds(page, [...range(21, 30), 'g', 'f']);
    assert.equal(await page.locator('.pager .shown').textContent(), 'Showing 26–37 of 37');
    assert.equal(new URL(page.url()).searchParams.get('sort'), 'last', 'the pager keeps the order');

    // The sorted heading again: the other way, from the first page.
    await clickAndSettle(page, heading('Last name'), javaScriptEnabled);
    url = new URL(page.url());
    assert.equal(url.searchParams.get('order'), 'desc');
    assert.equal(url.searchParams.get('after'), null);
    await expectFirstIds(page, ['f', 'g', ...range(30, 20)]);
    assert.equal(await sortState(page, 'Last name'), 'descending');
    if (javaScriptEnabled) {
      // Each order is a step in history: Back returns to the one before.
      await page.goBack();
      await expectFirstIds(page, [...range(21, 30), 'g', 'f']);
      await page.goForward();
      await expectFirstIds(page, ['f', 'g', '30']);
    }

    // A search keeps the order.
    await page.getByLabel('Search by ID or name').fill('muller');
    if (javaScriptEnabled) {
      await page.waitForURL((u) => new URL(u).searchParams.get('q') === 'muller');
    } else {
      await clickAndSettle(page, page.getByRole('button', { name: 'Search' }), false);
    }
    url = new URL(page.url());
    assert.deepEqual(
      [url.searchParams.get('q'), url.searchParams.get('sort'), url.searchParams.get('order')],
      ['muller', 'last', 'desc'],
    );
    await expectFirstIds(page, range(30, 19));
    assert.match(await page.locator('.count').textContent(), /^30 customers match/);

    // The ID heading, the order already: descending by ID.
    await page.goto(shared.server.base + '/');
    if (javaScriptEnabled) await waitForHydration(page);
    await clickAndSettle(page, heading('ID'), javaScriptEnabled);
    assert.equal(new URL(page.url()).searchParams.get('order'), 'desc');
    await expectFirstIds(page, ['g', 'f', 'e', 'd', 'c', 'b', 'a', '30', '29']);
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}

test('an unknown order in the URL is the default one', async () => {
  await seed();
  const { page } = await newPage(shared.browser, { javaScriptEnabled: false });
  const answer = await page.goto(shared.server.base + '/?sort=%3Cscript%3E&order=sideways');
  assert.equal(answer.status(), 200);
  await expectFirstIds(page, range(1, 3));
  await page.context().close();
});

test('on a 320 px phone the sort links stay, in one line above the cards', async () => {
  await seed();
  const { page, problems } = await newPage(shared.browser);
  await page.setViewportSize({ width: 320, height: 640 });
  await page.goto(shared.server.base + '/');
  await waitForHydration(page);
  const links = page.locator('thead').getByRole('link');
  assert.deepEqual((await links.allTextContents()).map((t) => t.trim()), ['ID▲', 'First name', 'Last name']);
  const boxes = await links.evaluateAll((all) => all.map((a) => a.getBoundingClientRect().toJSON()));
  assert.ok(boxes.every((b) => b.width > 0 && b.right <= 320), `on screen: ${JSON.stringify(boxes)}`);
  assert.ok(await page.evaluate(() => document.documentElement.scrollWidth <= 320), 'no sideways scrolling');
  await links.filter({ hasText: 'First name' }).click();
  await page.waitForURL((url) => new URL(url).searchParams.get('sort') === 'first');
  // Aleem, Ivo, James, Joel, Jonathan, Michael, then the Seeds by ID.
  await expectFirstIds(page, ['c', 'd', 'a', 'e', 'b', 'f', '1', '2']);
  assert.deepEqual(problems, []);
  await page.context().close();
});
