// The technician console: daemon health, MQTT link, devices with health and test
// actions (whatever device routes this build has), the live floor event log and the
// daemon's log tail.

import {
  LiveFloor, api, errorText, h, initLanguage, logout, say, showConnection, stationKey, t, whoami,
} from './common.js';

const $ = (id) => document.getElementById(id);
const notice = $('notice');
const MAX_LINES = 400;
let lastSnapshot = null;

initLanguage(() => refresh());

// ---------------------------------------------------------------- OParl import

function listSection(title, lines) {
  if (!lines.length) return null;
  return h('div', {}, h('h3', {}, title), h('ul', {}, lines.map((line) => h('li', {}, line))));
}

$('import-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const status = $('import-status');
  $('import-run').disabled = true;
  say(status, t('tech.import_running'));
  $('import-report').replaceChildren();
  const r = await api('/api/v1/agenda/import', { method: 'POST', body: { meeting: $('import-meeting').value } });
  $('import-run').disabled = false;
  if (!r.ok) {
    say(status, t('rejected', { reason: errorText(r) }), 'error');
    // The failed objects with their URL and JSON path, one per line.
    if (r.data?.message) {
      const lines = r.data.message.split('\n').map((l) => l.trim()).filter(Boolean);
      $('import-report').replaceChildren(listSection(t('tech.import_errors'), lines));
    }
    return;
  }
  const draft = r.data;
  const report = draft.report || {};
  const items = draft.items.filter((i) => i.kind !== 'header').length;
  say(status, t('tech.import_done', { title: draft.title || '', items }));
  const person = (p) => (p.name ? `${p.name} (${p.oparl_id})` : p.oparl_id);
  $('import-report').replaceChildren(
    listSection(t('tech.import_undecided'), (report.undecided || []).map((u) => `${u.label}: ${u.reason}`)),
    listSection(t('tech.import_warnings'), report.warnings || []),
    listSection(t('tech.import_unmatched'), (report.unmatched_persons || []).map(person)),
    listSection(t('tech.import_unmatched_members'), (report.unmatched_members || []).map((m) => `${m.member}: ${m.oparl_person}`)),
    h('p', {}, t('tech.import_next')),
  );
});
$('logout').addEventListener('click', logout);
$('refresh').addEventListener('click', () => refresh());
whoami().then((me) => { $('room').textContent = me.room_name ? `· ${me.room_name}` : ''; });

function time(unixMs) {
  return unixMs ? new Date(unixMs).toLocaleTimeString(document.documentElement.lang) : '–';
}

function duration(s) {
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return `${d ? `${d} d ` : ''}${hh} h ${mm} min`;
}

/** Appends a line to a log list, keeping the newest MAX_LINES and the view at the end. */
function append(list, item) {
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.append(item);
  while (list.children.length > MAX_LINES) list.firstElementChild.remove();
  if (atEnd) list.scrollTop = list.scrollHeight;
}

// ---------------------------------------------------------------- health, MQTT, metrics

async function refreshHealth() {
  const r = await api('/healthz');
  if (r.ok) {
    $('version').textContent = r.data.version;
    $('room-id').textContent = r.data.room;
    $('uptime').textContent = duration(r.data.uptime_s);
    $('seq').textContent = String(r.data.seq);
  }
  const m = await fetch('/metrics', { cache: 'no-store' }).catch(() => null);
  if (m && m.ok) {
    const line = (await m.text()).split('\n').find((l) => l.startsWith('podium_event_stream_clients '));
    $('clients').textContent = line ? line.split(' ')[1] : '–';
  }
  const q = await api('/api/v1/mqtt');
  const box = $('mqtt');
  if (q.ok && q.data) {
    const d = q.data;
    box.replaceChildren(h('dl', { class: 'facts' },
      h('dt', {}, 'Broker'), h('dd', {}, d.broker),
      h('dt', {}, 'Status'), h('dd', { class: d.connected ? 'state-online' : 'state-offline' }, t(d.connected ? 'tech.online' : 'tech.offline')),
      ...['connects', 'accepted', 'rejected', 'malformed', 'dropped'].flatMap((k) => [h('dt', {}, k), h('dd', {}, String(d[k] ?? '–'))]),
      h('dt', {}, t('tech.mqtt.handling')),
      h('dd', {}, d.handling ? `${d.handling.p50_us} / ${d.handling.p99_us} / ${d.handling.max_us} µs (${d.handling.commands})` : '–'),
      d.last_error ? [h('dt', {}, 'last_error'), h('dd', {}, d.last_error)] : []));
  } else {
    box.replaceChildren(h('p', {}, q.status === 404 || q.status === 0 ? t('tech.mqtt.none') : errorText(q)));
  }
}

// ---------------------------------------------------------------- devices

async function runTest(path, body, label) {
  const r = await api(path, { method: 'POST', body });
  const detail = r.ok && r.data?.result ? ` ${r.data.result}` : '';
  say(notice, r.ok ? `${label}: ${t('done')}${detail}` : t('rejected', { reason: errorText(r) }), r.ok ? 'info' : 'error');
}

function table(headers, rows) {
  return h('table', { class: 'grid' },
    h('thead', {}, h('tr', {}, ...headers.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows));
}

function statusCell(online, text) {
  return h('td', { class: online ? 'state-online' : 'state-offline' }, text);
}

function unitRow(bus, unit) {
  const online = unit.status === 'online';
  const label = t('tech.test_unit_label', { unit: unit.unit, bus: bus.id });
  return h('tr', {},
    h('td', {}, String(unit.unit)),
    h('td', {}, unit.kind ?? ''),
    h('td', {}, (unit.seats || []).join(', ')),
    statusCell(online, online ? t('tech.online') : unit.status === 'offline' ? t('tech.offline') : (unit.status ?? '')),
    h('td', {}, time(unit.last_seen_unix_ms)),
    h('td', {}, `${unit.timeouts ?? 0} / ${unit.crc_errors ?? 0} / ${unit.exceptions ?? 0}`),
    h('td', {}, h('button', {
      type: 'button', class: 'small', 'aria-label': label,
      onclick: () => runTest('/api/v1/devices/test', { bus: bus.id, unit: unit.unit }, label),
    }, t('tech.test_unit'))));
}

function busView(bus) {
  return h('div', {},
    h('h3', {}, `${bus.id}: ${bus.port}${bus.simulated ? ' (sim)' : ''}`),
    h('p', {}, h('span', { class: bus.connected ? 'state-online' : 'state-offline' }, t(bus.connected ? 'tech.online' : 'tech.offline')),
      ` · ${time(bus.last_frame_unix_ms)}`, bus.last_error ? ` · ${bus.last_error}` : ''),
    table(
      [t('tech.col.unit'), t('tech.col.kind'), t('col.station'), t('tech.col.status'), t('tech.col.last'), t('tech.col.errors'), t('col.actions')],
      (bus.units || []).map((u) => unitRow(bus, u))));
}

async function refreshDevices() {
  const box = $('devices');
  const r = await api('/api/v1/devices');
  $('test-all').hidden = !(r.ok && r.data?.buses?.length);
  if (!r.ok) {
    box.replaceChildren(h('p', {}, r.status === 404 ? t('tech.devices.none') : errorText(r)));
    return;
  }
  const buses = Array.isArray(r.data?.buses) ? r.data.buses : [];
  box.replaceChildren(...(buses.length ? buses.map(busView) : [h('p', {}, t('tech.devices.empty'))]));
}

$('test-all').addEventListener('click', () => runTest('/api/v1/devices/test', { all: true }, t('tech.test_all')));

/** Room devices that are conference central units (`devices/src/central/`). */
const CENTRAL_UNIT_KINDS = ['shure_dcs', 'televic_cocon', 'bosch_dicentis'];

/** A small form per room device: pick an action (and a preset), run it. */
function actionForm(device) {
  const id = `act-${device.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const select = h('select', { id, 'aria-label': t('tech.action_for', { name: device.name }) },
    ...['recall', 'home', 'power_on', 'power_off', 'position'].map((a) => h('option', { value: a }, t(`tech.action.${a}`))));
  const preset = h('input', {
    type: 'number', min: '0', max: '255', value: '1', class: 'preset', 'aria-label': t('tech.preset_for', { name: device.name }),
  });
  const run = () => {
    const a = select.value;
    const body = a === 'recall' ? { action: 'recall', preset: Number(preset.value) }
      : a === 'power_on' ? { action: 'power', on: true }
        : a === 'power_off' ? { action: 'power', on: false }
          : { action: a };
    runTest(`/api/v1/devices/room/${encodeURIComponent(device.name)}/test`, body, `${device.name}: ${t(`tech.action.${a}`)}`);
  };
  return h('div', { class: 'row' }, select, preset,
    h('button', { type: 'button', class: 'small', 'aria-label': t('tech.run_for', { name: device.name }), onclick: run }, t('tech.run')));
}

async function refreshRoomDevices() {
  const box = $('room-devices');
  const r = await api('/api/v1/devices/room');
  if (!r.ok) {
    box.replaceChildren(h('p', {}, r.status === 404 ? t('tech.devices.none') : errorText(r)));
    return;
  }
  const devices = Array.isArray(r.data?.devices) ? r.data.devices : [];
  const shots = new Map((r.data?.cameras || []).map((c) => [c.camera, c]));
  if (!devices.length) {
    box.replaceChildren(h('p', {}, t('tech.room_devices.none')));
    return;
  }
  box.replaceChildren(table(
    [t('tech.col.name'), t('tech.col.kind'), t('tech.col.address'), t('tech.col.status'), t('tech.col.last'), t('tech.col.state'), t('tech.shot'), t('tech.col.last_error'), t('col.actions')],
    devices.map((d) => {
      const shot = shots.get(d.name);
      return h('tr', {},
        h('td', {}, d.name), h('td', {}, d.kind ?? ''), h('td', {}, d.address ?? ''),
        statusCell(d.connected, t(d.connected ? 'tech.online' : 'tech.offline')),
        h('td', {}, time(d.last_response_unix_ms)),
        h('td', {}, d.state ?? ''),
        h('td', {}, shot ? `${shot.shot ?? '–'}${shot.preset !== null && shot.preset !== undefined ? ` (${t('tech.preset')} ${shot.preset})` : ''}` : ''),
        h('td', {}, d.last_error ? `${d.last_error} (${time(d.last_error_unix_ms)})` : ''),
        // Central units have no test actions (yet): their keys and lists are the test.
        h('td', {}, CENTRAL_UNIT_KINDS.includes(d.kind) ? '' : actionForm(d)));
    })));
}

/** Journal health, the open meeting and commands per source, as the daemon reports them. */
async function refreshDiagnostics() {
  const box = $('diagnostics');
  const r = await api('/api/v1/diagnostics');
  if (!r.ok || !r.data) {
    box.replaceChildren(h('p', {}, r.status === 404 ? t('tech.journal.none') : errorText(r)));
    return;
  }
  const facts = (obj) => h('dl', { class: 'facts' }, ...Object.entries(obj || {})
    .filter(([, v]) => v === null || typeof v !== 'object')
    .flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v === null ? '–' : String(v))]));
  const sources = Array.isArray(r.data.sources) ? r.data.sources : [];
  box.replaceChildren(
    h('h3', {}, 'journal'), facts(r.data.journal),
    r.data.meeting ? [h('h3', {}, 'meeting'), facts(r.data.meeting)] : [],
    sources.length ? [h('h3', {}, 'sources'), table(Object.keys(sources[0]).slice(0, 6),
      sources.slice(0, 10).map((src) => h('tr', {}, ...Object.keys(sources[0]).slice(0, 6)
        .map((k) => h('td', {}, typeof src[k] === 'object' ? JSON.stringify(src[k]) : String(src[k] ?? ''))))))] : []);
}

/** The Jitsi bridge page's last report (it runs on the conference PC, see bridge.js). */
async function refreshBridge() {
  const box = $('bridge');
  const r = await api('/api/v1/bridges');
  if (!r.ok || !r.data) {
    box.replaceChildren(h('p', {}, errorText(r)));
    return;
  }
  const d = r.data;
  if (!d.configured) {
    box.replaceChildren(h('p', {}, t('tech.bridge.none')));
    return;
  }
  const rep = d.report;
  const lines = [h('p', {}, d.url)];
  if (!rep) {
    lines.push(h('p', { class: 'state-offline' }, t('tech.bridge.never')));
  } else {
    if (d.stale) {
      const age = duration(Math.round((Date.now() - d.received_at) / 1000));
      lines.push(h('p', { class: 'state-offline' }, t('tech.bridge.silent', { age })));
    }
    const unknown = rep.participants.filter((p) => !p.member).map((p) => p.name);
    lines.push(h('p', { id: 'bridge-summary' }, t('tech.bridge.summary', {
      podium: t(rep.podium ? 'tech.online' : 'tech.offline'),
      conference: t(`bridge.conference.${rep.conference}`),
      mapped: rep.participants.length - unknown.length,
      unknown: unknown.length,
      actions: rep.actions,
      failures: rep.failures,
    })));
    if (unknown.length) lines.push(h('p', { id: 'bridge-unknown' }, t('tech.bridge.unknown_list', { names: unknown.join(', ') })));
    if (rep.last_action) {
      lines.push(h('p', {}, t('tech.bridge.last', { action: rep.last_action, time: time(rep.last_action_at) })));
    }
  }
  box.replaceChildren(...lines);
}

// ---------------------------------------------------------------- event log and log tail

function describe(change) {
  const parts = [change.type];
  if (change.station) parts.push(stationKey(change.station));
  if (change.request) parts.push(stationKey(change.request.station), change.request.kind);
  if (change.speaker) parts.push(stationKey(change.speaker.station));
  if (change.closed_by) parts.push(`closed_by=${change.closed_by}`);
  if (change.reason) parts.push(`reason=${change.reason}`);
  if (change.participant) parts.push(change.participant);
  if (change.open !== undefined) parts.push(`open=${change.open}`);
  if (change.attendance) parts.push(`status=${change.attendance.status}`, `by=${change.attendance.by}`);
  if (change.quorum) parts.push(`present=${change.quorum.present}/${change.quorum.required}`, `quorate=${change.quorum.quorate}`);
  if (change.vote !== undefined) parts.push(`vote=${typeof change.vote === 'object' ? `${change.vote.id} ${change.vote.kind}` : change.vote}`);
  if (change.ballot) parts.push(`via=${change.ballot.via}`);
  if (change.result) parts.push(`outcome=${change.result.outcome}`);
  return parts.join(' ');
}

new LiveFloor({
  onChange: (snap, ev) => {
    if (!ev) {
      if (snap.floor.seq !== lastSnapshot) append($('events'), h('li', {}, `#${snap.floor.seq} snapshot`));
      lastSnapshot = snap.floor.seq;
      return;
    }
    append($('events'), h('li', {}, `${time(ev.at.unix_ms)} #${ev.seq} ${describe(ev.change)}`));
  },
  onStatus: (status) => showConnection($('conn'), status),
}).start();

// ---------------------------------------------------------------- protocol monitor

const MONITOR_ROWS = 200;
const frames = []; // the newest MONITOR_ROWS frames of every device, for the filter
let monitorSource = null;

function frameRow(f) {
  return h('tr', {}, [
    h('td', {}, time(f.at_unix_ms)),
    h('td', {}, f.device),
    h('td', {}, t(`tech.monitor.${f.direction}`)),
    h('td', { class: 'hex' }, f.hex),
    h('td', {}, f.decoded),
  ]);
}

function shows(f) {
  const device = $('monitor-device').value;
  return !device || f.device === device;
}

function renderMonitor() {
  pending.length = 0;
  $('monitor').replaceChildren(...frames.filter(shows).map(frameRow));
}

// A busy bus sends hundreds of frames a second: rows are added in batches a few times a second,
// so the console (often on a small PC in the room) stays responsive.
const MONITOR_FLUSH_MS = 250;
const pending = []; // frames received since the last flush that the filter shows
let flushTimer = null;

function flushMonitor() {
  flushTimer = null;
  const rows = pending.splice(0).slice(-MONITOR_ROWS).map(frameRow);
  if (rows.length === 0) return;
  const body = $('monitor');
  const scroller = body.closest('.log');
  const atEnd = scroller.scrollTop + scroller.clientHeight >= scroller.scrollHeight - 4;
  body.append(...rows);
  const excess = body.children.length - MONITOR_ROWS;
  for (let i = 0; i < excess; i += 1) body.firstElementChild.remove();
  if (atEnd) scroller.scrollTop = scroller.scrollHeight;
}

function addFrame(f) {
  frames.push(f);
  if (frames.length > MONITOR_ROWS) frames.shift();
  const select = $('monitor-device');
  if (![...select.options].some((o) => o.value === f.device)) select.append(h('option', { value: f.device }, f.device));
  if (!shows(f)) return;
  pending.push(f);
  if (pending.length > MONITOR_ROWS) pending.shift();
  flushTimer ??= setTimeout(flushMonitor, MONITOR_FLUSH_MS);
}

// Stopped means disconnected: drivers format frames only while someone listens, so the monitor
// starts stopped and costs the daemon nothing until a technician wants to see the wire.
function setMonitor(running) {
  const button = $('monitor-toggle');
  button.dataset.i18n = running ? 'tech.monitor.stop' : 'tech.monitor.start';
  button.textContent = t(button.dataset.i18n);
  const state = $('monitor-state');
  state.dataset.i18n = running ? 'tech.monitor.running' : 'tech.monitor.stopped';
  state.textContent = t(state.dataset.i18n);
  if (running && !monitorSource) {
    monitorSource = new EventSource('/api/v1/monitor');
    monitorSource.addEventListener('frame', (e) => addFrame(JSON.parse(e.data)));
  } else if (!running && monitorSource) {
    monitorSource.close();
    monitorSource = null;
    flushMonitor();
  }
}

$('monitor-device').addEventListener('change', renderMonitor);
$('monitor-toggle').addEventListener('click', () => setMonitor(!monitorSource));
setMonitor(false);

const logSource = new EventSource('/api/v1/log');
logSource.addEventListener('log', (e) => {
  const line = JSON.parse(e.data);
  append($('log'), h('li', { class: `lvl-${line.level}` }, `${time(line.unix_ms)} ${line.level} ${line.target}: ${line.message}`));
});

async function refresh() {
  await Promise.all([refreshHealth(), refreshDevices(), refreshRoomDevices(), refreshDiagnostics(), refreshBridge()]);
}

refresh();
// Device health is a status the drivers keep (no event stream of its own): reread it.
setInterval(() => { refreshDevices(); refreshRoomDevices(); refreshBridge(); }, 5000);
setInterval(() => { refreshHealth(); refreshDiagnostics(); }, 15000);
