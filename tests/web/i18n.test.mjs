// Every text the consoles use is in German and in English: the keys in the pages'
// data-i18n, data-i18n-label and data-title attributes, the keys the scripts pass to t()
// or name as strings, and every key built at run time (`t(`kind.${kind}`)`, `known('tech.kind',
// kind)`), whose values each family in i18n.js lists. No browser: the files are read as text.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { root } from './support.mjs';

const web = path.join(root, 'firmware-host', 'web');
const { texts, families } = await import(pathToFileURL(path.join(web, 'i18n.js')).href);
const files = readdirSync(web).sort();
const read = (file) => readFileSync(path.join(web, file), 'utf8');

/** A dotted key such as `tech.counter.sent` (undotted ones are found as t('…') or known('…')). */
const KEY = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$/;
/** The start of a key built at run time: `tech.counter.` before `${…}`. */
const KEY_HEAD = /^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*\.$/;
/** The first part of every key: a dotted string elsewhere (`podium.lang`) is no key. */
const namespaces = new Set(Object.keys(texts.de).map((k) => k.split('.')[0]));

/** The string literals and template literals of a script, comments and regular
 *  expressions skipped: `{strings: [value], heads: [static text before the first ${}]}`. */
function literals(source) {
  const strings = [];
  const heads = [];
  let i = 0;
  let last = ''; // the last significant character, to tell a regular expression from a division

  function quoted(quote) {
    let value = '';
    for (i += 1; i < source.length && source[i] !== quote; i += 1) {
      if (source[i] === '\\') i += 1;
      value += source[i];
    }
    i += 1;
    return value;
  }

  function template() {
    let head = null;
    let text = '';
    for (i += 1; i < source.length && source[i] !== '`'; i += 1) {
      if (source[i] === '\\') {
        i += 1;
        text += source[i];
      } else if (source[i] === '$' && source[i + 1] === '{') {
        head ??= text;
        i += 2;
        code('}');
        i -= 1;
      } else {
        text += source[i];
      }
    }
    i += 1;
    if (head === null) strings.push(text);
    else heads.push(head);
  }

  function code(until) {
    let depth = 0;
    while (i < source.length) {
      const c = source[i];
      if (c === until && depth === 0) {
        i += 1;
        return;
      }
      if (c === '/' && source[i + 1] === '/') {
        i = source.indexOf('\n', i);
        if (i < 0) i = source.length;
      } else if (c === '/' && source[i + 1] === '*') {
        i = source.indexOf('*/', i) + 2;
      } else if (c === '/' && (last === '' || '(,=:[!&|?{};+'.includes(last))) {
        // A regular expression: up to its unescaped closing slash, outside a character class.
        let inClass = false;
        for (i += 1; i < source.length; i += 1) {
          if (source[i] === '\\') i += 1;
          else if (source[i] === '[') inClass = true;
          else if (source[i] === ']') inClass = false;
          else if (source[i] === '/' && !inClass) break;
        }
        i += 1;
        last = '/';
      } else if (c === '\'' || c === '"') {
        strings.push(quoted(c));
        last = 'x';
      } else if (c === '`') {
        template();
        last = 'x';
      } else {
        if (c === '{') depth += 1;
        if (c === '}') depth -= 1;
        if (!/\s/.test(c)) last = c;
        i += 1;
      }
    }
  }

  code(null);
  return { strings, heads };
}

/** Every key used, with the files using it; and every run-time key head with its files. */
function usage() {
  const keys = new Map();
  const heads = new Map();
  const note = (map, key, file) => map.set(key, [...new Set([...(map.get(key) || []), file])]);
  for (const file of files) {
    const source = read(file);
    if (file.endsWith('.html')) {
      for (const m of source.matchAll(/\bdata-(?:i18n|i18n-label|title)="([^"]*)"/g)) note(keys, m[1], file);
    } else if (file.endsWith('.js') && file !== 'i18n.js') {
      for (const m of source.matchAll(/\b(?:t|known)\(\s*(['"])([^'"]+)\1/g)) note(keys, m[2], file);
      const found = literals(source);
      for (const s of found.strings) {
        if (KEY.test(s) && namespaces.has(s.split('.')[0])) note(keys, s, file);
      }
      for (const head of found.heads) {
        if (KEY_HEAD.test(head) && namespaces.has(head.split('.')[0])) note(heads, head.slice(0, -1), file);
      }
    }
  }
  return { keys, heads };
}

const { keys: used, heads: built } = usage();

test('the German and the English table have the same keys, each with the same placeholders', () => {
  const de = Object.keys(texts.de).sort();
  const en = Object.keys(texts.en).sort();
  assert.deepEqual(de.filter((k) => !(k in texts.en)), [], 'keys only in German');
  assert.deepEqual(en.filter((k) => !(k in texts.de)), [], 'keys only in English');
  const placeholders = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
  const differ = de.filter((k) => placeholders(texts.de[k]) !== placeholders(texts.en[k]));
  assert.deepEqual(differ, [], 'placeholders differ between the languages');
  const empty = de.filter((k) => !texts.de[k].trim() || !texts.en[k].trim());
  assert.deepEqual(empty, [], 'empty texts');
});

test('the collector finds what the consoles use', () => {
  // A broken collector would find nothing and let every missing key through.
  for (const [key, file] of [
    ['tech.title', 'tech.html'], ['skip', 'chair.html'], ['remote.stop', 'remote.html'], ['groups.heading', 'chair.html'],
    ['rejected', 'tech.js'], ['mode', 'tech.js'], ['tech.monitor.stop', 'tech.js'], ['tech.desk_test.started', 'tech.js'],
    ['remote.kind_stance', 'remote.js'], ['fleet.trouble', 'fleet.js'],
  ]) {
    assert.ok(used.get(key)?.includes(file), `${key} found in ${file}`);
  }
  for (const head of ['kind', 'stance', 'tech.counter', 'tech.action', 'error', 'budget.short']) {
    assert.ok(built.has(head), `run-time keys ${head}.* found`);
  }
  assert.ok(used.size > 500, `${used.size} keys found`);
});

test('every key a page or script uses is in both tables', () => {
  const missing = [...used]
    .filter(([key]) => !(key in texts.de && key in texts.en) && !(key in families))
    .map(([key, where]) => `${key} (${where.join(', ')}): ${key in texts.de ? '' : 'de '}${key in texts.en ? '' : 'en'}`);
  assert.deepEqual(missing, []);
});

test('every key built at run time has its family, and each value of a family has both texts', () => {
  const undeclared = [...built].filter(([head]) => !(head in families)).map(([head, where]) => `${head}.* (${where.join(', ')})`);
  assert.deepEqual(undeclared, [], 'run-time keys without a family in i18n.js');
  const missing = [];
  for (const [family, values] of Object.entries(families)) {
    for (const value of values ?? []) {
      for (const lang of ['de', 'en']) {
        if (!(`${family}.${value}` in texts[lang])) missing.push(`${lang}: ${family}.${value}`);
      }
    }
  }
  assert.deepEqual(missing, []);
  // A family nothing builds keys from is a list nobody keeps up to date.
  const unused = Object.keys(families).filter((f) => !built.has(f) && !used.has(f));
  assert.deepEqual(unused, [], 'families no script uses');
});
