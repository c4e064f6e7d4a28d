// The seat map (issue 19) and the presentation panel in a real browser against `podiumd
// demo`: the chair runs the floor from the map with the keyboard alone, every state is in
// the seats' accessible names, remote members are beside the room, offline desk units are
// marked; the technician's map shows each seat's unit and runs its lamp test; the hall
// display's map layout has no controls and empties in the non-public part; presenting from
// the chair console switches the simulated projector and matrix and stopping returns them.
// The map's layout rules (placing seats without a position, arrow-key moves) are tested in
// Node first. Run: `npm test` in tests/web (tests/run does).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DEMO, axeViolations, command, demoSuite, login, ready, resetFloor, root, screenshot, until as untilAt,
} from './support.mjs';

const { layout, neighbour, shortName } = await import(pathToFileURL(path.join(root, 'firmware-host', 'web', 'seatmap.js')).href);

let base;
const suite = demoSuite({ log: 'podiumd-seatmap.log' }, (ready) => {
  base = ready.base;
});
const open = (options) => suite.open(options);

/** The demo trusts loopback as the chair: plain fetches act as the chair. */
async function call(p, body) {
  const r = await fetch(`${base}${p}`, body === undefined ? {} : {
    method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  return { status: r.status, body: await r.json().catch(() => null) };
}

const until = (p, probe, what) => untilAt(base, p, probe, what);

/** A floor with nobody speaking, no request, nobody remote, nothing presented, every desk unit answering. */
async function cleanFloor() {
  await resetFloor(base);
  await command(base, { command: 'leave_remote', participant: 'vogt' });
  await command(base, { command: 'stop_presenting' });
  await call('/api/v1/sim/desks', { action: 'fault', unit: 20, fault: 'none' });
}

const stations = (list) => list.map((x) => (x.station.seat !== undefined ? x.station.seat : x.station.remote));

/** Waits until the focused element is the button named exactly `name` (the name as the
 *  accessibility tree computes it). */
async function focusedIs(page, name) {
  const button = page.getByRole('button', { name, exact: true });
  await button.waitFor();
  await page.waitForFunction((el) => el === document.activeElement, await button.elementHandle());
}

/** Waits until the focused element is the menu item named `name`. */
async function focusedItem(page, name) {
  await page.getByRole('menuitem', { name, exact: true }).waitFor();
  await page.waitForFunction((text) => document.activeElement?.getAttribute('role') === 'menuitem'
    && document.activeElement.textContent === text, name);
}

// ---------------------------------------------------------------- layout rules, no browser

test('seats without a position go in rows of ten after the placed ones; arrow keys move as seated', () => {
  const seats = [
    { number: 1, position: { x: 9, y: 0 } },
    { number: 2, position: { x: 11, y: 0 } },
    { number: 3, position: { x: 5, y: 2 } },
    { number: 4, position: { x: 5, y: 2 } }, // the same cell as seat 3: placed like one without
    ...Array.from({ length: 11 }, (_, i) => ({ number: 10 + i })),
  ];
  const cells = layout(seats);
  const at = (n) => cells.find((c) => c.number === n);
  assert.deepEqual(at(1), { number: 1, x: 9, y: 0 });
  assert.deepEqual(at(3), { number: 3, x: 5, y: 2 });
  assert.deepEqual(at(4), { number: 4, x: 0, y: 3 }, 'the first unplaced seat starts the row after the placed ones');
  assert.deepEqual(at(18), { number: 18, x: 9, y: 3 });
  assert.deepEqual(at(19), { number: 19, x: 0, y: 4 }, 'the eleventh unplaced seat starts a new row');
  assert.equal(new Set(cells.map((c) => `${c.x},${c.y}`)).size, cells.length, 'no two seats on one cell');
  assert.deepEqual(cells.slice(0, 3).map((c) => c.number), [1, 2, 3], 'front row first, left to right');

  assert.equal(neighbour(cells, at(1), 'ArrowRight').number, 2);
  assert.equal(neighbour(cells, at(1), 'ArrowLeft'), null, 'nothing left of seat 1');
  assert.equal(neighbour(cells, at(1), 'ArrowDown').number, 3, 'down to the next row with seats');
  assert.equal(neighbour(cells, at(3), 'ArrowDown').number, 14, 'the seat nearest in x (5)');
  assert.equal(neighbour(cells, at(14), 'ArrowUp').number, 3);
  assert.equal(neighbour(cells, at(19), 'ArrowDown'), null);
  assert.equal(neighbour(cells, at(14), 'End').number, 18);
  assert.equal(neighbour(cells, at(14), 'Home', true).number, 1);
  assert.equal(neighbour(cells, at(14), 'End', true).number, 20);
  assert.equal(neighbour(cells, at(14), 'Enter'), undefined, 'no navigation key');

  assert.equal(shortName('Dr. Thomas Becker'), 'T. Becker');
  assert.equal(shortName('Anna Müller'), 'A. Müller');
  assert.equal(shortName('Cher'), 'Cher');
});

// ---------------------------------------------------------------- the chair

test('the chair runs the floor from the seat map with the keyboard alone', async () => {
  await cleanFloor();
  const chair = await open({ width: 1400, height: 1000 });
  await login(chair, base, DEMO.chair);
  const room = chair.locator('#seatmap-room');
  await room.locator('button').nth(39).waitFor();
  assert.equal(await room.locator('button').count(), 40, 'a button per seat');
  assert.equal(await room.locator('button[tabindex="0"]').count(), 1, 'one tab stop in the room');
  assert.equal(await room.locator('button[tabindex="0"]').getAttribute('data-seat'), '1', 'the front row first');

  // A member asks for the floor at their desk; the chair walks there with the arrow keys.
  assert.equal((await command(base, { command: 'request', station: { seat: 5 } })).status, 200);
  await chair.getByRole('button', { name: 'Platz 5, Jürgen Krause (SPD): Wortmeldung Nr. 1, als Nächstes', exact: true }).waitFor();
  await room.locator('button[tabindex="0"]').focus();
  await focusedIs(chair, 'Platz 1 (Vorsitz), Dr. Thomas Becker (CDU): anwesend');
  await chair.keyboard.press('ArrowDown');
  await focusedIs(chair, 'Platz 7, Stefan Wolf (SPD): anwesend');
  await chair.keyboard.press('ArrowLeft');
  await chair.keyboard.press('ArrowLeft');
  await focusedIs(chair, 'Platz 5, Jürgen Krause (SPD): Wortmeldung Nr. 1, als Nächstes');
  assert.equal(await room.locator('button[tabindex="0"]').getAttribute('data-seat'), '5', 'the tab stop moved along');

  // Enter opens the seat's actions, the obvious one first: Enter grants.
  await chair.keyboard.press('Enter');
  const menu = chair.getByRole('menu', { name: 'Aktionen: Platz 5, Jürgen Krause (SPD): Wortmeldung Nr. 1, als Nächstes' });
  await menu.waitFor();
  assert.deepEqual(await menu.getByRole('menuitem').allInnerTexts(), ['Wort erteilen', 'Entfernen'], 'the only request: grant or remove');
  assert.equal(await room.locator('button[data-seat="5"]').getAttribute('aria-expanded'), 'true');
  await focusedItem(chair, 'Wort erteilen');
  await chair.keyboard.press('Enter');
  await until('/api/v1/state', (s) => stations(s.floor.speakers).includes(5), 'seat 5 speaks');
  await focusedIs(chair, 'Platz 5, Jürgen Krause (SPD): spricht');
  assert.equal(await chair.locator('#seatmap-menu').isHidden(), true, 'the menu closed');
  assert.equal(await room.locator('button[data-seat="5"]').getAttribute('aria-expanded'), 'false');
  // The new state is announced.
  await chair.waitForFunction(() => document.querySelector('#seatmap [role="status"]').textContent
    === 'Platz 5, Jürgen Krause (SPD): spricht');
  assert.equal(await room.locator('button[data-seat="5"]').getAttribute('data-state'), 'speaking');
  assert.match(await room.locator('button[data-seat="5"] .seat-lines').innerText(), /^5\nJ\. Krause\nspricht$/, 'in words on the seat');

  // A speaker: Enter, Enter stops them.
  await chair.keyboard.press('Enter');
  await focusedItem(chair, 'Beenden');
  assert.deepEqual(await chair.getByRole('menuitem').allInnerTexts(), ['Beenden', 'Anhalten']);
  await chair.keyboard.press('Enter');
  await until('/api/v1/state', (s) => s.floor.speakers.length === 0, 'nobody speaks');
  await focusedIs(chair, 'Platz 5, Jürgen Krause (SPD): anwesend');

  // An idle seat: the chair adds a request for it (the second action).
  await chair.keyboard.press('ArrowRight');
  await focusedIs(chair, 'Platz 6, Claudia Richter (SPD): anwesend');
  await chair.keyboard.press('Enter');
  await focusedItem(chair, 'Wort erteilen');
  assert.deepEqual(await chair.getByRole('menuitem').allInnerTexts(), ['Wort erteilen', 'Wortmeldung eintragen']);
  await chair.keyboard.press('ArrowDown');
  await focusedItem(chair, 'Wortmeldung eintragen');
  await chair.keyboard.press('Enter');
  await until('/api/v1/state', (s) => stations(s.floor.requests).join() === '6', 'seat 6 requests');
  await focusedIs(chair, 'Platz 6, Claudia Richter (SPD): Wortmeldung Nr. 1, als Nächstes');

  // Another request comes in; the chair moves it up.
  await command(base, { command: 'request', station: { seat: 9 } });
  for (let i = 0; i < 3; i += 1) await chair.keyboard.press('ArrowRight');
  await focusedIs(chair, 'Platz 9, Frank Schwarz (SPD): Wortmeldung Nr. 2');
  await chair.keyboard.press('Enter');
  assert.deepEqual(await chair.getByRole('menuitem').allInnerTexts(), ['Wort erteilen', 'Nach oben', 'Entfernen']);
  await chair.keyboard.press('ArrowDown');
  await focusedItem(chair, 'Nach oben');
  await chair.keyboard.press('Enter');
  await until('/api/v1/state', (s) => stations(s.floor.requests).join() === '9,6', 'seat 9 moved up');
  await focusedIs(chair, 'Platz 9, Frank Schwarz (SPD): Wortmeldung Nr. 1, als Nächstes');
  await chair.getByRole('button', { name: 'Platz 6, Claudia Richter (SPD): Wortmeldung Nr. 2', exact: true }).waitFor();
  assert.equal(await room.locator('button[data-seat="9"]').getAttribute('data-next'), 'true');

  // A point of order goes first; moving an ordinary request above it is refused, with the reason.
  await command(base, { command: 'request', station: { seat: 7 }, kind: 'point_of_order' });
  await focusedIs(chair, 'Platz 9, Frank Schwarz (SPD): Wortmeldung Nr. 2');
  await chair.getByRole('button', { name: 'Platz 7, Stefan Wolf (SPD): GO-Antrag Nr. 1, als Nächstes', exact: true }).waitFor();
  await chair.keyboard.press('Enter');
  assert.deepEqual(await chair.getByRole('menuitem').allInnerTexts(), ['Wort erteilen', 'Nach oben', 'Nach unten', 'Entfernen']);
  await chair.keyboard.press('ArrowDown');
  await chair.keyboard.press('Enter');
  await chair.waitForSelector('#notice:not([hidden])');
  assert.equal(await chair.locator('#notice').innerText(), 'Abgelehnt: Eine Wortmeldung kann nur innerhalb ihrer Art verschoben werden.');
  assert.equal(stations((await call('/api/v1/state')).body.floor.requests).join(), '7,9,6', 'the list is unchanged');

  // Escape closes the actions and returns to the seat.
  await focusedIs(chair, 'Platz 9, Frank Schwarz (SPD): Wortmeldung Nr. 2');
  await chair.keyboard.press('Enter');
  await chair.getByRole('menu').waitFor();
  await chair.keyboard.press('Escape');
  await focusedIs(chair, 'Platz 9, Frank Schwarz (SPD): Wortmeldung Nr. 2');
  assert.equal(await chair.getByRole('menu').isVisible(), false);
  assert.equal(await room.locator('button[data-seat="9"]').getAttribute('aria-expanded'), 'false');

  // The actions follow the floor while open: granted elsewhere, the seat offers to stop.
  await chair.keyboard.press('Enter');
  await focusedItem(chair, 'Wort erteilen');
  await command(base, { command: 'grant', station: { seat: 9 } });
  await chair.getByRole('menu', { name: 'Aktionen: Platz 9, Frank Schwarz (SPD): spricht' }).waitFor();
  assert.deepEqual(await chair.getByRole('menuitem').allInnerTexts(), ['Beenden', 'Anhalten']);
  await focusedItem(chair, 'Beenden');
  await chair.keyboard.press('Enter');
  await until('/api/v1/state', (s) => s.floor.speakers.length === 0 && stations(s.floor.requests).join() === '7,6',
    'seat 9 stopped, the others still waiting');
  await focusedIs(chair, 'Platz 9, Frank Schwarz (SPD): anwesend');

  // A remote member is beside the room, with the same states; Tab leaves the room for them.
  await command(base, { command: 'join_remote', participant: 'vogt' });
  await command(base, { command: 'request', station: { remote: 'vogt' } });
  const strip = chair.locator('#seatmap ul.seatmap-remote');
  await strip.getByRole('button', { name: 'Matthias Vogt (CDU), zugeschaltet: Wortmeldung Nr. 3', exact: true }).waitFor();
  assert.equal(await room.locator('[data-remote]').count(), 0, 'not among the seats');
  await chair.keyboard.press('Tab');
  await focusedIs(chair, 'Matthias Vogt (CDU), zugeschaltet: Wortmeldung Nr. 3');
  await chair.keyboard.press('Enter');
  await focusedItem(chair, 'Wort erteilen');
  await screenshot(chair, 'seatmap-chair-menu');
  assert.deepEqual(await axeViolations(chair), [], 'axe-core with the menu open');
  await chair.keyboard.press('Enter');
  await until('/api/v1/state', (s) => s.floor.speakers.some((sp) => sp.station.remote === 'vogt'), 'the remote member speaks');
  await focusedIs(chair, 'Matthias Vogt (CDU), zugeschaltet: spricht');
  assert.equal(await strip.locator('button[data-remote="vogt"]').getAttribute('data-state'), 'speaking');
  assert.deepEqual(await axeViolations(chair), [], 'axe-core in German');

  // The same map in English.
  await chair.selectOption('#lang', 'en');
  await chair.getByRole('button', { name: 'Seat 6, Claudia Richter (SPD): Request no. 2', exact: true }).waitFor();
  await chair.getByRole('button', { name: 'Seat 9, Frank Schwarz (SPD): present', exact: true }).waitFor();
  await chair.getByRole('button', { name: 'Seat 7, Stefan Wolf (SPD): Point of order no. 1, next', exact: true }).waitFor();
  await chair.getByRole('button', { name: 'Matthias Vogt (CDU), remote: speaking', exact: true }).waitFor();
  assert.equal(await chair.locator('#seatmap .seatmap-remote-title').innerText(), 'Joined remotely');
  assert.deepEqual(await axeViolations(chair), [], 'axe-core in English');
  await command(base, { command: 'leave_remote', participant: 'vogt' });
});

// ---------------------------------------------------------------- desk units: chair and technician

test('an offline desk unit is marked on both maps; the technician tests one seat\'s lamps from the map', async () => {
  await cleanFloor();
  const chair = await open({ width: 1400, height: 1000 });
  await login(chair, base, DEMO.chair);
  const tech = await open({ width: 1400, height: 1000 });
  await login(tech, base, DEMO.technician, '/tech');
  const techMap = tech.locator('#seatmap-room');
  await techMap.locator('button[data-seat="20"][data-device="online"]').waitFor();
  assert.match(await techMap.locator('button[data-seat="12"] .seat-lines').innerText(), /^12\nA\. Müller\nanwesend\nonline/);
  await tech.getByRole('button', {
    name: /^Platz 12, Anna Müller \(SPD\): anwesend, Sprechstelle online, Zeitüberschreitungen \d+, CRC-Fehler \d+, Ausnahmen \d+$/,
  }).waitFor();
  // The chair's map says nothing about units that answer.
  await chair.getByRole('button', { name: 'Platz 20, Gabriele Klein (CDU): anwesend', exact: true }).waitFor();

  // Unit 20 stops answering: both maps say so (the health is reread every 5 s).
  assert.equal((await call('/api/v1/sim/desks', { action: 'fault', unit: 20, fault: 'silent' })).status, 200);
  await chair.getByRole('button', { name: 'Platz 20, Gabriele Klein (CDU): anwesend, Sprechstelle offline', exact: true })
    .waitFor({ timeout: 20_000 });
  assert.match(await chair.locator('#seatmap-room button[data-seat="20"] .seat-lines').innerText(), /⚠ offline/);
  assert.equal(await chair.locator('#seatmap-room button[data-seat="20"]').getAttribute('data-device'), 'offline');
  await tech.getByRole('button', { name: /^Platz 20, Gabriele Klein \(CDU\): anwesend, Sprechstelle offline, zuletzt erreicht .+, Zeitüberschreitungen [1-9]\d*, / })
    .waitFor({ timeout: 20_000 });
  await screenshot(tech, 'seatmap-tech');
  assert.deepEqual(await axeViolations(tech), [], 'axe-core on the technician console with the map');
  await call('/api/v1/sim/desks', { action: 'fault', unit: 20, fault: 'none' });
  await techMap.locator('button[data-seat="20"][data-device="online"]').waitFor({ timeout: 20_000 });

  // The lamp test of one seat, from the map, with the keyboard, for the duration set above it.
  await tech.getByLabel('Dauer in Sekunden (1–60)').fill('2');
  await techMap.locator('button[tabindex="0"]').focus();
  await tech.keyboard.press('ArrowDown');
  for (let i = 0; i < 5; i += 1) await tech.keyboard.press('ArrowRight');
  await tech.waitForFunction(() => document.activeElement?.dataset.seat === '12');
  await tech.keyboard.press('Enter');
  const status = tech.locator('#desk-test-status');
  await tech.waitForFunction((el) => el.textContent !== '', await status.elementHandle());
  assert.equal(await status.textContent(), 'Lampentest läuft 2 s: Sprechstelle 12 an desks.');
  const unit = (n) => (sims) => sims[0].units.find((u) => u.unit === n).desk;
  await until('/api/v1/sim/desks', (sims) => unit(12)(sims).blink && !unit(13)(sims).blink, 'unit 12 blinks, unit 13 not');
  await until('/api/v1/sim/desks', (sims) => !unit(12)(sims).blink, 'unit 12 stops blinking after 2 s');
});

// ---------------------------------------------------------------- presentation

test('presenting from the chair console switches the projector and the matrix; stopping returns them', async () => {
  await cleanFloor();
  const sim = (name) => (devices) => devices.find((d) => d.name === name);
  const shows = (projector, matrix) => (room) => sim('projector')(room).input === projector
    && sim('matrix')(room).ties.length > 0 && sim('matrix')(room).ties.every((tie) => tie.input === matrix);
  await until('/api/v1/sim/room', shows('31', 1), 'the floor on the screens before');

  const chair = await open({ width: 1400, height: 1000 });
  await login(chair, base, DEMO.chair);
  const tech = await open({ width: 1400, height: 1000 });
  await login(tech, base, DEMO.technician, '/tech');
  const panel = chair.locator('#presentation');
  assert.equal(await panel.locator('[role="status"]').innerText(), 'Keine Präsentation: alle Bildschirme folgen der Sitzung.');
  assert.deepEqual(await panel.locator('li .presentation-label').allInnerTexts(),
    ['Laptop am Rednerpult', 'Dokumentenkamera', 'Bildschirmfreigabe der Videokonferenz']);

  // The lectern's laptop on the hall, by keyboard.
  const hall = panel.getByRole('button', { name: 'Laptop am Rednerpult im Saal zeigen', exact: true });
  await hall.focus();
  await chair.keyboard.press('Enter');
  await until('/api/v1/sim/room', shows('32', 3), 'projector input 32, matrix input 3');
  await chair.waitForFunction(() => /^Präsentiert: Laptop am Rednerpult im Saal, seit \d\d:\d\d$/
    .test(document.querySelector('#presentation [role="status"]').textContent));
  assert.equal(await hall.getAttribute('aria-pressed'), 'true');
  assert.equal(await panel.getByRole('button', { name: 'Laptop am Rednerpult im Livestream zeigen', exact: true })
    .getAttribute('aria-pressed'), 'false');
  // The technician console follows live.
  await tech.waitForFunction(() => document.querySelector('#presentation [role="status"]').textContent
    .startsWith('Präsentiert: Laptop am Rednerpult im Saal, seit '));
  assert.equal((await call('/api/v1/state')).body.floor.presentation.on, 'hall');

  // The document camera on hall and stream: the matrix takes it, the projector (no input
  // for it) follows the floor again.
  await panel.getByRole('button', { name: 'Dokumentenkamera im Saal und Livestream zeigen', exact: true }).click();
  await until('/api/v1/sim/room', shows('31', 5), 'projector back on 31, matrix input 5');
  await chair.waitForFunction(() => document.querySelector('#presentation [role="status"]').textContent
    .startsWith('Präsentiert: Dokumentenkamera im Saal und Livestream, seit '));
  assert.equal(await hall.getAttribute('aria-pressed'), 'false');
  assert.equal(await panel.getByRole('button', { name: 'Präsentation von Laptop am Rednerpult beenden' }).isDisabled(), true);
  assert.deepEqual(await axeViolations(chair), [], 'axe-core while presenting');

  // Stop, by keyboard: the screens follow the floor again (nobody remote speaks: input 31, tie 1).
  const stop = panel.getByRole('button', { name: 'Präsentation von Dokumentenkamera beenden', exact: true });
  await stop.focus();
  await chair.keyboard.press('Enter');
  await until('/api/v1/sim/room', shows('31', 1), 'projector 31, matrix tie 1');
  await chair.waitForFunction(() => document.querySelector('#presentation [role="status"]').textContent
    === 'Keine Präsentation: alle Bildschirme folgen der Sitzung.');
  assert.equal(await stop.isDisabled(), true);
  await chair.waitForFunction(() => document.activeElement?.dataset.focus === 'present-hall:doccam');
  await tech.waitForFunction(() => document.querySelector('#presentation [role="status"]').textContent
    === 'Keine Präsentation: alle Bildschirme folgen der Sitzung.');

  // From the technician console too (the stream only: the hall's screens stay on the floor);
  // a stop elsewhere reaches it live.
  await tech.getByRole('button', { name: 'Laptop am Rednerpult im Livestream zeigen', exact: true }).click();
  await tech.waitForFunction(() => document.querySelector('#presentation [role="status"]').textContent
    .startsWith('Präsentiert: Laptop am Rednerpult im Livestream, seit '));
  assert.equal((await call('/api/v1/state')).body.floor.presentation.on, 'stream');
  assert.equal(shows('31', 1)((await call('/api/v1/sim/room')).body), true, 'the hall still shows the floor');
  const techStop = tech.getByRole('button', { name: 'Präsentation von Laptop am Rednerpult beenden', exact: true });
  assert.equal(await techStop.isDisabled(), false);
  await command(base, { command: 'stop_presenting' });
  await tech.locator('#presentation li[data-source="lectern"][data-presented="no"] button[disabled]').waitFor();
  assert.equal(await techStop.isDisabled(), true);

  await chair.selectOption('#lang', 'en');
  await chair.waitForFunction(() => document.querySelector('#presentation [role="status"]').textContent
    === 'Nothing presented: every screen follows the floor.');
  await panel.getByRole('button', { name: 'Show Laptop am Rednerpult in the hall and stream', exact: true }).waitFor();
  assert.deepEqual(await axeViolations(chair), [], 'axe-core in English');
});

// ---------------------------------------------------------------- the hall display

test('the hall display shows the map as its layout: read only, states in words, emptied in the non-public part', async () => {
  await cleanFloor();
  await command(base, { command: 'request', station: { seat: 5 } });
  await command(base, { command: 'grant', station: { seat: 12 } });
  await command(base, { command: 'join_remote', participant: 'vogt' });
  await command(base, { command: 'request', station: { remote: 'vogt' } });
  await call('/api/v1/sim/desks', { action: 'fault', unit: 20, fault: 'silent' });

  const display = await open({ width: 1920, height: 1080 });
  await display.goto(`${base}/display?layout=map`);
  await ready(display);
  const seat = (n) => display.locator(`#seatmap-room [data-seat="${n}"]`);
  await seat(12).and(display.locator('[data-state="speaking"]')).waitFor();
  assert.equal(await display.locator('#seatmap-room li').count(), 40);
  assert.match(await seat(12).innerText(), /^12\nA\. Müller\nspricht$/);
  assert.match(await seat(5).innerText(), /^5\nJ\. Krause\nNr\. 1\nals Nächstes$/);
  assert.match(await seat(1).innerText(), /^1 · Vorsitz\nT\. Becker\nanwesend$/);
  assert.match(await display.locator('#seatmap ul.seatmap-remote').innerText(), /CDU\nMatthias Vogt\nNr\. 2/);
  assert.equal(await display.locator('.upcoming').isVisible(), false, 'the map takes the list\'s place');
  assert.equal(await display.locator('#speaker-name').innerText(), 'Anna Müller', 'the speaker is still shown');
  // Only what the display receives: no device health even though unit 20 is offline.
  assert.equal(await display.locator('#seatmap [data-device]').count(), 0);
  assert.doesNotMatch(await display.locator('#seatmap').innerText(), /offline/);

  const controls = () => display.evaluate(() => document.querySelectorAll(
    'button, select, input, textarea, a[href], [tabindex], [contenteditable], label').length);
  assert.equal(await controls(), 0, 'no controls');
  await display.keyboard.press('Tab');
  assert.equal(await display.evaluate(() => document.activeElement === document.body), true, 'nothing takes the focus');
  assert.equal(await display.evaluate(() => document.documentElement.scrollHeight), 1080, 'the map fits the 1920×1080 screen');
  await screenshot(display, 'seatmap-display');
  assert.deepEqual(await axeViolations(display), [], 'axe-core, German');

  // The floor follows live.
  await command(base, { command: 'stop', station: { seat: 12 } });
  await seat(12).and(display.locator('[data-state="present"]')).waitFor();

  // The non-public part: no name stays on the screen.
  await command(base, { command: 'set_public', public: false });
  await display.waitForSelector('#nonpublic:not([hidden])');
  await display.waitForFunction(() => document.querySelectorAll('#seatmap li').length === 0);
  assert.equal(await display.locator('#seatmap-box').isVisible(), false);
  assert.doesNotMatch(await display.content(), /Krause|Vogt|Müller/);
  await command(base, { command: 'set_public', public: true });
  await display.waitForSelector('#nonpublic', { state: 'hidden' });
  await seat(5).waitFor();

  // In English, and without ?layout=map the display has no map.
  await display.goto(`${base}/display?layout=map&lang=en`);
  await ready(display);
  await seat(5).waitFor();
  assert.match(await seat(5).innerText(), /^5\nJ\. Krause\nNo\. 1\nnext$/);
  assert.equal(await display.locator('#seatmap-label').textContent(), 'Seat map');
  assert.deepEqual(await axeViolations(display), [], 'axe-core, English');
  await display.goto(`${base}/display`);
  await ready(display);
  assert.equal(await display.locator('#seatmap-box').isVisible(), false);
  assert.equal(await display.locator('#seatmap li').count(), 0);
  assert.equal(await display.locator('.upcoming').isVisible(), true);

  await call('/api/v1/sim/desks', { action: 'fault', unit: 20, fault: 'none' });
  await command(base, { command: 'leave_remote', participant: 'vogt' });
});
