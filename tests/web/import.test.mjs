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
