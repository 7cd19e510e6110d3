// The customer list as an admin grid: the pager ("Showing 26–50 of 60", first /
// previous / next / last), whole rows that open the customer, the customer just
// saved shown and highlighted, long values cut rather than squeezing the others,
// and cards on a 320 px phone; with and without JavaScript where it applies.
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
    // The last page holds what is left after whole pages; back from it, the
    // pages are the ones paging on met.
    await follow(page, 'Last', javaScriptEnabled);
    await expectPage(page, 'Showing 51–60 of 60', 'p043');
    assert.equal(new URL(page.url()).searchParams.get('last'), '1');
    assert.equal(await page.locator('.pager a', { hasText: 'Next' }).count(), 0);
    await follow(page, 'Previous', javaScriptEnabled);
    await expectPage(page, 'Showing 26–50 of 60', 'p018');
    await follow(page, 'Previous', javaScriptEnabled);
    await expectPage(page, 'Showing 1–25 of 60', 'a');
    await follow(page, 'Last', javaScriptEnabled);
    await expectPage(page, 'Showing 51–60 of 60', 'p043');
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
    await expectPage(page, 'Showing 51–53 of 53', 'p050');
    assert.equal(new URL(page.url()).searchParams.get('q'), 'paged', 'the search stays');
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}

for (const javaScriptEnabled of [true, false]) {
  const js = `JavaScript ${javaScriptEnabled ? 'on' : 'off'}`;

  test(`a click anywhere on a row opens the customer (${js})`, async () => {
    await seed();
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(shared.server.base + '/');
    if (javaScriptEnabled) await waitForHydration(page);
    // A real click where the last name is (Playwright's own would refuse: the
    // link's hit area lies over the cell, which is the point).
    const box = await page.locator('tbody tr', { hasText: 'Aleem' }).first().locator('td:not(.select)').nth(2).boundingBox();
    await page.mouse.click(box.x + box.width / 2, box.y + box.height / 2);
    await page.waitForURL((url) => url.pathname === '/edit');
    assert.equal(new URL(page.url()).searchParams.get('id'), 'c');
    assert.equal(await page.getByLabel('First name').inputValue(), 'Aleem');
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test(`after a save the list opens at the page the customer is on, scrolled to it and highlighted (${js})`, async () => {
    await seed();
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(shared.server.base + '/edit?id=p030');
    if (javaScriptEnabled) await waitForHydration(page);
    await page.getByLabel('Last name').fill(`Saved ${javaScriptEnabled}`);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.waitForURL((url) => url.searchParams.get('saved') === 'p030' && url.hash === '#saved');
    // The page it is on, as paging meets it (it is the 38th of 60).
    await expectPage(page, 'Showing 26–50 of 60', 'p018');
    const current = page.locator('tbody tr[aria-current="true"]');
    assert.equal(await current.count(), 1, 'one row is marked');
    assert.equal(await current.locator('td.id').textContent(), 'p030');
    assert.equal(await current.getAttribute('class'), 'saved');
    // Brought into view, well below the top edge, with the notice of the
    // save still in sight above it.
    await page.waitForFunction(() => {
      const row = document.querySelector('tr.saved').getBoundingClientRect();
      return row.top >= innerHeight * 0.2 && row.bottom <= innerHeight;
    });
    assert.ok(await page.evaluate(() => scrollY > 0), 'scrolled');
    const notice = page.getByRole('status').filter({ hasText: 'Saved customer “p030”.' });
    const [box, row] = [await notice.boundingBox(), await current.boundingBox()];
    assert.ok(box.y >= 0 && box.y + box.height < row.y, `the notice in sight, above the row: ${JSON.stringify([box, row])}`);
    // The pages around it are the ones paging meets.
    await follow(page, 'Previous', javaScriptEnabled);
    await expectPage(page, 'Showing 1–25 of 60', 'a');
    assert.equal(await page.locator('tbody tr[aria-current]').count(), 0);
    await follow(page, 'Next', javaScriptEnabled);
    await expectPage(page, 'Showing 26–50 of 60', 'p018');
    assert.equal(await page.locator('tbody tr[aria-current]').count(), 0);
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}

test('a long name is cut with an ellipsis, not squeezing the other columns; IDs stay on one line', async () => {
  await seed();
  const long = 'Bartholomew-Maximilian '.repeat(8).trim();
  const answer = await fetch(`${shared.server.base}/set`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ customerID: '12345', firstName: long, lastName: 'Short' }),
  });
  assert.equal(answer.status, 200);
  const { page, problems } = await newPage(shared.browser);
  await page.setViewportSize({ width: 1000, height: 800 });
  await page.goto(shared.server.base + '/?saved=12345');
  await waitForHydration(page);
  const cells = await page.evaluate(() => {
    const row = document.querySelector('tbody tr[aria-current="true"]');
    const other = row.nextElementSibling;
    const [id, first, last] = row.querySelectorAll('td:not(.select)');
    return {
      rowHeight: row.getBoundingClientRect().height,
      otherHeight: other.getBoundingClientRect().height,
      firstCut: first.scrollWidth > first.clientWidth,
      firstTitle: first.title,
      idText: id.textContent,
      idHeight: id.getBoundingClientRect().height,
      lastWidth: last.getBoundingClientRect().width,
      otherLastWidth: other.querySelectorAll('td:not(.select)')[2].getBoundingClientRect().width,
    };
  });
  assert.equal(cells.idText, '12345');
  assert.ok(Math.abs(cells.rowHeight - cells.otherHeight) < 2, `one line high: ${JSON.stringify(cells)}`);
  assert.ok(cells.firstCut, 'the long name is cut');
  assert.equal(cells.firstTitle, long, 'and whole in its title');
  assert.ok(cells.lastWidth > 150 && cells.lastWidth === cells.otherLastWidth, 'the last-name column keeps its width');
  // A long ID stays on one line with its row focused too (the names then wrap, whole).
  const longId = `id-${'7'.repeat(90)}`;
  await fetch(`${shared.server.base}/set`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ customerID: longId, firstName: long, lastName: 'Short' }),
  });
  await page.goto(`${shared.server.base}/?saved=${longId}`);
  await waitForHydration(page);
  const row = page.locator('tbody tr[aria-current="true"]');
  const idCell = row.locator('td.id');
  await row.locator('input[type=checkbox]').focus();
  const focused = await idCell.evaluate((td) => {
    const text = document.createRange();
    text.selectNodeContents(td);
    return {
      lines: text.getClientRects().length,
      cut: td.scrollWidth > td.clientWidth,
      scrolls: getComputedStyle(td).overflowX,
    };
  });
  assert.equal(focused.lines, 1, `the ID on one line: ${JSON.stringify(focused)}`);
  assert.ok(focused.cut && focused.scrolls === 'auto', `and scrolls sideways: ${JSON.stringify(focused)}`);
  assert.ok(await row.locator('td[data-label="First name"]').evaluate((td) => td.scrollWidth <= td.clientWidth),
    'the long name is whole');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('on a 320 px phone each customer is a card, with nothing wider than the screen', async () => {
  await seed();
  const { page, problems } = await newPage(shared.browser);
  await page.setViewportSize({ width: 320, height: 640 });
  await page.goto(shared.server.base + '/');
  await waitForHydration(page);
  const layout = await page.evaluate(() => {
    const row = document.querySelector('tbody tr');
    const cells = [...row.querySelectorAll('td:not(.select)')];
    return {
      pageWidth: document.documentElement.scrollWidth,
      lefts: cells.slice(0, 3).map((td) => Math.round(td.getBoundingClientRect().left)),
      widths: cells.slice(0, 3).map((td) => Math.round(td.getBoundingClientRect().width)),
      label: getComputedStyle(cells[1], '::before').content,
    };
  });
  assert.ok(layout.pageWidth <= 320, `no sideways scrolling: ${layout.pageWidth}`);
  assert.equal(new Set(layout.lefts).size, 1, 'the fields are stacked, not side by side');
  assert.ok(layout.widths.every((w) => w > 200), `each field has the card's width: ${layout.widths}`);
  assert.equal(layout.label, '"First name: "');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('while the next page loads, the list is marked busy and dimmed', async () => {
  await seed();
  const { page, problems } = await newPage(shared.browser);
  await page.goto(shared.server.base + '/');
  await waitForHydration(page);
  const results = page.locator('.results');
  assert.equal(await results.getAttribute('aria-busy'), 'false');
  const before = await firstId(page);
  // A slow network: every request takes 1.5 s more.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 1500, downloadThroughput: -1, uploadThroughput: -1,
  });
  await page.locator('.pager a', { hasText: 'Next' }).click();
  await page.waitForSelector('.results[aria-busy="true"].pending');
  assert.equal(await firstId(page), before, 'the old page stays meanwhile');
  await page.waitForFunction(() => document.querySelector('.results')?.getAttribute('aria-busy') === 'false',
    null, { timeout: 15000 });
  assert.match(await shown(page), /^Showing 26–50 of /);
  assert.equal(await results.getAttribute('class'), 'results');
  assert.deepEqual(problems, []);
  await page.context().close();
});

// Last in this file: it removes customers the tests above count on.
for (const javaScriptEnabled of [true, false]) {
  test(`a row's Delete deletes (at once with JavaScript, after a confirmation without) (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    await seed();
    const id = javaScriptEnabled ? 'p052' : 'p051';
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(shared.server.base + '/?last=1');
    if (javaScriptEnabled) await waitForHydration(page);
    const total = Number((await shown(page)).match(/of (\d+)$/)[1]);
    await page.getByRole('link', { name: `Delete Paged Customer ${id.slice(1) * 1}` }).click();
    if (!javaScriptEnabled) {
      await page.waitForURL((url) => url.pathname === '/delete' && url.searchParams.get('id') === id);
      assert.equal((await fetch(`${shared.server.base}/get/${id}`)).status, 200, 'not before confirming');
      await page.getByRole('button', { name: 'Yes, delete' }).click();
    }
    await page.waitForURL((url) => url.searchParams.get('deleted') === id);
    // With JavaScript the list stays where it was (the last page).
    if (javaScriptEnabled) assert.equal(new URL(page.url()).searchParams.get('last'), '1');
    await page.getByText(`Deleted customer “${id}”.`).waitFor();
    assert.equal((await fetch(`${shared.server.base}/get/${id}`)).status, 404);
    await page.waitForFunction((total) => document.querySelector('.pager .shown')?.textContent.endsWith(`of ${total - 1}`), total);
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}
