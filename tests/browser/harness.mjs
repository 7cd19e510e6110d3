// Starts the real server binary on a free loopback port with a private data file,
// and launches Debian's Chromium headless through playwright-core.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { before, after } from 'node:test';

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, '..', '..');

function freePort() {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

async function waitForHttp(url, deadlineMs = 20000) {
  const until = Date.now() + deadlineMs;
  while (Date.now() < until) {
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`server at ${url} did not answer`);
}

/** Runs `customer-records ARGS` (the `user` and `token` subcommands) on a users file. */
export function usersCommand(usersFile, args, input = '') {
  const run = spawnSync(process.env.SERVER_BIN, args, {
    input, env: { PATH: process.env.PATH, USERS_FILE: usersFile },
  });
  if (run.status !== 0) throw new Error(`${args.join(' ')}: ${run.stderr}`);
  return String(run.stdout);
}

/** Starts the app on the sample data; returns { base, stop, usersFile }. With
 *  `users` ([{ name, role, password }]), they are added to a users file of its
 *  own first, so the app asks for sign-in; `env` adds to its environment;
 *  `generated: N` starts it on N synthetic customers instead
 *  (scripts/bench/gen_customers.py), once it is ready to serve them. */
export async function startServer({ users = [], env = {}, generated = 0 } = {}) {
  const bin = process.env.SERVER_BIN;
  if (!bin) throw new Error('SERVER_BIN is not set (scripts/test.sh sets it)');
  const dir = mkdtempSync(join(tmpdir(), 'customers-ui-'));
  const dataFile = join(dir, 'customers.json');
  const usersFile = join(dir, 'users.json');
  if (generated) {
    const made = spawnSync('python3', [join(repo, 'scripts', 'bench', 'gen_customers.py'), String(generated), dataFile]);
    if (made.status !== 0) throw new Error(`gen_customers.py: ${made.stderr}`);
  } else {
    copyFileSync(join(repo, 'tests', 'fixtures', 'customers.json'), dataFile);
  }
  for (const { name, role, password } of users) {
    usersCommand(usersFile, ['user', 'add', name, '--role', role], `${password}\n`);
  }
  const port = await freePort();
  const child = spawn(bin, ['--listen', `127.0.0.1:${port}`, '--data-file', dataFile], {
    env: {
      ...process.env, RUST_LOG: 'warn', USERS_FILE: usersFile, ...env,
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? join(repo, 'target', 'site'),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/${generated ? 'readyz' : 'healthz'}`, generated ? 60000 : 20000);
  return {
    base,
    usersFile,
    stop: () => new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGTERM'); }),
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
      '--no-first-run', '--disable-sync', '--disable-quic'],
  });
}

/** A page that records console errors and uncaught exceptions. */
export async function newPage(browser, { javaScriptEnabled = true } = {}) {
  const context = await browser.newContext({ javaScriptEnabled });
  const page = await context.newPage();
  const problems = [];
  page.on('console', (message) => { if (message.type() === 'error') problems.push(message.text()); });
  page.on('pageerror', (error) => problems.push(String(error)));
  return { page, problems };
}

/** Resolves once the wasm app has hydrated (the hydrate() export has run). */
export async function waitForHydration(page) {
  await page.waitForSelector('html[data-hydrated]', { state: 'attached', timeout: 20000 });
}

/** Starts the app (with `options`, see startServer) and Chromium before a file's
 *  tests and stops both after them; returns an object whose `server` and
 *  `browser` are set once started. */
export function useServerAndBrowser(options) {
  const shared = { server: undefined, browser: undefined };
  before(async () => {
    shared.server = await startServer(options);
    shared.browser = await launchBrowser();
  });
  after(async () => {
    await shared.browser?.close();
    await shared.server?.stop();
  });
  return shared;
}

/** The legacy JSON API of the server in `shared` (see useServerAndBrowser):
 *  `get(id)` gives { status, body }; `set(id, first, last)` stores one and
 *  throws unless it was stored. */
export function legacyApi(shared) {
  return {
    async get(id) {
      const response = await fetch(`${shared.server.base}/get/${encodeURIComponent(id)}`);
      return { status: response.status, body: await response.json() };
    },
    async set(customerID, firstName, lastName) {
      const response = await fetch(`${shared.server.base}/set`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ customerID, firstName, lastName }),
      });
      if (response.status !== 200) throw new Error(`POST /set ${response.status}: ${await response.text()}`);
    },
  };
}

const axeSource = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** The widths every page is checked at: a desktop and the narrowest phone. */
export const VIEWPORTS = { desktop: { width: 1280, height: 720 }, phone: { width: 320, height: 640 } };

/** axe-core's violations (WCAG 2.x A and AA, and axe's best practices) on the
 *  page as it is now, one line per rule naming `label` and the elements. The
 *  page's context needs `bypassCSP: true`: axe is injected as a script. */
export async function axeViolations(page, label) {
  await page.addScriptTag({ path: axeSource });
  const found = await page.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] },
    });
    return result.violations.map((v) => ({
      rule: v.id, impact: v.impact, help: v.help, targets: v.nodes.map((n) => n.target.join(' ')),
    }));
  });
  return found.map((v) => `${label}: ${v.rule} (${v.impact}) ${v.help}: ${v.targets.slice(0, 5).join(', ')}`);
}
