// The Jitsi bridge page against a stand-in for a Jitsi server's external_api.js
// (fixtures/jitsi-stand-in.js, served here from its own origin as a server would serve the
// real script): no Jitsi server can run on the test machines. The stand-in records every
// command the page sends to the conference; the floor is read from the real podiumd.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { axeViolations, command, launchBrowser, login, newPage, startDaemon } from './support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const standIn = readFileSync(path.join(here, 'fixtures', 'jitsi-stand-in.js'), 'utf8');
const dir = mkdtempSync(path.join(os.tmpdir(), 'podium-bridge-'));
const journal = path.join(dir, 'journal.sqlite3');
const BRIDGE = { user: 'konferenz', password: 'konferenz' };

let conferenceServer;
let conferenceUrl;
let daemon;
let port;
let browser;
let page;

function argv() {
  return ['demo', '--listen', `127.0.0.1:${port}`, '--no-mqtt', '--journal', journal, '--jitsi', conferenceUrl];
}

before(async () => {
  conferenceServer = http.createServer((req, res) => {
    if (req.url === '/external_api.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(standIn);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise((resolve) => conferenceServer.listen(0, '127.0.0.1', resolve));
  conferenceUrl = `http://127.0.0.1:${conferenceServer.address().port}/Ratssaal`;
  // A fixed port, so the page finds podiumd again after the restart below.
  const probe = http.createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  port = probe.address().port;
  await new Promise((resolve) => probe.close(resolve));
  daemon = await startDaemon({ argv: argv(), log: 'podiumd-bridge.log' });
  browser = await launchBrowser();
  page = await newPage(browser);
  page.on('console', (m) => { if (m.type() === 'error') page.jsErrors.push(`console: ${m.text()}`); });
  await page.goto(`${daemon.base}/bridge/jitsi`);
  await page.waitForURL(/\/login/);
  await page.fill('#user', BRIDGE.user);
  await page.fill('#password', BRIDGE.password);
  await page.click('#submit');
  await page.waitForURL(`${daemon.base}/bridge/jitsi`);
  await joined();
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
  conferenceServer?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Waits until the page is connected to podiumd and in the conference. */
async function joined() {
  await page.waitForFunction(() => document.documentElement.dataset.bridge === 'live joined', null, { timeout: 20_000 });
}

const jitsi = (f, ...args) => page.evaluate(([body, a]) => window.__jitsi[body](...a), [f, args]);
const commandsFor = (name, id) => page.evaluate(([n, i]) => window.__jitsi.commandsFor(n, i ?? undefined), [name, id ?? null]);
const localId = () => page.evaluate(() => window.__jitsi.current.localId);
const state = async () => (await fetch(`${daemon.base}/api/v1/state`)).json();

/** Polls `f` until it returns something truthy (10 s). */
async function until(what, f) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const value = await f();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Script errors and CSP violations; a refused request's console line is not one. */
const scriptErrors = () => page.jsErrors.filter((e) => !/Failed to load resource/.test(e));

const requestOf = (snap, member) => snap.floor.requests.find((r) => r.station.remote === member);
const remote = (snap, member) => snap.floor.presence[member] === 'remote';

test('a raised hand becomes a request with the hand\'s time, once; lowering it withdraws', async () => {
  await jitsi('join', 'aa01', 'Markus Wagner');
  await until('wagner remote', async () => remote(await state(), 'wagner'));
  const raisedAt = 1_764_000_000_123;
  await jitsi('raise', 'aa01', raisedAt);
  const request = await until('wagner\'s request', async () => requestOf(await state(), 'wagner'));
  assert.equal(request.raised_at, raisedAt, 'the hand\'s time is kept beside the server stamp');
  assert.ok(request.requested_at.unix_ms > 0);
  // The same raise seen again (e.g. the server repeats it) asks nothing twice.
  const seq = (await state()).floor.seq;
  await page.evaluate((at) => window.__jitsi.current.emit('raiseHandUpdated', { id: 'aa01', handRaised: at }), raisedAt);
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal((await state()).floor.seq, seq, 'a repeated raise changes nothing');
  await jitsi('lower', 'aa01');
  await until('the request withdrawn', async () => !requestOf(await state(), 'wagner'));
  // The table shows who is who.
  await page.waitForSelector('#participants tr[data-member="wagner"]');
  assert.deepEqual(scriptErrors(), []);
});

test('a grant asks the member to unmute, mutes the others and shows them large; stop mutes', async () => {
  await jitsi('join', 'bb02', 'Ursula Fischer');
  await until('fischer remote', async () => remote(await state(), 'fischer'));
  await jitsi('raise', 'aa01');
  await until('wagner waits', async () => requestOf(await state(), 'wagner'));
  const fischerMuted = (await commandsFor('muteRemoteParticipant', 'bb02')).length;
  const granted = await command(daemon.base, { command: 'grant', station: { remote: 'wagner' } });
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  await until('askToUnmute wagner', async () => (await commandsFor('askToUnmute', 'aa01')).length > 0);
  await until('wagner large', async () => {
    const large = await commandsFor('setLargeVideoParticipant');
    return large.at(-1)?.args[0] === 'aa01';
  });
  await until('fischer muted again', async () => (await commandsFor('muteRemoteParticipant', 'bb02')).length > fischerMuted);
  assert.equal((await commandsFor('askToUnmute', 'bb02')).length, 0);
  const mutedBefore = (await commandsFor('muteRemoteParticipant', 'aa01')).length;
  await command(daemon.base, { command: 'stop', station: { remote: 'wagner' } });
  await until('wagner muted', async () => (await commandsFor('muteRemoteParticipant', 'aa01')).length > mutedBefore);
  const room = await localId();
  await until('the room large again', async () => (await commandsFor('setLargeVideoParticipant')).at(-1)?.args[0] === room);
  // A request the chair removes while the hand is up: the member is told in the chat
  // (nobody can lower another's hand through the IFrame API).
  await jitsi('lower', 'bb02');
  await jitsi('raise', 'bb02');
  await until('fischer waits', async () => requestOf(await state(), 'fischer'));
  await command(daemon.base, { command: 'withdraw', station: { remote: 'fischer' } });
  await until('a notice to fischer', async () => (await commandsFor('sendChatMessage')).some((c) => c.args[1] === 'bb02'));
  assert.deepEqual(scriptErrors(), []);
});

test('leaving the conference withdraws the request; unknown participants are reported', async () => {
  await jitsi('join', 'cc03', 'Sarah Lehmann');
  await until('lehmann remote', async () => remote(await state(), 'lehmann'));
  await jitsi('raise', 'cc03');
  await until('lehmann waits', async () => requestOf(await state(), 'lehmann'));
  await jitsi('leave', 'cc03');
  await until('lehmann gone', async () => {
    const snap = await state();
    return !requestOf(snap, 'lehmann') && !remote(snap, 'lehmann');
  });
  await jitsi('join', 'dd04', 'Gast aus der Presse');
  await jitsi('raise', 'dd04');
  await page.waitForSelector('#participants td.unknown');
  const reported = await until('the report names the guest', async () => {
    const r = await (await fetch(`${daemon.base}/api/v1/bridges`)).json();
    return r.report?.participants.some((p) => p.name === 'Gast aus der Presse' && p.member === null) && r;
  });
  assert.equal(reported.configured, true);
  assert.equal(reported.report.conference, 'joined');
  assert.equal(reported.stale, false);
  assert.ok((await commandsFor('muteRemoteParticipant', 'dd04')).length > 0, 'a guest is muted');
  assert.equal((await state()).floor.requests.length, 0, 'a guest\'s hand asks nothing');
  // The technician console shows the same.
  const tech = await newPage(browser);
  await login(tech, daemon.base, { user: 'technik', password: 'technik' }, '/tech');
  await tech.waitForSelector('#bridge-unknown');
  assert.match(await tech.locator('#bridge-unknown').innerText(), /Gast aus der Presse/);
  assert.match(await tech.locator('#bridge-summary').innerText(), /Beigetreten/);
  await tech.context().close();
  await jitsi('leave', 'dd04');
});

test('the page converges after podiumd and after the conference restart', async () => {
  const meeting = await fetch(`${daemon.base}/api/v1/meetings`, {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ title: 'Brückentest' }),
  });
  assert.equal(meeting.status, 201);
  const meetingId = (await meeting.json()).id;
  await jitsi('join', 'ee05', 'Nicole Berger');
  await until('berger remote', async () => remote(await state(), 'berger'));
  await daemon.stop();
  // While podiumd is down, a hand goes up: it is asked for once podiumd is back.
  const raisedAt = await jitsi('raise', 'ee05');
  await page.waitForFunction(() => document.documentElement.dataset.bridge.startsWith('lost'), null, { timeout: 10_000 });
  daemon = await startDaemon({ argv: argv(), log: 'podiumd-bridge-2.log' });
  await joined();
  const request = await until('berger\'s request after the restart', async () => requestOf(await state(), 'berger'));
  assert.equal(request.raised_at, raisedAt);
  assert.ok(remote(await state(), 'wagner'), 'the floor came back from the journal');
  const minutes = await (await fetch(`${daemon.base}/api/v1/meetings/${meetingId}/minutes`)).json();
  const turn = minutes.speakers.find((t) => t.participant === 'berger');
  assert.equal(turn?.hand_raised_unix_ms, raisedAt, 'the minutes keep the hand\'s time beside the stamp');
  assert.ok(turn.requested_unix_ms > 0);

  // The conference server restarts: the page joins again and applies the floor again.
  const granted = await command(daemon.base, { command: 'grant', station: { remote: 'berger' } });
  assert.equal(granted.status, 200, JSON.stringify(granted.body));
  await until('askToUnmute berger', async () => (await commandsFor('askToUnmute', 'ee05')).length > 0);
  const asked = (await commandsFor('askToUnmute', 'ee05')).length;
  await jitsi('drop');
  await page.waitForFunction(() => window.__jitsi.instances.length > 1 && document.documentElement.dataset.bridge === 'live joined',
    null, { timeout: 20_000 });
  await until('askToUnmute berger again', async () => (await commandsFor('askToUnmute', 'ee05')).length > asked);
  const seq = (await state()).floor.seq;
  await new Promise((resolve) => setTimeout(resolve, 300));
  const after = await state();
  assert.equal(after.floor.seq, seq, 'the rejoin asked nothing twice of the floor');
  assert.ok(remote(after, 'berger') && remote(after, 'wagner'), 'nobody was taken out of the floor');
  assert.ok(after.floor.speakers.some((sp) => sp.station.remote === 'berger'), 'berger still speaks');
  const stopped = await command(daemon.base, { command: 'stop', station: { remote: 'berger' } });
  assert.equal(stopped.status, 200, JSON.stringify(stopped.body));
  assert.deepEqual(scriptErrors().filter((e) => !/ERR_CONNECTION_REFUSED|EventSource/.test(e)), []);
});

test('a member\'s personal page opens the conference under the name the bridge knows', async () => {
  const member = await newPage(browser);
  await member.goto(`${daemon.base}/remote/demo-remote-link-vogt`);
  await member.waitForSelector('#conference-link:not([hidden])');
  const href = await member.locator('#conference-url').getAttribute('href');
  assert.equal(href, `${conferenceUrl}#userInfo.displayName=%22Matthias%20Vogt%22`);
  assert.deepEqual(await axeViolations(member), []);
  await member.context().close();
});

test('the bridge page is accessible in German and English', async () => {
  assert.deepEqual(await axeViolations(page), []);
  await page.selectOption('#lang', 'en');
  await page.waitForFunction(() => document.documentElement.lang === 'en');
  assert.match(await page.locator('#conference').innerText(), /Joined/);
  assert.deepEqual(await axeViolations(page), []);
});
