// The chair console: speakers with running timers, the request list, the seat map (the
// floor run from the room's plan), the presentation sources, every chair command, mode
// and limits. Every rejection is shown with its translated reason.

import {
  LiveFloor, api, attendanceOf, budgetRows, clock, command, commandNotice, currentEntry, errorText,
  everyQuarterSecond, formatMs, h, initLanguage, isRemote, itemLabel, logout, notEntitledReason, openVote,
  optionLabel, outcomeText, personOf, placeText, publicityText, quorumText, remoteBadge, requestKindShort,
  replaceKeepingFocus, resultLine, say, showConnection, speakerTime, stationKey, stationText, t, timerView,
  voteProgress, whoami, agendaEntry,
} from './common.js';
import { PresentationPanel } from './presentation.js';
import { ActionMenu, SeatMap, seatHealth, stationState } from './seatmap.js';

const $ = (id) => document.getElementById(id);
const notice = $('notice');
let snap = null;
let shownProfile = '';

initLanguage(() => render());
$('logout').addEventListener('click', logout);
whoami().then((me) => { $('room').textContent = me.room_name ? `· ${me.room_name}` : ''; });

/** Sends a command and reports the outcome (rejections with their reason); the result. */
async function sendCommand(body) {
  const r = await command(body);
  say(notice, ...commandNotice(r));
  if (!r.ok) {
    if (r.status === 401) location.assign(`/login?next=${encodeURIComponent('/chair')}`);
  }
  return r;
}

/** The same, saying only whether it was accepted. */
async function send(body) {
  return (await sendCommand(body)).ok;
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
      h('td', {}, h('span', { class: `badge kind-${r.kind}`, title: kindText(r) }, requestKindShort(r))),
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

// ---------------------------------------------------------------- seat map and presentation

const seatMap = new SeatMap($('seatmap'), { mode: 'chair', onActivate: openSeatMenu });
const seatMenu = new ActionMenu($('seatmap'), 'seatmap-menu');
const presentation = new PresentationPanel($('presentation'), send);

/** What the chair can do with a station now: stop (or pause) a speaker; grant, move or
 *  remove a request; grant or add a request for anyone else. */
function seatActions(station) {
  const st = stationState(snap, station);
  const item = (key, text, body, kind = '') => ({
    key, text: t(text), kind,
    run: async () => {
      seatMap.expect(station);
      const r = await sendCommand(body);
      if (r.ok) seatMap.settled(r.data?.seq ?? snap.floor.seq);
      else seatMap.expect(null);
    },
  });
  if (st.speaker) {
    const paused = st.speaker.paused_since !== null && st.speaker.paused_since !== undefined;
    return [
      item('stop', 'btn.stop', { command: 'stop', station }, 'danger'),
      paused ? item('resume', 'btn.resume', { command: 'resume_speaker', station })
        : item('pause', 'btn.pause', { command: 'pause_speaker', station }),
    ];
  }
  if (st.request) {
    const i = st.request.position - 1;
    return [
      item('grant', 'btn.grant', { command: 'grant', station }, 'primary'),
      i > 0 ? item('up', 'btn.up', { command: 'move_request', station, position: i }) : null,
      i < snap.floor.requests.length - 1 ? item('down', 'btn.down', { command: 'move_request', station, position: i + 2 }) : null,
      item('remove', 'btn.remove', { command: 'withdraw', station }),
    ].filter(Boolean);
  }
  return [
    item('grant', 'btn.grant', { command: 'grant', station }, 'primary'),
    item('request', 'btn.request_for', { command: 'request', station, kind: 'ordinary' }),
  ];
}

let menuStation = null;

function openSeatMenu(station, anchor, name) {
  menuStation = station;
  seatMenu.open(anchor, t('seatmap.menu', { name }), () => seatActions(menuStation));
}

function renderSeatMap() {
  seatMap.update(snap);
  if (seatMenu.isOpen) seatMenu.refresh(t('seatmap.menu', { name: seatMap.entryOf(menuStation)?.name ?? '' }));
}

/** Desk-unit health for the map (offline units are marked); it has no event stream of its
 *  own, so it is reread as the technician console does, while the page is visible. Any
 *  failure clears it (no stale "offline"); a room without desk units (404) or a session
 *  that ended (401) stops the rereading. */
let seatHealthTimer = null;
async function refreshSeatHealth() {
  if (document.hidden) return;
  const r = await api('/api/v1/devices');
  if (r.ok && Array.isArray(r.data?.buses)) {
    seatMap.update(snap, seatHealth(r.data.buses));
    return;
  }
  seatMap.update(snap, null);
  if ((r.status === 404 || r.status === 401) && seatHealthTimer !== null) {
    clearInterval(seatHealthTimer);
    seatHealthTimer = null;
  }
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
  // On the seat map and in its menu a letter is the screen reader's jump, and N or S would
  // act on another station than the one in focus.
  if (target instanceof Element && target.closest('#seatmap')) return;
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

// ---------------------------------------------------------------- meeting

let meetings = null; // GET /api/v1/meetings, newest first (null until loaded or if refused)
let confirmingClose = false;
let meetingsLoading = null;

function openMeeting() {
  return meetings?.find((m) => m.open) || null;
}

async function loadMeetings() {
  if (meetingsLoading) return meetingsLoading;
  meetingsLoading = api('/api/v1/meetings').then((r) => {
    meetingsLoading = null;
    if (r.ok && Array.isArray(r.data)) meetings = r.data;
    else if (r.status !== 0) say(notice, t('meeting.list_failed', { reason: errorText(r) }), 'error');
    render();
  });
  return meetingsLoading;
}

/** Calls a meeting route and reports a refusal with its reason. */
async function meetingCall(path, body) {
  const r = await api(path, { method: 'POST', body });
  say(notice, ...commandNotice(r));
  if (r.status === 401) location.assign(`/login?next=${encodeURIComponent('/chair')}`);
  await loadMeetings();
  return r;
}

function localTime(unixMs) {
  return new Date(unixMs).toLocaleString(document.documentElement.lang, {
    dateStyle: 'medium', timeStyle: 'short',
  });
}

function renderMeeting() {
  const m = openMeeting();
  const phase = snap.floor.phase || 'none';
  const state = $('meeting-state');
  if (m) {
    state.textContent = t(phase === 'suspended' ? 'meeting.state.suspended' : 'meeting.state.running', { title: m.title });
  } else {
    state.textContent = meetings === null ? '' : t('meeting.state.none');
  }
  state.dataset.phase = m ? phase : 'none';
  $('meeting-open').hidden = !!m || meetings === null;
  $('meeting-running').hidden = !m;
  if (m) {
    $('meeting-name').textContent = m.title;
    $('meeting-bodyname').textContent = m.body || '–';
    $('meeting-opened').textContent = localTime(m.opened_unix_ms);
    $('meeting-suspend').hidden = phase === 'suspended';
    $('meeting-resume').hidden = phase !== 'suspended';
    $('meeting-close').hidden = confirmingClose;
    $('meeting-confirm').hidden = !confirmingClose;
  } else {
    confirmingClose = false;
  }
  // The minutes of the newest closed meeting (or of the open one, so far).
  const last = m || meetings?.find((x) => !x.open) || null;
  $('minutes').hidden = !last;
  if (last) {
    $('h-minutes').textContent = t(m ? 'minutes.heading_open' : 'minutes.heading', { title: last.title });
    const base = `/api/v1/meetings/${last.id}/minutes`;
    const link = (href, key) => h('li', {}, h('a', { href, target: '_blank', rel: 'noopener' }, t(key)));
    $('minutes-links').replaceChildren(
      link(`${base}?format=html`, 'minutes.html'),
      link(`${base}?format=html&publication=true`, 'minutes.publication'),
      link(`${base}?format=csv`, 'minutes.csv'),
      link(`${base}?format=json`, 'minutes.json'),
    );
  }
}

$('meeting-open').addEventListener('submit', async (e) => {
  e.preventDefault();
  const body = {
    title: $('meeting-title').value.trim() || undefined,
    body: $('meeting-body').value.trim() || undefined,
    use_draft: $('meeting-agenda').value === 'draft',
    carry_over: $('meeting-carry').checked ? 'carry' : 'per_item',
  };
  const r = await meetingCall('/api/v1/meetings', body);
  if (r.ok) {
    say(notice, t('meeting.opened_notice', { title: r.data?.title ?? '' }), 'info');
    $('meeting-suspend').focus();
  }
});

$('meeting-suspend').addEventListener('click', async () => {
  const m = openMeeting();
  if (m) await meetingCall(`/api/v1/meetings/${m.id}/suspend`);
  if (!$('meeting-resume').hidden) $('meeting-resume').focus();
});
$('meeting-resume').addEventListener('click', async () => {
  const m = openMeeting();
  if (m) await meetingCall(`/api/v1/meetings/${m.id}/resume`);
  if (!$('meeting-suspend').hidden) $('meeting-suspend').focus();
});
$('meeting-close').addEventListener('click', () => {
  confirmingClose = true;
  renderMeeting();
  $('meeting-close-no').focus();
});
$('meeting-close-no').addEventListener('click', () => {
  confirmingClose = false;
  renderMeeting();
  $('meeting-close').focus();
});
$('meeting-close-yes').addEventListener('click', async () => {
  const m = openMeeting();
  confirmingClose = false;
  if (!m) return;
  const r = await meetingCall(`/api/v1/meetings/${m.id}/close`);
  if (r.ok) {
    say(notice, t('meeting.closed_notice', { title: m.title }), 'info');
    $('minutes-links').querySelector('a')?.focus();
  }
});

// ---------------------------------------------------------------- current item, agenda

/** "TOP Ö 2 – Titel · nichtöffentlicher Teil · Sitzung unterbrochen": beside the speakers. */
function itemLineText() {
  const f = snap.floor;
  const entry = currentEntry(snap);
  const parts = [entry ? itemLabel(entry.item) : t('agenda.no_current')];
  parts.push(t(f.public === false ? 'part.non_public' : 'part.public'));
  if (f.phase === 'suspended') parts.push(t('phase.suspended'));
  return parts.join(' · ');
}

function renderItemLines() {
  const text = itemLineText();
  for (const id of ['speakers-item', 'agenda-state']) {
    const el = $(id);
    if (el.textContent !== text) el.textContent = text;
    el.dataset.public = String(snap.floor.public !== false);
    el.dataset.phase = snap.floor.phase || 'none';
  }
}

function statusText(entry) {
  return t(`item.status.${entry.status}`);
}

function renderAgenda() {
  const f = snap.floor;
  const agenda = f.agenda || [];
  const rows = agenda.map((entry) => {
    const it = entry.item;
    const key = String(it.id);
    const label = itemLabel(it);
    if (it.kind === 'header') {
      return h('tr', { class: 'agenda-header', dataset: { item: key } },
        h('td', {}, it.number || ''),
        h('td', { colspan: '4' }, h('strong', {}, it.title)));
    }
    const actions = [];
    if (entry.status !== 'current') {
      actions.push(h('button', {
        type: 'button', class: 'small', 'aria-label': t('aria.enter_item', { item: label }),
        dataset: { focus: `enter:${key}` }, onclick: () => send({ command: 'enter_item', item: it.id }),
      }, t('agenda.enter')));
    }
    if (it.publicity === 'undecided') {
      for (const p of ['public', 'non_public']) {
        actions.push(h('button', {
          type: 'button', class: 'small', 'aria-label': t(`aria.decide.${p}`, { item: label }),
          dataset: { focus: `decide-${p}:${key}` },
          onclick: () => send({ command: 'set_publicity', item: it.id, publicity: p }),
        }, t(`agenda.decide.${p}`)));
      }
    }
    const excludedCount = Object.keys(entry.excluded || {}).length;
    return h('tr', { class: `status-${entry.status}`, dataset: { item: key }, 'aria-current': entry.status === 'current' ? 'true' : null },
      h('td', {}, it.number || ''),
      h('td', {}, h('div', { class: 'who-small' }, it.title || '–'),
        it.paper?.reference || it.paper?.name
          ? h('div', { class: 'meta' }, [it.paper.reference, it.paper.name].filter(Boolean).join(' · '))
          : null,
        excludedCount ? h('div', { class: 'meta' }, t('conflict.count', { n: excludedCount })) : null),
      h('td', {}, h('span', { class: `badge publicity-${it.publicity}` }, publicityText(it.publicity))),
      h('td', {}, h('span', { class: `item-status status-${entry.status}` }, statusText(entry))),
      h('td', { class: 'actions-cell' }, actions));
  });
  const focusKey = $('agenda-rows').contains(document.activeElement) ? document.activeElement.dataset.focus ?? '' : '';
  replaceKeepingFocus($('agenda-rows'), rows);
  $('agenda').hidden = rows.length === 0;
  $('no-agenda').hidden = rows.length > 0;
  $('item-finish').disabled = f.current_item === null || f.current_item === undefined;
  if (focusKey && !document.querySelector(`#agenda-rows [data-focus="${CSS.escape(focusKey)}"]`)) {
    // The button pressed is gone (the item is open now, or decided): keep the keyboard
    // nearby instead of losing focus to the page.
    const [kind, id] = focusKey.split(':');
    const fallback = kind === 'enter' ? $('item-finish')
      : document.querySelector(`#agenda-rows [data-focus="enter:${CSS.escape(id)}"]`) || $('item-next');
    if (fallback && !fallback.disabled) fallback.focus();
  }
  const isPublic = f.public !== false;
  $('toggle-public').textContent = t(isPublic ? 'agenda.exclude_public' : 'agenda.restore_public');
  $('toggle-public').setAttribute('aria-pressed', String(!isPublic));
  renderConflicts();
}

function renderConflicts() {
  const entry = currentEntry(snap);
  const box = $('conflicts');
  box.hidden = !entry || entry.item.kind === 'header';
  if (box.hidden) return;
  $('h-conflicts').textContent = t('conflict.heading', { item: itemLabel(entry.item) });
  const excluded = entry.excluded || {};
  const select = $('exclude-member');
  const previous = select.value;
  const candidates = snap.participants
    .filter((p) => !(p.id in excluded))
    .sort((a, b) => a.name.localeCompare(b.name));
  select.replaceChildren(...candidates.map((p) => h('option', { value: p.id }, p.group ? `${p.name} (${p.group})` : p.name)));
  if (candidates.some((p) => p.id === previous)) select.value = previous;
  const items = Object.entries(excluded).map(([id, reason]) => {
    const p = snap.participants.find((x) => x.id === id);
    const name = p ? p.name : id;
    return h('li', { dataset: { participant: id } },
      h('span', {}, name, reason ? ` – ${reason}` : ''), ' ',
      h('button', {
        type: 'button', class: 'small', 'aria-label': t('aria.readmit', { name }),
        dataset: { focus: `readmit:${id}` },
        onclick: () => send({ command: 'readmit', item: entry.item.id, participant: id }),
      }, t('conflict.readmit')));
  });
  replaceKeepingFocus($('excluded-list'), items);
  $('no-excluded').hidden = items.length > 0;
}

$('item-next').addEventListener('click', () => send({ command: 'next_item' }));
$('item-finish').addEventListener('click', () => send({ command: 'finish_item' }));
$('toggle-public').addEventListener('click', () => send({ command: 'set_public', public: snap.floor.public === false }));
$('exclude-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const entry = currentEntry(snap);
  if (!entry || !$('exclude-member').value) return;
  const ok = await send({
    command: 'exclude', item: entry.item.id, participant: $('exclude-member').value,
    reason: $('exclude-reason').value.trim(),
  });
  if (ok) $('exclude-reason').value = '';
});

// ---------------------------------------------------------------- draft agenda editor

let draft = [];
let draftLoaded = false;
let draftExtra = {}; // what the editor does not show (an import's OParl id and report): kept

function draftStatus(text, kind = 'info') {
  $('draft-status').textContent = text;
  $('draft-status').dataset.kind = kind;
}

async function loadDraft() {
  const r = await api('/api/v1/agenda/draft');
  if (r.ok && r.data) {
    draft = (r.data.items || []).map((it) => ({ ...it }));
    draftExtra = {};
    if (r.data.oparl_id) draftExtra.oparl_id = r.data.oparl_id;
    if (r.data.report !== undefined && r.data.report !== null) draftExtra.report = r.data.report;
    $('draft-title').value = r.data.title || '';
    $('draft-body').value = r.data.body || '';
    draftStatus(t('draft.loaded', { n: draft.length }));
  } else if (r.data?.error === 'no_draft') {
    draft = [];
    draftStatus(t('draft.none'));
  } else {
    draftStatus(t('rejected', { reason: errorText(r) }), 'error');
  }
  draftLoaded = true;
  renderDraft();
}

function renderDraft() {
  const rows = draft.map((it, i) => {
    const n = i + 1;
    const number = h('input', {
      id: `draft-number-${i}`, value: it.number || '', maxlength: '32', class: 'short',
      'aria-label': t('draft.aria.number', { n }), dataset: { focus: `dn:${i}` },
    });
    number.addEventListener('input', () => { it.number = number.value; });
    const title = h('input', {
      id: `draft-title-${i}`, value: it.title || '', maxlength: '500',
      'aria-label': t('draft.aria.title', { n }), dataset: { focus: `dt:${i}` },
    });
    title.addEventListener('input', () => { it.title = title.value; });
    const publicity = h('select', { 'aria-label': t('draft.aria.publicity', { n }), dataset: { focus: `dp:${i}` } },
      ['public', 'non_public', 'undecided'].map((p) => h('option', { value: p }, publicityText(p))),
      h('option', { value: 'header' }, t('draft.header')));
    publicity.value = it.kind === 'header' ? 'header' : it.publicity;
    publicity.addEventListener('change', () => {
      if (publicity.value === 'header') { it.kind = 'header'; it.publicity = 'public'; }
      else { it.kind = 'item'; it.publicity = publicity.value; }
    });
    const move = (delta) => () => {
      const j = i + delta;
      if (j < 0 || j >= draft.length) return;
      [draft[i], draft[j]] = [draft[j], draft[i]];
      renderDraft();
      $(`draft-title-${j}`)?.focus();
    };
    return h('tr', {},
      h('td', {}, number), h('td', {}, title), h('td', {}, publicity),
      h('td', { class: 'actions-cell' },
        h('button', { type: 'button', class: 'small', 'aria-label': t('draft.aria.up', { n }), disabled: i === 0, onclick: move(-1) }, t('btn.up')),
        h('button', { type: 'button', class: 'small', 'aria-label': t('draft.aria.down', { n }), disabled: i === draft.length - 1, onclick: move(1) }, t('btn.down')),
        h('button', {
          type: 'button', class: 'small', 'aria-label': t('draft.aria.remove', { n }),
          onclick: () => { draft.splice(i, 1); renderDraft(); $('draft-add').focus(); },
        }, t('btn.remove'))));
  });
  $('draft-rows').replaceChildren(...rows);
  $('draft').hidden = rows.length === 0;
}

$('draft-editor').addEventListener('toggle', () => {
  if ($('draft-editor').open && !draftLoaded) loadDraft();
});
$('draft-reload').addEventListener('click', loadDraft);
$('draft-add').addEventListener('click', () => {
  draft.push({ number: '', title: '', kind: 'item', publicity: 'public' });
  renderDraft();
  $(`draft-number-${draft.length - 1}`)?.focus();
});
$('draft-save').addEventListener('click', async () => {
  const empty = draft.findIndex((it) => !String(it.title || '').trim());
  if (empty >= 0) {
    draftStatus(t('draft.title_missing', { n: empty + 1 }), 'error');
    $(`draft-title-${empty}`)?.focus();
    return;
  }
  // Ids are the positions (unique); everything else the draft had (paper, OParl ids) is kept.
  const items = draft.map((it, i) => ({ ...it, id: i + 1, number: String(it.number || '').trim(), title: it.title.trim() }));
  const body = { ...draftExtra, items };
  if ($('draft-title').value.trim()) body.title = $('draft-title').value.trim();
  if ($('draft-body').value.trim()) body.body = $('draft-body').value.trim();
  const r = await api('/api/v1/agenda/draft', { method: 'PUT', body });
  if (r.ok) {
    // The lines keep their objects (the inputs write into them); they now carry their ids.
    draft.forEach((it, i) => { it.id = items[i].id; });
    draftStatus(t('draft.saved', { n: items.length }));
  } else {
    draftStatus(t('rejected', { reason: errorText(r) }), 'error');
  }
});

// ---------------------------------------------------------------- budgets

let shownBudgetSpec = '';

function budgetGroups() {
  const groups = new Set();
  for (const p of snap.participants) {
    if (p.group && p.role !== 'chair' && p.role !== 'vice_chair') groups.add(p.group);
  }
  return [...groups].sort((a, b) => a.localeCompare(b));
}

/** Time used, in whole seconds spent (a countdown rounds up, a stopwatch down: used and
 *  remaining then add up to the budget). */
function usedText(row) {
  return formatMs(Math.floor(Math.max(0, row.used - row.credit) / 1000) * 1000);
}

/** The bar: used of allotted (full when nothing was allotted and the group is used up). */
function barValues(row) {
  const max = row.allotted + row.credit;
  return max <= 0 ? { max: 1, value: 1 } : { max, value: Math.min(row.used, max) };
}

function remainingText(row) {
  return row.remaining < 0 ? `${formatMs(row.remaining)} (${t('budget.overdrawn')})` : formatMs(row.remaining);
}

function renderBudget() {
  const b = snap.floor.budget;
  const rows = budgetRows(snap).map((row) => h('tr', { dataset: { group: row.group, state: row.state } },
    h('th', { scope: 'row' }, row.group),
    h('td', {}, formatMs(row.allotted)),
    h('td', { class: 'used' }, usedText(row)),
    h('td', { class: 'remaining' }, remainingText(row)),
    h('td', {}, h('progress', {
      max: String(barValues(row).max), value: String(barValues(row).value),
      'aria-label': t('budget.bar', { group: row.group, used: usedText(row), allotted: formatMs(row.allotted) }),
    })),
    h('td', { class: 'state' }, h('span', { class: `budget-state state-${row.state}` }, t(`budget.state.${row.state}`)))));
  $('budget-rows').replaceChildren(...rows);
  $('budget').hidden = rows.length === 0;
  $('no-budget').hidden = rows.length > 0;
  $('budget-remove').disabled = !b;
  $('budget-summary').textContent = b
    ? t('budget.summary', {
      scope: t(`budget.scope.${b.spec.scope}`), policy: t(`budget.policy.${b.spec.policy}`), warning: b.spec.warning_s,
    })
    : '';
  renderBudgetForm();
}

/** Live figures without rebuilding the table (every quarter second). */
function tickBudget() {
  if (!snap?.floor.budget) return;
  for (const row of budgetRows(snap)) {
    const tr = document.querySelector(`#budget-rows tr[data-group="${CSS.escape(row.group)}"]`);
    if (!tr) continue;
    tr.dataset.state = row.state;
    tr.querySelector('.used').textContent = usedText(row);
    tr.querySelector('.remaining').textContent = remainingText(row);
    const bar = tr.querySelector('progress');
    const { max, value } = barValues(row);
    bar.max = max;
    bar.value = value;
    bar.setAttribute('aria-label', t('budget.bar', { group: row.group, used: usedText(row), allotted: formatMs(row.allotted) }));
    const state = tr.querySelector('.budget-state');
    state.className = `budget-state state-${row.state}`;
    state.textContent = t(`budget.state.${row.state}`);
  }
}

function renderBudgetForm() {
  // The group fields follow the room's groups; what the chair typed is kept.
  const box = $('budget-group-fields');
  const groups = budgetGroups();
  const have = [...box.querySelectorAll('input')].map((i) => i.dataset.group);
  if (have.join('\u0000') !== groups.join('\u0000')) {
    box.replaceChildren(...groups.map((g, i) => h('div', {},
      h('label', { for: `budget-group-${i}` }, t('budget.group_minutes', { group: g })),
      h('input', { id: `budget-group-${i}`, type: 'number', min: '0', max: '1440', value: '10', dataset: { group: g } }))));
  }
  const spec = snap.floor.budget?.spec ?? null;
  const json = JSON.stringify(spec);
  if (json === shownBudgetSpec) return;
  shownBudgetSpec = json;
  if (!spec) return;
  $('budget-policy').value = spec.policy;
  $('budget-scope').value = spec.scope;
  $('budget-warning').value = spec.warning_s;
  if (spec.shares.kind === 'equal') {
    $('budget-equal').checked = true;
    $('budget-total').value = Math.round(spec.shares.total_s / 60);
  } else {
    $('budget-pergroup').checked = true;
    for (const input of box.querySelectorAll('input')) {
      const s = spec.shares.seconds[input.dataset.group];
      if (s !== undefined) input.value = Math.round(s / 60);
    }
  }
  showShareFields();
}

function showShareFields() {
  const equal = $('budget-equal').checked;
  $('budget-equal-fields').hidden = !equal;
  $('budget-group-fields').hidden = equal;
}
$('budget-equal').addEventListener('change', showShareFields);
$('budget-pergroup').addEventListener('change', showShareFields);

$('budget-form').addEventListener('submit', (e) => {
  e.preventDefault();
  let shares;
  if ($('budget-equal').checked) {
    shares = { kind: 'equal', total_s: Math.round(Number($('budget-total').value) * 60) };
  } else {
    const seconds = {};
    for (const input of $('budget-group-fields').querySelectorAll('input')) {
      seconds[input.dataset.group] = Math.round(Number(input.value) * 60);
    }
    shares = { kind: 'per_group', seconds };
  }
  send({
    command: 'set_budget',
    budget: {
      scope: $('budget-scope').value, shares, policy: $('budget-policy').value,
      warning_s: Number($('budget-warning').value),
    },
  });
});
$('budget-remove').addEventListener('click', () => send({ command: 'set_budget', budget: null }));


// ---------------------------------------------------------------- speaking time by group

/** Every group's speaking time (closed turns and the running time of its open ones) and,
 *  where a budget is set, its row of the budget. */
function groupRows() {
  const now = clock.now();
  const groupOf = new Map(snap.participants.map((p) => [p.id, p.group]));
  const spoken = { ...snap.floor.spoken_ms_by_group };
  for (const sp of snap.floor.speakers) {
    const group = sp.participant ? groupOf.get(sp.participant) : null;
    if (group) spoken[group] = (spoken[group] || 0) + speakerTime(sp, now).spoken;
  }
  const budgets = new Map(budgetRows(snap, now).map((row) => [row.group, row]));
  const groups = new Set([...groupOf.values(), ...Object.keys(spoken), ...budgets.keys()].filter(Boolean));
  return [...groups].sort((a, b) => a.localeCompare(b))
    .map((group) => ({ group, spoken: spoken[group] || 0, budget: budgets.get(group) || null }));
}

function groupRemainingText(row) {
  if (!row.budget) return t('groups.no_budget');
  const state = row.budget.state;
  return state === 'warning' || state === 'exhausted'
    ? `${remainingText(row.budget)} (${t(`budget.short.${state}`)})`
    : remainingText(row.budget);
}

/** The table, rebuilt when the groups change and otherwise updated in place (every quarter second). */
function renderGroups() {
  const rows = groupRows();
  const body = $('group-rows');
  const shown = [...body.children];
  if (shown.length !== rows.length || rows.some((r, i) => shown[i].dataset.group !== r.group)) {
    body.replaceChildren(...rows.map((r) => h('tr', { dataset: { group: r.group } },
      h('th', { scope: 'row' }, r.group), h('td', { class: 'spoken' }), h('td', { class: 'remaining' }))));
  }
  rows.forEach((r, i) => {
    const tr = body.children[i];
    const spoken = formatMs(Math.floor(r.spoken / 1000) * 1000);
    const remaining = groupRemainingText(r);
    tr.dataset.state = r.budget ? r.budget.state : 'none';
    if (tr.children[1].textContent !== spoken) tr.children[1].textContent = spoken;
    if (tr.children[2].textContent !== remaining) tr.children[2].textContent = remaining;
  });
  $('groups').hidden = rows.length === 0;
  $('no-groups').hidden = rows.length > 0;
}

// ---------------------------------------------------------------- quorum and attendance

let wasQuorate = null; // the quorum at the last change (null: not known yet)
let quorumLost = false; // lost while the meeting was open (cleared when it returns)

function renderQuorum() {
  const f = snap.floor;
  const q = f.quorum;
  const el = $('quorum');
  el.textContent = q ? quorumText(q) : '';
  el.dataset.quorate = String(!!q?.quorate);
  const meetingOpen = f.phase === 'open';
  if (q) {
    if (wasQuorate === true && !q.quorate && meetingOpen) quorumLost = true;
    if (q.quorate) quorumLost = false;
    wasQuorate = q.quorate;
  }
  const alert = $('quorum-alert');
  const text = q && meetingOpen && !q.quorate
    ? t(quorumLost ? 'quorum.lost_alert' : 'quorum.missing_alert', { present: q.present, required: q.required })
    : '';
  if (alert.textContent !== text) alert.textContent = text;
  alert.hidden = !text;
}

function attendanceWords(a) {
  return t(`attendance.status.${a ? a.status : 'unknown'}`);
}

function renderAttendance() {
  const counts = { present: 0, excused: 0, absent: 0, unknown: 0 };
  const rows = snap.participants.map((p) => {
    const a = attendanceOf(snap, p.id);
    const status = a ? a.status : 'unknown';
    counts[status] += 1;
    const where = a && a.status === 'present' ? placeText(snap, a.place) : '';
    const by = a ? t(`attendance.by.${a.by}`) : '';
    const since = a ? clockTime(a.since.unix_ms) : '';
    const button = (s) => h('button', {
      type: 'button', class: status === s ? 'small primary' : 'small',
      'aria-pressed': String(status === s),
      'aria-label': t('attendance.aria.mark', { name: p.name, status: t(`attendance.status.${s}`) }),
      dataset: { focus: `att-${s}:${p.id}` },
      onclick: () => send({ command: 'mark_attendance', participant: p.id, status: s }),
    }, t(`attendance.mark.${s}`));
    return h('tr', { dataset: { participant: p.id, status } },
      h('td', {}, h('div', { class: 'who-small' }, p.name),
        h('div', { class: 'meta' }, [p.group, p.voting_right ? null : t('attendance.no_vote')].filter(Boolean).join(' · '))),
      h('td', {}, h('span', { class: `attendance-status status-${status}` }, attendanceWords(a))),
      h('td', {}, where ? h('div', {}, where) : null,
        by ? h('div', { class: 'meta' }, `${by}, ${since}`) : null),
      h('td', { class: 'actions-cell attendance-actions' }, ['present', 'excused', 'absent'].map(button)));
  });
  replaceKeepingFocus($('attendance-rows'), rows);
  $('attendance-summary').textContent = t('attendance.summary', counts);
}

$('mark-seated').addEventListener('click', () => send({ command: 'mark_seated_present' }));

// ---------------------------------------------------------------- votes

const VIA = (via) => t(`vote.via.${via}`);

function renderVoteForm() {
  const entry = currentEntry(snap);
  $('vote-form-item').textContent = entry ? t('vote.on_item', { item: itemLabel(entry.item) }) : t('vote.no_item');
  const secret = $('vote-kind').value === 'secret';
  $('vote-changeable').disabled = secret;
  $('vote-secret-hint').hidden = !secret;
}

function kindLine(vote) {
  const parts = [t(`vote.kind.${vote.kind}`), t(`vote.majority.${vote.majority}`)];
  const entry = agendaEntry(snap, vote.item);
  if (entry) parts.push(itemLabel(entry.item));
  if (vote.kind !== 'secret') parts.push(t(vote.changeable ? 'vote.changeable_yes' : 'vote.changeable_no'));
  return parts.join(' · ');
}

function renderVote() {
  const vote = snap.floor.vote;
  const running = openVote(snap);
  $('vote-form').hidden = !!running;
  $('vote-view').hidden = !vote;
  if (!vote) confirmingCancel = false;
  renderVoteForm();
  if (!vote) return;
  $('vote-title').textContent = running ? t('vote.running', { question: vote.question }) : t('vote.closed', { question: vote.question });
  $('vote-facts').textContent = kindLine(vote);
  const remoteNotice = vote.kind === 'secret' && !vote.remote_allowed;
  $('vote-remote-notice').hidden = !remoteNotice;
  $('vote-remote-notice').textContent = remoteNotice ? t('vote.remote_not_allowed') : '';
  $('vote-remote-notice').dataset.kind = 'info';
  const progress = voteProgress(snap, vote);
  $('vote-progress').textContent = t('vote.progress', progress);
  // The running tally of an open or roll-call vote (a secret one has none until it closes).
  const tally = running && vote.kind !== 'secret';
  $('vote-tally').hidden = !tally;
  if (tally) {
    const counts = {};
    for (const b of Object.values(vote.ballots || {})) counts[b.choice] = (counts[b.choice] || 0) + 1;
    $('vote-tally').textContent = t('vote.tally', {
      counts: vote.options.map((o) => `${optionLabel(vote, o.id)} ${counts[o.id] || 0}`).join(', '),
    });
  }
  $('vote-actions').hidden = !running;
  if (!running) confirmingCancel = false;
  $('vote-cancel-confirm').hidden = !running || !confirmingCancel;
  $('vote-cancel').hidden = confirmingCancel;
  $('proxy-form').hidden = !running || vote.kind === 'secret'; // in a secret vote only the member votes
  tickVote();

  // Result.
  $('vote-result').hidden = !vote.result;
  if (vote.result) {
    const r = vote.result;
    $('vote-outcome').textContent = resultLine(vote);
    $('vote-outcome').dataset.outcome = r.outcome;
    $('vote-totals-rows').replaceChildren(...r.totals.map((x) => h('tr', { dataset: { option: x.option } },
      h('th', { scope: 'row' }, optionLabel(vote, x.option)), h('td', {}, String(x.count)))));
    const facts = [
      t('vote.result.counts', { yes: r.yes, no: r.no, abstain: r.abstain }),
      t('vote.result.voted', { voted: r.voted, not_voted: r.not_voted }),
      r.required !== undefined && r.required !== null
        ? t(r.required === 1 ? 'vote.result.required_one' : 'vote.result.required', { n: r.required }) : null,
      t(`vote.closed_by.${r.closed_by}`),
    ];
    $('vote-result-facts').textContent = facts.filter(Boolean).join(' · ');
  }

  // Members: those who voted and those entitled; in a secret vote only whether they voted.
  const secret = vote.kind === 'secret';
  const ballots = vote.ballots || {};
  const members = snap.participants.filter((p) => p.id in ballots || (running && notEntitledReason(snap, vote, p.id) === ''));
  $('ballots-col-choice').textContent = t(secret ? 'vote.col.voted' : 'vote.col.choice');
  const rows = members.map((p) => {
    const b = ballots[p.id];
    let cell;
    if (!b) cell = h('span', { class: 'muted' }, t('vote.not_yet'));
    else if (secret) cell = t('vote.has_voted');
    else cell = h('strong', {}, optionLabel(vote, b.choice));
    return h('tr', { dataset: { participant: p.id, voted: String(!!b) } },
      h('td', {}, h('div', { class: 'who-small' }, p.name), p.group ? h('div', { class: 'meta' }, p.group) : null),
      h('td', { class: 'ballot' }, cell),
      h('td', {}, b ? VIA(b.via) : ''));
  });
  replaceKeepingFocus($('ballot-rows'), rows);

  // Proxy entry: every entitled member (a changeable vote may be changed; a final one not).
  if (running) {
    const select = $('proxy-member');
    const previous = select.value;
    const candidates = snap.participants.filter((p) => notEntitledReason(snap, vote, p.id) === ''
      && (!(p.id in ballots) || vote.changeable));
    const json = candidates.map((p) => p.id).join('\u0000');
    if (select.dataset.list !== json) {
      select.dataset.list = json;
      select.replaceChildren(...candidates.map((p) => h('option', { value: p.id }, p.group ? `${p.name} (${p.group})` : p.name)));
      if (candidates.some((p) => p.id === previous)) select.value = previous;
    }
    const choice = $('proxy-choice');
    const options = vote.options.map((o) => o.id).join('\u0000') + vote.id;
    if (choice.dataset.list !== options) {
      choice.dataset.list = options;
      choice.replaceChildren(...vote.options.map((o) => h('option', { value: o.id }, optionLabel(vote, o.id))));
    }
  }
}

/** The remaining time of a timed vote. */
function tickVote() {
  const vote = snap ? openVote(snap) : null;
  const el = $('vote-timer');
  const closes = vote?.closes_at;
  el.hidden = closes === undefined || closes === null;
  if (el.hidden) return;
  const now = clock.now();
  const remaining = now === null ? null : Math.max(0, closes - now);
  el.textContent = remaining === null ? '' : t('vote.remaining', { time: formatMs(remaining) });
}

$('vote-kind').addEventListener('change', renderVoteForm);
$('vote-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const question = $('vote-question').value.trim();
  if (!question) {
    say(notice, t('vote.question_missing'), 'error');
    $('vote-question').focus();
    return;
  }
  const vote = { question, kind: $('vote-kind').value };
  if ($('vote-majority').value) vote.majority = $('vote-majority').value;
  const duration = $('vote-duration').value.trim();
  if (duration) vote.duration_s = Number(duration);
  if (vote.kind !== 'secret') vote.changeable = $('vote-changeable').checked;
  const lines = $('vote-options').value.split('\n').map((l) => l.trim()).filter(Boolean);
  if (lines.length === 1) {
    say(notice, t('vote.options_too_few'), 'error');
    $('vote-options').focus();
    return;
  }
  if (lines.length) vote.options = lines.map((label, i) => ({ id: `o${i + 1}`, label, counts_as: 'other' }));
  const ok = await send({ command: 'open_vote', vote });
  if (ok) {
    $('vote-question').value = '';
    $('vote-options').value = '';
    if (!$('vote-close').hidden) $('vote-close').focus();
  }
});
$('vote-close').addEventListener('click', async () => {
  if (await send({ command: 'close_vote' })) $('vote-outcome').focus();
});
let confirmingCancel = false;
function showCancelConfirm(on) {
  confirmingCancel = on;
  $('vote-cancel-confirm').hidden = !on;
  $('vote-cancel').hidden = on;
}
$('vote-cancel').addEventListener('click', () => {
  showCancelConfirm(true);
  $('vote-cancel-no').focus();
});
$('vote-cancel-no').addEventListener('click', () => {
  showCancelConfirm(false);
  $('vote-cancel').focus();
});
$('vote-cancel-yes').addEventListener('click', async () => {
  showCancelConfirm(false);
  if (await send({ command: 'cancel_vote' })) $('vote-question').focus();
});
$('proxy-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const participant = $('proxy-member').value;
  if (!participant) return;
  send({ command: 'cast_vote', participant, choice: $('proxy-choice').value });
});

// ---------------------------------------------------------------- live

function render() {
  if (!snap) return;
  renderMeeting();
  renderQuorum();
  renderVote();
  renderAttendance();
  renderItemLines();
  renderAgenda();
  renderBudget();
  renderGroups();
  renderSpeakers();
  renderRequests();
  renderStations();
  renderSeatMap();
  presentation.render(snap);
  renderProfile();
}

const live = new LiveFloor({
  onChange: (s, ev) => {
    const phase = snap?.floor.phase;
    snap = s;
    // Another console (or the technician) may have opened, suspended or closed the meeting.
    if (!ev || ev.change.type === 'phase_changed' || phase !== s.floor.phase) loadMeetings();
    render();
  },
  onStatus: (status) => showConnection($('conn'), status),
});
live.start();
everyQuarterSecond(() => { tickTimers(); tickBudget(); tickVote(); if (snap) renderGroups(); });
seatHealthTimer = setInterval(refreshSeatHealth, 5000);
refreshSeatHealth();
