// Two people editing one customer in real Chromium, with and without JavaScript:
// the second save is refused and shows both versions; the user keeps theirs or
// overwrites; an edit of a customer deleted meanwhile offers to create it again;
// a delete confirmed for an older version asks again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration } from './harness.mjs';

const shared = useServerAndBrowser();

async function apiSet(customerID, firstName, lastName) {
  const response = await fetch(`${shared.server.base}/set`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ customerID, firstName, lastName }),
  });
  assert.equal(response.status, 200);
}

async function apiGet(id) {
  const response = await fetch(`${shared.server.base}/get/${encodeURIComponent(id)}`);
  return { status: response.status, body: await response.json() };
}

/** Console problems other than the refused saves' own answers: 409 to the UI's
 *  requests, or, without JavaScript, the form page answered in place with 400. */
const unexpected = (problems) =>
  problems.filter((p) => !p.includes('status of 409') && !p.includes('status of 400'));

async function openEditor(id, javaScriptEnabled) {
  const opened = await newPage(shared.browser, { javaScriptEnabled });
  await opened.page.goto(`${shared.server.base}/edit?id=${encodeURIComponent(id)}`);
  if (javaScriptEnabled) await waitForHydration(opened.page);
  await opened.page.getByLabel('First name').waitFor();
  return opened;
}

for (const javaScriptEnabled of [true, false]) {
  const mode = javaScriptEnabled ? 'with JavaScript' : 'without JavaScript';

  test(`the second of two editors sees the conflict and chooses (${mode})`, async () => {
    const id = `both-${javaScriptEnabled}`;
    await apiSet(id, 'Original', 'Name');
    const alice = await openEditor(id, javaScriptEnabled);
    const bob = await openEditor(id, javaScriptEnabled);

    await alice.page.getByLabel('First name').fill('Alice was here');
    await alice.page.getByRole('button', { name: 'Save changes' }).click();
    await alice.page.getByText(`Saved customer “${id}”.`).waitFor();

    await bob.page.getByLabel('Last name').fill('Bob was here');
    await bob.page.getByRole('button', { name: 'Save changes' }).click();
    const notice = bob.page.getByRole('alert').filter({ hasText: 'Someone else changed this customer' });
    await notice.waitFor();
    // Their saved values beside Bob's, and Bob's input kept in the form.
    await notice.getByRole('cell', { name: 'Alice was here' }).waitFor();
    await notice.getByRole('cell', { name: 'Bob was here' }).waitFor();
    assert.equal(await bob.page.getByLabel('Last name').inputValue(), 'Bob was here');
    assert.deepEqual((await apiGet(id)).body, { customerID: id, firstName: 'Alice was here', lastName: 'Name' },
      'the refused save changed nothing');

    // Bob decides to overwrite: his form now expects the version he has seen.
    await bob.page.getByRole('button', { name: 'Overwrite with my changes' }).click();
    await bob.page.getByText(`Saved customer “${id}”.`).waitFor();
    assert.deepEqual((await apiGet(id)).body, { customerID: id, firstName: 'Original', lastName: 'Bob was here' });

    // Next time Alice (still on her old form) is refused, and keeps theirs instead.
    await alice.page.goto(`${shared.server.base}/edit?id=${id}`);
    if (javaScriptEnabled) await waitForHydration(alice.page);
    await apiSet(id, 'Changed', 'Meanwhile');
    await alice.page.getByLabel('First name').fill('Alice again');
    await alice.page.getByRole('button', { name: 'Save changes' }).click();
    await alice.page.getByText('Someone else changed this customer').waitFor();
    await alice.page.getByRole('link', { name: 'Discard mine, keep theirs' }).click();
    await alice.page.waitForURL((url) => !url.search.includes('__err'));
    assert.equal(await alice.page.getByLabel('First name').inputValue(), 'Changed');
    assert.equal(await alice.page.getByText('Someone else changed').count(), 0);
    assert.equal((await apiGet(id)).body.firstName, 'Changed');

    assert.deepEqual(unexpected(alice.problems), []);
    assert.deepEqual(unexpected(bob.problems), []);
    await alice.page.context().close();
    await bob.page.context().close();
  });

  test(`editing a customer deleted meanwhile offers to create it again (${mode})`, async () => {
    const id = `gone-${javaScriptEnabled}`;
    await apiSet(id, 'Soon', 'Gone');
    const editor = await openEditor(id, javaScriptEnabled);
    const form = new URLSearchParams({ customerID: id });
    const deleted = await fetch(`${shared.server.base}/api/delete_customer`, { method: 'POST', body: form });
    assert.ok(deleted.status < 400, `deleted (${deleted.status})`);

    await editor.page.getByLabel('First name').fill('Back');
    await editor.page.getByRole('button', { name: 'Save changes' }).click();
    await editor.page.getByText('Someone else deleted this customer').waitFor();
    assert.equal((await apiGet(id)).status, 404, 'the refused save did not bring it back');
    assert.equal(await editor.page.getByLabel('First name').inputValue(), 'Back');
    await editor.page.getByRole('button', { name: 'Create it again' }).click();
    await editor.page.getByText(`Saved customer “${id}”.`).waitFor();
    assert.deepEqual((await apiGet(id)).body, { customerID: id, firstName: 'Back', lastName: 'Gone' });
    // Without JavaScript the refused save comes back to /edit for a customer that is
    // gone: that page is a 404 (showing the form to create it again), as it should be.
    const expected = (p) => !javaScriptEnabled && p.includes('status of 404');
    assert.deepEqual(unexpected(editor.problems).filter((p) => !expected(p)), []);
    await editor.page.context().close();
  });

  test(`a delete confirmed for an older version asks again (${mode})`, async () => {
    const id = `changed-${javaScriptEnabled}`;
    await apiSet(id, 'Before', 'Change');
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(`${shared.server.base}/delete?id=${id}`);
    if (javaScriptEnabled) await waitForHydration(page);
    await page.getByText('Before Change').waitFor();
    await apiSet(id, 'After', 'Change');

    await page.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByText('This customer was changed after you opened this page').waitFor();
    await page.getByText('After Change').waitFor();
    assert.equal((await apiGet(id)).status, 200, 'not deleted');
    await page.getByRole('button', { name: 'Yes, delete' }).click();
    await page.getByText(`Deleted customer “${id}”.`).waitFor();
    assert.equal((await apiGet(id)).status, 404);
    assert.deepEqual(unexpected(problems), []);
    await page.context().close();
  });
}
