// Signing in and out of the web UI in real headless Chromium, with and without
// JavaScript, on a server that has users (so every page asks for a session);
// what each role sees, the audit trail's pages included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration, startServer, usersCommand } from './harness.mjs';

const users = [
  { name: 'ann', role: 'editor', password: 'ann-password' },
  { name: 'vic', role: 'viewer', password: 'vic-password' },
  { name: 'ada', role: 'admin', password: 'ada-password' },
];
const shared = useServerAndBrowser({ users });

/** Signs in on the sign-in page the browser was sent to. */
async function signIn(page, name, password) {
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function sessionCookie(page) {
  return (await page.context().cookies()).find((c) => c.name === 'session');
}

test('sign in, work and sign out with JavaScript', async () => {
  const { page, problems } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/edit?id=a`);
  // Sent to sign in, and back to the page asked for afterwards.
  await page.waitForURL((url) => url.pathname === '/sign-in');
  await signIn(page, 'ann', 'wrong password');
  await page.getByText('Wrong user name or password.').waitFor();
  assert.equal(await page.getByLabel('User name').inputValue(), 'ann');
  assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password is not sent back');
  assert.equal(await sessionCookie(page), undefined);
  await page.getByLabel('Password').fill('ann-password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL((url) => url.pathname === '/edit' && url.search === '?id=a');
  await waitForHydration(page);
  const cookie = await sessionCookie(page);
  assert.ok(cookie && cookie.httpOnly && cookie.sameSite === 'Lax', JSON.stringify(cookie));
  assert.equal(await page.evaluate(() => document.cookie.includes('session')), false, 'no script reads it');
  await page.getByText('Signed in as').waitFor();
  assert.match(await page.locator('.signed-in').innerText(), /ann \(editor\)/);

  // Work as her: the hydrated page's server functions carry the session.
  await page.getByLabel('First name').fill('Jim');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved customer “a”.').waitFor();

  // Sign out: back at the sign-in page; the pages ask for sign-in again.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((url) => url.pathname === '/sign-in');
  await page.getByText('You have signed out.').waitFor();
  assert.equal(await sessionCookie(page), undefined);
  await page.goto(`${shared.server.base}/`);
  await page.waitForURL((url) => url.pathname === '/sign-in');
  assert.deepEqual(problems.filter((p) => !p.includes('status of 401')), [], 'no console errors (CSP included)');
  await page.context().close();
});

test('sign in, save and sign out without JavaScript', async () => {
  const { page } = await newPage(shared.browser, { javaScriptEnabled: false });
  await page.goto(`${shared.server.base}/new`);
  await page.waitForURL((url) => url.pathname === '/sign-in');
  await signIn(page, 'ann', 'ann-password');
  await page.waitForURL((url) => url.pathname === '/new');
  await page.getByLabel('Customer ID').fill('no-js-1');
  await page.getByLabel('First name').fill('Grace');
  await page.getByLabel('Last name').fill('Hopper');
  await page.getByRole('button', { name: 'Create customer' }).click();
  await page.getByText('Saved customer “no-js-1”.').waitFor();
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL((url) => url.pathname === '/sign-in');
  await page.getByText('You have signed out.').waitFor();
  await page.context().close();
});

test('a viewer signed in sees the customers and is told plainly that saving is not allowed', async () => {
  const { page } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/edit?id=b`);
  await page.waitForURL((url) => url.pathname === '/sign-in');
  await signIn(page, 'vic', 'vic-password');
  await page.waitForURL((url) => url.pathname === '/edit');
  await waitForHydration(page);
  assert.match(await page.locator('.signed-in').innerText(), /vic \(viewer\)/);
  await page.getByLabel('First name').fill('Changed');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('not allowed', { exact: false }).waitFor();
  assert.match(await page.getByRole('alert').first().innerText(), /viewer/);
  await page.context().close();

  // Without JavaScript the form post is answered with a page saying the same.
  const { page: plain } = await newPage(shared.browser, { javaScriptEnabled: false });
  await plain.goto(`${shared.server.base}/edit?id=b`);
  await signIn(plain, 'vic', 'vic-password');
  await plain.waitForURL((url) => url.pathname === '/edit');
  await plain.getByLabel('First name').fill('Changed');
  const [answer] = await Promise.all([
    plain.waitForResponse((r) => r.url().includes('/api/save_customer')),
    plain.getByRole('button', { name: 'Save changes' }).click(),
  ]);
  assert.equal(answer.status(), 403);
  await plain.getByRole('heading', { name: 'Not allowed' }).waitFor();
  assert.match(await plain.getByRole('alert').innerText(), /signed in as a viewer/);
  await plain.context().close();
});

test("an editor reads a customer's history; an admin filters everyone's changes and exports them", async () => {
  const { page } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/edit?id=c`);
  await signIn(page, 'ann', 'ann-password');
  await page.waitForURL((url) => url.pathname === '/edit');
  await waitForHydration(page);
  assert.equal(await page.getByRole('link', { name: 'Audit log' }).count(), 0, 'not for editors');
  await page.getByLabel('Last name').fill('Historic');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.getByText('Saved customer “c”.').waitFor();
  assert.equal(await page.getByRole('link', { name: 'CSV' }).count(), 0, 'downloads are for admins');
  await page.goto(`${shared.server.base}/edit?id=c`);
  await page.getByRole('link', { name: 'History' }).click();
  await page.waitForURL((url) => url.pathname === '/history');
  const row = page.locator('table.audit tbody tr').first();
  await row.waitFor();
  assert.match(await row.innerText(), /user:ann[\s\S]*Changed[\s\S]*“Historic”/);
  await page.context().close();

  // The admin, without JavaScript: the header's link, the filter form, the export.
  const { page: admin } = await newPage(shared.browser, { javaScriptEnabled: false });
  await admin.goto(`${shared.server.base}/`);
  await signIn(admin, 'ada', 'ada-password');
  await admin.waitForURL((url) => url.pathname === '/');
  assert.equal(await admin.getByRole('link', { name: 'CSV' }).getAttribute('href'), '/export?format=csv');
  await admin.getByRole('link', { name: 'Audit log' }).click();
  await admin.waitForURL((url) => url.pathname === '/audit');
  await admin.getByLabel('Who').fill('user:ann');
  await admin.getByRole('button', { name: 'Filter' }).click();
  await admin.waitForURL((url) => url.search.includes('actor=user'));
  const actors = await admin.locator('table.audit tbody tr td:nth-child(2)').allInnerTexts();
  assert.ok(actors.length >= 1 && actors.every((a) => a === 'user:ann'), JSON.stringify(actors));
  const [download] = await Promise.all([
    admin.waitForEvent('download'),
    admin.getByRole('link', { name: 'Export (JSON Lines)' }).click(),
  ]);
  const lines = (await (await import('node:fs/promises')).readFile(await download.path(), 'utf8')).trim().split('\n');
  assert.ok(lines.length >= 1 && lines.every((l) => JSON.parse(l).actor === 'user:ann'));
  await admin.context().close();
});

test('an expired session or a removed user is sent back to sign in, with and without JavaScript', async () => {
  const server = await startServer({
    users: [{ name: 'ann', role: 'editor', password: 'ann-password' }, { name: 'rex', role: 'editor', password: 'rex-password' }],
    env: { SESSION_IDLE_TIMEOUT_S: '2' },
  });
  try {
    // Expiry with JavaScript: the hydrated page's next save says so plainly.
    const { page } = await newPage(shared.browser);
    await page.goto(`${server.base}/edit?id=a`);
    await signIn(page, 'ann', 'ann-password');
    await page.waitForURL((url) => url.pathname === '/edit');
    await waitForHydration(page);
    await page.waitForTimeout(2500);
    await page.getByLabel('First name').fill('Late');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('your session has ended', { exact: false }).waitFor();
    await page.reload();
    await page.waitForURL((url) => url.pathname === '/sign-in');
    await page.getByText('Your session has ended. Please sign in again.').waitFor();
    await page.context().close();

    // Revocation without JavaScript: the user removed, the next page is the sign-in page.
    const { page: plain } = await newPage(shared.browser, { javaScriptEnabled: false });
    await plain.goto(`${server.base}/`);
    await signIn(plain, 'rex', 'rex-password');
    await plain.waitForURL((url) => url.pathname === '/');
    await plain.getByText('Signed in as').waitFor();
    usersCommand(server.usersFile, ['user', 'remove', 'rex']);
    await plain.goto(`${server.base}/new`);
    await plain.waitForURL((url) => url.pathname === '/sign-in');
    await plain.getByText('Your session has ended. Please sign in again.').waitFor();
    await signIn(plain, 'rex', 'rex-password');
    await plain.getByText('Wrong user name or password.').waitFor();
    await plain.context().close();
  } finally {
    await server.stop();
  }
});
