// The technician's OParl import form (issue 17): a room without `[oparl] system` says so in
// words, in German and English, and the form is axe-core clean. The import itself (a real
// paginated endpoint on 127.0.0.1) is tested through the same API in tests/e2e/oparl_import.rs.

import { after, afterEach, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { DEMO, axeViolations, launchBrowser, login, newPage, startDaemon } from './support.mjs';

let daemon;
let browser;
const pages = [];

before(async () => {
  daemon = await startDaemon({ log: 'podiumd-import.log' });
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

test('the import form reports a room without a council information system, and is accessible', async () => {
  for (const [locale, expected] of [['de-DE', 'Kein Ratsinformationssystem'], ['en-GB', 'No council information system']]) {
    const page = await newPage(browser, { locale });
    pages.push(page);
    await login(page, daemon.base, DEMO.technician, '/tech');
    if (locale === 'en-GB') {
      await page.selectOption('#lang', 'en');
    }
    await page.fill('#import-meeting', '12');
    await page.click('#import-run');
    await page.waitForFunction(() => document.querySelector('#import-status').textContent.trim() !== ''
      && !document.querySelector('#import-run').disabled);
    const status = await page.textContent('#import-status');
    assert.match(status, new RegExp(expected), status);
    assert.deepEqual(await axeViolations(page), []);
  }
});

test('the protocol monitor starts stopped, shows the wire in batches when started, filters by device and stops', async () => {
  const page = await newPage(browser, { locale: 'de-DE' });
  pages.push(page);
  await login(page, daemon.base, DEMO.technician, '/tech');
  const rows = () => page.locator('#monitor tr').count();
  assert.equal(await page.textContent('#monitor-state'), 'Angehalten');
  await page.waitForTimeout(600);
  assert.equal(await rows(), 0, 'a stopped monitor receives nothing');

  await page.click('#monitor-toggle');
  assert.equal(await page.textContent('#monitor-state'), 'Läuft');
  assert.equal((await page.textContent('#monitor-toggle')).trim(), 'Mitschnitt anhalten');
  await page.waitForFunction(() => document.querySelectorAll('#monitor tr').length > 0);
  // The demo's desk bus polls continuously: the table fills up and is capped at 200 rows.
  await page.waitForFunction(() => document.querySelectorAll('#monitor tr').length === 200, null, { timeout: 15_000 });
  await page.waitForTimeout(600);
  assert.equal(await rows(), 200, 'never more than the newest 200 rows');
  const hex = await page.locator('#monitor tr td.hex').first().textContent();
  assert.match(hex, /^([0-9A-F]{2} )*[0-9A-F]{2}$/, hex);

  await page.selectOption('#monitor-device', 'desks');
  await page.waitForTimeout(600);
  const devices = await page.locator('#monitor tr td:nth-child(2)').allTextContents();
  assert.ok(devices.length > 0 && devices.every((d) => d === 'desks'), devices.join(','));

  await page.click('#monitor-toggle');
  assert.equal(await page.textContent('#monitor-state'), 'Angehalten');
  await page.waitForTimeout(300); // a batch in flight is flushed at once when stopping
  const frozen = await page.locator('#monitor tr td:first-child').allTextContents();
  await page.waitForTimeout(800);
  assert.deepEqual(await page.locator('#monitor tr td:first-child').allTextContents(), frozen, 'a stopped monitor adds no rows');
  assert.deepEqual(await axeViolations(page), []);
});
