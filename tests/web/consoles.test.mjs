// The web consoles in a real browser (Debian's chromium driven by playwright-core)
// against a running `podiumd demo`. Run: `npm test` in tests/web (tests/run does).

import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  DEMO, axeViolations, command, launchBrowser, login, newPage, ready, resetFloor, screenshot, startDaemon,
} from './support.mjs';

let daemon;
let browser;
let base;
const pages = [];

before(async () => {
  daemon = await startDaemon();
  base = daemon.base;
  browser = await launchBrowser();
});

// Each test closes its pages (and their event streams) and must leave no script error.
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

test('the chair grants the floor and the room display follows within a second', async () => {
  await resetFloor(base);
  const display = await open({ width: 1920, height: 1080 });
  await display.goto(`${base}/display`);
  await ready(display);
  assert.equal(await display.locator('#nobody').isVisible(), true, 'nobody speaks yet');

  const chair = await open();
  await login(chair, base, DEMO.chair);
  await chair.selectOption('#direct-station', 'seat:12');

  const clicked = Date.now();
  await chair.click('#direct-grant');
  await display.waitForFunction(
    () => document.getElementById('speaker-name')?.textContent === 'Anna Müller', null, { timeout: 5000 });
  const delay = Date.now() - clicked;
  console.log(`# display showed the new speaker ${delay} ms after the chair's click`);
  assert.ok(delay < 5000, `display updated after ${delay} ms`);

  assert.match(await text(display, '#speaker-meta'), /SPD · Platz 12/);
  assert.match(await text(display, '#speaker-timer .time'), /^[23]:\d\d$/, 'a 3-minute turn counts down');
  await chair.waitForSelector('#speakers li[data-station="seat:12"]');

  // Keyboard: S stops the speaker, N grants the head of the list.
  await chair.locator('body').press('s');
  await display.waitForSelector('#nobody:not([hidden])');
  assert.equal((await command(base, { command: 'request', station: { seat: 5 } })).status, 200);
  await chair.waitForSelector('#request-rows tr[data-station="seat:5"]');
  await chair.locator('body').press('n');
  await display.waitForFunction(() => document.getElementById('speaker-name')?.textContent === 'Jürgen Krause');
});

test('the remote member requests the floor, sees the position and is granted', async () => {
  await resetFloor(base);
  assert.equal((await command(base, { command: 'request', station: { seat: 3 } })).status, 200);

  const member = await open({ width: 800, height: 1100 });
  await member.goto(`${base}/remote/${DEMO.remoteToken}`);
  await ready(member);
  assert.equal(await text(member, '#member'), 'Matthias Vogt');
  if (await member.locator('#join').isVisible()) await member.click('#join');
  await member.waitForSelector('#leave:not([hidden])');
  await member.click('#request');
  await member.waitForFunction(() => document.getElementById('position').textContent.includes('Nr. 2'));
  assert.match(await text(member, '#position'), /Sie sind Nr\. 2 auf der Rednerliste \(Wortmeldung\)/);

  // The chair sees the request, marked remote, and grants it.
  const chair = await open();
  await login(chair, base, DEMO.chair);
  const row = chair.locator('#request-rows tr[data-station="remote:vogt"]');
  await row.waitFor();
  assert.match(await row.innerText(), /Zugeschaltet/);
  await row.getByRole('button', { name: 'Matthias Vogt das Wort erteilen' }).click();
  await member.waitForSelector('#granted:not([hidden])');
  assert.match(await text(member, '#granted'), /Sie haben das Wort/);

  const display = await open({ width: 1920, height: 1080 });
  await display.goto(`${base}/display`);
  await ready(display);
  await display.waitForFunction(() => document.getElementById('speaker-name')?.textContent === 'Matthias Vogt');
  assert.match(await text(display, '#speaker-meta'), /Zugeschaltet/);
});

test("a member's personal link opens neither the chair console nor chair commands", async () => {
  const member = await open();
  await member.goto(`${base}/remote/${DEMO.remoteToken}`);
  await ready(member);
  for (const path of ['/chair', '/tech']) {
    const response = await member.goto(`${base}${path}`);
    assert.equal(response.status(), 403, `${path} with a member's session`);
  }
  const post = (body) => member.evaluate(async (b) => {
    const r = await fetch('/api/v1/commands', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-podium-csrf': '1' },
      body: JSON.stringify(b),
    });
    return { status: r.status, body: await r.json() };
  }, body);
  for (const body of [
    { command: 'next' },
    { command: 'stop_all' },
    { command: 'clear_requests' },
    { command: 'grant', station: { remote: 'vogt' } },
    { command: 'request', station: { seat: 12 } },
    { command: 'request', station: { remote: 'engel' } },
    { command: 'join_remote', participant: 'engel' },
  ]) {
    const r = await post(body);
    assert.deepEqual(r, { status: 403, body: { error: 'forbidden', message: 'not allowed' } }, JSON.stringify(body));
  }
  // Their own request is theirs to make.
  await resetFloor(base);
  const own = await post({ command: 'request', station: { remote: 'vogt' } });
  assert.equal(own.status, 200, JSON.stringify(own.body));

  // Without any login the chair console sends the visitor to the login page.
  const stranger = await open();
  await stranger.goto(`${base}/chair`);
  await stranger.waitForURL(/\/login\?next=%2Fchair|\/login\?next=\/chair/);
});

test('after login only a path on this site is followed', async () => {
  // Browsers strip tabs and newlines from URLs: "/\t/example.org" would become
  // "//example.org", another site. The server answers the login with the page to open.
  for (const next of ['/\t/example.org', '/\n/example.org', '//example.org', '/\\example.org']) {
    const page = await open();
    await page.goto(`${base}/login?next=${encodeURIComponent(next)}`);
    await page.fill('#user', DEMO.chair.user);
    await page.fill('#password', DEMO.chair.password);
    await page.click('#submit');
    await page.waitForURL(`${base}/chair`);
  }
  const page = await open();
  await page.goto(`${base}/login?next=${encodeURIComponent('/display?lang=en')}`);
  await page.fill('#user', DEMO.chair.user);
  await page.fill('#password', DEMO.chair.password);
  await page.click('#submit');
  await page.waitForURL(`${base}/display?lang=en`);
});

test("a member's link asks before it replaces the chair's login", async () => {
  const page = await open();
  await login(page, base, DEMO.chair);
  await page.goto(`${base}/remote/${DEMO.remoteToken}`);
  await page.locator('#confirm-replace').waitFor();
  // Staying logged in keeps the chair's session.
  await page.click('#keep');
  await page.waitForURL(`${base}/chair`);
  await ready(page);
  // Replacing opens the member's page.
  await page.goto(`${base}/remote/${DEMO.remoteToken}`);
  await page.click('#replace');
  await page.waitForFunction(() => document.getElementById('member')?.textContent === 'Matthias Vogt');
  const response = await page.goto(`${base}/chair`);
  assert.equal(response.status(), 403, 'the chair session ended');
});

test("a member's link clicked on another site still asks before it replaces the chair's login", async () => {
  // Another site (127.0.0.2 is another host, hence another site: the browser withholds the
  // SameSite=Strict login cookie on navigations from there), showing the link as a web mail would.
  const other = http.createServer((_, res) => {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<a id="link" href="${base}/remote/${DEMO.remoteToken}">Link</a>`);
  });
  await new Promise((resolve) => other.listen(0, '127.0.0.2', resolve));
  try {
    const page = await open();
    await login(page, base, DEMO.chair);
    await page.goto(`http://127.0.0.2:${other.address().port}/`);
    await page.click('#link');
    // The link reloads itself from the daemon's own origin, with the cookie, and asks.
    await page.locator('#confirm-replace').waitFor();
    const chair = await page.goto(`${base}/chair`);
    assert.equal(chair.status(), 200, "the chair's login was not replaced");
  } finally {
    other.close();
  }
});

test('a wrong password is refused and said so', async () => {
  const page = await open();
  await page.goto(`${base}/login`);
  await page.fill('#user', 'chair');
  await page.fill('#password', 'wrong');
  await page.click('#submit');
  await page.waitForSelector('#error:not([hidden])');
  assert.equal(await text(page, '#error'), 'Benutzername oder Passwort ist falsch.');
  assert.match(page.url(), /\/login$/);
});

test('every rejection is shown with its translated reason', async () => {
  await resetFloor(base);
  const chair = await open();
  await login(chair, base, DEMO.chair);
  await chair.click('#next');
  await chair.waitForSelector('#notice:not([hidden])');
  assert.equal(await text(chair, '#notice'), 'Abgelehnt: Die Rednerliste ist leer.');
  await chair.click('#toggle-list'); // close the list
  await chair.waitForFunction(() => document.getElementById('list-state').dataset.open === 'false');
  // A remote member's request is refused while the list is closed, and the page says why.
  const member = await open({ width: 800, height: 1100 });
  await member.goto(`${base}/remote/${DEMO.remoteToken}`);
  await ready(member);
  if (await member.locator('#join').isVisible()) await member.click('#join');
  await member.waitForSelector('#leave:not([hidden])');
  await member.click('#request');
  await member.waitForSelector('#notice:not([hidden])');
  assert.equal(await text(member, '#notice'), 'Abgelehnt: Die Rednerliste ist geschlossen.');
  // The chair reopens the list; the member's next request is accepted.
  await chair.click('#toggle-list');
  await chair.waitForFunction(() => document.getElementById('list-state').dataset.open === 'true');
  await member.click('#request');
  await member.waitForFunction(() => document.getElementById('position').textContent.includes('Nr. 1'));
  // The event stream may show the position before the command's own answer clears the notice.
  await member.waitForSelector('#notice', { state: 'hidden' });
  assert.equal(await member.locator('#notice').isVisible(), false, 'the notice is gone after success');
});

test('the speaking time warns and then runs negative', async () => {
  await resetFloor(base);
  const set = await command(base, {
    command: 'set_speaking_time', speaking_time: { turn_limit_s: 2, warning_s: 1, on_expiry: 'continue' },
  });
  assert.equal(set.status, 200);
  const display = await open({ width: 1920, height: 1080 });
  await display.goto(`${base}/display`);
  await ready(display);
  assert.equal((await command(base, { command: 'grant', station: { seat: 12 } })).status, 200);
  const timer = '#speaker-timer';
  await display.waitForFunction((s) => document.querySelector(s)?.dataset.state === 'warning', timer, { timeout: 5000 });
  assert.equal(await text(display, `${timer} .timer-note`), 'Redezeit endet gleich');
  await display.waitForFunction((s) => document.querySelector(s)?.dataset.state === 'over', timer, { timeout: 5000 });
  await display.waitForFunction((s) => document.querySelector(`${s} .time`).textContent.startsWith('\u2212'), timer, { timeout: 5000 });
  assert.match(await text(display, `${timer} .time`), /^\u22120:0\d$/);
  assert.equal(await text(display, `${timer} .timer-note`), 'Redezeit überschritten');
  await command(base, {
    command: 'set_speaking_time', speaking_time: { turn_limit_s: 180, warning_s: 30, on_expiry: 'continue' },
  });
  await resetFloor(base);
});

test('the language can be switched and the choice is remembered', async () => {
  const chair = await open({ locale: 'de-DE' });
  await login(chair, base, DEMO.chair);
  assert.equal(await text(chair, 'h1 span[data-i18n="chair.title"]'), 'Sitzungsleitung');
  await chair.selectOption('#lang', 'en');
  assert.equal(await text(chair, 'h1 span[data-i18n="chair.title"]'), 'Chair console');
  assert.equal(await chair.getAttribute('html', 'lang'), 'en');
  await chair.reload();
  await ready(chair);
  assert.equal(await text(chair, 'h1 span[data-i18n="chair.title"]'), 'Chair console');
  // A browser asking for English gets English from the start.
  const english = await open({ locale: 'en-GB' });
  await english.goto(`${base}/login`);
  assert.equal(await text(english, '#submit'), 'Log in');
});

test('axe-core finds no violations on any page; a screenshot of each is saved', async () => {
  await resetFloor(base);
  await command(base, { command: 'join_remote', participant: 'vogt' });
  await command(base, { command: 'grant', station: { seat: 12 } });
  await command(base, { command: 'request', station: { seat: 3 }, kind: 'point_of_order' });
  await command(base, { command: 'request', station: { remote: 'vogt' } });
  await command(base, { command: 'request', station: { seat: 20 }, stance: 'pro' });

  const loginPage = await open();
  await loginPage.goto(`${base}/login`);
  const chair = await open({ width: 1280, height: 900 });
  await login(chair, base, DEMO.chair);
  const tablet = await open({ width: 820, height: 1180 });
  await login(tablet, base, DEMO.chair);
  const display = await open({ width: 1920, height: 1080 });
  await display.goto(`${base}/display`);
  const overlay = await open({ width: 1920, height: 1080 });
  await overlay.goto(`${base}/overlay`);
  const remote = await open({ width: 820, height: 1180 });
  await remote.goto(`${base}/remote/${DEMO.remoteToken}`);
  const tech = await open();
  await login(tech, base, DEMO.technician, '/tech');
  await tech.waitForSelector('#log li');
  const chairEnglish = await open();
  await login(chairEnglish, base, DEMO.chair);
  await chairEnglish.selectOption('#lang', 'en');

  const all = {
    login: loginPage, chair, 'chair-tablet': tablet, display, overlay, remote, tech, 'chair-en': chairEnglish,
  };
  for (const page of Object.values(all)) if (page !== loginPage) await ready(page);
  await overlay.waitForSelector('#speaker:not([hidden])');
  const found = {};
  for (const [name, page] of Object.entries(all)) {
    await screenshot(page, name);
    const violations = await axeViolations(page);
    if (violations.length) found[name] = violations;
  }
  assert.deepEqual(found, {}, `axe violations:\n${JSON.stringify(found, null, 2)}`);
});

/** The member's page, joined. */
async function memberPage() {
  const member = await open({ width: 820, height: 1180 });
  await member.goto(`${base}/remote/${DEMO.remoteToken}`);
  await ready(member);
  if (await member.locator('#join').isVisible()) await member.click('#join');
  await member.waitForSelector('#leave:not([hidden])');
  return member;
}

const limits = (switchOff) => ({
  command: 'set_limits',
  limits: {
    max_open_microphones: 1, max_requests: 50, members_may_cancel: true, members_may_switch_off: switchOff,
    point_of_order_when_closed: true,
  },
});

test('the remote member requests pro or contra; the chair and the member see the stance', async () => {
  await resetFloor(base);
  const member = await memberPage();
  await member.getByLabel('dagegen').check();
  await member.click('#request');
  await member.waitForFunction(() => document.getElementById('position').textContent.includes('Nr. 1'));
  assert.equal(await text(member, '#position'), 'Sie sind Nr. 1 auf der Rednerliste (Wortmeldung, dagegen).');
  const state = await (await fetch(`${base}/api/v1/state`)).json();
  assert.equal(state.floor.requests.find((r) => r.station.remote === 'vogt')?.stance, 'contra');
  // The choice belongs to that request; the stance is not offered while it waits.
  await member.waitForFunction(() => document.getElementById('stance-none').checked);
  assert.equal(await member.getByLabel('dafür').isDisabled(), true);

  const chair = await open();
  await login(chair, base, DEMO.chair);
  const row = chair.locator('#request-rows tr[data-station="remote:vogt"]');
  await row.waitFor();
  assert.match(await row.innerText(), /Wortmeldung \(dagegen\)/);

  // By keyboard: withdraw, then pick "dafür" with the arrow keys and request again.
  await member.click('#withdraw');
  await member.waitForFunction(() => !document.getElementById('stance').disabled);
  await member.getByLabel('keine Angabe').focus();
  await member.keyboard.press('ArrowDown');
  assert.equal(await member.getByLabel('dafür').isChecked(), true);
  await member.click('#request');
  await row.waitFor();
  await chair.waitForFunction(() => document.querySelector('#request-rows tr[data-station="remote:vogt"]')?.textContent.includes('(dafür)'));
  assert.equal(await text(member, '#position'), 'Sie sind Nr. 1 auf der Rednerliste (Wortmeldung, dafür).');
  assert.match(await text(member, '#list'), /Matthias Vogt \(dafür\)/);
  assert.deepEqual(await axeViolations(member), [], 'remote page with the stance');
});

test('the remote member is offered to end their turn only while speaking and where members may switch off', async () => {
  await resetFloor(base);
  const member = await memberPage();
  assert.equal(await member.locator('#stop').isVisible(), false, 'not while waiting');
  assert.equal((await command(base, { command: 'grant', station: { remote: 'vogt' } })).status, 200);
  await member.waitForSelector('#stop:not([hidden])');
  assert.equal(await text(member, '#stop'), 'Meinen Redebeitrag beenden');
  assert.deepEqual(await axeViolations(member), [], 'remote page while speaking');
  assert.equal((await command(base, limits(false))).status, 200);
  await member.waitForSelector('#stop', { state: 'hidden' });
  assert.equal((await command(base, limits(true))).status, 200);
  await member.waitForSelector('#stop:not([hidden])');
  assert.equal((await command(base, { command: 'stop', station: { remote: 'vogt' } })).status, 200);
  await member.waitForSelector('#stop', { state: 'hidden' });
});

test('the remote member ends their own turn', async () => {
  await resetFloor(base);
  const member = await memberPage();
  assert.equal((await command(base, { command: 'grant', station: { remote: 'vogt' } })).status, 200);
  await member.waitForSelector('#stop:not([hidden])');
  await member.locator('#stop').focus();
  await member.keyboard.press('Enter');
  await member.waitForSelector('#granted', { state: 'hidden' });
  assert.equal(await member.locator('#notice').isVisible(), false, await text(member, '#notice'));
  const state = await (await fetch(`${base}/api/v1/state`)).json();
  assert.deepEqual(state.floor.speakers, []);
  // The keyboard stays in the card: the request button has the focus.
  assert.equal(await member.evaluate(() => document.activeElement?.id), 'request');
});

test('the chair sees each group\'s speaking time, live, and what is left of its budget', async () => {
  await resetFloor(base);
  await command(base, { command: 'set_budget', budget: null });
  const chair = await open();
  await login(chair, base, DEMO.chair);
  const groups = [...new Set((await (await fetch(`${base}/api/v1/state`)).json()).participants.map((p) => p.group).filter(Boolean))]
    .sort((a, b) => a.localeCompare(b));
  assert.deepEqual(await chair.locator('#group-rows tr').evaluateAll((rows) => rows.map((r) => r.dataset.group)), groups);
  const cells = (group) => chair.locator(`#group-rows tr[data-group="${group}"] td`).allInnerTexts();
  const spokenMs = async (group) => (await (await fetch(`${base}/api/v1/state`)).json()).floor.spoken_ms_by_group[group] || 0;
  const shown = (ms) => `${Math.floor(ms / 60000)}:${String(Math.floor(ms / 1000) % 60).padStart(2, '0')}`;
  const before = await spokenMs('SPD');
  assert.deepEqual(await cells('SPD'), [shown(before), 'kein Kontingent']);

  // Anna Müller (SPD) speaks: the group's time runs while she does.
  assert.equal((await command(base, { command: 'grant', station: { seat: 12 } })).status, 200);
  // Two seconds more on the clock than before (rounded down): she spoke at least one.
  await chair.waitForFunction(([want]) => document.querySelector('#group-rows tr[data-group="SPD"] td').textContent === want,
    [shown(before + 2000)], { timeout: 5000 });
  assert.equal((await command(base, { command: 'stop', station: { seat: 12 } })).status, 200);
  const after = await spokenMs('SPD');
  assert.ok(after >= before + 1000, `SPD spoke ${after - before} ms`);
  await chair.waitForFunction(([want]) => document.querySelector('#group-rows tr[data-group="SPD"] td').textContent === want,
    [shown(after)]);

  // With budgets for SPD and CDU: what is left, counting down while SPD speaks.
  assert.equal((await command(base, {
    command: 'set_budget',
    budget: { scope: 'meeting', shares: { kind: 'per_group', seconds: { SPD: 600, CDU: 300 } }, policy: 'warn_only', warning_s: 30 },
  })).status, 200);
  await chair.waitForFunction(() => document.querySelector('#group-rows tr[data-group="CDU"] .remaining')?.textContent === '5:00');
  assert.deepEqual(await cells('SPD'), [shown(after), '10:00']);
  assert.equal((await cells('GRÜNE'))[1], 'kein Kontingent');
  assert.equal((await command(base, { command: 'grant', station: { seat: 12 } })).status, 200);
  await chair.waitForFunction(() => document.querySelector('#group-rows tr[data-group="SPD"] .remaining')?.textContent === '9:59',
    null, { timeout: 5000 });
  assert.equal((await command(base, { command: 'stop', station: { seat: 12 } })).status, 200);
  const budget = (await (await fetch(`${base}/api/v1/state`)).json()).floor.budget;
  const left = budget.allotted_ms.SPD - budget.used_ms.SPD;
  await chair.waitForFunction(([want]) => document.querySelector('#group-rows tr[data-group="SPD"] .remaining')?.textContent === want,
    [`${Math.floor(Math.ceil(left / 1000) / 60)}:${String(Math.ceil(left / 1000) % 60).padStart(2, '0')}`]);
  assert.deepEqual(await axeViolations(chair), [], 'chair console with the group totals');

  // In English.
  await chair.selectOption('#lang', 'en');
  assert.equal(await text(chair, '#h-groups'), 'Speaking time by group');
  assert.equal((await cells('GRÜNE'))[1], 'no budget');
  await command(base, { command: 'set_budget', budget: null });
  await chair.waitForFunction(() => document.querySelector('#group-rows tr[data-group="SPD"] .remaining')?.textContent === 'no budget');
});

test('the hall display has no controls; its language comes from the address, else German', async () => {
  // A browser asking for English, which has chosen English on another console before.
  const page = await open({ width: 1920, height: 1080, locale: 'en-GB' });
  await login(page, base, DEMO.chair);
  await page.selectOption('#lang', 'en');
  await page.goto(`${base}/display`);
  await ready(page);
  assert.equal(await page.getAttribute('html', 'lang'), 'de');
  const heading = () => page.locator('#speaks-label').textContent();
  assert.equal(await heading(), 'Es spricht');
  const controls = () => page.evaluate(() => document.querySelectorAll(
    'button, select, input, textarea, a[href], [tabindex], [contenteditable], label').length);
  assert.equal(await controls(), 0, 'no controls on the German display');
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement === document.body), true, 'nothing takes the focus');
  assert.deepEqual(await axeViolations(page), [], 'German display');

  await page.goto(`${base}/display?lang=en`);
  await ready(page);
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.equal(await heading(), 'Speaking');
  assert.equal(await controls(), 0, 'no controls on the English display');
  assert.deepEqual(await axeViolations(page), [], 'English display');
  await screenshot(page, 'display-en');

  // The address chose for this screen only: the next display without ?lang= is German again.
  await page.goto(`${base}/display`);
  await ready(page);
  assert.equal(await heading(), 'Es spricht');
});
