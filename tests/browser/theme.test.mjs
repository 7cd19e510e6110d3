// The theme switch: System / Light / Dark, remembered in a cookie so that the
// server renders pages in it from the first byte; with and without JavaScript,
// and over a dark system preference.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration } from './harness.mjs';

const shared = useServerAndBrowser();

const LIGHT = 'rgb(246, 247, 249)';
const DARK = 'rgb(18, 22, 28)';
const background = (page) =>
  page.evaluate(() => getComputedStyle(document.documentElement).backgroundColor);
const waitForBackground = (page, colour) =>
  page.waitForFunction(
    (colour) => getComputedStyle(document.documentElement).backgroundColor === colour,
    colour,
  );
const pressed = (page) =>
  page.locator('.theme-switch button[aria-pressed="true"]').allTextContents();

for (const javaScriptEnabled of [true, false]) {
  const js = `JavaScript ${javaScriptEnabled ? 'on' : 'off'}`;

  test(`Dark applies at once, stays on the page, and is remembered (${js})`, async () => {
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(shared.server.base + '/edit?id=a');
    if (javaScriptEnabled) await waitForHydration(page);
    assert.equal(await background(page), LIGHT);
    assert.deepEqual(await pressed(page), ['System']);

    await page.getByRole('button', { name: 'Dark' }).click();
    await waitForBackground(page, DARK);
    assert.equal(new URL(page.url()).pathname + new URL(page.url()).search, '/edit?id=a');
    assert.equal(await page.getByLabel('First name').inputValue(), 'James');
    assert.deepEqual(await pressed(page), ['Dark']);
    const cookie = (await page.context().cookies()).find((c) => c.name === 'theme');
    assert.equal(cookie?.value, 'dark');

    // Remembered: the next page comes dark from the server itself.
    await page.goto(shared.server.base + '/');
    assert.equal(await page.locator('html').getAttribute('data-theme'), 'dark');
    assert.equal(await background(page), DARK);
    if (javaScriptEnabled) await waitForHydration(page);
    assert.deepEqual(await pressed(page), ['Dark']);

    // System forgets the choice.
    await page.getByRole('button', { name: 'System' }).click();
    await waitForBackground(page, LIGHT);
    assert.equal(await page.locator('html').getAttribute('data-theme'), null);
    assert.equal((await page.context().cookies()).find((c) => c.name === 'theme'), undefined);
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}

test('Light wins over a dark system preference', async () => {
  const { page, problems } = await newPage(shared.browser);
  await page.emulateMedia({ colorScheme: 'dark' });
  await page.goto(shared.server.base + '/');
  await waitForHydration(page);
  assert.equal(await background(page), DARK, 'the system theme by default');
  await page.getByRole('button', { name: 'Light' }).click();
  await waitForBackground(page, LIGHT);
  await page.reload();
  assert.equal(await background(page), LIGHT, 'after a reload too');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('/theme takes only the three themes, and sends the browser back only to this site', async () => {
  const post = (body) => fetch(`${shared.server.base}/theme`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body,
    redirect: 'manual',
  });
  for (const body of ['theme=purple', 'back=%2F', '', 'theme=dark&theme=light']) {
    const answer = await post(body);
    assert.equal(answer.status, 400, body);
    assert.equal(answer.headers.get('set-cookie'), null, body);
  }
  const elsewhere = await post('theme=dark&back=%2F%2Fevil.example');
  assert.equal(elsewhere.status, 303);
  assert.equal(elsewhere.headers.get('location'), '/');
  assert.match(elsewhere.headers.get('set-cookie'), /^theme=dark; Path=\/; Max-Age=31536000; SameSite=Lax$/);
  const back = await post('theme=light&back=%2Fedit%3Fid%3Da');
  assert.equal(back.headers.get('location'), '/edit?id=a');
});
