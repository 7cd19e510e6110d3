// How soon the customer list works on a slow phone: Chromium with its CPU
// slowed 4× and Lighthouse's "slow 4G" network (150 ms round trip, 1.6 Mbit/s
// down, 750 kbit/s up, no cache), opening the list and searching. Prints one
// line `TTW {json}` with the medians, in ms since the navigation started: first
// paint, hydrated, and the search's answer shown ("working") when put in
// - as soon as the page has painted, as a user would (`working_ms`): before
//   the app has hydrated, the list's early search answers it. The text comes
//   in one go (the value, then one `input` event, as a paste, the browser's
//   autofill or Playwright's `fill` put it), so it is searched at once;
// - the same, typed key by key, an `input` event per character, all at once
//   (`working_keys_ms`): the search waits for its 150 ms pause after the last;
// - in one go, the moment the page is marked hydrated
//   (`working_after_hydration_ms`), as this figure was measured until the
//   early search (then with the pause: 1.49 s at 5e893d8).
// Each is REPS page loads of its own.
//
// Every time is taken inside the page, by a script installed before it loads:
// it puts in the search and notes when the answer is shown. Waiting for those moments from here instead,
// over the DevTools protocol of a CPU slowed 4×, noticed them 0.3-0.5 s late.
//
//   node scripts/bench/time_to_working.mjs BASE_URL SEARCH_TEXT [REPS]
//
// Uses the browser tests' playwright-core and Debian's Chromium (CHROMIUM
// overrides the path).
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const { chromium } = createRequire(join(here, '..', '..', 'tests', 'browser', 'package.json'))('playwright-core');

const [base, search, reps = '5'] = process.argv.slice(2);
if (!base || !search) {
  console.error('usage: time_to_working.mjs BASE_URL SEARCH_TEXT [REPS]');
  process.exit(2);
}

// Runs in the page before its own scripts: puts in `search` once the page has
// painted (`when` = 'paint' in one go, 'keys' key by key) or is marked
// hydrated ('hydrated'). Times are `performance.now()`: milliseconds since the
// navigation started.
function typeWhen({ search, when }) {
  const times = (window.__ttw = {});
  let before = null;
  let painted = false;
  new PerformanceObserver((entries) => {
    if (entries.getEntriesByName('first-contentful-paint').length) {
      painted = true;
      check();
    }
  }).observe({ type: 'paint', buffered: true });
  function check() {
    const root = document.documentElement;
    const results = document.querySelector('.results');
    if (!times.hydrated && root.hasAttribute('data-hydrated')) times.hydrated = performance.now();
    const ready = when === 'hydrated' ? Boolean(times.hydrated) : painted;
    const input = document.getElementById('search');
    if (!times.typed && ready && input) {
      times.typed = performance.now();
      before = results?.textContent ?? null;
      if (when === 'keys') {
        for (const key of search) {
          input.value += key;
          input.dispatchEvent(new InputEvent('input', { bubbles: true, inputType: 'insertText', data: key }));
        }
      } else {
        input.value = search;
        input.dispatchEvent(new Event('input', { bubbles: true }));
      }
    } else if (times.typed && !times.working && results
      && results.getAttribute('aria-busy') === 'false' && results.textContent !== before) {
      // Working: the list shows the search's answer (matches, or none).
      times.working = performance.now();
    }
  }
  new MutationObserver(check)
    .observe(document, { attributes: true, childList: true, characterData: true, subtree: true });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
const runs = { paint: [], keys: [], hydrated: [] };
try {
  for (const when of ['paint', 'keys', 'hydrated']) {
    for (let i = 0; i < Number(reps); i++) {
      const context = await browser.newContext();
      const page = await context.newPage();
      const cdp = await context.newCDPSession(page);
      await cdp.send('Network.enable');
      await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
      await cdp.send('Network.emulateNetworkConditions', {
        offline: false, latency: 150, downloadThroughput: 1.6e6 / 8, uploadThroughput: 750e3 / 8,
      });
      await cdp.send('Emulation.setCPUThrottlingRate', { rate: 4 });
      await page.addInitScript(typeWhen, { search, when });
      await page.goto(base + '/', { waitUntil: 'commit' });
      await page.waitForFunction(() => window.__ttw?.working && window.__ttw?.hydrated, null,
        { timeout: 60000 });
      const times = await page.evaluate(() => window.__ttw);
      times.paint = await page.evaluate(
        () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
      );
      runs[when].push(times);
      await context.close();
    }
  }
} finally {
  await browser.close();
}
const median = (values) => {
  const sorted = values.filter((v) => v !== null).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
};
const all = [...runs.paint, ...runs.keys, ...runs.hydrated];
const result = {
  paint_ms: median(all.map((r) => r.paint)),
  hydrated_ms: median(all.map((r) => r.hydrated)),
  typed_ms: median(runs.paint.map((r) => r.typed)),
  working_ms: median(runs.paint.map((r) => r.working)),
  working_keys_ms: median(runs.keys.map((r) => r.working)),
  working_after_hydration_ms: median(runs.hydrated.map((r) => r.working)),
  runs: all.length,
};
console.log(`TTW ${JSON.stringify(result)}`);
