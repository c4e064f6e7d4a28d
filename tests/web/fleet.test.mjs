// The city's fleet view (issue 22): `podiumd fleet` on a real Mosquitto, fed retained health
// documents, alarms and bridge states as rooms publish them. The page lists the troubled rooms
// first, in German and English, shows what rooms send as text (never markup), and is axe-core
// clean. The rooms' side (podiumd publishing, bridges, restarts) is tested in tests/e2e/fleet.rs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { axeViolations, launchBrowser, newPage, screenshot, startDaemon } from './support.mjs';

let broker;
let port;
let fleet;
let browser;

function freePort() {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address();
      server.close(() => resolve(free));
    });
  });
}

async function listening(at) {
  for (let i = 0; i < 300; i++) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(at, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (up) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`mosquitto did not listen on ${at}`);
}

function publish(topic, payload, retain = true) {
  const args = ['-p', String(port), '-q', '1', '-t', topic, '-m', payload];
  if (retain) args.push('-r');
  execFileSync('mosquitto_pub', args);
}

function health(id, name, trouble, extra = {}) {
  return JSON.stringify({
    v: 1, podiumd: '0.1.0', room: { id, name }, trouble,
    meeting: null,
    devices: { total: 12, online: 12, failing: [] },
    journal: { state: 'ok', unwritten_events: 0, error: null },
    clock_synchronized: true,
    disk: { path: '/var/lib/podium', free_bytes: 1e10, free_percent: 71.4 },
    uptime_s: 7200, at_unix_ms: Date.now(), console_url: null,
    ...extra,
  });
}

let brokerDir;

before(async () => {
  port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'podium-fleet-'));
  brokerDir = dir;
  const config = path.join(dir, 'mosquitto.conf');
  writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\n`);
  broker = spawn('mosquitto', ['-c', config], { stdio: 'ignore' });
  await listening(port);
  publish('podium/v1/ratssaal/health', health('ratssaal', 'Ratssaal', 'ok', {
    console_url: 'https://ratssaal.stadt.example/tech',
    meeting: { phase: 'open', title: 'Stadtrat, 12. Sitzung', current_item: { number: 'N 1', title: '' }, public: false },
  }));
  publish('podium/v1/ausschuss/health', health('ausschuss', 'Ausschusssaal', 'critical', {
    journal: { state: 'degraded', unwritten_events: 3, error: 'disk I/O error' },
    devices: { total: 12, online: 11, failing: [{ kind: 'camera', name: '<img src=x onerror=alert(1)>', error: 'no answer' }] },
  }));
  publish('podium/v1/ortschaft/health', health('ortschaft', 'Ortschaftsrat', 'ok', {
    console_url: 'javascript:alert(1)',
  }));
  // A room whose document lacks what this page expects (another version, a broken room)
  // still gets its row, and takes nothing else down.
  publish('podium/v1/kaputt/health', JSON.stringify({ v: 2, room: { id: 'kaputt' }, trouble: 'ok', devices: 'many' }));
  publish('podium/v1/ortschaft/bridge', '0');
  publish('podium/v1/ausschuss/alarms', JSON.stringify({
    v: 1, room: 'ausschuss', at_unix_ms: Date.now(), severity: 'critical', kind: 'journal',
    subject: 'degraded', message: 'the journal is degraded: <b>disk I/O error</b>',
  }), false);
  fleet = await startDaemon({
    argv: ['fleet', '--broker', `127.0.0.1:${port}`, '--listen', '127.0.0.1:0'],
    log: 'podiumd-fleet.log',
  });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await fleet?.stop();
  broker?.kill();
  if (brokerDir) rmSync(brokerDir, { recursive: true, force: true });
});

test('the fleet view lists troubled rooms first, in German and English, as text, accessibly', async () => {
  const page = await newPage(browser);
  await page.goto(fleet.base);
  // The alarm arrived before the page existed only if the view was already subscribed: send
  // one now as well (alarms are not retained).
  publish('podium/v1/ausschuss/alarms', JSON.stringify({
    v: 1, room: 'ausschuss', at_unix_ms: 'yesterday', severity: 'warning', kind: 'device',
    subject: 'beamer', message: 'a garbled time',
  }), false);
  publish('podium/v1/ausschuss/alarms', JSON.stringify({
    v: 1, room: 'ausschuss', at_unix_ms: Date.now(), severity: 'warning', kind: 'device',
    subject: 'kamera', message: 'camera <i>kamera</i> does not answer',
  }), false);
  await page.waitForFunction(() => document.querySelectorAll('#rooms tr').length === 4
    && document.querySelectorAll('#alarms li').length >= 2, null, { timeout: 15_000 });
  const order = await page.$$eval('#rooms tr th div', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(order, ['ortschaft', 'ausschuss', 'kaputt', 'ratssaal'], 'offline, critical, ok by id');
  const states = await page.$$eval('#rooms .trouble', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(states, ['nicht erreichbar', 'kritisch', 'in Ordnung', 'in Ordnung']);
  assert.match(await page.textContent('#alarms'), /a garbled time/);
  assert.equal(await page.$$eval('#rooms a', (links) => links.length), 1, 'no javascript: link');
  const text = await page.textContent('#rooms');
  assert.match(text, /Verbindung zur Stadt unterbrochen/);
  assert.match(text, /TOP N 1: nichtöffentlich/);
  assert.match(text, /11 von 12 erreichbar/);
  // What rooms send is text: the device's name is shown as typed, never parsed as markup.
  assert.match(text, /<img src=x onerror=alert\(1\)>/);
  assert.equal(await page.$$eval('#rooms img, #alarms b, #alarms i', (n) => n.length), 0);
  const link = await page.getAttribute('#rooms a', 'href');
  assert.equal(link, 'https://ratssaal.stadt.example/tech');
  assert.deepEqual(await axeViolations(page), [], 'German page');
  await page.selectOption('#lang', 'en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.equal(await page.textContent('#h-rooms'), 'Rooms');
  const english = await page.$$eval('#rooms .trouble', (cells) => cells.map((c) => c.textContent));
  assert.deepEqual(english, ['offline', 'critical', 'ok', 'ok']);
  assert.match(await page.textContent('#rooms'), /item N 1: non-public/);
  assert.deepEqual(await axeViolations(page), [], 'English page');
  assert.match(page.url(), /lang=en/, 'the language is in the address, for a bookmark');
  await screenshot(page, 'fleet-view');
  assert.deepEqual(page.jsErrors, []);
  await page.context().close();
});
