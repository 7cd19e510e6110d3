// Finding one's way: the skip link moves focus to the content, with and without
// JavaScript; every page has a meta description, and the edit page's title
// names the customer, whether opened directly or reached from the list.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration } from './harness.mjs';

const shared = useServerAndBrowser();

for (const javaScriptEnabled of [true, false]) {
  test(`the skip link moves focus to the content (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(shared.server.base + '/');
    if (javaScriptEnabled) await waitForHydration(page);
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement.id === 'main');
    // The next Tab goes on from the content, not from the header's links.
    await page.keyboard.press('Tab');
    assert.ok(
      await page.evaluate(() => document.querySelector('main').contains(document.activeElement)),
      'Tab after the skip link stays in the content',
    );
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}

test('titles name the customer being edited; pages have a description', async () => {
  const { page, problems } = await newPage(shared.browser);
  await page.goto(shared.server.base + '/edit?id=a');
  assert.equal(await page.title(), 'Edit James Baker (a) · Customer records');
  const description = await page.locator('meta[name="description"]').getAttribute('content');
  assert.match(description, /customer/i);

  // From the list to an edit page, navigated by the router.
  await page.goto(shared.server.base + '/');
  await waitForHydration(page);
  assert.equal(await page.title(), 'Customers · Customer records');
  await page.locator('a[href="/edit?id=a"]').first().click();
  await page.waitForFunction(() => document.title.startsWith('Edit James Baker (a)'));
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('Escape on the delete page cancels, as its Cancel link does', async () => {
  const { page, problems } = await newPage(shared.browser);
  await page.goto(shared.server.base + '/delete?id=a');
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Yes, delete' }).waitFor();
  await page.keyboard.press('Escape');
  await page.waitForURL((url) => url.pathname === '/edit' && url.search === '?id=a');
  await page.getByLabel('First name').waitFor();
  const stored = await fetch(`${shared.server.base}/get/a`);
  assert.equal(stored.status, 200, 'nothing deleted');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('Escape on a form cancels as its Cancel link does, asking first when something was typed', async () => {
  const { page, problems } = await newPage(shared.browser);
  const dialogs = [];
  let accept = false;
  page.on('dialog', async (dialog) => {
    dialogs.push(dialog.message());
    await (accept ? dialog.accept() : dialog.dismiss());
  });
  // Unchanged: straight to the list.
  await page.goto(shared.server.base + '/edit?id=a');
  await waitForHydration(page);
  await page.getByLabel('First name').focus();
  await page.keyboard.press('Escape');
  await page.waitForURL((url) => url.pathname === '/' && url.search === '');
  assert.deepEqual(dialogs, []);
  // Typed in: asked; declined, the text stays.
  await page.goto(shared.server.base + '/new');
  await waitForHydration(page);
  await page.getByLabel('First name').fill('Half typed');
  await page.keyboard.press('Escape');
  await page.waitForTimeout(300);
  assert.deepEqual(dialogs, ['Discard your changes?']);
  assert.equal(new URL(page.url()).pathname, '/new');
  assert.equal(await page.getByLabel('First name').inputValue(), 'Half typed');
  // Confirmed: to the list, nothing saved.
  accept = true;
  await page.keyboard.press('Escape');
  await page.waitForURL((url) => url.pathname === '/');
  assert.equal(dialogs.length, 2);
  // With a modifier, or on the import page's file form, as the page says.
  await page.goto(shared.server.base + '/import');
  await waitForHydration(page);
  await page.keyboard.press('Shift+Escape');
  await page.waitForTimeout(300);
  assert.equal(new URL(page.url()).pathname, '/import');
  await page.keyboard.press('Escape');
  await page.waitForURL((url) => url.pathname === '/');
  const list = await (await fetch(`${shared.server.base}/`)).json();
  assert.ok(!Object.values(list).some((c) => c.firstName === 'Half typed'), 'nothing saved');
  assert.deepEqual(problems, []);
  await page.context().close();
});
