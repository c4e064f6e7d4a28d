// The technician console: daemon health, MQTT link, the journal and command sources, the
// presentation sources, desk units with health and lamp tests (also on the seat map), room
// devices with health and the test actions of their kind, the live floor event log and the
// daemon's log tail. Every label is a text of
// i18n.js; what devices and the daemon say in their own words (a device's state, a test's
// result, an error's detail, log lines) is shown as it came.

import {
  LiveFloor, agendaEntry, api, clockTime, command, commandNotice, errorText, formatMs, h, initLanguage, itemLabel, known, logout,
  outcomeText, phaseText, publicityText, quorumText, replaceKeepingFocus, say, showConnection, stationText, t, whoami,
} from './common.js';
import { families } from './i18n.js';
import { PresentationPanel } from './presentation.js';
import { SeatMap, seatHealth } from './seatmap.js';

const $ = (id) => document.getElementById(id);
const MAX_LINES = 400;
let snap = null; // the floor, for names in the event log and in camera shots

initLanguage(() => {
  // Device cards and log lines are built once and kept (focus, typed values, results):
  // rebuild them in the new language; a result in the old one goes.
  for (const card of cards.values()) card.article.remove();
  cards.clear();
  renderEvents();
  report($('desk-test-status'), '');
  report($('presentation-status'), '');
  if (snap) {
    seatMap.update(snap);
    presentation.render(snap);
  }
  refresh();
});

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

function duration(s) {
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return `${d ? `${d} d ` : ''}${hh} h ${mm} min`;
}

function yesNo(value) {
  return t(value ? 'tech.yes' : 'tech.no');
}

/** A definition list of [label, value] pairs (a null pair is left out, an empty value shows –). */
function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).flatMap(([label, value]) => [
    h('dt', {}, label),
    h('dd', {}, value === null || value === undefined || value === '' ? '–' : value),
  ]));
}

function onlineText(online) {
  return h('span', { class: online ? 'state-online' : 'state-offline' }, t(online ? 'tech.online' : 'tech.offline'));
}

/** Shows a result in a live region that stays in place (never hidden, so it is announced). */
function report(el, text, kind = 'info') {
  el.textContent = text;
  el.dataset.kind = kind;
}

/** Why a call failed: the translated reason and, where the daemon said more, its words. */
function failureText(r) {
  const message = r.data?.message;
  return message && r.data?.error !== 'network' ? `${errorText(r)} (${message})` : errorText(r);
}

/** Appends a line to a log list, keeping the newest MAX_LINES and the view at the end. */
function append(list, item) {
  const atEnd = list.scrollTop + list.clientHeight >= list.scrollHeight - 4;
  list.append(item);
  while (list.children.length > MAX_LINES) list.firstElementChild.remove();
  if (atEnd) list.scrollTop = list.scrollHeight;
}

function table(headers, rows) {
  return h('table', { class: 'grid' },
    h('thead', {}, h('tr', {}, ...headers.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows));
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
    box.replaceChildren(facts([
      [t('tech.mqtt.broker'), d.broker],
      [t('tech.mqtt.status'), onlineText(d.connected)],
      ...families['tech.mqtt.counter'].map((k) => [t(`tech.mqtt.counter.${k}`), String(d[k] ?? '–')]),
      [t('tech.mqtt.handling'),
        d.handling ? `${d.handling.p50_us} / ${d.handling.p99_us} / ${d.handling.max_us} µs (${d.handling.commands})` : null],
      d.last_error ? [t('tech.mqtt.last_error'), d.last_error] : null,
    ]));
  } else {
    box.replaceChildren(h('p', {}, q.status === 404 || q.status === 0 ? t('tech.mqtt.none') : errorText(q)));
  }
}

// ---------------------------------------------------------------- desk units

/** Starts a lamp test on `target` ({seat}, {bus, unit} or {all: true}) for the chosen time. */
async function deskTest(target) {
  const status = $('desk-test-status');
  const seconds = $('desk-test-seconds');
  if (!seconds.checkValidity()) {
    report(status, t('tech.desk_test.seconds_invalid'), 'error');
    seconds.focus();
    return;
  }
  const r = await api('/api/v1/devices/test', { method: 'POST', body: { ...target, seconds: Number(seconds.value) } });
  if (!r.ok) {
    report(status, t('rejected', { reason: failureText(r) }), 'error');
    return;
  }
  const units = r.data.units;
  const which = units.length <= 3
    ? units.map((u) => t('tech.desk_test.unit', { unit: u.unit, bus: u.bus })).join(', ')
    : t('tech.desk_test.units', { n: units.length });
  report(status, t('tech.desk_test.started', { seconds: r.data.seconds, units: which }));
}

$('desk-test').addEventListener('submit', (e) => {
  e.preventDefault();
  deskTest({ seat: Number($('desk-test-seat').value) });
});
$('test-all').addEventListener('click', () => deskTest({ all: true }));

// The seat map: every seat with its desk unit's health; a seat runs its lamp test.
const seatMap = new SeatMap($('seatmap'), { mode: 'tech', onActivate: (station) => deskTest({ seat: station.seat }) });

function unitRow(bus, unit) {
  const online = unit.status === 'online';
  const label = t('tech.test_unit_label', { unit: unit.unit, bus: bus.id });
  return h('tr', {},
    h('td', {}, String(unit.unit)),
    h('td', {}, known('tech.unit_kind', unit.kind)),
    h('td', {}, (unit.seats || []).join(', ')),
    h('td', { class: online ? 'state-online' : 'state-offline' }, known('tech.unit_status', unit.status)),
    h('td', {}, clockTime(unit.last_seen_unix_ms)),
    h('td', {}, `${unit.timeouts ?? 0} / ${unit.crc_errors ?? 0} / ${unit.exceptions ?? 0}`),
    h('td', {}, h('button', {
      type: 'button', class: 'small', 'aria-label': label, dataset: { focus: `unit:${bus.id}:${unit.unit}` },
      onclick: () => deskTest({ bus: bus.id, unit: unit.unit }),
    }, t('tech.test_unit'))));
}

function busView(bus) {
  return h('div', {},
    h('h3', {}, t(bus.simulated ? 'tech.bus_simulated' : 'tech.bus', { id: bus.id })),
    facts([
      [t('tech.bus.port'), bus.port],
      [t('tech.bus.status'), onlineText(bus.connected)],
      [t('tech.bus.last_frame'), clockTime(bus.last_frame_unix_ms)],
      [t('tech.bus.cycles'), String(bus.cycles ?? '–')],
      [t('tech.bus.last_cycle'), bus.last_cycle_us === undefined || bus.last_cycle_us === null ? null : `${(bus.last_cycle_us / 1000).toFixed(1)} ms`],
      [t('tech.bus.open_failures'), String(bus.open_failures ?? '–')],
      [t('tech.bus.disconnects'), String(bus.disconnects ?? '–')],
      bus.last_error ? [t('tech.bus.last_error'), bus.last_error] : null,
    ]),
    table(
      [t('tech.col.unit'), t('tech.col.kind'), t('col.station'), t('tech.col.status'), t('tech.col.last'), t('tech.col.errors'), t('col.actions')],
      (bus.units || []).map((u) => unitRow(bus, u))));
}

async function refreshDevices() {
  const box = $('devices');
  const r = await api('/api/v1/devices');
  const buses = r.ok && Array.isArray(r.data?.buses) ? r.data.buses : [];
  $('desk-test').hidden = buses.length === 0;
  if (!r.ok) {
    box.replaceChildren(h('p', {}, r.status === 404 ? t('tech.devices.none') : errorText(r)));
    if (r.status === 404) seatMap.update(snap, new Map());
    return;
  }
  replaceKeepingFocus(box, buses.length ? buses.map(busView) : [h('p', {}, t('tech.devices.empty'))]);
  seatMap.update(snap, seatHealth(buses));
}

// ---------------------------------------------------------------- room devices

/** The test actions per kind of room device, as `POST /api/v1/devices/room/{name}/test`
 *  takes them; the first action is the form's default (Enter in its field). Central units
 *  (their keys and lists are the test) and the button box have none. */
const DEVICE_ACTIONS = {
  visca: ['recall', 'store', 'home', 'power_on', 'power_off', 'position'],
  pjlink: ['input', 'power_on', 'power_off', 'status'],
  mdc: ['input', 'power_on', 'power_off', 'status'],
  extron: ['input', 'power_on', 'power_off', 'status'],
  shure: ['flash', 'status'],
};

function actionBody(action, fields) {
  switch (action) {
    case 'recall':
    case 'store':
      return { action, preset: Number(fields.preset.value) };
    case 'input':
      return { action, input: fields.input.value.trim() };
    case 'power_on':
      return { action: 'power', on: true };
    case 'power_off':
      return { action: 'power', on: false };
    default:
      return { action };
  }
}

/** The field an action takes its parameter from, if any. */
function actionField(action, fields) {
  if (action === 'recall' || action === 'store') return fields.preset;
  if (action === 'input') return fields.input;
  return null;
}

const cards = new Map(); // device name → {article, facts, kind, input}
let cardIds = 0;

async function runRoomTest(device, action, fields, status) {
  const field = actionField(action, fields);
  if (field && !field.reportValidity()) return;
  const vars = { name: device, action: t(`tech.action.${action}`) };
  report(status, t('tech.result.running', vars));
  const r = await api(`/api/v1/devices/room/${encodeURIComponent(device)}/test`, {
    method: 'POST', body: actionBody(action, fields),
  });
  if (r.ok) report(status, t('tech.result.done', { ...vars, result: r.data?.result ?? '' }));
  else report(status, t('tech.result.failed', { ...vars, reason: failureText(r) }), 'error');
  refreshRoomDevices();
}

function testControls(d, uid, status) {
  const actions = DEVICE_ACTIONS[d.kind];
  if (!actions) {
    return h('p', { class: 'hint' }, t(families['tech.no_actions'].includes(d.kind) ? `tech.no_actions.${d.kind}` : 'tech.no_actions.other'));
  }
  const fields = {};
  const withField = [];
  if (actions.includes('recall')) {
    fields.preset = h('input', { id: `${uid}-preset`, type: 'number', min: '0', max: '65535', value: '1', required: true, class: 'preset' });
    withField.push(h('div', {}, h('label', { for: `${uid}-preset` }, t('tech.preset')), fields.preset));
  }
  if (actions.includes('input')) {
    fields.input = h('input', {
      id: `${uid}-input`, required: true, maxlength: '32', pattern: '\\S+', autocomplete: 'off', class: 'preset',
    });
    withField.push(h('div', {}, h('label', { for: `${uid}-input` }, t('tech.input')), fields.input));
  }
  const button = (action, i) => h('button', {
    type: i === 0 ? 'submit' : 'button', class: i === 0 ? 'small primary' : 'small',
    'aria-label': t('tech.action_label', { action: t(`tech.action.${action}`), name: d.name }),
    dataset: { action },
    onclick: i === 0 ? null : () => runRoomTest(d.name, action, fields, status),
  }, t(`tech.action.${action}`));
  const buttons = actions.map(button);
  const paired = buttons.filter((b) => actionField(b.dataset.action, fields));
  const plain = buttons.filter((b) => !actionField(b.dataset.action, fields));
  return h('form', {
    onsubmit: (e) => { e.preventDefault(); runRoomTest(d.name, actions[0], fields, status); },
  }, h('fieldset', {},
    h('legend', {}, t('tech.test_legend', { name: d.name })),
    withField.length ? h('div', { class: 'row' }, withField, paired) : null,
    h('div', { class: 'actions' }, plain)));
}

function shotText(shot) {
  if (!shot) return t('tech.shot.none');
  if (shot === 'overview') return t('tech.shot.overview');
  const seat = /^seat (\d+)$/.exec(shot);
  if (seat) return t('station.seat', { n: seat[1] });
  const remote = /^remote (.+)$/.exec(shot);
  return remote ? t('tech.shot.remote', { name: personName(remote[1]) }) : shot;
}

/** What the directors want the device to show now, in words. */
function wantedText(shot, display) {
  if (shot) {
    const what = shotText(shot.shot);
    return shot.preset === null || shot.preset === undefined ? what : t('tech.wanted.preset', { shot: what, preset: shot.preset });
  }
  if (display) {
    return [
      display.power === null || display.power === undefined ? null : t(display.power ? 'tech.wanted.on' : 'tech.wanted.standby'),
      display.input ? t('tech.wanted.input', { input: display.input }) : null,
    ].filter(Boolean).join(', ');
  }
  return null;
}

function deviceFacts(d, shot, display) {
  const counters = d.counters || {};
  return [
    facts([
      [t('tech.device.kind'), known('tech.kind', d.kind)],
      [t('tech.device.address'), d.address],
      [t('tech.device.status'), onlineText(d.connected)],
      [t('tech.device.last_response'), clockTime(d.last_response_unix_ms)],
      [t('tech.device.state'), d.state],
      shot || display ? [t('tech.device.wanted'), wantedText(shot, display)] : null,
      [t('tech.device.last_error'), d.last_error ? `${d.last_error} (${clockTime(d.last_error_unix_ms)})` : null],
    ]),
    h('p', { class: 'meta' }, `${t('tech.device.counters')}: `,
      families['tech.counter'].map((k) => `${t(`tech.counter.${k}`)} ${counters[k] ?? 0}`).join(' · ')),
  ];
}

/** A card per device, built once (its form keeps focus, typed values and the last result);
 *  its facts are refreshed in place. */
function deviceCard(d) {
  cardIds += 1;
  const uid = `device-${cardIds}`;
  const status = h('p', { class: 'result', role: 'status' });
  const factsBox = h('div', {});
  const article = h('article', { class: 'device', 'aria-labelledby': `${uid}-name`, dataset: { device: d.name, kind: d.kind } },
    h('h3', { id: `${uid}-name` }, d.name),
    factsBox,
    testControls(d, uid, status),
    status);
  return { article, facts: factsBox, kind: d.kind, input: article.querySelector(`#${uid}-input`) };
}

async function refreshRoomDevices() {
  const box = $('room-devices');
  const r = await api('/api/v1/devices/room');
  const empty = $('room-devices-empty');
  if (!r.ok) {
    empty.textContent = r.status === 404 ? t('tech.devices.none') : errorText(r);
    empty.hidden = false;
    return;
  }
  const devices = Array.isArray(r.data?.devices) ? r.data.devices : [];
  const shots = new Map((r.data?.cameras || []).map((c) => [c.camera, c]));
  const displays = new Map((r.data?.displays || []).map((x) => [x.display, x]));
  empty.textContent = devices.length ? '' : t('tech.room_devices.none');
  empty.hidden = devices.length > 0;
  const names = new Set(devices.map((d) => d.name));
  for (const [name, card] of cards) {
    if (!names.has(name)) {
      card.article.remove();
      cards.delete(name);
    }
  }
  devices.forEach((d, i) => {
    let card = cards.get(d.name);
    if (card && card.kind !== d.kind) {
      card.article.remove();
      card = null;
    }
    if (!card) {
      card = deviceCard(d);
      cards.set(d.name, card);
      // A display's input field starts with what the director wants now.
      const wanted = displays.get(d.name)?.input;
      if (card.input && wanted) card.input.value = wanted;
    }
    card.facts.replaceChildren(...deviceFacts(d, shots.get(d.name), displays.get(d.name)));
    // In the daemon's order; a card already in place is not moved (that would take the focus).
    if (box.children[i] !== card.article) box.insertBefore(card.article, box.children[i] ?? null);
  });
}

// ---------------------------------------------------------------- journal and sources

/** Journal health, retention, the last recovery, the open meeting and commands per source. */
async function refreshDiagnostics() {
  const box = $('diagnostics');
  const r = await api('/api/v1/diagnostics');
  if (!r.ok || !r.data) {
    box.replaceChildren(h('p', {}, r.status === 404 ? t('tech.journal.none') : errorText(r)));
    return;
  }
  const j = r.data.journal || {};
  const ret = j.retention || {};
  const rec = j.recovery;
  const m = r.data.meeting;
  const sources = Array.isArray(r.data.sources) ? r.data.sources : [];
  box.replaceChildren(
    h('h3', {}, t('tech.journal.journal')),
    facts([
      [t('tech.journal.state'), h('span', { class: j.state === 'ok' ? 'state-online' : 'state-offline' }, known('fleet.journal', j.state))],
      [t('tech.journal.location'), j.location],
      j.error ? [t('tech.journal.error'), j.error] : null,
      j.degraded_since_unix_ms ? [t('tech.journal.degraded_since'), clockTime(j.degraded_since_unix_ms)] : null,
      [t('tech.journal.failed_writes'), String(j.failed_writes ?? '–')],
      [t('tech.journal.commits'), String(j.commits ?? '–')],
      [t('tech.journal.unwritten_events'), String(j.unwritten_events ?? '–')],
      [t('tech.journal.written_seq'), String(j.written_seq ?? '–')],
    ]),
    h('h3', {}, t('tech.journal.retention')),
    facts([
      [t('tech.retention.days'), String(ret.days ?? '–')],
      [t('tech.retention.last_run'), clockTime(ret.last_run_unix_ms)],
      [t('tech.retention.deleted_meetings'), String(ret.deleted_meetings ?? '–')],
      ret.error ? [t('tech.retention.error'), ret.error] : null,
    ]),
    ...(rec ? [
      h('h3', {}, t('tech.journal.recovery')),
      facts([
        [t('tech.recovery.restored_seq'), String(rec.restored_seq)],
        [t('tech.recovery.replayed_events'), String(rec.replayed_events)],
        [t('tech.recovery.discarded_events'), String(rec.discarded_events)],
        [t('tech.recovery.took_ms'), `${rec.took_ms} ms`],
        [t('tech.recovery.wall_clock_went_back'), yesNo(rec.wall_clock_went_back)],
        [t('tech.recovery.setup_changed'), yesNo(rec.setup_changed)],
        rec.urn_refused ? [t('tech.recovery.urn_refused'), rec.urn_refused] : null,
        rec.warnings?.length ? [t('tech.recovery.warnings'), h('ul', {}, rec.warnings.map((w) => h('li', {}, w)))] : null,
      ]),
    ] : []),
    h('h3', {}, t('tech.journal.meeting')),
    m ? facts([
      [t('meeting.title'), m.title],
      [t('meeting.body'), m.body],
      [t('meeting.opened'), clockTime(m.opened_unix_ms)],
      [t('tech.journal.meeting_events'), String(m.events)],
    ]) : h('p', {}, t('meeting.state.none')),
    h('h3', {}, t('tech.journal.sources')),
    sources.length ? table(
      [t('tech.source.source'), t('tech.source.accepted'), t('tech.source.rejected'), t('tech.source.limited'),
        t('tech.source.limit'), t('tech.source.last_limited')],
      sources.slice(0, 10).map((src) => h('tr', {},
        h('td', {}, src.source),
        h('td', {}, String(src.accepted)),
        h('td', {}, String(src.rejected)),
        h('td', {}, String(src.limited)),
        h('td', {}, src.limit ? t('tech.source.limit_value', src.limit) : t('tech.source.unlimited')),
        h('td', {}, clockTime(src.last_limited_unix_ms)))),
    ) : h('p', {}, t('tech.journal.no_sources')));
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
      lines.push(h('p', {}, t('tech.bridge.last', { action: rep.last_action, time: clockTime(rep.last_action_at) })));
    }
  }
  box.replaceChildren(...lines);
}

// ---------------------------------------------------------------- event log and log tail

const events = []; // the newest MAX_LINES log entries: {snapshot: seq} or a floor event

function personName(id) {
  if (!id) return null;
  const p = snap?.participants.find((x) => x.id === id);
  return p ? p.name : id;
}

/** "Anna Müller (Platz 12)", "Matthias Vogt (zugeschaltet)". */
function stationWho(station, participant) {
  const id = participant ?? (station.remote !== undefined ? station.remote : snap?.floor.seated[station.seat]);
  const where = snap ? stationText(snap, station) : '';
  const name = personName(id);
  return name ? `${name} (${where})` : where;
}

function presenceText(presence) {
  if (presence && typeof presence === 'object' && presence.seat !== undefined) return t('station.seat', { n: presence.seat });
  return presence === 'remote' ? t('station.remote') : t('tech.presence.absent');
}

function itemText(id) {
  const entry = snap ? agendaEntry(snap, id) : null;
  return entry ? itemLabel(entry.item) : t('tech.detail.item', { id });
}

function kindText(kind, stance) {
  return stance ? `${t(`kind.${kind}`)} (${t(`stance.${stance}`)})` : t(`kind.${kind}`);
}

/** What an event says beyond its name, in words. */
function details(c) {
  const reason = (r) => t('tech.detail.reason', { reason: known('tech.request_end', r) });
  switch (c.type) {
    case 'request_added':
      return [stationWho(c.request.station, c.request.participant), kindText(c.request.kind, c.request.stance),
        t('tech.detail.position', { n: c.position })];
    case 'request_removed':
      return [stationWho(c.station), reason(c.reason)];
    case 'request_moved':
      return [stationWho(c.station), t('tech.detail.position', { n: c.position })];
    case 'requests_cleared':
      return [t('tech.detail.requests', { n: c.count }), reason(c.reason)];
    case 'microphone_opened':
      return [stationWho(c.speaker.station, c.speaker.participant), t(`kind.${c.speaker.kind}`)];
    case 'microphone_closed':
      return [stationWho(c.station, c.participant), t('tech.detail.closed_by', { by: known('tech.closed_by', c.closed_by) }),
        t('tech.detail.spoken', { time: formatMs(c.spoken_ms) })];
    case 'speaker_paused':
    case 'speaker_resumed':
    case 'time_warning':
    case 'time_expired':
      return [stationWho(c.station)];
    case 'list_open_changed':
      return [t(c.open ? 'list.open' : 'list.closed')];
    case 'profile_changed':
      return [known('mode', c.profile.mode)];
    case 'presence_changed':
      return [personName(c.participant), presenceText(c.presence)];
    case 'phase_changed':
      return [phaseText(c.phase)];
    case 'agenda_set':
      return [t('tech.detail.items', { n: c.items.length })];
    case 'publicity_confirmed':
      return [itemText(c.item), publicityText(c.publicity)];
    case 'item_entered':
    case 'item_finished':
      return [itemText(c.item)];
    case 'requests_parked':
      return [itemText(c.item), t('tech.detail.requests', { n: c.count })];
    case 'requests_restored':
      return [itemText(c.item), t('tech.detail.requests', { n: c.requests.length })];
    case 'public_changed':
      return [t(c.public ? 'part.public' : 'part.non_public')];
    case 'presentation_started':
      return [c.source, known('tech.screens', c.on)];
    case 'excluded':
      return [itemText(c.item), personName(c.participant), c.reason];
    case 'readmitted':
      return [itemText(c.item), personName(c.participant)];
    case 'budget_set':
      return [c.budget ? known('budget.scope', c.budget.spec.scope) : t('tech.detail.removed')];
    case 'budget_warning':
    case 'budget_exhausted':
      return [c.group];
    case 'parked_cleared':
      return [t('tech.detail.requests', { n: c.count })];
    case 'attendance_changed':
      return [personName(c.participant), known('attendance.status', c.attendance.status), known('attendance.by', c.attendance.by)];
    case 'quorum_changed':
      return [quorumText(c.quorum)];
    case 'vote_opened':
      return [c.vote.question, known('vote.kind', c.vote.kind)];
    case 'ballot_cast':
      return [personName(c.participant), known('vote.via', c.ballot.via)];
    case 'vote_closed':
      return [outcomeText(c.result)];
    case 'statutory_members_set':
      return [c.count === null || c.count === undefined ? t('tech.detail.room_default') : String(c.count)];
    default:
      return [];
  }
}

function eventLine(entry) {
  if (entry.snapshot !== undefined) return h('li', {}, t('tech.event_snapshot', { seq: entry.snapshot }));
  const parts = details(entry.change).filter(Boolean);
  const name = known('tech.event', entry.change.type);
  return h('li', {}, `${clockTime(entry.at.unix_ms)} #${entry.seq} ${name}${parts.length ? `: ${parts.join(', ')}` : ''}`);
}

function addEvent(entry) {
  events.push(entry);
  if (events.length > MAX_LINES) events.shift();
  append($('events'), eventLine(entry));
}

function renderEvents() {
  $('events').replaceChildren(...events.map(eventLine));
}

// ---------------------------------------------------------------- presentation

const presentation = new PresentationPanel($('presentation'), async (body) => {
  const r = await command(body);
  report($('presentation-status'), ...commandNotice(r));
  return r.ok;
});

new LiveFloor({
  onChange: (s, ev) => {
    const previous = snap?.floor.seq;
    snap = s;
    seatMap.update(s);
    presentation.render(s);
    if (ev) addEvent(ev);
    else if (s.floor.seq !== previous) addEvent({ snapshot: s.floor.seq });
  },
  onStatus: (status) => showConnection($('conn'), status),
}).start();

// ---------------------------------------------------------------- protocol monitor

const MONITOR_ROWS = 200;
const frames = []; // the newest MONITOR_ROWS frames of every device, for the filter
let monitorSource = null;

function frameRow(f) {
  return h('tr', {}, [
    h('td', {}, clockTime(f.at_unix_ms)),
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
  append($('log'), h('li', { class: `lvl-${line.level}` },
    `${clockTime(line.unix_ms)} ${known('tech.level', String(line.level).toLowerCase())} ${line.target}: ${line.message}`));
});

async function refresh() {
  await Promise.all([refreshHealth(), refreshDevices(), refreshRoomDevices(), refreshDiagnostics(), refreshBridge()]);
}

refresh();
// Device health is a status the drivers keep (no event stream of its own): reread it.
setInterval(() => { refreshDevices(); refreshRoomDevices(); refreshBridge(); }, 5000);
setInterval(() => { refreshHealth(); refreshDiagnostics(); }, 15000);
