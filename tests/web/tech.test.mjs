// The technician console in a real browser against `podiumd demo` (with its embedded MQTT
// broker, so the link's counters show): every room device offers the test actions of its
// kind and each one reaches the simulated device, lamp tests reach the desk units, every
// result and refusal is read out, and the German console shows no untranslated key or raw
// field name.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  DEMO, axeViolations, command, demoSuite, login, resetFloor, root, screenshot, until as untilAt,
} from './support.mjs';

const { texts, families } = await import(pathToFileURL(path.join(root, 'firmware-host', 'web', 'i18n.js')).href);

let base;
const suite = demoSuite({ argv: ['demo', '--listen', '127.0.0.1:0', '--mqtt-listen', '127.0.0.1:0'], log: 'podiumd-tech.log' }, (ready) => {
  base = ready.base;
});

const getJson = async (p) => (await fetch(`${base}${p}`)).json();
const until = (p, probe, what) => untilAt(base, p, probe, what, 10);

/** The technician console, logged in, with every room device's card built. */
async function openTech(locale = 'de-DE') {
  const page = await suite.open({ width: 1400, height: 1000, locale });
  await login(page, base, DEMO.technician, '/tech');
  const { devices } = await getJson('/api/v1/devices/room');
  await page.waitForFunction((n) => document.querySelectorAll('#room-devices article.device').length === n, devices.length);
  return page;
}

const card = (page, name) => page.locator(`#room-devices article.device[data-device="${name}"]`);
const simDevice = (name) => (sim) => sim.find((d) => d.name === name);

/** Runs an action from a device's card and waits for its result in the card's live region. */
async function run(page, device, action) {
  const result = card(page, device).locator('[role="status"]');
  const before = await result.textContent();
  await card(page, device).locator(`button[data-action="${action}"]`).click();
  await page.waitForFunction(([el, previous]) => el.textContent !== previous && !el.textContent.endsWith('…'),
    [await result.elementHandle(), before]);
  return { text: await result.textContent(), kind: await result.getAttribute('data-kind') };
}

// What the console offers per kind, as POST /api/v1/devices/room/{name}/test takes it.
const ACTIONS = {
  visca: ['recall', 'store', 'home', 'power_on', 'power_off', 'position'],
  pjlink: ['input', 'power_on', 'power_off', 'status'],
  mdc: ['input', 'power_on', 'power_off', 'status'],
  extron: ['input', 'power_on', 'power_off', 'status'],
  shure: ['flash', 'status'],
};

test('every room device offers the test actions of its kind, labelled, in the daemon\'s order', async () => {
  const { devices } = await getJson('/api/v1/devices/room');
  const kinds = devices.map((d) => d.kind);
  for (const kind of ['visca', 'pjlink', 'extron', 'gpio']) assert.ok(kinds.includes(kind), `the demo has a ${kind} device`);
  const tech = await openTech();
  const names = await tech.locator('#room-devices article.device').evaluateAll((cards) => cards.map((c) => c.dataset.device));
  assert.deepEqual(names, devices.map((d) => d.name));
  for (const d of devices) {
    const actions = await card(tech, d.name).locator('button[data-action]').evaluateAll((bs) => bs.map((b) => b.dataset.action));
    assert.deepEqual(actions, ACTIONS[d.kind] ?? [], `${d.name} (${d.kind})`);
    // Each button's name says what it does and to which device.
    for (const action of actions) {
      const name = await card(tech, d.name).locator(`button[data-action="${action}"]`).getAttribute('aria-label');
      assert.equal(name, `${texts.de[`tech.action.${action}`]}: ${d.name}`);
    }
    assert.equal(await card(tech, d.name).locator('h3').innerText(), d.name);
  }
  const box = devices.find((d) => d.kind === 'gpio').name;
  assert.match(await card(tech, box).innerText(), /Keine Testaktionen: die Tasten senden Befehle/);
  assert.deepEqual(await axeViolations(tech), [], 'axe-core on the technician console');
});

test('the camera: recall by keyboard, store, home, position, standby and on; a missing preset is refused', async () => {
  const tech = await openTech();
  const camera = (await getJson('/api/v1/devices/room')).devices.find((d) => d.kind === 'visca').name;
  const preset = card(tech, camera).getByLabel('Preset', { exact: true });
  // The preset field's Enter recalls (the form's default action).
  await preset.fill('5');
  await preset.press('Enter');
  const result = card(tech, camera).locator('[role="status"]');
  await tech.waitForFunction((el) => el.textContent.includes('ausgeführt'), await result.elementHandle());
  assert.equal(await result.textContent(), `${camera}, Preset abrufen: ausgeführt – preset 5 recalled`);
  await until('/api/v1/sim/room', (sim) => simDevice(camera)(sim).preset === 5, 'the camera shows preset 5');
  // The card's facts follow what the camera confirmed.
  await tech.waitForFunction((name) => document.querySelector(`#room-devices article[data-device="${name}"] dl`)
    .textContent.includes('preset 5'), camera);

  await preset.fill('7');
  assert.deepEqual(await run(tech, camera, 'store'), { text: `${camera}, Preset speichern: ausgeführt – preset 7 stored`, kind: 'info' });
  assert.deepEqual(await run(tech, camera, 'home'), { text: `${camera}, Grundstellung: ausgeführt – home`, kind: 'info' });
  assert.match((await run(tech, camera, 'position')).text, new RegExp(`^${camera}, Position lesen: ausgeführt – pan -?\\d+, tilt -?\\d+$`));
  assert.equal((await run(tech, camera, 'power_off')).text, `${camera}, Standby: ausgeführt – standby`);
  await until('/api/v1/sim/room', (sim) => simDevice(camera)(sim).power === false, 'the camera in standby');
  assert.equal((await run(tech, camera, 'power_on')).text, `${camera}, Einschalten: ausgeführt – power on`);
  await until('/api/v1/sim/room', (sim) => simDevice(camera)(sim).power === true, 'the camera on again');

  await preset.fill('300');
  const refused = await run(tech, camera, 'recall');
  assert.deepEqual(refused, {
    text: `${camera}, Preset abrufen: abgelehnt – Das Gerät hat den Befehl abgelehnt. (preset 300 does not exist on this camera)`,
    kind: 'error',
  });
  // An empty preset is not sent: the field says why and keeps the focus.
  await preset.fill('');
  await card(tech, camera).locator('button[data-action="store"]').click();
  assert.equal(await preset.evaluate((el) => el === document.activeElement && !el.validity.valid), true);
  assert.equal(await result.textContent(), refused.text, 'nothing was sent');
});

test('displays and the matrix: input, standby, on and status reach the simulated devices', async () => {
  const tech = await openTech();
  const { devices, displays } = await getJson('/api/v1/devices/room');
  const screens = devices.filter((d) => ['pjlink', 'mdc', 'extron'].includes(d.kind));
  assert.ok(screens.length >= 2, 'the demo has a projector and a matrix');
  // Inputs each protocol knows: PJLink network 2, MDC HDMI 2, Extron input 4.
  const other = { pjlink: '52', mdc: 'hdmi2', extron: '4' };
  for (const d of screens) {
    const input = card(tech, d.name).getByLabel('Eingang', { exact: true });
    assert.equal(await input.inputValue(), displays.find((x) => x.display === d.name)?.input ?? '', `${d.name}: the wanted input first`);
    await input.fill(other[d.kind]);
    const done = await run(tech, d.name, 'input');
    assert.equal(done.kind, 'info', done.text);
    assert.match(done.text, new RegExp(`^${d.name}, Eingang wählen: ausgeführt – .*input ${other[d.kind]}$`));
    const shown = await until('/api/v1/sim/room', (sim) => simDevice(d.name)(sim)?.input === other[d.kind], `${d.name} shows input ${other[d.kind]}`);
    if (d.kind === 'extron') {
      assert.deepEqual(simDevice(d.name)(shown).ties.map((tie) => tie.input), simDevice(d.name)(shown).ties.map(() => Number(other.extron)));
    }
    assert.match((await run(tech, d.name, 'status')).text, new RegExp(`^${d.name}, Zustand lesen: ausgeführt – power \\w+, input ${other[d.kind]}$`));
    if (d.kind !== 'extron') {
      assert.equal((await run(tech, d.name, 'power_off')).kind, 'info');
      await until('/api/v1/sim/room', (sim) => simDevice(d.name)(sim).power === false, `${d.name} in standby`);
      assert.equal((await run(tech, d.name, 'power_on')).kind, 'info');
      await until('/api/v1/sim/room', (sim) => simDevice(d.name)(sim).power === true, `${d.name} on again`);
    }
  }
  // An input the projector does not have is refused, and the refusal is read out.
  const projector = screens.find((d) => d.kind === 'pjlink').name;
  await card(tech, projector).getByLabel('Eingang', { exact: true }).fill('99');
  const refused = await run(tech, projector, 'input');
  assert.equal(refused.kind, 'error');
  assert.match(refused.text, /^projector, Eingang wählen: abgelehnt – Das Gerät hat den Befehl abgelehnt\. \(.*ERR2.*\)$/);
});

test('a microphone array flashes its LEDs and reports its status', async (t) => {
  const { devices } = await getJson('/api/v1/devices/room');
  const array = devices.find((d) => d.kind === 'shure');
  if (!array) {
    t.skip('the demo has no microphone array');
    return;
  }
  const tech = await openTech();
  const flash = await run(tech, array.name, 'flash');
  assert.equal(flash.kind, 'info', flash.text);
  assert.match(flash.text, new RegExp(`^${array.name}, LEDs blinken lassen: ausgeführt – .+`));
  const status = await run(tech, array.name, 'status');
  assert.equal(status.kind, 'info', status.text);
  assert.match(status.text, new RegExp(`^${array.name}, Zustand lesen: ausgeführt – .+`));
});

test('lamp tests: one seat for the chosen time, and the refusal of a seat without a unit', async () => {
  const tech = await openTech();
  await tech.waitForSelector('#desk-test:not([hidden])');
  await tech.getByLabel('Dauer in Sekunden (1–60)').fill('2');
  await tech.getByLabel('Platz', { exact: true }).fill('12');
  await tech.getByLabel('Platz', { exact: true }).press('Enter');
  const status = tech.locator('#desk-test-status');
  await tech.waitForFunction((el) => el.textContent !== '', await status.elementHandle());
  assert.equal(await status.textContent(), 'Lampentest läuft 2 s: Sprechstelle 12 an desks.');
  const unit = (n) => (sims) => sims[0].units.find((u) => u.unit === n).desk;
  await until('/api/v1/sim/desks', (sims) => unit(12)(sims).blink && !unit(13)(sims).blink, 'unit 12 blinks, unit 13 not');
  await until('/api/v1/sim/desks', (sims) => !unit(12)(sims).blink, 'unit 12 stops blinking after 2 s');

  await tech.getByLabel('Platz', { exact: true }).fill('99');
  await tech.click('#desk-test-seat-run');
  await tech.waitForFunction((el) => el.dataset.kind === 'error', await status.elementHandle());
  assert.equal(await status.textContent(), 'Abgelehnt: Nicht gefunden. (no desk unit serves this target)');

  // The per-unit buttons use the same duration; a duration out of range is not sent.
  await tech.getByLabel('Dauer in Sekunden (1–60)').fill('61');
  await tech.getByRole('button', { name: 'Test: Sprechstelle 3 an desks' }).click();
  assert.equal(await status.textContent(), 'Bitte eine Dauer von 1 bis 60 Sekunden angeben.');
  await tech.getByLabel('Dauer in Sekunden (1–60)').fill('1');
  await tech.getByRole('button', { name: 'Test: Sprechstelle 3 an desks' }).click();
  await tech.waitForFunction((el) => el.textContent === 'Lampentest läuft 1 s: Sprechstelle 3 an desks.', await status.elementHandle());
});

/** Texts on the page that are an i18n key, a raw field or event name, an unfilled
 *  placeholder or a value shown as code would; the daemon's own words (its log, the
 *  monitor's frames) are left out. */
function untranslated(page, raw) {
  return page.evaluate(({ keys, raw, words }) => {
    const found = [];
    const check = (text, where) => {
      const s = text.trim();
      if (!s) return;
      if (keys.includes(s) || raw.includes(s)) found.push(`${where}: "${s}"`);
      if (/\{\w+\}|\[object \w+\]|\bundefined\b|\bNaN\b/.test(s)) found.push(`${where}: "${s}"`);
      for (const w of words) if (new RegExp(`(^|[^\\w])${w}([^\\w]|$)`).test(s)) found.push(`${where}: ${w} in "${s}"`);
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      if (!n.parentElement.closest('#log, #monitor')) check(n.textContent, n.parentElement.tagName.toLowerCase());
    }
    for (const el of document.querySelectorAll('[aria-label], [title]')) {
      check(el.getAttribute('aria-label') || el.getAttribute('title') || '', `${el.tagName.toLowerCase()}@label`);
    }
    check(document.title, 'title');
    return found;
  }, { keys: Object.keys(texts.de), raw, words: [...families['tech.event'], ...families['tech.request_end'].filter((w) => w.includes('_'))] });
}

// Field names as the API spells them, the old console's headings and raw kinds.
const RAW = [
  'journal', 'meeting', 'sources', 'Broker', 'Status', 'last_error', 'connects', 'accepted', 'rejected', 'malformed',
  'dropped', 'sent', 'completed', 'errors', 'timeouts', 'retransmissions', 'disconnects', 'state', 'location', 'error',
  'failed_writes', 'commits', 'unwritten_events', 'written_seq', 'retention', 'recovery', 'source', 'limited', 'limit',
  'snapshot', 'visca', 'pjlink', 'mdc', 'extron', 'shure', 'gpio', 'desk', 'chair', 'module', 'overview', 'unknown',
  'handling', 'broker', 'connected', 'true', 'false', 'null', 'undefined', '(sim)', 'INFO', 'WARN',
];

test('the German console, devices and health loaded, shows no untranslated key or raw field name', async () => {
  await resetFloor(base);
  const tech = await openTech();
  await tech.waitForSelector('#devices table');
  await tech.waitForSelector('#diagnostics dl');
  await tech.waitForSelector('#mqtt dl');
  await tech.waitForFunction(() => document.getElementById('version').textContent !== '');
  await tech.waitForSelector('#log li');
  // Events of many kinds for the log (it shows those since the page loaded), a test result
  // and a refusal.
  await command(base, { command: 'join_remote', participant: 'vogt' });
  await command(base, { command: 'request', station: { seat: 3 }, stance: 'pro' });
  await command(base, { command: 'request', station: { remote: 'vogt' } });
  await command(base, { command: 'next' });
  await command(base, { command: 'stop', station: { seat: 3 } });
  await command(base, { command: 'withdraw', station: { remote: 'vogt' } });
  await command(base, { command: 'set_list_open', open: false });
  await command(base, { command: 'set_list_open', open: true });
  await command(base, { command: 'grant', station: { seat: 12 } });
  await command(base, { command: 'stop', station: { seat: 12 } });
  await tech.waitForFunction(() => [...document.querySelectorAll('#events li')].some((li) => li.textContent.includes('Mikrofon ausgeschaltet: Anna')));
  await run(tech, 'front', 'position');
  await card(tech, 'projector').getByLabel('Eingang', { exact: true }).fill('99');
  await run(tech, 'projector', 'input');

  const events = await tech.locator('#events').innerText();
  assert.match(events, /Wortmeldung eingetragen: Markus Wagner \(Platz 3\), Wortmeldung \(dafür\), an Position 1/);
  assert.match(events, /Mikrofon ausgeschaltet: Anna Müller \(Platz 12\), beendet durch: Sitzungsleitung, Redezeit 0:0\d/);
  assert.match(events, /Wortmeldung entfernt: Matthias Vogt \(zugeschaltet\), Grund: von der Sitzungsleitung entfernt/);
  assert.match(events, /Rednerliste: Rednerliste geschlossen/);
  assert.match(await tech.locator('#mqtt').innerText(), /MQTT-Broker\s+127\.0\.0\.1:\d+/);
  assert.match(await tech.locator('#diagnostics').innerText(), /Zustand\s+schreibt/);
  assert.match(await card(tech, 'front').innerText(), /Zähler seit dem Start: gesendet \d+ · bestätigt \d+/);

  assert.deepEqual(await untranslated(tech, RAW), []);
  await screenshot(tech, 'tech-de-devices');
  assert.deepEqual(await axeViolations(tech), [], 'axe-core with every section loaded');

  // The same in English, switched on the page: the cards are rebuilt in the new language.
  await tech.selectOption('#lang', 'en');
  await tech.waitForFunction(() => document.querySelector('#room-devices article.device button[data-action="recall"]')?.textContent === 'Recall preset');
  assert.match(await tech.locator('#events').innerText(), /Microphone off: Anna Müller \(Seat 12\), ended by: the chair/);
  const germanLeft = await tech.evaluate((words) => {
    const text = document.body.innerText;
    return words.filter((w) => text.includes(w));
  }, ['Zähler seit dem Start', 'Vorgabe der Steuerung', 'Lampentest', 'Mikrofon ausgeschaltet', 'Befehle je Quelle']);
  assert.deepEqual(germanLeft, [], 'German left after switching to English');
  assert.deepEqual(await axeViolations(tech), [], 'axe-core in English');
});
