// The council session in the consoles (issue 17): the chair runs a whole meeting from the
// chair console (open with the draft agenda, items, suspension, the non-public part,
// close, minutes), the room display and the overlay follow and show no name in the
// non-public part, speaking-time budgets set from the console appear live, and the new
// panels are axe-core clean. Run: `npm test` in tests/web (tests/run does).

import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  DEMO, axeViolations, command, launchBrowser, login, newPage, ready, resetFloor, root, screenshot, startDaemon,
} from './support.mjs';

let daemon;
let browser;
let base;
const pages = [];

before(async () => {
  daemon = await startDaemon({ log: 'podiumd-council.log' });
  base = daemon.base;
  browser = await launchBrowser();
});

afterEach(async () => {
  const errors = pages.flatMap((p) => p.jsErrors);
  await Promise.all(pages.splice(0).map((p) => p.context().close()));
  assert.deepEqual(errors, [], 'no script errors on any page');
});

after(async () => {
  await browser?.close();
  await daemon?.stop();
});

async function open(options) {
  const page = await newPage(browser, options);
  pages.push(page);
  return page;
}

const text = (page, selector) => page.locator(selector).innerText();

/** The demo trusts loopback as the chair: plain fetches act as the chair. */
async function call(path, { method = 'GET', body } = {}) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const type = r.headers.get('content-type') || '';
  return { status: r.status, body: type.includes('json') ? await r.json() : await r.text() };
}

async function state() {
  return (await call('/api/v1/state')).body;
}

/** Closes a meeting a failed test may have left open, and removes the budget. */
async function noMeeting() {
  const meetings = (await call('/api/v1/meetings')).body;
  for (const m of meetings.filter((x) => x.open)) await call(`/api/v1/meetings/${m.id}/close`, { method: 'POST' });
  await command(base, { command: 'set_budget', budget: null });
  await command(base, { command: 'set_public', public: true });
  await resetFloor(base);
}

const DRAFT = {
  title: 'Stadtrat, 12. Sitzung',
  body: 'Stadtrat',
  items: [
    { id: 1, number: 'Ö 1', title: 'Eröffnung und Feststellung der Beschlussfähigkeit', publicity: 'public' },
    { id: 2, number: 'Ö 2', title: 'Bebauungsplan Nr. 12 „Am Mühlbach“', publicity: 'public' },
    { id: 3, number: 'N 1', title: 'Grundstücksangelegenheit Flurstück 4711', publicity: 'non_public' },
  ],
};

/** Every name the room knows (the chair's full snapshot). */
async function allNames() {
  const names = (await state()).participants.map((p) => p.name);
  assert.ok(names.length >= 20, 'the demo room has its members');
  return names;
}

/** The names found anywhere in a page's DOM text, visible or not. */
async function namesIn(page, names) {
  const [visible, all] = await page.evaluate(() => [document.body.innerText, document.body.textContent]);
  return names.filter((n) => visible.includes(n) || all.includes(n));
}

const itemRow = (page, id) => page.locator(`#agenda-rows tr[data-item="${id}"]`);

test('the chair runs a meeting: draft agenda, items, suspension, the non-public part without names, close and minutes', async () => {
  await noMeeting();
  assert.equal((await call('/api/v1/agenda/draft', { method: 'PUT', body: DRAFT })).status, 200, 'draft stored');
  const names = await allNames();

  const display = await open({ width: 1920, height: 1080 });
  await display.goto(`${base}/display`);
  await ready(display);
  const overlay = await open({ width: 1920, height: 1080 });
  await overlay.goto(`${base}/overlay`);
  await ready(overlay);

  const chair = await open({ width: 1400, height: 1000 });
  await login(chair, base, DEMO.chair);
  await chair.waitForSelector('#meeting-open:not([hidden])');
  assert.match(await text(chair, '#meeting-state'), /Keine Sitzung eröffnet/);

  // Open the meeting with the stored draft.
  await chair.fill('#meeting-title', 'Stadtrat, 12. Sitzung');
  await chair.fill('#meeting-body', 'Stadtrat');
  await chair.selectOption('#meeting-agenda', 'draft');
  await chair.click('#meeting-open-btn');
  await chair.waitForFunction(() => document.getElementById('meeting-state').textContent.includes('Sitzung läuft'));
  assert.equal(await text(chair, '#meeting-name'), 'Stadtrat, 12. Sitzung');
  assert.equal(await text(chair, '#meeting-bodyname'), 'Stadtrat');
  await chair.waitForFunction(() => document.querySelectorAll('#agenda-rows tr').length === 3);
  assert.match(await itemRow(chair, 3).innerText(), /N 1[\s\S]*Grundstücksangelegenheit[\s\S]*nichtöffentlich[\s\S]*offen/);
  assert.match(await itemRow(chair, 1).innerText(), /öffentlich/);

  // Next item, twice: Ö 1 then Ö 2; the display names the item.
  await chair.click('#item-next');
  await display.waitForFunction(() => document.getElementById('item').textContent === 'TOP Ö 1 – Eröffnung und Feststellung der Beschlussfähigkeit');
  await chair.click('#item-next');
  await display.waitForFunction(() => document.getElementById('item').textContent.startsWith('TOP Ö 2 – Bebauungsplan'));
  await chair.waitForFunction(() => document.querySelector('#agenda-rows tr[data-item="1"]').innerText.includes('erledigt'));
  assert.match(await itemRow(chair, 2).innerText(), /wird beraten/);
  assert.match(await text(chair, '#speakers-item'), /^TOP Ö 2 – Bebauungsplan.*· öffentlicher Teil$/);
  assert.match(await text(overlay, '#item'), /^TOP Ö 2 – Bebauungsplan/);

  // Someone speaks and two wait, so names are on the display before the non-public part.
  assert.equal((await command(base, { command: 'grant', station: { seat: 12 } })).status, 200);
  assert.equal((await command(base, { command: 'request', station: { seat: 5 } })).status, 200);
  assert.equal((await command(base, { command: 'request', station: { seat: 20 } })).status, 200);
  await display.waitForFunction(() => document.getElementById('speaker-name').textContent === 'Anna Müller');
  await display.waitForFunction(() => document.getElementById('next').innerText.includes('Jürgen Krause'));
  await overlay.waitForFunction(() => document.getElementById('speaker-name').textContent === 'Anna Müller');

  // Suspend: the display says so prominently; members' requests are refused meanwhile.
  await chair.click('#meeting-suspend');
  await display.waitForSelector('#phase:not([hidden])');
  assert.equal(await text(display, '#phase'), 'Sitzung unterbrochen');
  await overlay.waitForSelector('#phase:not([hidden])');
  assert.match(await text(chair, '#meeting-state'), /Sitzung unterbrochen/);
  await chair.waitForSelector('#meeting-resume:not([hidden])');
  assert.equal(await chair.locator('#meeting-suspend').isHidden(), true);
  // The suspension closed the delegate's microphone (the engine's rule).
  await display.waitForSelector('#nobody:not([hidden])');
  await chair.selectOption('#direct-station', 'seat:7');
  await chair.click('#direct-request');
  await chair.waitForSelector('#notice:not([hidden])');
  assert.equal(await text(chair, '#notice'), 'Abgelehnt: Die Sitzung ist unterbrochen.');

  await chair.click('#meeting-resume');
  await display.waitForSelector('#phase', { state: 'hidden' });
  await chair.waitForFunction(() => document.getElementById('meeting-state').textContent.includes('Sitzung läuft'));
  assert.equal((await command(base, { command: 'grant', station: { seat: 12 } })).status, 200);
  await display.waitForFunction(() => document.getElementById('speaker-name').textContent === 'Anna Müller');
  assert.ok((await namesIn(display, names)).length > 0, 'names are shown in the public part (the check below can fail)');

  // Enter the non-public item from its row: the display and overlay go neutral.
  await itemRow(chair, 3).getByRole('button', { name: /N 1 – Grundstücksangelegenheit Flurstück 4711 aufrufen/ }).click();
  await display.waitForSelector('#nonpublic:not([hidden])');
  await overlay.waitForSelector('#nonpublic:not([hidden])');
  assert.match(await display.evaluate(() => document.body.innerText), /^\s*Nichtöffentlicher Teil\s+Die Sitzung wird nach dem nichtöffentlichen Teil fortgesetzt\.\s*$/);
  // (the overlay's only other text is its heading for screen readers)
  assert.match(await overlay.evaluate(() => document.body.innerText), /^\s*(Bauchbinde\s+)?Nichtöffentlicher Teil\s*$/);
  // Still true a moment later, after further changes on the floor.
  assert.equal((await command(base, { command: 'request', station: { seat: 3 } })).status, 200);
  await display.waitForFunction((seq) => Number(document.documentElement.dataset.seq) >= seq, (await state()).floor.seq);
  assert.deepEqual(await namesIn(display, names), [], 'no member name anywhere in the display');
  assert.deepEqual(await namesIn(overlay, names), [], 'no member name anywhere in the overlay');
  assert.doesNotMatch(await display.evaluate(() => document.body.textContent), /Grundstücksangelegenheit/, 'nor the non-public title');
  await screenshot(display, 'council-display-nonpublic');
  // The chair sees where they are, in words.
  assert.match(await text(chair, '#speakers-item'), /^TOP N 1 – Grundstücksangelegenheit Flurstück 4711 · nichtöffentlicher Teil$/);
  assert.equal(await text(chair, '#toggle-public'), 'Öffentlichkeit wiederherstellen');

  // Finish the item, readmit the public: the display shows the room again.
  await chair.click('#item-finish');
  await chair.waitForFunction(() => document.querySelector('#agenda-rows tr[data-item="3"]').innerText.includes('erledigt'));
  await chair.click('#toggle-public');
  await display.waitForSelector('#nonpublic', { state: 'hidden' });
  assert.equal(await display.locator('#room').isVisible(), true);
  assert.equal(await display.locator('#item').isVisible(), false, 'no item is current');

  // Close, with a confirm step; the minutes are linked.
  await chair.click('#meeting-close');
  await chair.waitForSelector('#meeting-confirm:not([hidden])');
  assert.equal((await call('/api/v1/meetings')).body.filter((m) => m.open).length, 1, 'the first click only asks');
  await chair.click('#meeting-close-yes');
  await chair.waitForSelector('#meeting-open:not([hidden])');
  assert.match(await text(chair, '#meeting-state'), /Keine Sitzung eröffnet/);
  await chair.waitForSelector('#minutes:not([hidden])');
  assert.match(await text(chair, '#h-minutes'), /Protokoll der letzten Sitzung: Stadtrat, 12\. Sitzung/);
  const hrefs = await chair.locator('#minutes-links a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  const id = (await call('/api/v1/meetings')).body[0].id;
  assert.deepEqual(hrefs, [
    `/api/v1/meetings/${id}/minutes?format=html`,
    `/api/v1/meetings/${id}/minutes?format=html&publication=true`,
    `/api/v1/meetings/${id}/minutes?format=csv`,
    `/api/v1/meetings/${id}/minutes?format=json`,
  ]);
  const json = await call(hrefs[3]);
  assert.equal(json.status, 200);
  const csv = await call(hrefs[2]);
  assert.equal(csv.status, 200);
  assert.match(csv.body, /Anna Müller/);
  await screenshot(chair, 'council-chair-closed');
});

test('a budget set from the console appears in the table and on the display, counts live, and is enforced with its reason', async () => {
  await noMeeting();
  const display = await open({ width: 1920, height: 1080 });
  await display.goto(`${base}/display`);
  await ready(display);
  const chair = await open({ width: 1400, height: 1000 });
  await login(chair, base, DEMO.chair);

  // Per group: SPD 0 minutes (used up from the start), CDU 5, GRÜNE 2; refuse new requests.
  await chair.check('#budget-pergroup');
  await chair.waitForSelector('#budget-group-fields:not([hidden])');
  await chair.getByLabel('SPD (Minuten)').fill('0');
  await chair.getByLabel('CDU (Minuten)').fill('5');
  await chair.getByLabel('GRÜNE (Minuten)').fill('2');
  await chair.selectOption('#budget-policy', 'refuse_requests');
  await chair.selectOption('#budget-scope', 'meeting');
  await chair.fill('#budget-warning', '30');
  await chair.getByRole('button', { name: 'Kontingente festlegen' }).click();
  const row = (group) => chair.locator(`#budget-rows tr[data-group="${group}"]`);
  await row('CDU').waitFor();
  const budget = (await state()).floor.budget;
  const { shares, ...rest } = budget.spec;
  assert.deepEqual(rest, { scope: 'meeting', policy: 'refuse_requests', warning_s: 30 });
  assert.equal(shares.kind, 'per_group');
  assert.deepEqual([shares.seconds.SPD, shares.seconds.CDU, shares.seconds['GRÜNE']], [0, 300, 120]);
  assert.equal(shares.seconds.FDP, 600, 'the other groups keep the 10 minutes the form starts with');
  assert.match(await row('CDU').innerText(), /^CDU\s+5:00\s+0:00\s+5:00\s+ausreichend$/);
  assert.match(await row('SPD').innerText(), /erschöpft/);
  assert.match(await text(chair, '#budget-summary'), /die ganze Sitzung.*keine neuen Wortmeldungen annehmen.*30 s/);
  await display.waitForFunction(() => document.getElementById('budget-list').innerText.includes('CDU: 5:00'));
  assert.match(await text(display, '#budget-list'), /SPD: 0:00 \(aufgebraucht\)/, 'the state in words, not colour alone');

  // An SPD member's request is refused, with the translated reason.
  await chair.selectOption('#direct-station', 'seat:12');
  await chair.click('#direct-request');
  await chair.waitForSelector('#notice:not([hidden])');
  assert.equal(await text(chair, '#notice'), 'Abgelehnt: Das Redezeitkontingent der Fraktion ist aufgebraucht.');

  // A CDU member speaks: used and remaining move every second, in the table and on the display.
  const cdu = (await state()).participants.find((p) => p.group === 'CDU' && p.role !== 'chair');
  const seat = Number(Object.entries((await state()).floor.seated).find(([, id]) => id === cdu.id)[0]);
  assert.equal((await command(base, { command: 'grant', station: { seat } })).status, 200);
  await chair.waitForFunction(() => /^4:5\d$/.test(document.querySelector('#budget-rows tr[data-group="CDU"] .remaining').textContent), null, { timeout: 5000 });
  assert.match(await row('CDU').locator('.used').innerText(), /^0:0\d$/);
  // Used and remaining, read at the same moment, add up to the budget.
  const [used, remaining] = await chair.evaluate(() => ['.used', '.remaining'].map(
    (c) => document.querySelector(`#budget-rows tr[data-group="CDU"] ${c}`).textContent));
  const secs = (m) => { const [a, b] = m.split(':').map(Number); return a * 60 + b; };
  assert.equal(secs(used) + secs(remaining), 300, `${used} used + ${remaining} left`);
  await display.waitForFunction(() => /CDU: 4:5\d/.test(document.getElementById('budget-list').innerText), null, { timeout: 5000 });

  // Warn only, GRÜNE with nothing left: a GRÜNE speaker overdraws, shown with a minus and in words.
  await chair.selectOption('#budget-policy', 'warn_only');
  await chair.getByLabel('GRÜNE (Minuten)').fill('0');
  await chair.getByRole('button', { name: 'Kontingente festlegen' }).click();
  await chair.waitForFunction(() => document.getElementById('budget-summary').textContent.includes('nur warnen'));
  const green = (await state()).participants.find((p) => p.group === 'GRÜNE');
  const greenSeat = Number(Object.entries((await state()).floor.seated).find(([, id]) => id === green.id)[0]);
  assert.equal((await command(base, { command: 'grant', station: { seat: greenSeat } })).status, 200);
  await chair.waitForFunction(() => document.querySelector('#budget-rows tr[data-group="GRÜNE"] .remaining').textContent.startsWith('\u22120:0'), null, { timeout: 5000 });
  assert.match(await row('GRÜNE').locator('.remaining').innerText(), /^\u22120:0\d \(überzogen\)$/);
  assert.equal(await row('GRÜNE').locator('.state').innerText(), 'erschöpft, überzogen');
  assert.deepEqual(await row('GRÜNE').locator('progress').evaluate((p) => [p.value, p.max]), [1, 1], 'the bar is full');
  assert.match(await row('GRÜNE').locator('progress').getAttribute('aria-label'), /^GRÜNE: 0:0\d von 0:00 verbraucht$/);
  await display.waitForFunction(() => /GRÜNE: \u22120:0\d \(überzogen\)/.test(document.getElementById('budget-list').innerText), null, { timeout: 5000 });
  await screenshot(chair, 'council-chair-budget');
  await screenshot(display, 'council-display-budget');

  // Removed: the table empties.
  await chair.click('#budget-remove');
  await chair.waitForSelector('#no-budget:not([hidden])');
  await display.waitForSelector('#budgets', { state: 'hidden' });
  await resetFloor(base);
});

test('the meeting, agenda and budget panels, the draft editor, the display, overlay and remote page are axe-core clean', async () => {
  await noMeeting();
  await call('/api/v1/agenda/draft', { method: 'PUT', body: DRAFT });
  const opened = await call('/api/v1/meetings', { method: 'POST', body: { use_draft: true } });
  assert.equal(opened.status, 201);
  assert.equal((await command(base, { command: 'next_item' })).status, 200);
  assert.equal((await command(base, {
    command: 'set_budget',
    budget: { scope: 'item', shares: { kind: 'equal', total_s: 1800 }, policy: 'cut_off', warning_s: 60 },
  })).status, 200);
  const excluded = (await state()).participants.find((p) => p.id === DEMO.remoteMember);
  assert.equal((await command(base, { command: 'exclude', item: 1, participant: excluded.id, reason: 'Eigentümer' })).status, 200);

  for (const lang of ['de', 'en']) {
    const chair = await open({ width: 1400, height: 1000, locale: lang === 'de' ? 'de-DE' : 'en-GB' });
    await login(chair, base, DEMO.chair);
    await chair.waitForSelector('#meeting-running:not([hidden])');
    await chair.waitForSelector('#budget-rows tr');
    await chair.waitForSelector(`#excluded-list li[data-participant="${excluded.id}"]`);
    await chair.click('#draft-editor summary');
    await chair.waitForSelector('#draft-rows tr');
    await chair.click('#meeting-close'); // the confirm step shown too
    await chair.waitForSelector('#meeting-confirm:not([hidden])');
    assert.deepEqual(await axeViolations(chair), [], `chair console (${lang}) with meeting, agenda, budget and draft`);
    if (lang === 'en') {
      assert.match(await text(chair, '#meeting-state'), /^Meeting running: Stadtrat, 12\. Sitzung$/);
      assert.match(await itemRow(chair, 1).innerText(), /under discussion/);
      assert.match(await text(chair, '#h-conflicts'), /Conflict of interest on Item Ö 1/);
    }
    await screenshot(chair, `council-chair-${lang}`);
    await chair.click('#meeting-close-no');
    await chair.context().close();
  }

  // The excluded member is told on the remote page, until the chair readmits them.
  const member = await open({ width: 800, height: 1100 });
  await member.goto(`${base}/remote/${DEMO.remoteToken}`);
  await ready(member);
  await member.waitForSelector('#part-line:not([hidden])');
  assert.equal(await text(member, '#part-line'), 'Sie sind bei diesem Tagesordnungspunkt wegen Befangenheit ausgeschlossen (Eigentümer).');
  assert.deepEqual(await axeViolations(member), [], 'remote page, excluded from the item');
  const chair = await open({ width: 1400, height: 1000 });
  await login(chair, base, DEMO.chair);
  await chair.getByRole('button', { name: `${excluded.name} wieder zulassen` }).click();
  await chair.waitForSelector('#no-excluded:not([hidden])');
  await member.waitForSelector('#part-line', { state: 'hidden' });

  const meetingId = opened.body.id;
  assert.equal((await call(`/api/v1/meetings/${meetingId}/suspend`, { method: 'POST' })).status, 200);
  for (const path of ['/display', '/overlay']) {
    const page = await open({ width: 1920, height: 1080 });
    await page.goto(`${base}${path}`);
    await ready(page);
    await page.waitForSelector('#phase:not([hidden])');
    assert.deepEqual(await axeViolations(page), [], `${path} while suspended`);
  }
  await member.waitForFunction(() => document.getElementById('meeting-line').textContent.includes('unterbrochen'));
  assert.match(await text(member, '#meeting-line'), /Die Sitzung ist unterbrochen/);
  assert.match(await text(member, '#item-line'), /Aktueller Tagesordnungspunkt: TOP Ö 1 – Eröffnung/);
  assert.deepEqual(await axeViolations(member), [], 'remote page while suspended');
  assert.equal((await call(`/api/v1/meetings/${meetingId}/resume`, { method: 'POST' })).status, 200);

  assert.equal((await command(base, { command: 'enter_item', item: 3 })).status, 200);
  for (const path of ['/display', '/overlay']) {
    const page = await open({ width: 1920, height: 1080 });
    await page.goto(`${base}${path}`);
    await ready(page);
    await page.waitForSelector('#nonpublic:not([hidden])');
    assert.deepEqual(await axeViolations(page), [], `${path} in the non-public part`);
  }
  await member.waitForFunction(() => document.getElementById('item-line').textContent.includes('Nichtöffentlicher Teil'));
  assert.deepEqual(await axeViolations(member), [], 'remote page in the non-public part');
  await noMeeting();
});

test('a remote member not admitted to the non-public part is moved out, told so, and refused with the reason', async () => {
  // A room of its own: the demo's room, with Matthias Vogt not admitted to non-public parts
  // (`nonpublic = false`), a fresh personal link, a journal in a temporary directory and no
  // logins or MQTT (loopback acts as the chair).
  const dir = mkdtempSync(path.join(os.tmpdir(), 'podium-council-'));
  const token = `council-${randomBytes(16).toString('hex')}`;
  let room = readFileSync(path.join(root, 'config', 'demo.toml'), 'utf8');
  room = room.replace(/\[\[user\]\]\n(?:[^[\n][^\n]*\n)*/g, '');
  room = room.replace(/\[mqtt\]\n(?:[^[\n][^\n]*\n)*/, '');
  room = room.replace('id = "vogt"\nname = "Matthias Vogt"\n', 'id = "vogt"\nname = "Matthias Vogt"\nnonpublic = false\n');
  room = room.replace(/token_hash = "sha256:[0-9a-f]+"/, `token_hash = "sha256:${createHash('sha256').update(token).digest('hex')}"`);
  room += '\n[journal]\npath = "journal.sqlite3"\n';
  assert.match(room, /nonpublic = false/);
  writeFileSync(path.join(dir, 'room.toml'), room);
  const own = await startDaemon({ argv: ['run', '-c', path.join(dir, 'room.toml'), '--listen', '127.0.0.1:0'], log: 'podiumd-council-room.log' });
  try {
    const post = async (p, body) => {
      const r = await fetch(`${own.base}${p}`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}),
      });
      return r.status;
    };
    const member = await open({ width: 800, height: 1100 });
    await member.goto(`${own.base}/remote/${token}`);
    await ready(member);
    assert.equal(await text(member, '#member'), 'Matthias Vogt');
    await member.click('#join');
    await member.waitForSelector('#leave:not([hidden])');
    assert.equal(await post('/api/v1/meetings', {
      title: 'Bauausschuss',
      agenda: [
        { id: 1, number: 'Ö 1', title: 'Mitteilungen', publicity: 'public' },
        { id: 2, number: 'N 1', title: 'Vergabe Los 3', publicity: 'non_public' },
      ],
    }), 201);
    assert.equal(await post('/api/v1/commands', { command: 'enter_item', item: 1 }), 200);
    await member.waitForFunction(() => document.getElementById('item-line').textContent === 'Aktueller Tagesordnungspunkt: TOP Ö 1 – Mitteilungen');
    assert.equal(await member.locator('#part-line').isHidden(), true);

    // The non-public item: moved out, said in words; joining again is refused with the reason.
    assert.equal(await post('/api/v1/commands', { command: 'enter_item', item: 2 }), 200);
    await member.waitForSelector('#part-line:not([hidden])');
    assert.match(await text(member, '#part-line'), /nicht zugelassen und wurden aus der Sitzung genommen/);
    assert.equal(await member.locator('#join').isVisible(), true, 'no longer joined');
    assert.match(await text(member, '#item-line'), /Nichtöffentlicher Teil/);
    assert.equal(await text(member, '#member'), 'Matthias Vogt');
    assert.deepEqual(await axeViolations(member), [], 'remote page, moved out');
    await member.click('#join');
    await member.waitForSelector('#notice:not([hidden])');
    assert.equal(await text(member, '#notice'), 'Abgelehnt: Für den nichtöffentlichen Teil nicht zugelassen.');

    // The public part again: the warning goes, joining works.
    assert.equal(await post('/api/v1/commands', { command: 'set_public', public: true }), 200);
    await member.waitForSelector('#part-line', { state: 'hidden' });
    await member.click('#join');
    await member.waitForSelector('#leave:not([hidden])');
  } finally {
    await own.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the chair writes the draft agenda in the editor with the keyboard; an undecided item blocks opening, with the reason', async () => {
  await noMeeting();
  const chair = await open({ width: 1400, height: 1000 });
  await login(chair, base, DEMO.chair);
  await chair.focus('#draft-editor summary');
  await chair.keyboard.press('Enter');
  await chair.waitForFunction(() => document.getElementById('draft-status').textContent !== '');
  // Start from an empty draft: remove what is stored.
  while (await chair.locator('#draft-rows tr').count()) {
    await chair.locator('#draft-rows tr').first().getByRole('button', { name: /^Entfernen: Punkt 1$/ }).press('Enter');
  }
  const add = async (number, title, publicity) => {
    await chair.focus('#draft-add');
    await chair.keyboard.press('Enter'); // focus moves to the new line's number
    await chair.keyboard.type(number);
    await chair.keyboard.press('Tab');
    await chair.keyboard.type(title);
    await chair.keyboard.press('Tab');
    const select = chair.locator(':focus');
    assert.equal(await select.evaluate((e) => e.tagName), 'SELECT');
    await select.selectOption(publicity);
  };
  await add('Ö 1', 'Einwohnerfragestunde', 'public');
  await add('N 1', 'Personalangelegenheit', 'undecided');
  await add('Ö 2', 'Haushaltssatzung 2027', 'public');
  // Move Ö 2 up above N 1.
  await chair.getByRole('button', { name: 'Nach oben: Punkt 3' }).press('Enter');
  await chair.fill('#draft-title', 'Hauptausschuss, 3. Sitzung');
  await chair.focus('#draft-save');
  await chair.keyboard.press('Enter');
  await chair.waitForFunction(() => document.getElementById('draft-status').textContent === 'Entwurf mit 3 Punkten gespeichert.');
  const stored = (await call('/api/v1/agenda/draft')).body;
  assert.equal(stored.title, 'Hauptausschuss, 3. Sitzung');
  assert.deepEqual(stored.items.map((i) => [i.id, i.number, i.title, i.publicity]), [
    [1, 'Ö 1', 'Einwohnerfragestunde', 'public'],
    [2, 'Ö 2', 'Haushaltssatzung 2027', 'public'],
    [3, 'N 1', 'Personalangelegenheit', 'undecided'],
  ]);

  // Opening with it is refused while N 1 is undecided; the reason is shown.
  await chair.selectOption('#meeting-agenda', 'draft');
  await chair.click('#meeting-open-btn');
  await chair.waitForSelector('#notice:not([hidden])');
  assert.match(await text(chair, '#notice'), /^Abgelehnt: Im Entwurf ist bei einigen Punkten die Öffentlichkeit noch ungeklärt/);
  assert.equal((await call('/api/v1/meetings')).body.filter((m) => m.open).length, 0);

  // Decided in the editor: the meeting opens with the draft's title.
  await chair.getByLabel('Öffentlichkeit von Punkt 3').selectOption('non_public');
  await chair.click('#draft-save');
  await chair.waitForFunction(() => document.getElementById('draft-status').textContent === 'Entwurf mit 3 Punkten gespeichert.');
  await chair.click('#meeting-open-btn');
  await chair.waitForFunction(() => document.getElementById('meeting-state').textContent === 'Sitzung läuft: Hauptausschuss, 3. Sitzung');
  await chair.waitForFunction(() => document.querySelectorAll('#agenda-rows tr').length === 3);
  assert.match(await itemRow(chair, 3).innerText(), /N 1\s+Personalangelegenheit\s+nichtöffentlich/);
  assert.deepEqual(await axeViolations(chair), [], 'chair console after the editor');
  await noMeeting();
});

test('the agenda panel decides an undecided item and records a conflict of interest from its form', async () => {
  await noMeeting();
  // An agenda set as it came from an import, one item not classified.
  assert.equal((await command(base, {
    command: 'set_agenda',
    carry_over: 'per_item',
    items: [
      { id: 1, number: 'Ö 1', title: 'Mitteilungen der Verwaltung', publicity: 'public' },
      { id: 2, number: '2', title: 'Grundstücksverkehr Gemarkung Nord', publicity: 'undecided' },
    ],
  })).status, 200);
  const chair = await open({ width: 1400, height: 1000 });
  await login(chair, base, DEMO.chair);
  await itemRow(chair, 2).waitFor();
  assert.match(await itemRow(chair, 2).innerText(), /ungeklärt/);

  // Opening it undecided is refused, with the reason.
  await itemRow(chair, 2).getByRole('button', { name: 'TOP 2 – Grundstücksverkehr Gemarkung Nord aufrufen' }).click();
  await chair.waitForSelector('#notice:not([hidden])');
  assert.equal(await text(chair, '#notice'), 'Abgelehnt: Zuerst festlegen, ob der Tagesordnungspunkt öffentlich ist.');

  // Decided: non-public; the decide buttons go.
  await itemRow(chair, 2).getByRole('button', { name: 'TOP 2 – Grundstücksverkehr Gemarkung Nord als nichtöffentlich festlegen' }).press('Enter');
  await chair.waitForFunction(() => document.querySelector('#agenda-rows tr[data-item="2"]').innerText.includes('nichtöffentlich'));
  assert.equal(await itemRow(chair, 2).getByRole('button').count(), 1, 'only "Aufrufen" is left');
  // The keyboard stays in the row: on its "Aufrufen" button.
  await chair.waitForFunction(() => document.activeElement?.dataset.focus === 'enter:2');
  assert.equal((await state()).floor.agenda[1].item.publicity, 'non_public');

  // A conflict of interest on the current item, from the form: recorded with its reason,
  // the member's waiting request removed; readmitted from the list.
  await itemRow(chair, 1).getByRole('button', { name: /Mitteilungen der Verwaltung aufrufen/ }).press('Enter');
  await chair.waitForSelector('#conflicts:not([hidden])');
  // Its button is gone; the keyboard is on "TOP abschließen".
  await chair.waitForFunction(() => document.activeElement?.id === 'item-finish');
  assert.equal(await text(chair, '#h-conflicts'), 'Befangenheit bei TOP Ö 1 – Mitteilungen der Verwaltung');
  assert.equal((await command(base, { command: 'request', station: { seat: 12 } })).status, 200);
  await chair.waitForSelector('#request-rows tr[data-station="seat:12"]');
  const mueller = (await state()).participants.find((p) => p.name === 'Anna Müller');
  await chair.selectOption('#exclude-member', mueller.id);
  await chair.fill('#exclude-reason', 'Nachbargrundstück');
  await chair.getByRole('button', { name: 'Als befangen ausschließen' }).click();
  await chair.waitForSelector(`#excluded-list li[data-participant="${mueller.id}"]`);
  assert.match(await chair.locator(`#excluded-list li[data-participant="${mueller.id}"]`).innerText(), /Anna Müller – Nachbargrundstück/);
  await chair.waitForSelector('#request-rows tr[data-station="seat:12"]', { state: 'detached' });
  assert.deepEqual((await state()).floor.agenda[0].excluded, { [mueller.id]: 'Nachbargrundstück' });
  assert.match(await itemRow(chair, 1).innerText(), /1 befangen/);
  // Her new request is refused with the reason.
  await chair.selectOption('#direct-station', 'seat:12');
  await chair.click('#direct-request');
  await chair.waitForFunction(() => document.getElementById('notice').textContent.includes('Befangenheit'));
  assert.equal(await text(chair, '#notice'), 'Abgelehnt: Bei diesem Tagesordnungspunkt wegen Befangenheit ausgeschlossen.');
  await chair.getByRole('button', { name: 'Anna Müller wieder zulassen' }).click();
  await chair.waitForSelector('#no-excluded:not([hidden])');
  assert.equal((await state()).floor.agenda[0].excluded, undefined);
  assert.deepEqual(await axeViolations(chair), [], 'chair console with the decided agenda');
  await command(base, { command: 'finish_item' });
});
