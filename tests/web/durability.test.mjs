// The consoles say when a change is applied but not saved: the journal cannot write (here
// its files are made immutable, as a read-only or failing store would act), so the answer
// carries `"durability": "not_durable"` and the chair console warns in its notice.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO, launchBrowser, login, newPage, startDaemon } from './support.mjs';

const dir = mkdtempSync(path.join(os.tmpdir(), 'podium-durability-'));
const journal = path.join(dir, 'journal.sqlite3');
let daemon;
let browser;
let locked = [];

const chattr = (flag, paths) => execFileSync('chattr', [flag, ...paths]);

before(async () => {
  daemon = await startDaemon({ args: ['--journal', journal], log: 'podiumd-durability.log' });
  browser = await launchBrowser();
});

after(async () => {
  if (locked.length) chattr('-i', locked);
  await browser?.close();
  await daemon?.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('the chair console warns when a change is applied but not saved', async () => {
  const base = daemon.base;
  // A meeting is open, so every change is journaled (the demo trusts loopback as the chair).
  const opened = await fetch(`${base}/api/v1/meetings`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ title: 'Durability' }),
  });
  assert.equal(opened.status, 201);
  const page = await newPage(browser);
  await login(page, base, DEMO.chair);
  await page.click('#toggle-list'); // close the list: written, no warning
  await page.waitForFunction(() => document.getElementById('list-state').dataset.open === 'false');
  assert.equal(await page.locator('#notice').isVisible(), false, 'no warning while the journal writes');

  locked = [journal, `${journal}-wal`, dir];
  chattr('+i', locked);
  await page.click('#toggle-list'); // reopen it: applied, but the journal cannot write
  await page.waitForFunction(() => document.getElementById('list-state').dataset.open === 'true');
  await page.waitForSelector('#notice:not([hidden])');
  assert.match(await page.locator('#notice').innerText(), /nicht gespeichert/);
  assert.deepEqual(page.jsErrors, []);
  await page.context().close();
});
