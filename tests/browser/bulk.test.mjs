// Bulk work in the list, in real headless Chromium: ticking rows (and every row
// of the page), deleting the ticked customers after one confirmation, and
// undoing a deletion from the list's notice, with and without JavaScript.
// Customers changed by someone else after they were ticked are not deleted, and
// an undo never overwrites a customer created again meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration, legacyApi } from './harness.mjs';

const shared = useServerAndBrowser();

const { get: apiGet, set: apiSet } = legacyApi(shared);

for (const javaScriptEnabled of [true, false]) {
  const js = `JavaScript ${javaScriptEnabled ? 'on' : 'off'}`;

  test(`ticked customers are deleted after one confirmation, and Undo brings them back (${js})`, async () => {
    const [x, y] = javaScriptEnabled ? ['bulk-j1', 'bulk-j2'] : ['bulk-n1', 'bulk-n2'];
    await apiSet(x, 'Bulk', `First ${js}`);
    await apiSet(y, 'Bulk', `Second ${js}`);
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(`${shared.server.base}/?q=${encodeURIComponent(js)}`);
    if (javaScriptEnabled) await waitForHydration(page);
    await page.getByText(`2 customers match “${js}”`).waitFor();

    if (javaScriptEnabled) {
      // Select-all ticks every row of the page, and says how many.
      await page.getByLabel('Select every customer on this page').check();
      await page.getByText('2 selected').waitFor();
      assert.equal(await page.getByLabel(`Select Bulk First ${js}`).isChecked(), true);
      await page.getByLabel('Select every customer on this page').uncheck();
      assert.equal(await page.getByLabel(`Select Bulk Second ${js}`).isChecked(), false);
    }
    await page.getByLabel(`Select Bulk First ${js}`).check();
    await page.getByLabel(`Select Bulk Second ${js}`).check();
    if (javaScriptEnabled) await page.getByText('2 selected').waitFor();
    await page.getByRole('button', { name: 'Delete selected…' }).click();

    // One confirmation names both.
    await page.waitForURL((url) => url.pathname === '/delete');
    assert.deepEqual(new URL(page.url()).searchParams.getAll('id'), [x, y]);
    await page.getByText('Delete these 2 customers?').waitFor();
    await page.getByText(`Bulk First ${js}`).waitFor();
    await page.getByText(`Bulk Second ${js}`).waitFor();
    if (javaScriptEnabled) await waitForHydration(page);
    await page.getByRole('button', { name: 'Yes, delete 2 customers' }).click();

    await page.getByText('Deleted 2 customers.').waitFor();
    assert.equal((await apiGet(x)).status, 404);
    assert.equal((await apiGet(y)).status, 404);

    // Undo restores both as they were (from the audit trail).
    if (javaScriptEnabled) await waitForHydration(page);
    await page.getByRole('button', { name: 'Undo' }).click();
    await page.getByText('Restored 2 customers.').waitFor();
    assert.deepEqual(await apiGet(x), {
      status: 200,
      body: { customerID: x, firstName: 'Bulk', lastName: `First ${js}` },
    });
    assert.equal((await apiGet(y)).body.lastName, `Second ${js}`);
    assert.deepEqual(problems, []);
    await page.context().close();
  });

  test(`a customer changed after it was ticked is kept, and says so (${js})`, async () => {
    const [x, y] = javaScriptEnabled ? ['keep-j1', 'keep-j2'] : ['keep-n1', 'keep-n2'];
    await apiSet(x, 'Keep', 'One');
    await apiSet(y, 'Keep', 'Two');
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(`${shared.server.base}/delete?id=${x}&id=${y}`);
    await page.getByText('Delete these 2 customers?').waitFor();
    if (javaScriptEnabled) await waitForHydration(page);
    // Someone else edits one of them while the confirmation is open.
    await apiSet(y, 'Keep', 'Changed meanwhile');
    await page.getByRole('button', { name: 'Yes, delete 2 customers' }).click();
    await page.getByText(`Deleted customer “${x}”.`).waitFor();
    await page.getByText(`Not deleted: “${y}”.`).waitFor();
    assert.equal((await apiGet(x)).status, 404);
    assert.equal((await apiGet(y)).body.lastName, 'Changed meanwhile');
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}

test('Undo never overwrites a customer created again with the same ID', async () => {
  await apiSet('undo-1', 'Old', 'Record');
  const { page, problems } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/delete?id=undo-1`);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await page.getByText('Deleted customer “undo-1”.').waitFor();
  await apiSet('undo-1', 'New', 'Record');
  await page.getByRole('button', { name: 'Undo' }).click();
  await page.getByText('Not restored: “undo-1”.').waitFor();
  assert.equal((await apiGet('undo-1')).body.firstName, 'New');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('with JavaScript the Undo notice goes after 10 seconds, as a toast does', async () => {
  await apiSet('toast-1', 'Toast', 'Gone');
  const { page, problems } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/delete?id=toast-1`);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  const notice = page.getByText('Deleted customer “toast-1”.');
  await notice.waitFor();
  const shown = Date.now();
  await notice.waitFor({ state: 'detached', timeout: 15000 });
  const after = Date.now() - shown;
  assert.ok(after > 8000 && after < 13000, `gone after about 10 s: ${after} ms`);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('bulk requests a form of ours never sends are refused with 400, and nothing changes', async () => {
  await apiSet('guard-1', 'Guard', 'One');
  const post = (endpoint, body) => fetch(`${shared.server.base}/api/${endpoint}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
  });
  const version = (await (await fetch(`${shared.server.base}/api/get_customer`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: 'id=guard-1',
  })).json()).version;
  const tooMany = Array.from({ length: 101 }, (_, n) => `ids[${n}]=x${n}&versions[${n}]=1`).join('&');
  for (const [endpoint, body] of [
    ['delete_customers', 'ids[0]=guard-1'],
    ['delete_customers', `ids[0]=guard-1&versions[0]=${version}&ids[1]=guard-1&versions[1]=${version}`],
    ['delete_customers', `ids[0]=guard-1&versions[0]=not-a-number`],
    ['delete_customers', tooMany],
    ['restore_customers', ''],
  ]) {
    const response = await post(endpoint, body);
    assert.equal(response.status, 400, `${endpoint} ${body.slice(0, 80)}: ${response.status}`);
  }
  assert.equal((await apiGet('guard-1')).status, 200);
});

test('the list offers every customer as a CSV or JSON download', async () => {
  const { page, problems } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/`);
  await waitForHydration(page);
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'CSV' }).click(),
  ]);
  assert.equal(download.suggestedFilename(), 'customers.csv');
  const path = await download.path();
  const { readFileSync } = await import('node:fs');
  const lines = readFileSync(path, 'utf8').split('\r\n');
  assert.equal(lines[0], 'customerID,firstName,lastName');
  assert.ok(lines.includes('a,James,Baker'), lines.slice(0, 3).join(' | '));
  assert.equal(await page.getByRole('link', { name: 'JSON' }).getAttribute('href'), '/export');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('with JavaScript, Delete in a row deletes at once, keeps the list, and Undo brings it back', async () => {
  await apiSet('row-del-1', 'Rowdel', 'Straight');
  await apiSet('row-del-2', 'Rowdel', 'Other');
  const { page, problems } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/?q=Rowdel&sort=last`);
  await waitForHydration(page);
  await page.getByText('2 customers match “Rowdel”').waitFor();
  await page.getByRole('link', { name: 'Delete Rowdel Straight' }).click();

  await page.getByText('Deleted customer “row-del-1”.').waitFor();
  const url = new URL(page.url());
  assert.equal(url.pathname, '/');
  assert.equal(url.searchParams.get('q'), 'Rowdel');
  assert.equal(url.searchParams.get('sort'), 'last');
  assert.equal(url.searchParams.get('deleted'), 'row-del-1');
  await page.getByText('1 customer matches “Rowdel”').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Delete Rowdel Straight' }).count(), 0);
  assert.equal((await apiGet('row-del-1')).status, 404);

  await page.getByRole('button', { name: 'Undo' }).click();
  await page.getByText('Restored customer “row-del-1”.').waitFor();
  assert.equal((await apiGet('row-del-1')).body.lastName, 'Straight');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('deleting the last row of the last page shows the page before it, not an empty list', async () => {
  for (let n = 1; n <= 26; n++) await apiSet(`lastrow-${String(n).padStart(2, '0')}`, 'Lastrow', `N${n}`);
  const { page, problems } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/?q=Lastrow`);
  await waitForHydration(page);
  await page.getByRole('link', { name: 'Next' }).first().click();
  await page.getByText('Showing 26–26 of 26').waitFor();
  await page.getByRole('link', { name: 'Delete Lastrow N26' }).click();
  await page.getByText('Deleted customer “lastrow-26”.').waitFor();
  await page.getByText('25 customers match “Lastrow”').waitFor();
  await page.getByText('Showing 1–25 of 25').waitFor();
  assert.equal(await page.locator('tbody tr').count(), 25);
  assert.equal(await page.getByText('No customers yet.').count(), 0);
  // An old link past the end, without JavaScript: the nearest page too.
  const { page: plain, problems: plainProblems } = await newPage(shared.browser, { javaScriptEnabled: false });
  await plain.goto(`${shared.server.base}/?q=Lastrow&after=lastrow-25`);
  await plain.getByText('Showing 1–25 of 25').waitFor();
  await plain.goto(`${shared.server.base}/?q=Lastrow&before=lastrow-01`);
  await plain.getByText('Showing 1–25 of 25').waitFor();
  assert.deepEqual([...problems, ...plainProblems], []);
  await page.context().close();
  await plain.context().close();
});

test('with JavaScript, a row changed by someone else since it was shown goes to the confirmation instead', async () => {
  await apiSet('row-del-3', 'Rowchg', 'Before');
  const { page, problems } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/?q=Rowchg`);
  await waitForHydration(page);
  await page.getByText('1 customer matches “Rowchg”').waitFor();
  await apiSet('row-del-3', 'Rowchg', 'After');
  await page.getByRole('link', { name: 'Delete Rowchg Before' }).click();

  await page.waitForURL((url) => url.pathname === '/delete' && url.searchParams.get('id') === 'row-del-3');
  await page.getByText('Rowchg After').waitFor();
  assert.equal((await apiGet('row-del-3')).body.lastName, 'After');
  // The refused deletion's 409 is the only thing the console reports.
  assert.deepEqual(problems.filter((p) => !p.includes('409 (Conflict)')), []);
  await page.context().close();
});

test('a row ticked before the page hydrates counts as selected once it has', async () => {
  await apiSet('bulk-early', 'Bulk', 'Ticked early');
  const { page, problems } = await newPage(shared.browser);
  // Hold the module back so that the box is ticked on the server's HTML.
  let release;
  const held = new Promise((resolve) => { release = resolve; });
  await page.route('**/pkg/*.wasm', async (route) => { await held; await route.continue(); });
  await page.goto(`${shared.server.base}/?q=${encodeURIComponent('Ticked early')}`, { waitUntil: 'domcontentloaded' });
  await page.getByLabel('Select Bulk Ticked early').check();
  assert.equal(await page.locator('html[data-hydrated]').count(), 0, 'ticked before hydration');
  release();
  await waitForHydration(page);
  await page.getByText('1 selected').waitFor();
  assert.equal(await page.getByLabel('Select Bulk Ticked early').isChecked(), true);
  assert.equal(await page.getByRole('button', { name: 'Delete selected…' }).isEnabled(), true);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('an Undo refused without JavaScript is said above the list, and the Undo stays offered', async () => {
  await apiSet('undo-n1', 'Undo', 'Refused');
  const { page, problems } = await newPage(shared.browser, { javaScriptEnabled: false });
  await page.goto(`${shared.server.base}/delete?id=undo-n1`);
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await page.getByText('Deleted customer “undo-n1”.').waitFor();
  // The Undo's post as no form of ours sends it (the ID twice), so the server
  // refuses it: the list it answers with says why.
  await page.route('**/api/restore_customers', (route) =>
    route.continue({ postData: `${route.request().postData()}&ids[1]=undo-n1` }));
  await page.getByRole('button', { name: 'Undo' }).click();
  await page.getByRole('alert').getByText('customer “undo-n1” is named twice').waitFor();
  assert.equal((await apiGet('undo-n1')).status, 404, 'nothing restored');
  // The Undo is still there, and works.
  await page.unroute('**/api/restore_customers');
  await page.getByRole('button', { name: 'Undo' }).click();
  await page.getByText('Restored customer “undo-n1”.').waitFor();
  assert.equal((await apiGet('undo-n1')).status, 200);
  assert.equal(await page.getByRole('alert').count(), 0);
  // The refused post's page came with its 400, which the console notes.
  assert.deepEqual(problems.filter((p) => !p.includes('status of 400')), []);
  await page.context().close();
});
