// The UI against another site in real Chromium: a page on another origin tries
// an auto-submitted form, a no-cors text/plain fetch and a frame of the delete
// page; nothing changes and the frame is refused. Every page runs under the CSP
// (hydrated, no violation), and markup in a customer's name stays text.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { startServer, launchBrowser, newPage, waitForHydration } from './harness.mjs';

let server;
let browser;
let attacker;
let attackerBase;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
  // Another site: `localhost` is not the same site as `127.0.0.1`.
  const pages = {
    '/form': `<form id=f method=post action="${server.base}/api/delete_customer">
                <input name=customerID value=a></form><script>document.getElementById('f').submit()</script>`,
    '/fetch': `<script>fetch('${server.base}/api/save_customer', { method: 'POST', mode: 'no-cors',
                 headers: { 'Content-Type': 'text/plain' }, body: 'customerID=evil&firstName=E&lastName=V' })
                 .finally(() => { document.title = 'sent'; });</script>`,
    '/fetch-form': `<script>fetch('${server.base}/api/save_customer', { method: 'POST', mode: 'no-cors',
                 headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
                 body: 'customerID=evil2&firstName=E&lastName=V' }).finally(() => { document.title = 'sent'; });</script>`,
    '/frame': `<iframe id=victim src="${server.base}/delete?id=a" width=600 height=400></iframe>`,
  };
  attacker = createServer((request, response) => {
    response.writeHead(200, { 'Content-Type': 'text/html' });
    response.end(`<!doctype html><title>attacker</title>${pages[request.url] ?? ''}`);
  });
  await new Promise((resolve) => attacker.listen(0, '127.0.0.1', resolve));
  attackerBase = `http://localhost:${attacker.address().port}`;
});

after(async () => {
  await browser?.close();
  await server?.stop();
  attacker?.close();
});

async function apiGet(id) {
  const response = await fetch(`${server.base}/get/${encodeURIComponent(id)}`);
  return { status: response.status, body: await response.json() };
}

test('another site cannot change customers or frame the UI', async () => {
  const before = await apiGet('a');
  assert.equal(before.status, 200);
  const { page } = await newPage(browser);

  await page.goto(`${attackerBase}/form`);
  await page.waitForLoadState('load');
  await page.waitForTimeout(300);
  assert.deepEqual(await apiGet('a'), before, 'the cross-site form deleted nothing');

  for (const path of ['/fetch', '/fetch-form']) {
    await page.goto(`${attackerBase}${path}`);
    await page.waitForFunction(() => document.title === 'sent');
  }
  assert.equal((await apiGet('evil')).status, 404, 'the no-cors text/plain fetch created nothing');
  assert.equal((await apiGet('evil2')).status, 404, 'the no-cors form-encoded fetch created nothing');

  const refusals = [];
  page.on('console', (message) => refusals.push(message.text()));
  await page.goto(`${attackerBase}/frame`);
  await page.waitForTimeout(500);
  const frame = page.frames().find((f) => f !== page.mainFrame());
  let framed = '';
  try { framed = await frame.content(); } catch { /* a refused frame has no document to read */ }
  assert.ok(!framed.includes('Yes, delete'), 'the delete page did not render inside the frame');
  assert.deepEqual(await apiGet('a'), before);
  await page.context().close();
});

test('the UI itself still writes, with and without JavaScript', async () => {
  for (const javaScriptEnabled of [true, false]) {
    const { page, problems } = await newPage(browser, { javaScriptEnabled });
    const id = `own-${javaScriptEnabled}`;
    await page.goto(`${server.base}/new`);
    if (javaScriptEnabled) await waitForHydration(page);
    await page.getByLabel('Customer ID').fill(id);
    await page.getByLabel('First name').fill('Own');
    await page.getByLabel('Last name').fill('Site');
    await page.getByRole('button', { name: 'Create customer' }).click();
    await page.getByText(`Saved customer “${id}”.`).waitFor();
    assert.equal((await apiGet(id)).status, 200);
    assert.deepEqual(problems, []);
    await page.context().close();
  }
});

test('every page hydrates under the CSP and shows markup in names as text', async () => {
  const name = '<img src=x onerror=alert(1)>';
  await fetch(`${server.base}/set`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ customerID: 'xss', firstName: name, lastName: '<script>alert(2)</script>' }),
  });
  const { page, problems } = await newPage(browser);
  let dialogs = 0;
  page.on('dialog', async (dialog) => { dialogs += 1; await dialog.dismiss(); });
  for (const path of ['/', '/?q=xss', '/new', '/edit?id=xss', '/delete?id=xss']) {
    const response = await page.goto(server.base + path);
    assert.match(response.headers()['content-security-policy'], /script-src 'self' 'nonce-[^']+' 'wasm-unsafe-eval'/);
    await waitForHydration(page);
  }
  await page.goto(`${server.base}/?q=xss`);
  await waitForHydration(page);
  await page.getByText(name).first().waitFor();
  assert.equal(dialogs, 0, 'no script from a name ran');
  assert.equal(await page.locator('img[src="x"]').count(), 0);
  assert.deepEqual(problems, [], 'no CSP violation or other console error');
  await page.context().close();
});

test('the list loads one module; the other pages add only their own island\'s chunks, preloaded', async () => {
  const { page, problems } = await newPage(browser);
  let loaded = [];
  page.on('request', (request) => {
    const path = new URL(request.url()).pathname;
    if (path.endsWith('.wasm')) loaded.push(path.split('/').pop());
  });
  const expected = [
    ['/', []],
    ['/?q=a', []],
    ['/new', ['customer_form']],
    ['/edit?id=a', ['customer_form']],
    ['/delete?id=a', ['escape_goes_to']],
    ['/status', ['live_status']],
  ];
  for (const [path, islands] of expected) {
    loaded = [];
    await page.goto(server.base + path);
    await waitForHydration(page);
    const main = loaded.filter((name) => name.startsWith('customer-records.'));
    assert.equal(main.length, 1, `${path}: the module once: ${loaded}`);
    const chunks = loaded.filter((name) => !name.startsWith('customer-records.'));
    for (const island of islands) {
      assert.ok(chunks.some((name) => name.includes(`_${island}_loader_`)), `${path}: ${island}'s chunk: ${loaded}`);
    }
    const others = ['customer_form', 'escape_goes_to', 'live_status', 'progress'].filter((i) => !islands.includes(i));
    for (const island of others) {
      assert.ok(!chunks.some((name) => name.includes(`_${island}_loader_`)), `${path}: not ${island}'s chunk: ${loaded}`);
    }
    if (islands.length === 0) assert.deepEqual(chunks, [], `${path}: no chunk at all`);
    // The page preloads its islands' chunks, and the preloads are what is used:
    // each chunk is fetched once.
    const preloaded = await page.locator('link[rel="preload"][href$=".wasm"]').evaluateAll(
      (links) => links.map((link) => link.getAttribute('href').split('/').pop()));
    assert.deepEqual(preloaded.filter((name) => !name.startsWith('customer-records.')).sort(), [...chunks].sort(),
      `${path}: preloaded what it loads`);
    assert.equal(new Set(chunks).size, chunks.length, `${path}: each chunk once: ${loaded}`);
  }
  // The lazy form works once its chunk is in: it checks a field as it is typed.
  await page.goto(`${server.base}/new`);
  await waitForHydration(page);
  await page.getByLabel('First name').fill('n'.repeat(205));
  await page.locator('#firstName-error').waitFor({ timeout: 5000 });
  assert.deepEqual(problems, [], 'no CSP violation or other console error');
  await page.context().close();
});

test('without JavaScript a refused form comes back in place: no typed data in the URL, no forged errors', async () => {
  const { page } = await newPage(browser, { javaScriptEnabled: false });
  await page.goto(`${server.base}/new`);
  await page.getByLabel('Customer ID').fill('bad/id');
  await page.getByLabel('First name').fill('Secretive');
  await page.getByLabel('Last name').fill('Person');
  await page.getByRole('button', { name: 'Create customer' }).click();
  await page.getByText('Customer ID cannot contain “/”').waitFor();
  assert.equal(await page.getByLabel('First name').inputValue(), 'Secretive', 'the input is kept');
  assert.ok(!page.url().includes('__err') && !page.url().includes('Secretive'), page.url());

  // A crafted link cannot make a page show an error or pre-fill a form.
  const forged = Buffer.from(JSON.stringify({ Request: 'FORGED: call 555-0100 now' })).toString('base64url');
  const draft = Buffer.from(JSON.stringify({
    Invalid: { errors: [], draft: { customerID: 'x', firstName: 'Planted', lastName: 'Value' } },
  })).toString('base64url');
  for (const err of [forged, draft]) {
    await page.goto(`${server.base}/new?__path=/api/save_customer&__err=${err}`);
    assert.equal(await page.getByText('FORGED').count(), 0);
    assert.equal(await page.getByLabel('First name').inputValue(), '', 'nothing pre-filled');
  }
  await page.context().close();
});
