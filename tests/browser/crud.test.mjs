// The web UI in real headless Chromium: the whole create → list → search → edit →
// delete journey with JavaScript, and creating a customer without it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration } from './harness.mjs';

const shared = useServerAndBrowser();

async function apiGet(id) {
  const response = await fetch(`${shared.server.base}/get/${encodeURIComponent(id)}`);
  return { status: response.status, body: await response.json() };
}

test('create, find, edit and delete a customer with JavaScript', async () => {
  const { page, problems } = await newPage(shared.browser);
  await page.goto(shared.server.base + '/');
  await waitForHydration(page);
  await page.getByText('7 customers').waitFor();

  // Create.
  await page.getByRole('link', { name: 'New customer' }).click();
  await page.getByLabel('Customer ID').fill('ui-1');
  await page.getByLabel('First name').fill('Ada');
  await page.getByLabel('Last name').fill('Lovelace');
  await page.getByRole('button', { name: 'Create customer' }).click();
  await page.getByText('Saved customer “ui-1”.').waitFor();
  assert.deepEqual(await apiGet('ui-1'), {
    status: 200,
    body: { customerID: 'ui-1', firstName: 'Ada', lastName: 'Lovelace' },
  });

  // It appears in the list, and the search (as you type) finds it, with one
  // request once typing pauses rather than one per key.
  await page.getByRole('cell', { name: 'Lovelace', exact: true }).waitFor();
  const searches = [];
  page.on('request', (request) => {
    if (request.url().includes('/api/list_customers')) searches.push(request.url());
  });
  await page.getByLabel('Search by ID or name').pressSequentially('lovel', { delay: 20 });
  await page.getByText('1 customer matches “lovel”').waitFor();
  assert.equal(await page.locator('tbody tr').count(), 1);
  assert.ok(searches.length <= 2, `one search per pause, not per key: ${searches.length}`);
  // Enter keeps the URL clean (the unnamed button adds nothing).
  await page.getByLabel('Search by ID or name').press('Enter');
  await page.waitForURL((url) => url.search.startsWith('?q=lovel'));
  assert.ok(!page.url().includes('&='), page.url());

  // Edit.
  await page.getByRole('link', { name: 'Edit Ada Lovelace' }).click();
  const first = page.getByLabel('First name');
  await first.waitFor();
  assert.equal(await page.getByLabel('Customer ID').getAttribute('readonly'), '');
  await first.fill('Augusta Ada');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved customer “ui-1”.').waitFor();
  assert.equal((await apiGet('ui-1')).body.firstName, 'Augusta Ada');

  assert.deepEqual(problems, [], 'no console errors so far');

  // Validation errors show next to the field, from the shared rules, and nothing is saved.
  // (The rejected save is a 400, which Chromium logs; nothing else may be logged.)
  await page.goto(shared.server.base + '/edit?id=ui-1');
  await waitForHydration(page);
  await page.getByLabel('Last name').fill('   ');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.locator('#lastName-error').getByText('Last name is required').waitFor();
  assert.equal(await page.getByLabel('Last name').getAttribute('aria-invalid'), 'true');
  assert.equal((await apiGet('ui-1')).body.lastName, 'Lovelace');

  // Delete, after confirming.
  await page.getByRole('link', { name: 'Delete this customer…' }).click();
  await page.getByText('The list then offers to undo it.').waitFor();
  await page.getByRole('button', { name: 'Yes, delete' }).click();
  await page.getByText('Deleted customer “ui-1”.').waitFor();
  assert.equal((await apiGet('ui-1')).status, 404);

  assert.deepEqual(problems.filter((p) => !p.includes('status of 400')), [], 'no console errors');
  await page.context().close();
});

test('a customer saved through the API shows in the UI at once', async () => {
  const response = await fetch(`${shared.server.base}/set`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ customerID: 'api-1', firstName: 'Grace', lastName: 'Hopper' }),
  });
  assert.equal(response.status, 200);
  const { page, problems } = await newPage(shared.browser);
  await page.goto(shared.server.base + '/?q=hopper');
  await waitForHydration(page);
  await page.getByRole('cell', { name: 'Hopper', exact: true }).waitFor();
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('create a customer with JavaScript disabled', async () => {
  const { page } = await newPage(shared.browser, { javaScriptEnabled: false });
  await page.goto(shared.server.base + '/new');
  // A validation error comes back on the form, with the input kept.
  await page.getByLabel('Customer ID').fill('nojs/1');
  await page.getByLabel('First name').fill('Alan');
  await page.getByLabel('Last name').fill('Turing');
  await page.getByRole('button', { name: 'Create customer' }).click();
  await page.getByText('Customer ID cannot contain “/”').waitFor();
  assert.equal(await page.getByLabel('First name').inputValue(), 'Alan');

  await page.getByLabel('Customer ID').fill('nojs-1');
  await page.getByRole('button', { name: 'Create customer' }).click();
  await page.getByText('Saved customer “nojs-1”.').waitFor();
  assert.equal((await apiGet('nojs-1')).body.lastName, 'Turing');

  // Plain GET search works too.
  await page.getByLabel('Search by ID or name').fill('turing');
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByText('1 customer matches “turing”').waitFor();
  await page.context().close();
});

test('pages and the empty state', async () => {
  const { page, problems } = await newPage(shared.browser);
  await page.goto(shared.server.base + '/?q=zzz-nobody');
  await waitForHydration(page);
  await page.getByText('No customers match “zzz-nobody”.').waitFor();
  assert.deepEqual(problems, []);
  await page.context().close();
});

for (const javaScriptEnabled of [true, false]) {
  test(`a name over the limit is refused with its length, never cut (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const { page } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(shared.server.base + '/new');
    if (javaScriptEnabled) await waitForHydration(page);
    const long = 'x'.repeat(300);
    const id = `long-${javaScriptEnabled}`;
    await page.getByLabel('Customer ID').fill(id);
    await page.getByLabel('First name').fill(long);
    assert.equal((await page.getByLabel('First name').inputValue()).length, 300, 'all of it is kept');
    await page.getByLabel('Last name').fill('Person');
    await page.getByRole('button', { name: 'Create customer' }).click();
    await page.locator('#firstName-error')
      .getByText('First name can be at most 200 characters; this one has 300').waitFor();
    assert.equal((await page.getByLabel('First name').inputValue()).length, 300, 'shown again whole');
    assert.equal((await apiGet(id)).status, 404, 'nothing saved');
  });
}
