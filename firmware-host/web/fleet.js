// The city's fleet view: every room's health from the central broker, refreshed every 5 s.
// Texts, the language switch and the DOM helper are the consoles' (common.js, i18n.js);
// everything the rooms send becomes text nodes, never markup.

import { currentLang, h, initLanguage, known, t } from './common.js';

const $ = (id) => document.getElementById(id);

function meeting(health) {
  const m = health?.meeting;
  if (!m) return t('fleet.no_meeting');
  const phase = t(m.phase === 'suspended' ? 'fleet.phase.suspended' : 'fleet.phase.open');
  let text = `${m.title || ''} (${phase})`;
  if (m.current_item) {
    const title = m.current_item.title || t('fleet.non_public');
    text += ` – ${t('fleet.item', { number: m.current_item.number, title })}`;
  }
  return text;
}

function roomRow(room) {
  const health = room.health;
  const name = h('th', { scope: 'row' }, health?.room?.name || room.id, h('div', {}, room.id));
  const state = h('td', {}, h('span', { class: `trouble trouble-${room.trouble}` }, known('fleet.trouble', room.trouble)),
    room.uplink === false ? h('div', {}, t('fleet.uplink_down')) : null,
    room.online === false ? h('div', {}, t('fleet.podiumd_down')) : null);
  const counts = health?.devices;
  const failing = Array.isArray(counts?.failing) && counts.failing.length
    ? h('ul', {}, counts.failing.map((d) => h('li', {}, `${d?.name ?? '?'}${d?.error ? `: ${d.error}` : ''}`)))
    : null;
  const devices = h('td', {}, counts ? t('fleet.devices', { online: counts.online ?? '?', total: counts.total ?? '?' }) : '', failing);
  const journal = health?.journal?.state;
  const disk = typeof health?.disk?.free_percent === 'number' ? `${health.disk.free_percent} %` : '';
  const uptime = Number.isFinite(health?.uptime_s) ? t('fleet.uptime', { hours: Math.floor(health.uptime_s / 3600) }) : '';
  const consoleUrl = typeof health?.console_url === 'string' && /^https?:\/\//.test(health.console_url)
    ? h('a', { href: health.console_url, rel: 'noopener noreferrer' }, t('fleet.console'))
    : null;
  return h('tr', {},
    name,
    state,
    h('td', {}, health ? meeting(health) : ''),
    devices,
    h('td', {}, journal ? known('fleet.journal', journal) : ''),
    h('td', {}, health ? t(`fleet.clock.${String(health.clock_synchronized ?? null)}`) : ''),
    h('td', {}, disk),
    h('td', {}, health ? [health.podiumd, uptime].filter(Boolean).join(', ') : ''),
    h('td', {}, consoleUrl));
}

function alarmItem(alarm) {
  const when = new Date(Number(alarm.at_unix_ms));
  const time = Number.isFinite(when.getTime())
    ? [h('time', { datetime: when.toISOString() }, when.toLocaleString(currentLang() === 'de' ? 'de-DE' : 'en-GB')), ' ']
    : [];
  return h('li', {}, ...time,
    h('span', { class: `severity-${alarm.severity}` }, known('fleet.severity', alarm.severity)),
    ` ${alarm.room}: ${alarm.message || ''}`);
}

/** One room's odd document (another version, a broken room) gets a row that says so and
 *  takes nothing else down. */
function safely(render, item, fallback) {
  try {
    return render(item);
  } catch {
    return fallback(`${item?.id ?? item?.room ?? '?'}: ?`);
  }
}

let last = { rooms: [], connected: false, alarms: [], reachable: false };

function render() {
  $('conn').textContent = t(!last.reachable ? 'fleet.conn.unreachable'
    : last.connected ? 'fleet.conn.connected' : 'fleet.conn.disconnected');
  $('rooms').replaceChildren(...last.rooms.map((room) => safely(roomRow, room, (text) => h('tr', {}, h('td', {}, text)))));
  $('no-rooms').hidden = last.rooms.length > 0;
  $('alarms').replaceChildren(...last.alarms.map((alarm) => safely(alarmItem, alarm, (text) => h('li', {}, text))));
  $('no-alarms').hidden = last.alarms.length > 0;
}

async function refresh() {
  try {
    const [rooms, alarms] = await Promise.all([
      fetch('/api/v1/rooms').then((r) => r.json()),
      fetch('/api/v1/alarms').then((r) => r.json()),
    ]);
    last = { rooms: rooms.rooms, connected: rooms.connected, alarms: alarms.alarms, reachable: true };
  } catch {
    last = { ...last, reachable: false };
  }
  render();
}

initLanguage(() => {
  // The language stays in the address, for a bookmark.
  const url = new URL(location.href);
  url.searchParams.set('lang', currentLang());
  history.replaceState(null, '', url);
  render();
});
render();
refresh();
setInterval(refresh, 5000);
