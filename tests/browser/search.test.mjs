// Searching as one types: each settled search is a step in history (the
// searches typed on the way to it are not); a search with no answer within 2 s
// says so and offers Retry; an answer overtaken by a later search is not shown.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration } from './harness.mjs';

const shared = useServerAndBrowser();

const ids = (page) => page.locator('tbody td.id').allTextContents();
const query = (page) => new URL(page.url()).searchParams.get('q');

/** Waits until the table shows exactly `expected` (IDs, in order). */
async function expectIds(page, expected) {
  await page.waitForFunction(
    (expected) => {
      const shown = [...document.querySelectorAll('tbody td.id')].map((td) => td.textContent);
      return document.querySelector('.results')?.getAttribute('aria-busy') === 'false'
        && shown.join() === expected.join();
    },
    expected,
  );
  assert.deepEqual(await ids(page), expected);
}

async function openList(path = '/') {
  const { page, problems } = await newPage(shared.browser);
  await page.goto(shared.server.base + path);
  await waitForHydration(page);
  return { page, problems };
}

test('each settled search is a step in history; Back returns to it, then to the list', async () => {
  const { page, problems } = await openList();
  await expectIds(page, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  const box = page.getByLabel('Search by ID or name');
  // Typed with pauses longer than the search's own (150 ms) but shorter than a
  // settled search's (1 s): one step in history for all of it.
  for (const key of 'jo') {
    await box.press(key);
    await page.waitForTimeout(400);
  }
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'jo');
  await expectIds(page, ['b', 'e']);
  await page.waitForTimeout(1300); // settled
  await box.fill('james baker');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'james baker');
  await expectIds(page, ['a']);

  await page.goBack();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'jo');
  await expectIds(page, ['b', 'e']);
  assert.equal(await box.inputValue(), 'jo');
  await page.goBack();
  await page.waitForFunction(() => !new URL(location.href).searchParams.has('q'));
  await expectIds(page, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  assert.equal(await box.inputValue(), '');
  assert.equal(new URL(page.url()).pathname, '/', 'Back stays on the list');
  await page.goForward();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'jo');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('a search with no answer within 2 s says so, and Retry fetches it again', async () => {
  const { page } = await openList();
  await expectIds(page, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  // The store "hangs": list requests get no answer until released.
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  await page.route('**/api/list_customers*', async (route) => {
    await released;
    await route.continue().catch(() => {}); // the page may have given up on it
  });
  const started = Date.now();
  await page.getByLabel('Search by ID or name').fill('galic');
  const alert = page.locator('.results [role="alert"]');
  await alert.waitFor({ timeout: 6000 });
  const waited = Date.now() - started;
  assert.ok(waited >= 2000 && waited < 4500, `gave up after ${waited} ms`);
  assert.match(await alert.textContent(), /No answer within 2 seconds/);
  assert.equal(query(page), 'galic', 'the search typed stays in the URL');
  assert.equal(await page.getByLabel('Search by ID or name').inputValue(), 'galic');

  // Without JavaScript the same Retry is a link that loads this list again.
  assert.equal(await page.getByRole('link', { name: 'Retry' }).getAttribute('href'), '/?q=galic');

  await page.unroute('**/api/list_customers*');
  release();
  await page.getByRole('link', { name: 'Retry' }).click();
  await expectIds(page, ['d']);
  assert.equal(await alert.count(), 0);
  assert.equal(query(page), 'galic');
  await page.context().close();
});

test('an answer overtaken by a later search is not shown, and its request is cancelled', async () => {
  const { page, problems } = await openList();
  await expectIds(page, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  const cancelled = [];
  page.on('requestfailed', (request) => {
    if ((request.postData() ?? '').includes('search=victor')) cancelled.push(request.failure()?.errorText);
  });
  // The first search's answer comes late, after the second's.
  await page.route('**/api/list_customers*', async (route) => {
    const body = route.request().postData() ?? '';
    if (body.includes('search=victor')) await new Promise((r) => setTimeout(r, 1200));
    await route.continue().catch(() => {});
  });
  const box = page.getByLabel('Search by ID or name');
  await box.fill('victor');
  await page.waitForTimeout(400); // its request is on its way
  await box.fill('ivo');
  await expectIds(page, ['d']);
  await page.waitForTimeout(1500); // the late answer has arrived by now
  await expectIds(page, ['d']);
  assert.equal(query(page), 'ivo');
  assert.deepEqual(cancelled, ['net::ERR_ABORTED'], 'the older request was aborted');
  assert.deepEqual(problems, []);
  await page.context().close();
});

/**
 * Holds back the page's timers of the search's pause (150 ms) until
 * `window.endPauses()`, and returns the searches the page asks for from then
 * on: the pause can then only end when the test says so. (Under Playwright's
 * own clock, the app's timers were not cleared: it keeps their handles as `i32`.)
 */
async function holdPauses(page) {
  await page.evaluate(() => {
    const { setTimeout: start, clearTimeout: clear } = window;
    const held = new Map();
    window.setTimeout = (callback, ms, ...args) => {
      if (ms !== 150) return start(callback, ms, ...args);
      const id = start(() => {}, 3_600_000);
      held.set(id, () => callback(...args));
      return id;
    };
    window.clearTimeout = (id) => {
      held.delete(id);
      clear(id);
    };
    window.endPauses = () => {
      const due = [...held.values()];
      held.clear();
      due.forEach((callback) => callback());
    };
  });
  const asked = [];
  page.on('request', (request) => {
    if (request.resourceType() === 'fetch') asked.push(`${request.url()} ${request.postData() ?? ''}`);
  });
  return asked;
}

/**
 * Text put in at once (filled in, as by a paste or the browser) is searched
 * without the pause; keys typed wait for the pause, whose end the test holds back.
 */
async function expectWholeTextAtOnceKeysAfterPause(page, asked) {
  await page.locator('#search').fill('ivo');
  await expectIds(page, ['d']);
  const before = asked.length;
  assert.ok(before >= 1, 'the filled-in text was asked for');
  for (let i = 0; i < 3; i++) await page.keyboard.press('Backspace');
  await page.waitForTimeout(500);
  assert.equal(asked.length, before, 'no search while the pause has not passed');
  await expectIds(page, ['d']);
  await page.evaluate(() => window.endPauses());
  await expectIds(page, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  assert.equal(asked.length, before + 1, `one search for the three keys: ${asked.join('\n')}`);
}

test('text that comes in one go is searched at once; typed keys wait for a pause', async () => {
  const { page, problems } = await openList();
  await expectIds(page, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  const asked = await holdPauses(page);
  await expectWholeTextAtOnceKeysAfterPause(page, asked);
  assert.deepEqual(problems, []);
  await page.context().close();
});

// Before the app has hydrated (its WebAssembly held back here), the list's
// early search (app/src/routes/early_search.js) answers with the server's
// rendering of the search; hydration then takes over that page as it is.

/** Opens the list with the WebAssembly held back until `release()`. */
async function openListLoading(path = '/') {
  const { page, problems } = await newPage(shared.browser);
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  await page.route(/\.wasm$/, async (route) => {
    await released;
    await route.continue().catch(() => {});
  });
  await page.goto(shared.server.base + path, { waitUntil: 'domcontentloaded' });
  return { page, problems, release };
}

const notHydrated = async (page) =>
  assert.equal(await page.locator('html[data-hydrated]').count(), 0, 'not hydrated yet');

/** One list, one search box, focused, holding `text`. */
async function expectOneListTyping(page, text) {
  assert.equal(await page.locator('leptos-island:has(#search)').count(), 1);
  assert.equal(await page.locator('.results').count(), 1);
  assert.equal(await page.locator('#search').inputValue(), text);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'search');
}

test('a search typed before the app has loaded is answered at once, and hydration takes over', async () => {
  const { page, problems, release } = await openListLoading();
  await expectIds(page, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  const box = page.locator('#search');
  // The count, a live region, is kept and changed rather than replaced.
  await page.evaluate(() => { window.count = document.querySelector('.count'); });
  await box.pressSequentially('jo');
  await expectIds(page, ['b', 'e']);
  assert.ok(await page.evaluate(() => window.count === document.querySelector('.count')));
  await notHydrated(page);
  assert.equal(query(page), 'jo');
  assert.match(await page.locator('.count').textContent(), /^2 customers match “jo”$/);
  await expectOneListTyping(page, 'jo');
  // Typing on, the caret where it was: the box is the same one.
  await page.keyboard.press('Backspace');
  await page.keyboard.press('Backspace');
  await page.keyboard.type('ivo');
  await expectIds(page, ['d']);
  await notHydrated(page);
  assert.equal(query(page), 'ivo');
  await expectOneListTyping(page, 'ivo');
  // Words across first and last name, as the app matches them (the space
  // travels as `+` in the address the form makes).
  await box.fill('james baker');
  await expectIds(page, ['a']);
  assert.equal(query(page), 'james baker');
  await box.fill('ivo');
  await expectIds(page, ['d']);
  await notHydrated(page);

  release();
  await waitForHydration(page);
  await expectIds(page, ['d']);
  await expectOneListTyping(page, 'ivo');
  assert.equal(query(page), 'ivo');
  // Hydrated: searching goes on in place, and Back walks the searches shown.
  await box.fill('jo');
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'jo');
  await expectIds(page, ['b', 'e']);
  await page.goBack();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'ivo');
  await expectIds(page, ['d']);
  await page.goBack();
  await page.waitForFunction(() => !new URL(location.href).searchParams.has('q'));
  await expectIds(page, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  assert.equal(await box.inputValue(), '');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('before the app has loaded, an answer overtaken by a later search is not shown', async () => {
  const { page, problems, release } = await openListLoading();
  await page.route((url) => url.searchParams.get('q') === 'victor', async (route) => {
    await new Promise((r) => setTimeout(r, 1200));
    await route.continue().catch(() => {});
  });
  const box = page.locator('#search');
  await box.fill('victor');
  await page.waitForFunction(() => document.querySelector('.results').getAttribute('aria-busy') === 'true');
  assert.match(await page.locator('.results').getAttribute('class'), /\bpending\b/, 'dimmed meanwhile');
  await box.fill('ivo');
  await expectIds(page, ['d']);
  await page.waitForTimeout(1500); // the late answer has come by now
  await expectIds(page, ['d']);
  await notHydrated(page);
  assert.equal(query(page), 'ivo');
  release();
  await waitForHydration(page);
  await expectIds(page, ['d']);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('before the app has loaded, too, text that comes in one go is searched at once', async () => {
  const { page, problems } = await openListLoading();
  await expectIds(page, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  const asked = await holdPauses(page);
  await page.locator('#search').focus();
  await expectWholeTextAtOnceKeysAfterPause(page, asked);
  await notHydrated(page);
  assert.deepEqual(problems, []);
  await page.context().close();
});

/** Holds the early search's answers for `text` until `answer()`; `askedFor` once asked. */
async function holdEarlyAnswer(page, text) {
  let answer;
  const answered = new Promise((resolve) => { answer = resolve; });
  let asked;
  const askedFor = new Promise((resolve) => { asked = resolve; });
  await page.route((url) => url.searchParams.get('q') === text, async (route) => {
    asked();
    await answered;
    await route.continue().catch(() => {});
  });
  return { answer, askedFor };
}

test('an early answer on its way when the app is ready is shown first, then hydration takes over', async () => {
  const { page, problems, release } = await openListLoading();
  const { answer, askedFor } = await holdEarlyAnswer(page, 'victor');
  const box = page.locator('#search');
  await box.fill('victor');
  await askedFor;
  release();
  // The app waits for the answer rather than asking again.
  await page.waitForTimeout(700);
  await notHydrated(page);
  assert.equal(await page.locator('.results').getAttribute('aria-busy'), 'true');
  // Typed meanwhile: not lost.
  await box.fill('ivo');
  answer();
  await waitForHydration(page);
  await expectIds(page, ['d']);
  assert.equal(query(page), 'ivo');
  await expectOneListTyping(page, 'ivo');
  // Back walks the searches shown: victor's answer was shown on the way.
  await page.goBack();
  await page.waitForFunction(() => new URL(location.href).searchParams.get('q') === 'victor');
  await expectIds(page, ['g']);
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('an early answer that does not come within the time limit is given up, and the app answers', async () => {
  const { page, problems, release } = await openListLoading();
  const { answer, askedFor } = await holdEarlyAnswer(page, 'victor');
  await page.locator('#search').fill('victor');
  await askedFor;
  release();
  // Past the early search's 2 s limit, hydration goes on without it.
  await waitForHydration(page);
  await expectIds(page, ['g']);
  answer();
  await page.waitForTimeout(500);
  await expectIds(page, ['g']);
  assert.equal(await page.locator('leptos-island:has(#search)').count(), 1);
  await page.locator('#search').fill('ivo');
  await expectIds(page, ['d']);
  assert.equal(query(page), 'ivo');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('an early search keeps the order the list is in', async () => {
  const { page, problems, release } = await openListLoading('/?sort=last&order=desc');
  await expectIds(page, ['f', 'g', 'c', 'e', 'd', 'b', 'a']);
  await page.locator('#search').fill('jo');
  await expectIds(page, ['e', 'b']);
  await notHydrated(page);
  assert.equal(new URL(page.url()).search, '?q=jo&sort=last&order=desc');
  release();
  await waitForHydration(page);
  await page.locator('#search').fill('j');
  await expectIds(page, ['c', 'e', 'b', 'a']);
  assert.equal(new URL(page.url()).search, '?q=j&sort=last&order=desc');
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('text typed before the early search has started (it waits for the stylesheet) is answered too', async () => {
  const { page, problems } = await newPage(shared.browser);
  // The stylesheet and the WebAssembly are held back; the page's scripts wait
  // for the stylesheet, the list above them does not.
  const hold = async (pattern) => {
    let release;
    const released = new Promise((resolve) => { release = resolve; });
    await page.route(pattern, async (route) => {
      await released;
      await route.continue().catch(() => {});
    });
    return release;
  };
  const releaseStylesheet = await hold(/\.css$/);
  const releaseWasm = await hold(/\.wasm$/);
  await page.goto(shared.server.base + '/', { waitUntil: 'commit' });
  const box = page.locator('#search');
  await box.fill('ivo');
  assert.equal(await page.evaluate(() => document.readyState), 'loading', 'the scripts are waiting');
  releaseStylesheet();
  await expectIds(page, ['d']);
  await notHydrated(page);
  assert.equal(query(page), 'ivo');
  await expectOneListTyping(page, 'ivo');
  releaseWasm();
  await waitForHydration(page);
  await expectIds(page, ['d']);
  assert.deepEqual(problems, []);
  await page.context().close();
});

// A screen reader says a live region's changes, but may say nothing of one
// newly put in: the list's status line is one element, kept through every
// answer, before and after hydration, found or not.
test('the status line is one live region through every answer, none found included', async () => {
  const { page, problems, release } = await openListLoading();
  await expectIds(page, ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
  const box = page.locator('#search');
  const status = page.locator('.results [role="status"]');
  const says = async (text) => {
    await page.waitForFunction(
      (text) => document.querySelector('.results [role="status"]')?.textContent === text,
      text,
    );
    assert.equal(await status.count(), 1);
    assert.ok(await page.evaluate(() => window.line === document.querySelector('.results [role="status"]')),
      `the same element says “${text}”`);
  };
  await page.evaluate(() => { window.line = document.querySelector('.results [role="status"]'); });
  await says('7 customers');

  await box.fill('zzz-nobody');
  await says('No customers match “zzz-nobody”.');
  await notHydrated(page);
  assert.equal(await page.locator('.empty-state').getByRole('link', { name: 'Create a customer' }).count(), 1);

  release();
  await waitForHydration(page);
  await box.fill('ivo');
  await says('1 customer matches “ivo”');
  await expectIds(page, ['d']);
  await box.fill('zzz-nobody');
  await says('No customers match “zzz-nobody”.');
  await expectIds(page, []);
  await box.fill('');
  await says('7 customers');
  assert.deepEqual(problems, []);
  await page.context().close();
});
