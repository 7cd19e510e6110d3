// Forms that help: the server's own rules checked while typing and on leaving a
// field (before any submit), a counter near the length limit, a note about
// spaces around names, and focus on the first refused field after a save,
// with and without JavaScript.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration } from './harness.mjs';

const shared = useServerAndBrowser();

const errorOf = (page, name) => page.locator(`#${name}-error`);
const hintOf = (page, name) => page.locator(`#${name}-hint`);

test('fields are checked as the user types and leaves them, before any submit', async () => {
  const { page, problems } = await newPage(shared.browser);
  const saves = [];
  page.on('request', (request) => {
    if (request.url().includes('/api/save_customer')) saves.push(request.url());
  });
  await page.goto(shared.server.base + '/new');
  await waitForHydration(page);
  const first = page.getByLabel('First name');

  await first.fill('n'.repeat(205));
  await errorOf(page, 'firstName').waitFor();
  assert.equal(await errorOf(page, 'firstName').textContent(),
    'First name can be at most 200 characters; this one has 205');
  assert.equal(await hintOf(page, 'firstName').textContent(), '205 of 200 characters.');
  assert.equal(await first.getAttribute('aria-invalid'), 'true');
  assert.equal(await first.getAttribute('aria-describedby'), 'firstName-error firstName-hint');
  assert.equal((await first.inputValue()).length, 205, 'nothing cut');

  await first.fill('n'.repeat(170));
  await errorOf(page, 'firstName').waitFor({ state: 'detached' });
  assert.equal(await hintOf(page, 'firstName').textContent(), '170 of 200 characters.');
  assert.equal(await first.getAttribute('aria-invalid'), 'false');

  // Pasted decomposed (e and a combining accent, as macOS writes names): counted
  // as the server stores and counts it, one character each.
  await first.fill('e\u0301'.repeat(170));
  await page.waitForFunction(() => document.querySelector('#firstName-hint')?.textContent
    === '170 of 200 characters.');
  assert.equal(await errorOf(page, 'firstName').count(), 0);
  await first.fill('e\u0301'.repeat(201));
  await page.waitForFunction(() => document.querySelector('#firstName-error')?.textContent
    === 'First name can be at most 200 characters; this one has 201');

  await first.fill('  Ada ');
  await page.waitForFunction(() => document.querySelector('#firstName-hint')?.textContent
    === 'Spaces at the start or end will be removed.');
  assert.equal(await errorOf(page, 'firstName').count(), 0, 'a note, not an error');

  // "Required" waits until the user leaves the field.
  const id = page.getByLabel('Customer ID');
  await id.fill('x');
  await id.fill('');
  assert.equal(await errorOf(page, 'customerID').count(), 0, 'not while still typing');
  await id.blur();
  await errorOf(page, 'customerID').waitFor();
  assert.equal(await errorOf(page, 'customerID').textContent(), 'Customer ID is required');
  await id.fill('a/b');
  await page.waitForFunction(() => document.querySelector('#customerID-error')?.textContent
    === 'Customer ID cannot contain “/”');
  await id.fill('fine-id');
  await errorOf(page, 'customerID').waitFor({ state: 'detached' });

  assert.deepEqual(saves, [], 'all of it without asking the server');
  assert.deepEqual(problems, []);
  await page.context().close();
});

for (const javaScriptEnabled of [true, false]) {
  test(`a refused save puts focus on the first refused field (JavaScript ${javaScriptEnabled ? 'on' : 'off'})`, async () => {
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(shared.server.base + '/new');
    if (javaScriptEnabled) await waitForHydration(page);
    await page.getByLabel('Customer ID').fill(`focus-${javaScriptEnabled}`);
    await page.getByLabel('First name').fill('Ada');
    await page.getByLabel('Last name').fill('   ');
    await page.getByRole('button', { name: 'Create customer' }).click();
    await errorOf(page, 'lastName').waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'lastName');
    assert.equal(await errorOf(page, 'lastName').textContent(), 'Last name is required');

    // A taken ID comes only from the server; it stays until the ID is changed.
    await page.getByLabel('Customer ID').fill('a');
    await page.getByLabel('Last name').fill('Lovelace');
    await page.getByRole('button', { name: 'Create customer' }).click();
    await page.waitForFunction(() => document.querySelector('#customerID-error')?.textContent
      === 'Customer ID “a” is already taken');
    await page.waitForFunction(() => document.activeElement?.id === 'customerID');
    if (javaScriptEnabled) {
      await page.getByLabel('Customer ID').fill('a-new');
      await errorOf(page, 'customerID').waitFor({ state: 'detached' });
    }
    // The refusals are 400 answers, which the console reports; nothing else.
    const refused = /status of 400 \(Bad Request\)$/;
    assert.deepEqual(problems.filter((p) => !refused.test(p)), []);
    await page.context().close();
  });
}
