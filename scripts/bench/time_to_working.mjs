// How soon the customer list works on a slow phone: Chromium with its CPU
// slowed 4× and Lighthouse's "slow 4G" network (150 ms round trip, 1.6 Mbit/s
// down, 750 kbit/s up, no cache), opening the list, then searching as soon as
// the page has hydrated. Prints one line `TTW {json}` with the medians, in ms
// since the navigation started: first paint, hydrated, and the search's answer
// shown ("working").
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
    await page.goto(base + '/', { waitUntil: 'commit' });
    await page.waitForSelector('html[data-hydrated]', { state: 'attached', timeout: 60000 });
    const hydrated = await page.evaluate(() => performance.now());
    const before = await page.locator('.results').textContent();
    await page.locator('#search').fill(search);
    // Working: the list shows the search's answer (matches, or none).
    await page.waitForFunction(
      ([before]) => {
        const results = document.querySelector('.results');
        return results?.getAttribute('aria-busy') === 'false' && results.textContent !== before;
      },
      [before],
      { timeout: 60000, polling: 10 },
    );
    const working = await page.evaluate(() => performance.now());
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
