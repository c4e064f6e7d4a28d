// Benchmark of the Jitsi bridge through the real podiumd and Chromium (run by
// tests/bench/run; alone: `cd tests/web && PODIUMD=../../target/release/podiumd node
// bench-bridge.mjs`). Every time is taken in the bridge page on one clock
// (performance.now()), against the stand-in for a Jitsi server's external_api.js:
//   raise hand → request in the floor: the stand-in fires raiseHandUpdated; stop when the
//     page's own event stream shows the request (bridge → POST command → podiumd → stream);
//   grant → askToUnmute issued: the page POSTs the grant; stop when the stand-in records
//     askToUnmute (podiumd → event stream → bridge → conference command);
//   the limit, a raw hop: the page POSTs the same request itself and stops when its event
//     stream shows it (no bridge in the path).
// Writes the BENCHMARKS.md section to $PODIUM_BENCH_REPORT/bridge.md when that is set.

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchBrowser, newPage, startDaemon } from './support.mjs';

const ROUNDS = Number(process.env.ROUNDS || 100);
const here = path.dirname(fileURLToPath(import.meta.url));
const standIn = readFileSync(path.join(here, 'fixtures', 'jitsi-stand-in.js'), 'utf8');

const server = http.createServer((req, res) => {
  res.writeHead(req.url === '/external_api.js' ? 200 : 404, { 'content-type': 'text/javascript' });
  res.end(req.url === '/external_api.js' ? standIn : '');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const conference = `http://127.0.0.1:${server.address().port}/Ratssaal`;
const daemon = await startDaemon({ args: ['--jitsi', conference], log: 'podiumd-bench-bridge.log' });
const browser = await launchBrowser();
const page = await newPage(browser);
const progress = setInterval(async () => console.error(await page.title().catch(() => '')), 5000);
try {
  await page.goto(`${daemon.base}/bridge/jitsi`);
  await page.waitForURL(/\/login/);
  // The technician may open the bridge page too, and may grant: one page, one clock.
  await page.fill('#user', 'technik');
  await page.fill('#password', 'technik');
  await page.click('#submit');
  await page.waitForURL(`${daemon.base}/bridge/jitsi`);
  await page.waitForFunction(() => document.documentElement.dataset.bridge === 'live joined', null, { timeout: 20_000 });
  const samples = await page.evaluate(async (rounds) => {
    const post = (body) => fetch('/api/v1/commands', {
      method: 'POST', headers: { accept: 'application/json', 'content-type': 'application/json', 'x-podium-csrf': '1' }, credentials: 'same-origin', cache: 'no-store', body: JSON.stringify(body),
    });
    // The page's own event stream, beside the bridge's.
    const stream = new EventSource('/api/v1/events');
    let waiter = null;
    stream.addEventListener('floor', (e) => {
      const ev = JSON.parse(e.data);
      if (waiter && waiter.match(ev.change)) { const w = waiter; waiter = null; w.resolve(performance.now()); }
    });
    await new Promise((resolve) => stream.addEventListener('open', resolve, { once: true }));
    const nextEvent = (match) => new Promise((resolve) => { waiter = { match, resolve }; });
    // The stand-in calls back as it records a command (no polling, whose timer clamps).
    const askedToUnmute = (pid) => new Promise((resolve) => {
      window.__jitsi.onCommand = (c) => {
        if (c.name === 'askToUnmute' && c.args[0] === pid) { window.__jitsi.onCommand = null; resolve(c.at); }
      };
    });
    // When the bridge's own request leaves the page: its share of the raise path.
    let bridgePost = null;
    let bridgeAnswered = null;
    const fetchOriginal = window.fetch;
    window.fetch = (url, options) => {
      const ours = String(url).endsWith('/api/v1/commands') && String(options?.body).includes('"raised_at"');
      if (!ours) return fetchOriginal(url, options);
      bridgePost = performance.now();
      return fetchOriginal(url, options).then((r) => { bridgeAnswered = performance.now(); return r; });
    };
    const jitsi = window.__jitsi;
    jitsi.join('bench1', 'Markus Wagner');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const out = { raise: [], decide: [], accepted: [], grant: [], raw: [], rawAnswer: [] };
    for (let i = 0; i < rounds; i += 1) {
      document.title = `round ${i}`;
      await new Promise((resolve) => setTimeout(resolve, 400));
      // Raise → request in the floor.
      let arrived = nextEvent((c) => c.type === 'request_added' && c.request.station.remote === 'wagner');
      let t0 = performance.now();
      jitsi.raise('bench1', Date.now() + i);
      out.raise.push((await arrived) - t0);
      out.decide.push(bridgePost - t0);
      await new Promise((resolve) => { const wait = () => (bridgeAnswered > t0 ? resolve() : setTimeout(wait, 1)); wait(); });
      out.accepted.push(bridgeAnswered - t0);
      // Grant → askToUnmute.
      t0 = performance.now();
      const asked = askedToUnmute('bench1');
      await post({ command: 'grant', station: { remote: 'wagner' } });
      out.grant.push((await asked) - t0);
      arrived = nextEvent((c) => c.type === 'microphone_closed');
      await post({ command: 'stop', station: { remote: 'wagner' } });
      await arrived;
      jitsi.lower('bench1');
      await new Promise((resolve) => setTimeout(resolve, 20));
      // Below the technician's rate limit (40 commands at once, 20 a second); each
      // measurement starts after the same pause, so both start from an idle machine.
      await new Promise((resolve) => setTimeout(resolve, 400));
      // The limit: the same request POSTed by the page itself and its event on the
      // stream, no bridge in the path; then taken back.
      arrived = nextEvent((c) => c.type === 'request_added' && c.request.station.remote === 'wagner');
      t0 = performance.now();
      await post({ command: 'request', station: { remote: 'wagner' } });
      out.rawAnswer.push(performance.now() - t0);
      out.raw.push((await arrived) - t0);
      arrived = nextEvent((c) => c.type === 'request_removed');
      await post({ command: 'withdraw', station: { remote: 'wagner' } });
      await arrived;
    }
    stream.close();
    return out;
  }, ROUNDS);
  report(samples);
} finally {
  clearInterval(progress);
  await browser.close();
  await daemon.stop();
  server.close();
}

function distribution(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (p) => sorted[Math.round((sorted.length - 1) * p)];
  return { n: sorted.length, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] };
}

function human(ms) {
  return `${ms.toFixed(1)} ms`;
}

function report(samples) {
  const rows = [
    ['raw hop: the page POSTs the same request → podiumd\'s answer', 'limit', samples.rawAnswer],
    ['raise hand in the conference → podiumd\'s answer to the bridge (the request is in the floor)', 'Podium', samples.accepted],
    ['of which: raise hand → the bridge\'s request leaves the page', 'Podium', samples.decide],
    ['raw hop: the page POSTs the same request → its event on the page\'s stream', 'limit', samples.raw],
    ['raise hand in the conference → the request on the page\'s event stream', 'Podium', samples.raise],
    ['grant POSTed → askToUnmute issued to the conference (podiumd → bridge)', 'Podium', samples.grant],
  ];
  let md = '## Jitsi bridge: a raised hand → the floor, a grant → the conference (Chromium)\n\n'
    + 'Reproduce: `cd tests/web && PODIUMD=../../target/release/podiumd node bench-bridge.mjs`\n\n'
    + '| Measurement | | n | p50 | p99 | max |\n|---|---|---:|---:|---:|---:|\n';
  for (const [name, kind, values] of rows) {
    const d = distribution(values);
    md += `| ${name} | ${kind} | ${d.n} | ${human(d.p50)} | ${human(d.p99)} | ${human(d.max)} |\n`;
    console.log(`${name.padEnd(90)} p50 ${human(d.p50)} p99 ${human(d.p99)} max ${human(d.max)}${kind === 'limit' ? '  (limit)' : ''}`);
  }
  md += '\n- Setup: `podiumd demo --jitsi <stand-in>` (release build, no MQTT, journal in memory), the bridge page in Debian\'s headless Chromium, logged in as the technician so that the same page can also grant (one clock for every time; a `bridge` login may not grant, and its commands take the same path), the conference played by the stand-in for `external_api.js` that the browser tests use (no Jitsi server runs here; a real one adds its own signalling, which is not Podium\'s part). All times on the page\'s `performance.now()`; podiumd, Chromium and Node share the 2 cores.\n'
    + '- Each bridge path contains one raw hop (a POST, or a POST and an event on a stream). Up to podiumd\'s answer, what is above the limit is the bridge page\'s own work; on the way to the page\'s second stream and to `askToUnmute`, the page also handles the same event for the bridge (its floor, the table, the report) on the browser\'s one main thread before the next event is delivered.\n\n';
  const dir = process.env.PODIUM_BENCH_REPORT;
  if (dir) {
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'bridge.md'), md);
  }
}
