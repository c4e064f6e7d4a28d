// The chair console: speakers with running timers, the request list, every chair
// command, mode and limits. Every rejection is shown with its translated reason.

import {
  LiveFloor, command, commandNotice, everyQuarterSecond, h, initLanguage, isRemote, logout,
  personOf, remoteBadge, replaceKeepingFocus, say, showConnection, stationKey, stationText, t,
  timerView, whoami,
} from './common.js';

const $ = (id) => document.getElementById(id);
const notice = $('notice');
let snap = null;
let shownProfile = '';

initLanguage(() => render());
$('logout').addEventListener('click', logout);
whoami().then((me) => { $('room').textContent = me.room_name ? `· ${me.room_name}` : ''; });

/** Sends a command and reports the outcome (rejections with their reason). */
async function send(body) {
  const r = await command(body);
  say(notice, ...commandNotice(r));
  if (!r.ok) {
    if (r.status === 401) location.assign(`/login?next=${encodeURIComponent('/chair')}`);
  }
  return r.ok;
}

// ---------------------------------------------------------------- speakers

function firstStoppable() {
  if (!snap) return null;
  return snap.floor.speakers.find((s) => !s.exempt) || snap.floor.speakers[0] || null;
}

function renderSpeakers() {
  const list = $('speakers');
  const items = snap.floor.speakers.map((sp) => {
    const who = personOf(snap, sp);
    const key = stationKey(sp.station);
    const paused = sp.paused_since !== null;
    const tv = timerView(sp);
    return h('li', { class: isRemote(sp.station) ? 'remote' : '', dataset: { station: key } },
      h('div', {},
        h('div', { class: 'who' }, who.name),
        h('div', { class: 'meta' },
          [who.group, stationText(snap, sp.station), sp.exempt ? t('chair.exempt') : null]
            .filter(Boolean).join(' · '), ' ',
          isRemote(sp.station) ? remoteBadge() : null)),
      h('div', { class: 'timer', 'data-state': tv.state, dataset: { timer: key } },
        h('span', { class: 'time' }, tv.text),
        h('span', { class: 'timer-note' }, tv.note)),
      h('div', { class: 'actions' },
        h('button', {
          type: 'button', class: 'danger small', 'aria-label': t('aria.stop', { name: who.name }),
          dataset: { focus: `stop:${key}` }, onclick: () => send({ command: 'stop', station: sp.station }),
        }, t('btn.stop')),
        h('button', {
          type: 'button', class: 'small',
          'aria-label': t(paused ? 'aria.resume' : 'aria.pause', { name: who.name }),
          dataset: { focus: `pause:${key}` },
          onclick: () => send({ command: paused ? 'resume_speaker' : 'pause_speaker', station: sp.station }),
        }, t(paused ? 'btn.resume' : 'btn.pause'))));
  });
  replaceKeepingFocus(list, items);
  $('no-speakers').hidden = items.length > 0;
}

function tickTimers() {
  if (!snap) return;
  for (const sp of snap.floor.speakers) {
    const el = document.querySelector(`[data-timer="${CSS.escape(stationKey(sp.station))}"]`);
    if (!el) continue;
    const tv = timerView(sp);
    el.dataset.state = tv.state;
    el.querySelector('.time').textContent = tv.text;
    el.querySelector('.timer-note').textContent = tv.note;
  }
}

// ---------------------------------------------------------------- requests

function kindText(r) {
  const stance = r.stance ? ` (${t(`stance.${r.stance}`)})` : '';
  return `${t(`kind.${r.kind}`)}${stance}`;
}

function kindShort(r) {
  const stance = r.stance ? ` (${t(`stance.${r.stance}`)})` : '';
  return `${t(`kind.short.${r.kind}`)}${stance}`;
}

function clockTime(unixMs) {
  return new Date(unixMs).toLocaleTimeString(document.documentElement.lang, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function renderRequests() {
  const rows = snap.floor.requests.map((r, i) => {
    const who = personOf(snap, r);
    const key = stationKey(r.station);
    const button = (label, aria, focus, body, cls = 'small', disabled = false) => h('button', {
      type: 'button', class: cls, 'aria-label': t(aria, { name: who.name }), dataset: { focus: `${focus}:${key}` },
      disabled, onclick: () => send(body),
    }, t(label));
    return h('tr', { class: isRemote(r.station) ? 'remote' : '', dataset: { station: key } },
      h('td', {}, String(i + 1)),
      h('td', {}, h('span', { class: `badge kind-${r.kind}`, title: kindText(r) }, kindShort(r))),
      h('td', {}, h('div', { class: 'who-small' }, who.name), who.group ? h('div', { class: 'meta' }, who.group) : null),
      h('td', {}, h('div', {}, isRemote(r.station) ? remoteBadge() : stationText(snap, r.station)),
        h('div', { class: 'meta' }, clockTime(r.requested_at.unix_ms))),
      h('td', { class: 'actions-cell' },
        button('btn.grant', 'aria.grant', 'grant', { command: 'grant', station: r.station }, 'primary small'),
        button('btn.up', 'aria.up', 'up', { command: 'move_request', station: r.station, position: i }, 'small', i === 0),
        button('btn.down', 'aria.down', 'down', { command: 'move_request', station: r.station, position: i + 2 }, 'small',
          i === snap.floor.requests.length - 1),
        button('btn.remove', 'aria.remove', 'remove', { command: 'withdraw', station: r.station })));
  });
  replaceKeepingFocus($('request-rows'), rows);
  $('requests').hidden = rows.length === 0;
  $('no-requests').hidden = rows.length > 0;
  const open = snap.floor.list_open;
  $('list-state').textContent = t(open ? 'list.open' : 'list.closed');
  $('list-state').dataset.open = String(open);
  $('toggle-list').textContent = t(open ? 'btn.close_list' : 'btn.open_list');
}

// ---------------------------------------------------------------- direct grant / request

function renderStations() {
  const select = $('direct-station');
  const previous = select.value;
  const seats = snap.seats.map((s) => {
    const who = snap.floor.seated[s.number];
    const name = who ? snap.participants.find((p) => p.id === who)?.name : null;
    return h('option', { value: `seat:${s.number}` }, `${stationText(snap, { seat: s.number })}${name ? ` – ${name}` : ''}`);
  });
  const remote = snap.participants
    .filter((p) => snap.floor.presence[p.id] === 'remote')
    .map((p) => h('option', { value: `remote:${p.id}` }, `${p.name} (${t('station.remote')})`));
  select.replaceChildren(
    h('optgroup', { label: t('direct.seats') }, seats),
    remote.length ? h('optgroup', { label: t('direct.remote') }, remote) : null,
  );
  if ([...select.options].some((o) => o.value === previous)) select.value = previous;
}

function selectedStation() {
  const [type, id] = $('direct-station').value.split(/:(.*)/s);
  return type === 'seat' ? { seat: Number(id) } : { remote: id };
}

// ---------------------------------------------------------------- profile

function renderProfile() {
  const p = snap.floor.profile;
  const json = JSON.stringify(p);
  if (json === shownProfile) return; // keep what the chair is typing
  shownProfile = json;
  $('mode').value = p.mode;
  $('activation').value = p.activation;
  $('max-open').value = p.limits.max_open_microphones;
  $('max-requests').value = p.limits.max_requests;
  $('may-cancel').checked = p.limits.members_may_cancel;
  $('may-switch-off').checked = p.limits.members_may_switch_off;
  $('poo-closed').checked = p.limits.point_of_order_when_closed;
  const turn = p.speaking_time.turn_limit_s;
  $('turn-limit').value = turn === null ? '' : `${Math.floor(turn / 60)}:${String(turn % 60).padStart(2, '0')}`;
  $('warning').value = p.speaking_time.warning_s;
  $('on-expiry').value = p.speaking_time.on_expiry;
}

function parseTurn(text) {
  const s = text.trim();
  if (s === '') return null;
  const m = /^(\d+):([0-5]\d)$/.exec(s);
  if (m) return Number(m[1]) * 60 + Number(m[2]);
  if (/^\d+$/.test(s)) return Number(s);
  return undefined;
}

$('mode-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const p = snap.floor.profile;
  if ($('mode').value !== p.mode) await send({ command: 'set_mode', mode: $('mode').value });
  if ($('activation').value !== p.activation) await send({ command: 'set_activation', activation: $('activation').value });
});

$('limits-form').addEventListener('submit', (e) => {
  e.preventDefault();
  send({
    command: 'set_limits',
    limits: {
      max_open_microphones: Number($('max-open').value),
      max_requests: Number($('max-requests').value),
      members_may_cancel: $('may-cancel').checked,
      members_may_switch_off: $('may-switch-off').checked,
      point_of_order_when_closed: $('poo-closed').checked,
    },
  });
});

$('time-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const turn = parseTurn($('turn-limit').value);
  if (turn === undefined) {
    say(notice, t('time.invalid'), 'error');
    $('turn-limit').focus();
    return;
  }
  send({
    command: 'set_speaking_time',
    speaking_time: { turn_limit_s: turn, warning_s: Number($('warning').value), on_expiry: $('on-expiry').value },
  });
});

// ---------------------------------------------------------------- buttons and keys

$('next').addEventListener('click', () => send({ command: 'next' }));
$('stop-all').addEventListener('click', () => send({ command: 'stop_all' }));
$('priority').addEventListener('click', () => send({ command: 'priority', clear_requests: $('priority-clear').checked }));
$('clear').addEventListener('click', () => send({ command: 'clear_requests' }));
$('toggle-list').addEventListener('click', () => send({ command: 'set_list_open', open: !snap.floor.list_open }));
$('direct-grant').addEventListener('click', () => send({ command: 'grant', station: selectedStation() }));
$('direct-request').addEventListener('click', () => send({ command: 'request', station: selectedStation(), kind: $('direct-kind').value }));

document.addEventListener('keydown', (e) => {
  if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
  const target = e.target;
  if (target instanceof HTMLInputElement || target instanceof HTMLSelectElement || target instanceof HTMLTextAreaElement) return;
  if (e.key === 'n' || e.key === 'N') {
    e.preventDefault();
    send({ command: 'next' });
  } else if (e.key === 'S' && e.shiftKey) {
    e.preventDefault();
    send({ command: 'stop_all' });
  } else if (e.key === 's') {
    e.preventDefault();
    const sp = firstStoppable();
    if (sp) send({ command: 'stop', station: sp.station });
    else say(notice, t('rejected', { reason: t('error.not_speaking') }), 'error');
  }
});

// ---------------------------------------------------------------- live

function render() {
  if (!snap) return;
  renderSpeakers();
  renderRequests();
  renderStations();
  renderProfile();
}

const live = new LiveFloor({
  onChange: (s, ev) => {
    snap = s;
    render();
  },
  onStatus: (status) => showConnection($('conn'), status),
});
live.start();
everyQuarterSecond(tickTimers);
