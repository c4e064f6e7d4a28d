// Helpers for the browser tests: start `podiumd demo` on a free port, launch Debian's
// chromium through playwright-core (no browser download), run axe-core, save screenshots.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { after, afterEach, before } from 'node:test';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const root = path.resolve(here, '../..');
export const artifacts = path.join(root, 'tests', 'artifacts');
const podiumd = process.env.PODIUMD || path.join(root, 'target', 'debug', 'podiumd');
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';

/** The demo's public credentials and personal link (config/demo.toml). */
export const DEMO = {
  chair: { user: 'chair', password: 'chair' },
  technician: { user: 'technik', password: 'technik' },
  remoteToken: 'demo-remote-link-vogt',
  remoteMember: 'vogt',
};

/** Starts `podiumd demo --listen 127.0.0.1:0` (with `args` added; or, given `argv`, podiumd
 *  with exactly those arguments, e.g. `run -c room.toml --listen 127.0.0.1:0`) and waits
 *  for its `listening on` line; its log goes to tests/artifacts/<log>. */
export async function startDaemon({ args = [], argv = null, log: logName = 'podiumd.log' } = {}) {
  await mkdir(artifacts, { recursive: true });
  const logPath = path.join(artifacts, logName);
  const log = openSync(logPath, 'w');
  const child = spawn(podiumd, argv ?? ['demo', '--listen', '127.0.0.1:0', '--no-mqtt', ...args], {
    stdio: ['ignore', 'pipe', log],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG || 'info' },
  });
  closeSync(log);
  // Whatever happens to the test process, the daemon goes with it.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const lines = createInterface({ input: child.stdout });
  // A daemon that does not start fails the test with its own log, not a bare timeout.
  const failed = async (why) => new Error(`${why}; its log (${logPath}):\n${await readFile(logPath, 'utf8').catch(() => '')}`);
  const base = await new Promise((resolve, reject) => {
    const timer = setTimeout(async () => reject(await failed('podiumd did not start listening within 30 s')), 30_000);
    child.once('error', (e) => { clearTimeout(timer); reject(new Error(`cannot start ${podiumd}: ${e.message}`)); });
    child.once('exit', async (code) => { clearTimeout(timer); reject(await failed(`podiumd exited early (${code})`)); });
    lines.on('line', (line) => {
      const m = /^podiumd listening on (http:\/\/\S+)/.exec(line);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
  });
  lines.on('line', () => {}); // keep draining stdout
  return {
    base,
    async stop() {
      process.removeListener('exit', killOnExit);
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000));
      if ((await Promise.race([exited, timeout])) === 'timeout') child.kill('SIGKILL');
    },
  };
}

/** Launches the system chromium. Playwright gives every launch a fresh, temporary
 *  --user-data-dir of its own (it refuses one in `args`), removed when the browser closes. */
export function launchBrowser() {
  // Playwright's launch error carries the browser's own output ("Browser logs"); a missing
  // binary is named here so it is not mistaken for a bug.
  if (!existsSync(chromiumPath)) {
    throw new Error(`no chromium at ${chromiumPath}: tests/run installs Debian's chromium (or set CHROMIUM)`);
  }
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/** A page in its own context (own cookies), German by default. */
export async function newPage(browser, { width = 1280, height = 900, locale = 'de-DE' } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale });
  const page = await context.newPage();
  // Script errors are collected; tests assert there are none.
  page.jsErrors = [];
  page.on('pageerror', (e) => page.jsErrors.push(`${page.url()}: ${e.message}`));
  return page;
}

/** Waits until a console page has its live state (the snapshot arrived). */
export async function ready(page) {
  await page.waitForFunction(() => document.documentElement.dataset.seq !== undefined, null, { timeout: 10_000 });
}

/** Logs in through the login page and waits for the console. */
export async function login(page, base, { user, password }, target = '/chair') {
  await page.goto(`${base}${target}`);
  await page.waitForURL(/\/login/);
  await page.fill('#user', user);
  await page.fill('#password', password);
  await page.click('#submit');
  await page.waitForURL(`${base}${target}`);
  await ready(page);
}

/** Sends a command as a loopback API client (the demo trusts loopback as the chair). */
export async function command(base, body) {
  const r = await fetch(`${base}/api/v1/commands`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

/** Clears the floor: every microphone off, the list empty and open. */
export async function resetFloor(base) {
  await command(base, { command: 'stop_all' });
  await command(base, { command: 'clear_requests' });
  await command(base, { command: 'set_list_open', open: true });
  const state = await (await fetch(`${base}/api/v1/state`)).json();
  for (const sp of state.floor.speakers) await command(base, { command: 'stop', station: sp.station });
}

let axeSource = null;

/** Runs axe-core on the page; returns the violations (empty is good). */
export async function axeViolations(page) {
  if (!axeSource) {
    const require = createRequire(import.meta.url);
    axeSource = await readFile(require.resolve('axe-core/axe.min.js'), 'utf8');
  }
  // Evaluated through the DevTools protocol, so the pages' strict CSP does not apply.
  await page.evaluate(axeSource);
  return page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
    }));
  });
}

/** Saves a screenshot under tests/artifacts/. */
export async function screenshot(page, name) {
  await mkdir(artifacts, { recursive: true });
  await page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
}

/** One `podiumd` (`startDaemon(options)`) and one browser for a test file; `onReady(suite)`
 *  runs once both are up (within the same hook: node:test does not order a file's root
 *  hooks after a helper's). `suite.open(options)` opens a page, and a script error on any
 *  page fails the test that opened it; everything is closed at the end. */
export function demoSuite(options, onReady = () => {}) {
  const pages = [];
  const suite = {
    daemon: null,
    browser: null,
    base: null,
    async open(pageOptions) {
      const page = await newPage(suite.browser, pageOptions);
      pages.push(page);
      return page;
    },
  };
  before(async () => {
    suite.daemon = await startDaemon(options);
    suite.base = suite.daemon.base;
    suite.browser = await launchBrowser();
    onReady(suite);
  });
  afterEach(async () => {
    const errors = pages.flatMap((p) => p.jsErrors);
    await Promise.all(pages.splice(0).map((p) => p.context().close()));
    assert.deepEqual(errors, [], 'no script errors on any page');
  });
  after(async () => {
    await suite.browser?.close();
    await suite.daemon?.stop();
  });
  return suite;
}

/** Polls GET `base` + `path` until `probe` holds for its JSON; fails after `seconds` with the
 *  last answer. */
export async function until(base, path, probe, what, seconds = 15) {
  const deadline = Date.now() + seconds * 1000;
  let last;
  while (Date.now() < deadline) {
    last = await (await fetch(`${base}${path}`)).json().catch(() => null);
    if (probe(last)) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${what}: still not so after ${seconds} s; last ${path}: ${JSON.stringify(last)}`);
}
