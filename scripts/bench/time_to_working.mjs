// How soon the customer list works on a slow phone: Chromium with its CPU
// slowed 4× and Lighthouse's "slow 4G" network (150 ms round trip, 1.6 Mbit/s
// down, 750 kbit/s up, no cache), opening the list, then searching as soon as
// the page has hydrated. Prints one line `TTW {json}` with the medians, in ms
// since the navigation started: first paint, hydrated, and the search's answer
// shown ("working").
//
// Every time is taken inside the page, by a script installed before it loads:
// it types the search the moment the page is marked hydrated, as `fill` does
// (the value, then an `input` event), and notes when the answer is shown.
// Waiting for those moments from here instead, over the DevTools protocol of a
// CPU slowed 4×, noticed them 0.3-0.5 s late.
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

// Runs in the page before its own scripts. Times are `performance.now()`:
// milliseconds since the navigation started.
function typeOnceHydrated(search) {
  const times = (window.__ttw = {});
  let before = null;
  new MutationObserver(() => {
    const root = document.documentElement;
    const results = document.querySelector('.results');
    if (!times.hydrated && root.hasAttribute('data-hydrated')) {
      times.hydrated = performance.now();
      before = results?.textContent ?? null;
      const input = document.getElementById('search');
      input.value = search;
      input.dispatchEvent(new Event('input', { bubbles: true }));
    } else if (times.hydrated && !times.working && results
      && results.getAttribute('aria-busy') === 'false' && results.textContent !== before) {
      // Working: the list shows the search's answer (matches, or none).
      times.working = performance.now();
    }
  }).observe(document, { attributes: true, childList: true, characterData: true, subtree: true });
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--no-first-run'],
});
const runs = [];
try {
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
    await page.addInitScript(typeOnceHydrated, search);
    await page.goto(base + '/', { waitUntil: 'commit' });
    await page.waitForFunction(() => window.__ttw?.working, null, { timeout: 60000 });
    const { hydrated, working } = await page.evaluate(() => window.__ttw);
    const paint = await page.evaluate(
      () => performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null,
    );
    runs.push({ paint, hydrated, working });
    await context.close();
  }
} finally {
  await browser.close();
}
const median = (values) => {
  const sorted = values.filter((v) => v !== null).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor(sorted.length / 2)] : null;
};
const result = {
  paint_ms: median(runs.map((r) => r.paint)),
  hydrated_ms: median(runs.map((r) => r.hydrated)),
  working_ms: median(runs.map((r) => r.working)),
  runs: runs.length,
};
console.log(`TTW ${JSON.stringify(result)}`);
