// The store status page on a real Sentinel topology (scripts/redis-topology.sh:
// a master, two replicas and three sentinels on loopback), in real headless
// Chromium: it names the master, the replicas and each sentinel's view, and
// when a real `SENTINEL FAILOVER` runs it shows the failover as it happens,
// without a reload: the new master and the timeline from +try-failover to
// +switch-master.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  startServer, launchBrowser, newPage, waitForHydration, axeViolations, VIEWPORTS,
} from './harness.mjs';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BASE_PORT = 18779; // sentinels 18779-18781, master 18782, replicas 18783-18784
const MASTER = `127.0.0.1:${BASE_PORT + 3}`;
const REPLICAS = [`127.0.0.1:${BASE_PORT + 4}`, `127.0.0.1:${BASE_PORT + 5}`];
const topologyDir = mkdtempSync(join(tmpdir(), 'status-topology-'));

function topology(command) {
  const run = spawnSync(join(repo, 'scripts', 'redis-topology.sh'), [command], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, BASE_PORT: String(BASE_PORT), TOPOLOGY_DIR: topologyDir, REDIS_PASSWORD: 'status-secret' },
  });
  if (run.status !== 0) throw new Error(`redis-topology.sh ${command}: ${run.stderr}`);
  return run.stdout;
}

const shared = {};
before(async () => {
  const env = Object.fromEntries(topology('start').trim().split(/\s+/).map((pair) => {
    const at = pair.indexOf('=');
    return [pair.slice(0, at), pair.slice(at + 1)];
  }));
  shared.server = await startServer({ env });
  shared.browser = await launchBrowser();
});
after(async () => {
  await shared.browser?.close();
  await shared.server?.stop();
  topology('stop');
});

test('the status page shows the topology, then a real failover as it happens', async () => {
  const { page, problems } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/status`);
  await waitForHydration(page);
  await page.getByText('Live: changes show here as they happen.').waitFor();
  assert.match(await page.locator('.store-kind').textContent(), /Redis via Sentinel/);
  assert.equal(await page.locator('.master').textContent(), MASTER);
  const replicas = await page.locator('.status-replicas tbody td:first-child').allTextContents();
  assert.deepEqual(replicas.sort(), REPLICAS);
  const views = await page.locator('.status-sentinels tbody td:nth-child(2)').allTextContents();
  assert.deepEqual(views, [MASTER, MASTER, MASTER]);

  // The same document all along: no reload, no navigation.
  await page.evaluate(() => { window.sameDocument = true; });
  const failover = spawnSync('redis-cli', ['-p', String(BASE_PORT), 'SENTINEL', 'FAILOVER', 'mymaster'],
    { encoding: 'utf8' });
  assert.equal(failover.stdout.trim(), 'OK', failover.stderr);

  await page.locator('.status-timeline .event-name', { hasText: '+switch-master' }).waitFor({ timeout: 30_000 });
  await page.waitForFunction((old) => {
    const master = document.querySelector('.master')?.textContent;
    return master && master !== old && !master.startsWith('none');
  }, MASTER, { timeout: 30_000 });
  const newMaster = await page.locator('.master').textContent();
  assert.ok(REPLICAS.includes(newMaster), `new master ${newMaster}`);
  const names = await page.locator('.status-timeline .event-name').allTextContents();
  const at = (name) => names.indexOf(name);
  assert.ok(at('+try-failover') >= 0, names.join(' '));
  assert.ok(at('+try-failover') < at('+promoted-slave'), names.join(' '));
  assert.ok(at('+promoted-slave') < at('+switch-master'), names.join(' '));
  // The sentinels come to agree on the new master.
  await page.waitForFunction((master) => [...document.querySelectorAll('.status-sentinels tbody td:nth-child(2)')]
    .every((cell) => cell.textContent === master), newMaster, { timeout: 30_000 });
  assert.equal(await page.evaluate(() => window.sameDocument), true);
  assert.deepEqual(problems, []);
  await page.context().close();

  // The page with the replicas, the sentinels and the failover's timeline:
  // axe finds nothing, light and dark, desktop and phone.
  const failures = [];
  for (const [width, viewport] of Object.entries(VIEWPORTS)) {
    for (const colorScheme of ['light', 'dark']) {
      const context = await shared.browser.newContext({ colorScheme, viewport, bypassCSP: true });
      const checked = await context.newPage();
      await checked.goto(`${shared.server.base}/status`);
      await waitForHydration(checked);
      await checked.locator('.status-timeline .event-name', { hasText: '+switch-master' }).waitFor();
      failures.push(...await axeViolations(checked, `/status ${colorScheme} ${width}`));
      await context.close();
    }
  }
  assert.deepEqual(failures, []);
});
