// Attendance, quorum and votes in the consoles (issue 18): the chair marks attendance and
// sees the quorum (and the alert when it is lost); an open vote with two remote members
// voting on their personal pages, a proxy vote by the chair, the result on every console;
// a secret vote shows who voted but no choice, and remote members are told they cannot
// take part (the demo's `remote_secret = false`); a room that lets them take part shows
// a member their secret choice only from their own click. The new panels are axe-core
// clean in German and English. Run: `npm test` in tests/web (tests/run does).

import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  axeViolations, launchBrowser, login, newPage, ready, root, screenshot, startDaemon,
} from './support.mjs';

/** The chair's login in these rooms (its hash made with `podiumd hash-password`). */
const CHAIR = { user: 'vorsitz', password: 'vorsitz-im-test' };
const CHAIR_HASH = '$argon2id$v=19$m=19456,t=2,p=1$0F7m2Ic3TCbHg/6kq0GTow$UB9r1nEl9hotIezZI19E0hOsIPizd3+OlNKl9Acohgk';

let browser;
const pages = [];
const dirs = [];

/** A room of its own: the demo's room with personal links for Matthias Vogt and Laura
 *  Engel (both attend only remotely), a journal in a temporary directory, no MQTT, a chair
 *  login of its own; `extra.remoteSecret` lets remote members take part in secret votes.
 *  Loopback acts as the chair. */
function roomFile(extra = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'podium-voting-'));
  dirs.push(dir);
  const tokens = { vogt: `vogt-${randomBytes(16).toString('hex')}`, engel: `engel-${randomBytes(16).toString('hex')}` };
  const hash = (token) => createHash('sha256').update(token).digest('hex');
  let room = readFileSync(path.join(root, 'config', 'demo.toml'), 'utf8');
  room = room.replace(/\[mqtt\]\n(?:[^[\n][^\n]*\n)*/, '');
  // A room of its own may not use the demo's public passwords: the chair gets its own.
  room = room.replace(/\[\[user\]\]\n(?:[^[\n][^\n]*\n)*/g, '');
  room += `\n[[user]]\nname = "${CHAIR.user}"\nrole = "chair"\npassword_hash = "${CHAIR_HASH}"\n`;
  room = room.replace(/token_hash = "sha256:[0-9a-f]+"/, `token_hash = "sha256:${hash(tokens.vogt)}"`);
  room += `\n[[remote_link]]\nmember = "engel"\ntoken_hash = "sha256:${hash(tokens.engel)}"\n`;
  room += '\n[journal]\npath = "journal.sqlite3"\n';
  if (extra.remoteSecret) {
    room = room.replace(/^remote_secret = false$/m, 'remote_secret = true');
    assert.match(room, /^remote_secret = true$/m);
  }
  const file = path.join(dir, 'room.toml');
  writeFileSync(file, room);
  return { file, tokens };
}

async function startRoom(extra, log) {
  const { file, tokens } = roomFile(extra);
  const daemon = await startDaemon({ argv: ['run', '-c', file, '--listen', '127.0.0.1:0'], log });
  return { daemon, base: daemon.base, tokens };
}

let room; // the demo's voting rules: remote members do not take part in secret votes

before(async () => {
  browser = await launchBrowser();
  room = await startRoom({}, 'podiumd-voting.log');
});

afterEach(async () => {
  const errors = pages.flatMap((p) => p.jsErrors);
  await Promise.all(pages.splice(0).map((p) => p.context().close()));
  assert.deepEqual(errors, [], 'no script errors on any page');
});

after(async () => {
  await browser?.close();
  await room?.daemon.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function open(options) {
  const page = await newPage(browser, options);
  pages.push(page);
  return page;
}

const text = (page, selector) => page.locator(selector).innerText();

/** Loopback acts as the chair (its commands share one rate limit: a 429 waits and tries again). */
async function call(base, p, { method = 'GET', body } = {}) {
  let r;
  for (;;) {
    r = await fetch(`${base}${p}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (r.status !== 429) break;
    await r.arrayBuffer();
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const type = r.headers.get('content-type') || '';
  return { status: r.status, body: type.includes('json') ? await r.json() : await r.text() };
}

const cmd = (base, body) => call(base, '/api/v1/commands', { method: 'POST', body });

/** A fresh meeting on one public item, entered; no vote running; everyone at a seat present. */
async function freshMeeting(base, { seated = true } = {}) {
  await cmd(base, { command: 'cancel_vote' });
  for (const m of (await call(base, '/api/v1/meetings')).body.filter((x) => x.open)) {
    await call(base, `/api/v1/meetings/${m.id}/close`, { method: 'POST' });
  }
  const opened = await call(base, '/api/v1/meetings', {
    method: 'POST',
    body: {
      title: 'Stadtrat, 13. Sitzung',
      agenda: [{ id: 1, number: 'Ö 1', title: 'Haushaltssatzung 2027', publicity: 'public' }],
    },
  });
  assert.equal(opened.status, 201, JSON.stringify(opened.body));
  assert.equal((await cmd(base, { command: 'enter_item', item: 1 })).status, 200);
  if (seated) assert.equal((await cmd(base, { command: 'mark_seated_present' })).status, 200);
}

/** A member's page through their personal link, joined remotely. */
async function memberPage(base, token, options = {}) {
  const member = await open({ width: 800, height: 1200, ...options });
  await member.goto(`${base}/remote/${token}`);
  await ready(member);
  if (await member.locator('#join').isVisible()) await member.click('#join');
  await member.waitForSelector('#leave:not([hidden])');
  return member;
}

async function chairPage(base, options = {}) {
  const chair = await open({ width: 1400, height: 1000, ...options });
  await login(chair, base, CHAIR);
  return chair;
}

test('the chair marks attendance and sees the quorum change, with an alert when it is lost', async () => {
  const { base } = room;
  await freshMeeting(base, { seated: false });
  // Nobody recorded yet (a fresh daemon): not quorate from the start.
  const chair = await chairPage(base);
  await chair.waitForFunction(() => document.getElementById('quorum').textContent.startsWith('Nicht beschlussfähig: 0 von 43'));
  assert.equal(await text(chair, '#quorum'), 'Nicht beschlussfähig: 0 von 43 anwesend (22 erforderlich)');
  await chair.waitForSelector('#quorum-alert:not([hidden])');
  assert.match(await text(chair, '#quorum-alert'), /nicht beschlussfähig: 0 stimmberechtigte Mitglieder anwesend, 22 erforderlich/);
  assert.equal(await chair.locator('#quorum-alert').getAttribute('role'), 'alert');

  // Everyone at a seat: 40 present, quorate, no alert.
  await chair.click('#mark-seated');
  await chair.waitForFunction(() => document.getElementById('quorum').textContent.startsWith('Beschlussfähig: 40 von 43'));
  await chair.waitForSelector('#quorum-alert', { state: 'hidden' });
  const wagner = chair.locator('#attendance-rows tr[data-participant="wagner"]');
  assert.match(await wagner.innerText(), /Markus Wagner[\s\S]*anwesend[\s\S]*Platz 3[\s\S]*Sitzungsleitung/);
  assert.match(await text(chair, '#attendance-summary'), /^Anwesend: 40 · entschuldigt: 0 · abwesend: 0 · nicht erfasst: 3$/);

  // The chair marks one member excused and one absent with the buttons of their rows.
  await wagner.getByRole('button', { name: 'Markus Wagner: entschuldigt' }).click();
  await chair.waitForFunction(() => document.querySelector('#attendance-rows tr[data-participant="wagner"]').dataset.status === 'excused');
  assert.match(await wagner.innerText(), /entschuldigt/);
  const hoffmann = chair.locator('#attendance-rows tr[data-participant="hoffmann"]');
  await hoffmann.getByRole('button', { name: 'Sabine Hoffmann: abwesend' }).click();
  await chair.waitForFunction(() => document.getElementById('quorum').textContent.startsWith('Beschlussfähig: 38 von 43'));
  assert.equal(await wagner.getByRole('button', { name: 'Markus Wagner: entschuldigt' }).getAttribute('aria-pressed'), 'true');

  // Members leave until fewer than 22 are present: the alert says the quorum is lost.
  const seated = (await call(base, '/api/v1/state')).body.floor.seated;
  const leaving = Object.values(seated).filter((id) => !['wagner', 'hoffmann', 'becker'].includes(id)).slice(0, 17);
  for (const id of leaving) await cmd(base, { command: 'mark_attendance', participant: id, status: 'absent' });
  await chair.waitForFunction(() => document.getElementById('quorum').textContent.startsWith('Nicht beschlussfähig: 21 von 43'));
  await chair.waitForSelector('#quorum-alert:not([hidden])');
  assert.match(await text(chair, '#quorum-alert'), /Beschlussfähigkeit ist verloren: nur noch 21 stimmberechtigte Mitglieder anwesend, 22 erforderlich/);
  assert.deepEqual(await axeViolations(chair), [], 'chair console: attendance panel and quorum alert (de)');
  await screenshot(chair, 'voting-attendance');
  await chair.locator('#attendance-panel').screenshot({ path: path.join(root, 'tests', 'artifacts', 'voting-attendance-panel.png') });

  // Back: quorate, the alert goes. The chair's own marks of absence stand against "all
  // seated present", so the members who left are marked present one by one.
  await chair.click('#mark-seated');
  assert.match(await text(chair, '#quorum'), /^Nicht beschlussfähig: 21 von 43/);
  for (const id of leaving) await cmd(base, { command: 'mark_attendance', participant: id, status: 'present' });
  await chair.waitForSelector('#quorum-alert', { state: 'hidden' });
  await chair.selectOption('#lang', 'en');
  await chair.waitForFunction(() => document.getElementById('quorum').textContent.startsWith('Quorate: 38 of 43 present'));
  assert.match(await text(chair, '#attendance-summary'), /Present: 38/);
  assert.deepEqual(await axeViolations(chair), [], 'chair console: attendance panel (en)');
});

test('an open vote: two remote members vote on their pages, the chair enters a proxy vote and closes; every console shows the result', async () => {
  const { base, tokens } = room;
  await freshMeeting(base);
  const vogt = await memberPage(base, tokens.vogt);
  const engel = await memberPage(base, tokens.engel);
  const display = await open({ width: 1920, height: 1080 });
  await display.goto(`${base}/display`);
  await ready(display);
  const overlay = await open({ width: 1920, height: 1080 });
  await overlay.goto(`${base}/overlay`);
  await ready(overlay);
  const chair = await chairPage(base);
  await chair.waitForFunction(() => document.getElementById('quorum').textContent.startsWith('Beschlussfähig: 42 von 43'));
  await display.waitForFunction(() => document.getElementById('quorum-line').textContent.startsWith('Beschlussfähig: 42 von 43'));
  assert.match(await text(vogt, '#attendance'), /Ihre Anwesenheit: anwesend \(zugeschaltet\), erfasst durch: persönlicher Link/);

  // The chair opens an open vote on the current item.
  assert.match(await text(chair, '#vote-form-item'), /Abstimmung zu: TOP Ö 1 – Haushaltssatzung 2027/);
  await chair.fill('#vote-question', 'Der Haushaltssatzung 2027 wird zugestimmt.');
  await chair.selectOption('#vote-kind', 'open');
  await chair.click('#vote-open');
  await chair.waitForSelector('#vote-view:not([hidden])');
  assert.equal(await chair.locator('#vote-form').isHidden(), true);
  assert.match(await text(chair, '#vote-title'), /Abstimmung läuft: Der Haushaltssatzung 2027 wird zugestimmt\./);
  assert.match(await text(chair, '#vote-progress'), /^0 von 42 haben abgestimmt$/);
  await display.waitForFunction(() => document.getElementById('vote-question').textContent === 'Der Haushaltssatzung 2027 wird zugestimmt.');
  assert.equal(await text(display, '#vote-progress'), '0 von 42 haben abgestimmt');

  // Vogt votes no, then changes to yes (the vote is changeable); Engel votes no with the keyboard.
  await vogt.waitForSelector('#vote-options button');
  assert.deepEqual(await vogt.locator('#vote-options button').allInnerTexts(), ['Ja', 'Nein', 'Enthaltung']);
  await vogt.getByRole('button', { name: 'Nein' }).click();
  await vogt.waitForFunction(() => document.getElementById('vote-confirm').textContent.startsWith('Ihre Stimme wurde gezählt: Nein.'));
  assert.match(await text(vogt, '#vote-confirm'), /Sie können sie bis zum Schluss der Abstimmung ändern/);
  await vogt.getByRole('button', { name: 'Ja' }).click();
  await vogt.waitForFunction(() => document.getElementById('vote-confirm').textContent.startsWith('Ihre Stimme wurde gezählt: Ja.'));
  assert.equal(await vogt.getByRole('button', { name: 'Ja' }).getAttribute('aria-pressed'), 'true');
  await engel.waitForSelector('#vote-options button');
  await engel.locator('#vote-options button[data-option="no"]').focus();
  await engel.keyboard.press('Enter');
  await engel.waitForFunction(() => document.getElementById('vote-confirm').textContent.startsWith('Ihre Stimme wurde gezählt: Nein.'));

  // The chair sees each member's choice and enters one for Markus Wagner (seat 3).
  const row = (id) => chair.locator(`#ballot-rows tr[data-participant="${id}"]`);
  await chair.waitForFunction(() => document.querySelector('#ballot-rows tr[data-participant="vogt"]')?.dataset.voted === 'true');
  assert.match(await row('vogt').innerText(), /Matthias Vogt[\s\S]*Ja[\s\S]*Online/);
  await chair.waitForFunction(() => document.querySelector('#ballot-rows tr[data-participant="engel"]')?.dataset.voted === 'true');
  assert.match(await row('engel').innerText(), /Laura Engel[\s\S]*Nein[\s\S]*Online/);
  await chair.selectOption('#proxy-member', 'wagner');
  await chair.selectOption('#proxy-choice', 'yes');
  await chair.click('#proxy-form button[type="submit"]');
  await chair.waitForFunction(() => document.querySelector('#ballot-rows tr[data-participant="wagner"]')?.dataset.voted === 'true');
  assert.match(await row('wagner').innerText(), /Markus Wagner[\s\S]*Ja[\s\S]*eingetragen von der Sitzungsleitung/);
  assert.match(await row('hoffmann').innerText(), /Sabine Hoffmann[\s\S]*noch nicht/);
  assert.equal(await text(chair, '#vote-tally'), 'Bisher: Ja 2, Nein 1, Enthaltung 0');
  await chair.waitForFunction(() => document.getElementById('vote-progress').textContent === '3 von 42 haben abgestimmt');
  await display.waitForFunction(() => document.getElementById('vote-progress').textContent === '3 von 42 haben abgestimmt');
  await overlay.waitForFunction(() => document.getElementById('vote-progress').textContent === '3 von 42 haben abgestimmt');
  assert.equal(await text(vogt, '#vote-progress'), '3 von 42 haben abgestimmt');
  assert.deepEqual(await axeViolations(chair), [], 'chair console: open vote running (de)');
  assert.deepEqual(await axeViolations(vogt), [], 'remote page: voted (de)');
  await screenshot(chair, 'voting-open-chair');
  await chair.locator('#vote-panel').screenshot({ path: path.join(root, 'tests', 'artifacts', 'voting-open-panel.png') });
  await screenshot(vogt, 'voting-open-remote');

  // Close: accepted with 2 yes against 1 no (a simple majority needs no + 1).
  await chair.click('#vote-close');
  await chair.waitForSelector('#vote-result:not([hidden])');
  assert.equal(await text(chair, '#vote-outcome'), 'Angenommen: Ja 2, Nein 1, Enthaltung 0 (erforderlich: 2 Ja-Stimmen)');
  assert.match(await text(chair, '#vote-result-facts'), /3 abgestimmt, 39 nicht abgestimmt/);
  assert.match(await text(chair, '#vote-title'), /Abstimmung geschlossen/);
  assert.equal(await chair.locator('#vote-form').isVisible(), true, 'the next vote can be opened');
  for (const member of [vogt, engel]) {
    await member.waitForSelector('#vote-result:not([hidden])');
    assert.equal(await text(member, '#vote-result'), 'Angenommen: Ja 2, Nein 1, Enthaltung 0 (erforderlich: 2 Ja-Stimmen)');
    assert.equal(await member.locator('#vote-options button').count(), 0, 'no buttons after closing');
  }
  for (const page of [display, overlay]) {
    await page.waitForSelector('#vote-result:not([hidden])');
    assert.equal(await text(page, '#vote-result'), 'Angenommen');
    assert.deepEqual(await page.locator('#vote-totals li').allInnerTexts(), ['Ja: 2', 'Nein: 1', 'Enthaltung: 0']);
    assert.doesNotMatch(await page.evaluate(() => document.body.textContent), /Vogt|Engel|Wagner/, 'no name on the display for the vote');
  }
  assert.deepEqual(await axeViolations(display), [], 'display with a result');
  await screenshot(display, 'voting-display-result');
  await screenshot(overlay, 'voting-overlay-result');

  // The non-public part: the display shows neither the quorum nor the vote.
  assert.equal((await cmd(base, { command: 'set_public', public: false })).status, 200);
  await display.waitForSelector('#vote-box', { state: 'hidden' });
  assert.doesNotMatch(await display.evaluate(() => document.body.textContent), /Haushaltssatzung 2027 wird|Angenommen|beschlussfähig/i);
  assert.equal((await cmd(base, { command: 'set_public', public: true })).status, 200);
  await display.waitForSelector('#vote-box:not([hidden])');
});

test('a secret vote: the chair sees who voted but no choice; remote members are told they cannot take part', async () => {
  const { base, tokens } = room;
  await freshMeeting(base);
  const vogt = await memberPage(base, tokens.vogt);
  const display = await open({ width: 1920, height: 1080 });
  await display.goto(`${base}/display`);
  await ready(display);
  const chair = await chairPage(base);
  await chair.fill('#vote-question', 'Wahl der Schiedsperson: Frau Keller');
  await chair.selectOption('#vote-kind', 'secret');
  assert.equal(await chair.locator('#vote-changeable').isDisabled(), true, 'a secret ballot is final');
  await chair.click('#vote-open');
  await chair.waitForSelector('#vote-view:not([hidden])');
  await chair.waitForSelector('#vote-remote-notice:not([hidden])');
  assert.equal(await text(chair, '#vote-remote-notice'), 'Online-Teilnehmende können an geheimen Abstimmungen nicht teilnehmen.');
  // Entitled: the 40 members at their seats, not Matthias Vogt (remote).
  assert.equal(await text(chair, '#vote-progress'), '0 von 40 haben abgestimmt');

  await vogt.waitForSelector('#vote-notice:not([hidden])');
  assert.equal(await text(vogt, '#vote-notice'), 'Online-Teilnehmende können an geheimen Abstimmungen nicht teilnehmen.');
  assert.equal(await vogt.locator('#vote-options button').count(), 0, 'no ballot buttons for a remote member');

  // In a secret vote only the member votes: no proxy entry. Two members vote with their
  // desk units' vote keys (the demo's simulated units); the chair's list says who voted,
  // never how.
  assert.equal(await chair.locator('#proxy-form').isHidden(), true, 'no proxy entry in a secret vote');
  const proxy = await cmd(base, { command: 'cast_vote', participant: 'wagner', choice: 'yes' });
  assert.equal(proxy.body.error, 'not_allowed_for_role');
  for (const [id, unit, key] of [['wagner', 3, 'vote_yes'], ['hoffmann', 4, 'vote_no']]) {
    const pressed = await call(base, '/api/v1/sim/desks', { method: 'POST', body: { action: 'click', unit, key } });
    assert.equal(pressed.status, 200, JSON.stringify(pressed.body));
    await chair.waitForFunction((p) => document.querySelector(`#ballot-rows tr[data-participant="${p}"]`)?.dataset.voted === 'true', id);
  }
  await chair.waitForFunction(() => document.getElementById('vote-progress').textContent === '2 von 40 haben abgestimmt');
  assert.match(await chair.locator('#ballot-rows tr[data-participant="wagner"]').innerText(), /Markus Wagner[\s\S]*hat abgestimmt[\s\S]*Abstimmtasten am Platz/);
  const ballots = await chair.evaluate(() => {
    const rows = document.getElementById('ballot-rows');
    return { text: rows.textContent, html: rows.innerHTML };
  });
  assert.doesNotMatch(ballots.text, /\b(Ja|Nein|Enthaltung)\b/, 'no choice per member in a secret vote');
  assert.doesNotMatch(ballots.html, /yes|abstain|"no"/, 'nor in attributes');
  assert.equal(await text(chair, '#ballots-col-choice'), 'Abgestimmt');
  assert.equal(await chair.locator('#vote-tally').isHidden(), true, 'no running tally in a secret vote');
  // A secret ballot is final.
  const again = await call(base, '/api/v1/sim/desks', { method: 'POST', body: { action: 'click', unit: 3, key: 'vote_no' } });
  assert.equal(again.status, 200);
  await display.waitForFunction(() => document.getElementById('vote-progress').textContent === '2 von 40 haben abgestimmt');
  assert.deepEqual(await axeViolations(chair), [], 'chair console: secret vote (de)');
  assert.deepEqual(await axeViolations(vogt), [], 'remote page: secret vote notice (de)');
  await screenshot(chair, 'voting-secret-chair');
  await chair.locator('#vote-panel').screenshot({ path: path.join(root, 'tests', 'artifacts', 'voting-secret-panel.png') });
  await screenshot(vogt, 'voting-secret-remote');

  await chair.selectOption('#lang', 'en');
  await chair.waitForFunction(() => document.getElementById('vote-remote-notice').textContent === 'Remote participants cannot take part in secret ballots.');
  assert.deepEqual(await axeViolations(chair), [], 'chair console: secret vote (en)');
  await vogt.selectOption('#lang', 'en');
  await vogt.waitForFunction(() => document.getElementById('vote-notice').textContent === 'Remote participants cannot take part in secret ballots.');
  assert.deepEqual(await axeViolations(vogt), [], 'remote page: secret vote notice (en)');

  // Close: one yes, one no: a tie rejects.
  await chair.click('#vote-close');
  await chair.waitForSelector('#vote-result:not([hidden])');
  assert.equal(await text(chair, '#vote-outcome'), 'Rejected: Yes 1, No 1, Abstain 0 (required: 2 yes votes)');
  await display.waitForSelector('#vote-result:not([hidden])');
  assert.equal(await text(display, '#vote-result'), 'Abgelehnt');
  await vogt.waitForSelector('#vote-result:not([hidden])');
  assert.equal(await text(vogt, '#vote-result'), 'Rejected: Yes 1, No 1, Abstain 0 (required: 2 yes votes)');
  assert.deepEqual(await axeViolations(vogt), [], 'remote page: result (en)');
});

test('where remote members take part in secret votes, a member sees their secret choice only from their own click', async () => {
  const own = await startRoom({ remoteSecret: true }, 'podiumd-voting-secret.log');
  try {
    await freshMeeting(own.base);
    const vogt = await memberPage(own.base, own.tokens.vogt);
    const chair = await chairPage(own.base);
    await chair.fill('#vote-question', 'Wahl der Schiedsperson: Herr Roth');
    await chair.selectOption('#vote-kind', 'secret');
    await chair.click('#vote-open');
    await chair.waitForSelector('#vote-view:not([hidden])');
    assert.equal(await chair.locator('#vote-remote-notice').isHidden(), true, 'remote members take part here');
    assert.equal(await text(chair, '#vote-progress'), '0 von 41 haben abgestimmt');
    await vogt.waitForSelector('#vote-options button');
    await vogt.getByRole('button', { name: 'Enthaltung' }).click();
    await vogt.waitForFunction(() => document.getElementById('vote-confirm').textContent.includes('„Enthaltung“ sehen nur Sie'));
    assert.match(await text(vogt, '#vote-confirm'), /^Ihre Stimme wurde gezählt\. Die Abstimmung ist geheim/);
    assert.equal(await vogt.locator('#vote-options button').count(), 0, 'a secret ballot is final: no buttons');
    assert.deepEqual(await axeViolations(vogt), [], 'remote page: secret ballot cast');
    await chair.waitForFunction(() => document.querySelector('#ballot-rows tr[data-participant="vogt"]')?.dataset.voted === 'true');
    assert.doesNotMatch(await chair.locator('#ballot-rows').innerText(), /Enthaltung/);
    assert.match(await chair.locator('#ballot-rows tr[data-participant="vogt"]').innerText(), /hat abgestimmt[\s\S]*Online/);
    // After a reload the page has only the state: counted, the choice is not shown.
    await vogt.reload();
    await ready(vogt);
    await vogt.waitForFunction(() => document.getElementById('vote-confirm').textContent !== '');
    assert.equal(await text(vogt, '#vote-confirm'), 'Ihre Stimme wurde gezählt. Die Abstimmung ist geheim: Ihre Wahl wird nirgends gespeichert.');
    assert.doesNotMatch(await vogt.evaluate(() => document.getElementById('vote-card').textContent), /Enthaltung/);
    await chair.click('#vote-close');
    await vogt.waitForSelector('#vote-result:not([hidden])');
    assert.equal(await text(vogt, '#vote-result'), 'Abgelehnt: Ja 0, Nein 0, Enthaltung 1 (erforderlich: 1 Ja-Stimme)');
  } finally {
    await own.daemon.stop();
  }
});

test('a cancelled vote, a choice between the chair’s own answers, a member excluded for conflict of interest, a vote closed by its deadline, and none without a meeting', async () => {
  const { base, tokens } = room;
  await freshMeeting(base);
  const vogt = await memberPage(base, tokens.vogt);
  const chair = await chairPage(base);
  // A vote opened by mistake is cancelled after a confirmation: no result, gone everywhere.
  await chair.fill('#vote-question', 'Probeabstimmung');
  await chair.click('#vote-open');
  await chair.waitForSelector('#vote-view:not([hidden])');
  await vogt.waitForSelector('#vote-options button');
  await chair.click('#vote-cancel');
  await chair.waitForSelector('#vote-cancel-confirm:not([hidden])');
  assert.equal(await chair.evaluate(() => document.activeElement.id), 'vote-cancel-no');
  await chair.click('#vote-cancel-yes');
  await chair.waitForSelector('#vote-view', { state: 'hidden' });
  await vogt.waitForSelector('#vote-card', { state: 'hidden' });

  await chair.fill('#vote-question', 'Welche Variante der Ortsumgehung wird weiter geplant?');
  await chair.locator('#vote-custom summary').click();
  await chair.fill('#vote-options', 'Variante Nord\nVariante Süd\n');
  await chair.fill('#vote-duration', '600');
  await chair.click('#vote-open');
  await chair.waitForSelector('#vote-view:not([hidden])');
  assert.match(await text(chair, '#vote-timer'), /^Schließt in (10:00|9:[0-5]\d)$/);
  await vogt.waitForSelector('#vote-options button');
  assert.deepEqual(await vogt.locator('#vote-options button').allInnerTexts(), ['Variante Nord', 'Variante Süd']);
  await vogt.getByRole('button', { name: 'Variante Süd' }).click();
  await vogt.waitForFunction(() => document.getElementById('vote-confirm').textContent.startsWith('Ihre Stimme wurde gezählt: Variante Süd.'));
  await chair.waitForFunction(() => document.getElementById('vote-tally').textContent === 'Bisher: Variante Nord 0, Variante Süd 1');
  await chair.click('#vote-close');
  await chair.waitForSelector('#vote-result:not([hidden])');
  assert.equal(await text(chair, '#vote-outcome'), 'Ausgezählt: Variante Nord 0, Variante Süd 1');
  await vogt.waitForFunction(() => document.getElementById('vote-result').textContent === 'Ausgezählt: Variante Nord 0, Variante Süd 1');

  // A member excluded from the item for conflict of interest is told so instead of buttons;
  // a vote of one second closes by itself.
  const engel = await memberPage(base, tokens.engel);
  assert.equal((await cmd(base, { command: 'exclude', item: 1, participant: 'engel', reason: 'Anliegerin' })).status, 200);
  await chair.fill('#vote-question', 'Die Sitzung wird um 15 Minuten unterbrochen.');
  await chair.fill('#vote-duration', '1');
  await chair.click('#vote-open');
  await engel.waitForSelector('#vote-card:not([hidden])');
  await engel.waitForFunction(() => document.getElementById('vote-notice').textContent.includes('wegen Befangenheit'));
  assert.equal(await engel.locator('#vote-options button').count(), 0);
  await chair.waitForFunction(() => document.getElementById('vote-result-facts').textContent.includes('geschlossen bei Ablauf der Zeit'), null, { timeout: 10_000 });
  assert.equal(await text(chair, '#vote-outcome'), 'Abgelehnt: Ja 0, Nein 0, Enthaltung 0 (erforderlich: 1 Ja-Stimme)');
  await engel.waitForFunction(() => document.getElementById('vote-confirm').textContent === 'Sie haben nicht abgestimmt.');
  assert.equal((await cmd(base, { command: 'readmit', item: 1, participant: 'engel' })).status, 200);

  // Without an open meeting the chair is told why no vote opens.
  for (const m of (await call(base, '/api/v1/meetings')).body.filter((x) => x.open)) {
    await call(base, `/api/v1/meetings/${m.id}/close`, { method: 'POST' });
  }
  await chair.fill('#vote-question', 'Vertagung');
  await chair.click('#vote-open');
  await chair.waitForSelector('#notice:not([hidden])');
  assert.equal(await text(chair, '#notice'), 'Abgelehnt: Abstimmungen sind nur in einer eröffneten Sitzung möglich.');
  assert.equal(await chair.locator('#quorum-alert').isHidden(), true, 'no quorum alert without a meeting');
});
