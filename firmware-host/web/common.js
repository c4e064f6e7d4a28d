// Shared by every console: translations, DOM helpers, the API client, the live floor
// (snapshot + events over Server-Sent Events) and the speaking-time clock.

import { texts } from './i18n.js';

// ---------------------------------------------------------------- language

const LANG_KEY = 'podium.lang';
let lang = 'de';
const langListeners = [];

function pickLanguage() {
  const fromQuery = new URLSearchParams(location.search).get('lang');
  if (fromQuery && texts[fromQuery]) {
    try { localStorage.setItem(LANG_KEY, fromQuery); } catch { /* private mode */ }
    return fromQuery;
  }
  try {
    const stored = localStorage.getItem(LANG_KEY);
    if (stored && texts[stored]) return stored;
  } catch { /* storage unavailable */ }
  for (const l of navigator.languages || [navigator.language || 'de']) {
    const short = String(l).slice(0, 2).toLowerCase();
    if (texts[short]) return short;
  }
  return 'de';
}

/** The text for `key` in the current language, with `{name}` placeholders filled. */
export function t(key, vars = {}) {
  const s = texts[lang][key] ?? texts.de[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in vars ? String(vars[k]) : `{${k}}`));
}

/** Current language code. */
export function currentLang() {
  return lang;
}

/** Translates every element marked with data-i18n (text), data-i18n-label (aria-label). */
export function applyTexts(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  const title = document.querySelector('title[data-title]');
  if (title) title.textContent = `${t(title.dataset.title)} – Podium`;
}

/** Sets up the language: picks it, translates the page, wires the switch (a <select id="lang">). */
export function initLanguage(onChange) {
  lang = pickLanguage();
  if (onChange) langListeners.push(onChange);
  applyTexts();
  const select = document.getElementById('lang');
  if (select) {
    select.value = lang;
    select.addEventListener('change', () => {
      lang = texts[select.value] ? select.value : 'de';
      try { localStorage.setItem(LANG_KEY, lang); } catch { /* storage unavailable */ }
      applyTexts();
      for (const f of langListeners) f();
    });
  }
}

/** Sets the language of an unattended screen (hall display, overlay): the address's
 *  `?lang=`, else `fallback`; never a choice remembered in this browser nor the browser's
 *  own language, and nothing on screen to change it. */
export function initScreenLanguage(fallback) {
  const fromQuery = new URLSearchParams(location.search).get('lang');
  lang = fromQuery && texts[fromQuery] ? fromQuery : fallback;
  applyTexts();
}

/** The text of `prefix.value` where the table has one, else the value as it came (a word
 *  of a newer daemon). Every prefix passed here is a family in i18n.js. */
export function known(prefix, value) {
  const key = `${prefix}.${value}`;
  return texts.de[key] !== undefined ? t(key) : String(value ?? '');
}

// ---------------------------------------------------------------- DOM

/** Creates an element: h('button', {class: 'x', onclick: f}, 'text', child, ...). */
/** A moment as the clock on the wall shows it, in the page's language; `–` for none. */
export function clockTime(unixMs) {
  return unixMs ? new Date(unixMs).toLocaleTimeString(document.documentElement.lang) : '–';
}

/** A request's kind in a word or two, with its stance (pro/contra) where it has one. */
export function requestKindShort(r) {
  const stance = r.stance ? ` (${t(`stance.${r.stance}`)})` : '';
  return `${t(`kind.short.${r.kind}`)}${stance}`;
}

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Replaces the children of `el`, keeping keyboard focus on the element with the same
 *  data-focus key if it had focus before (lists are rebuilt on every change). */
export function replaceKeepingFocus(el, ...children) {
  const key = document.activeElement?.dataset?.focus;
  el.replaceChildren(...children.flat());
  if (key) {
    const again = el.querySelector(`[data-focus="${CSS.escape(key)}"]`);
    if (again) again.focus();
  }
}

/** Shows a message in a live region (role="status" or role="alert"). */
export function say(el, text, kind = 'info') {
  el.textContent = text;
  el.dataset.kind = kind;
  el.hidden = !text;
}

// ---------------------------------------------------------------- API

/** Calls the API; resolves to {ok, status, data}. Never throws. */
export async function api(path, { method = 'GET', body } = {}) {
  const headers = { accept: 'application/json' };
  if (method !== 'GET') {
    headers['content-type'] = 'application/json';
    headers['x-podium-csrf'] = '1';
  }
  try {
    const r = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      cache: 'no-store',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    const type = r.headers.get('content-type') || '';
    if (type.includes('json')) data = await r.json().catch(() => null);
    return { ok: r.ok, status: r.status, data };
  } catch {
    return { ok: false, status: 0, data: { error: 'network', message: 'network error' } };
  }
}

/** Sends a floor command. */
export function command(body) {
  return api('/api/v1/commands', { method: 'POST', body });
}

/** What to tell the user after a command: its rejection, or that an accepted change is
 *  not yet on disk (the journal cannot write); `[text, kind]`, empty text when all is well. */
export function commandNotice(result) {
  if (!result.ok) return [t('rejected', { reason: errorText(result) }), 'error'];
  if (result.data?.durability === 'not_durable') return [t('not_durable'), 'error'];
  return ['', 'info'];
}

/** The translated reason of a failed call, with its code. */
export function errorText(result) {
  const code = result?.data?.error || (result?.status ? `http_${result.status}` : 'network');
  const key = `error.${code}`;
  const known = texts.de[key] !== undefined;
  return known ? t(key) : t('error.other', { code });
}

/** Who am I? {role, user, participant, room_name, ...}. */
export async function whoami() {
  const r = await api('/api/v1/session');
  return r.ok ? r.data : { role: null, room_name: '' };
}

/** Logs out and goes to the login page. */
export async function logout() {
  await api('/api/v1/logout', { method: 'POST' });
  location.assign('/login');
}

// ---------------------------------------------------------------- clock

/** The daemon's monotonic clock, estimated here: speakers carry started_at in it. */
export const clock = {
  offset: null,
  async sync() {
    const t0 = performance.now();
    const r = await api('/api/v1/clock');
    const t1 = performance.now();
    if (r.ok && r.data) this.offset = r.data.mono_ms - (t0 + t1) / 2;
  },
  /** An event stamped `mono` has happened: the clock is at least there. */
  observe(mono) {
    const now = this.now();
    if (now === null || mono > now) this.offset = mono - performance.now();
  },
  now() {
    return this.offset === null ? null : performance.now() + this.offset;
  },
};

/** A speaker's clock at server time `now`: spoken and remaining ms, warning, over, paused. */
export function speakerTime(sp, now) {
  const paused = sp.paused_since !== null && sp.paused_since !== undefined;
  const until = paused ? sp.paused_since : (now ?? sp.started_at.mono_ms);
  const spoken = Math.max(0, until - sp.started_at.mono_ms - sp.paused_ms);
  if (sp.budget_ms === null || sp.budget_ms === undefined) {
    return { spoken, remaining: null, warning: false, over: false, paused };
  }
  const remaining = sp.budget_ms - spoken;
  const over = remaining < 0 || sp.expired;
  const warning = !over && (remaining <= sp.warning_ms || sp.warned);
  return { spoken, remaining, warning, over, paused };
}

/** m:ss, with a real minus sign when negative. */
export function formatMs(ms) {
  // Whole seconds towards +infinity: 2:59.4 shows 3:00, 0.4 s over still shows 0:00.
  const secs = Math.ceil(ms / 1000) || 0;
  const neg = secs < 0;
  const a = Math.abs(secs);
  const text = `${Math.floor(a / 60)}:${String(a % 60).padStart(2, '0')}`;
  return neg ? `\u2212${text}` : text;
}

/** The timer text and state class of a speaker. */
export function timerView(sp) {
  const tm = speakerTime(sp, clock.now());
  if (tm.remaining === null) {
    return { text: formatMs(tm.spoken), state: tm.paused ? 'paused' : 'running', note: t('timer.unlimited') };
  }
  const state = tm.paused ? 'paused' : tm.over ? 'over' : tm.warning ? 'warning' : 'running';
  const note = tm.paused ? t('timer.paused') : tm.over ? t('timer.over') : tm.warning ? t('timer.warning') : t('timer.remaining');
  return { text: formatMs(tm.remaining), state, note };
}

// ---------------------------------------------------------------- the floor

export function stationKey(st) {
  return st.seat !== undefined ? `seat:${st.seat}` : `remote:${st.remote}`;
}

export function sameStation(a, b) {
  return stationKey(a) === stationKey(b);
}

export function isRemote(st) {
  return st.remote !== undefined;
}

/** The person at a station (speaker or request entry), from the snapshot. */
export function personOf(snap, entry) {
  const id = entry.participant ?? (isRemote(entry.station) ? entry.station.remote : snap.floor.seated[entry.station.seat]);
  const p = id ? snap.participants.find((x) => x.id === id) : null;
  return {
    id: id ?? null,
    name: p ? p.name : (id ?? t('unknown.person')),
    group: p?.group ?? '',
    role: p?.role ?? null,
  };
}

/** "Seat 12" or "remote". */
export function stationText(snap, st) {
  if (isRemote(st)) return t('station.remote');
  const seat = snap.seats.find((s) => s.number === st.seat);
  const label = seat && seat.label !== String(st.seat) ? ` (${seat.label})` : '';
  return `${t('station.seat', { n: st.seat })}${label}`;
}

/** A badge marking a remote station (text, not only colour). */
export function remoteBadge() {
  return h('span', { class: 'badge remote' }, t('remote.badge'));
}

// ---------------------------------------------------------------- the council session

/** The agenda entry of item `id`, or null. */
export function agendaEntry(snap, id) {
  if (id === null || id === undefined) return null;
  return (snap.floor.agenda || []).find((e) => e.item.id === id) || null;
}

/** The current agenda entry, or null. */
export function currentEntry(snap) {
  return agendaEntry(snap, snap.floor.current_item);
}

/** Publicity in words: "öffentlich", "nichtöffentlich", "ungeklärt". */
export function publicityText(publicity) {
  return t(`publicity.${publicity}`);
}

/** "TOP Ö 3.1 – Titel" (a non-public item's title may be empty for the public: then
 *  only the number). */
export function itemLabel(item) {
  const number = item.number ? `${t('item.prefix')} ${item.number}` : t('item.prefix');
  return item.title ? `${number} – ${item.title}` : number;
}

/** The meeting phase in words. */
export function phaseText(phase) {
  return t(`phase.${phase || 'none'}`);
}

/** The budget groups with their live figures at server time `now`: allotted, used (closed
 *  turns and the running time of the group's open turns) and remaining (negative when
 *  overdrawn), in ms; state 'ok' | 'warning' | 'exhausted' | 'overdrawn'. Empty without a budget. */
export function budgetRows(snap, now = clock.now()) {
  const b = snap.floor.budget;
  if (!b) return [];
  const groupOf = (id) => {
    const p = snap.participants.find((x) => x.id === id);
    if (!p || p.role === 'chair' || p.role === 'vice_chair') return null;
    return p.group ?? null;
  };
  return Object.keys(b.allotted_ms).sort((a, c) => a.localeCompare(c)).map((group) => {
    const allotted = b.allotted_ms[group] + (b.credit_ms?.[group] || 0);
    let live = 0;
    for (const sp of snap.floor.speakers) {
      if (sp.exempt || !sp.participant || groupOf(sp.participant) !== group) continue;
      live += speakerTime(sp, now).spoken;
    }
    const used = (b.used_ms[group] || 0) + live;
    const remaining = allotted - used;
    const exhausted = b.exhausted.includes(group) || remaining <= 0;
    const warned = b.warned.includes(group) || remaining <= b.spec.warning_s * 1000;
    const state = remaining < 0 ? 'overdrawn' : exhausted ? 'exhausted' : warned ? 'warning' : 'ok';
    return { group, allotted: b.allotted_ms[group], credit: b.credit_ms?.[group] || 0, used, remaining, state };
  });
}

// ---------------------------------------------------------------- attendance and votes

/** The attendance of a participant ({status, place?, by, since}), or null if not recorded. */
export function attendanceOf(snap, id) {
  return snap.floor.attendance?.[id] ?? null;
}

/** Where a present member attends, in words: "Platz 12", "zugeschaltet", "im Saal". */
export function placeText(snap, place) {
  if (place === null || place === undefined) return '';
  if (typeof place === 'object' && place.seat !== undefined) return stationText(snap, { seat: place.seat });
  return t(`attendance.place.${place}`);
}

/** The quorum in words: "Beschlussfähig: 25 von 43 anwesend, 22 erforderlich". */
export function quorumText(q) {
  if (!q) return '';
  return t(q.quorate ? 'quorum.quorate' : 'quorum.not_quorate', { present: q.present, statutory: q.statutory, required: q.required });
}

/** The open vote, or null (a closed one stays in the state until the next opens). */
export function openVote(snap) {
  const v = snap.floor.vote;
  return v && !v.result ? v : null;
}

/** An option's label: its own, or for the defaults (empty label) the translated one. */
export function optionLabel(vote, id) {
  const o = vote.options.find((x) => x.id === id);
  if (o && o.label) return o.label;
  const key = `vote.option.${id}`;
  return texts.de[key] !== undefined ? t(key) : id;
}

/** Why `id` may not vote in `vote` now ('' if entitled), as the engine decides it: a vote,
 *  present, not excluded from the vote's item, not remote in a secret vote without remote
 *  members. */
export function notEntitledReason(snap, vote, id) {
  const p = snap.participants.find((x) => x.id === id);
  if (!p || !p.voting_right) return 'no_vote';
  const a = attendanceOf(snap, id);
  if (!a || a.status !== 'present') return 'not_present';
  if (vote.item !== undefined && vote.item !== null && agendaEntry(snap, vote.item)?.excluded?.[id] !== undefined) return 'excluded';
  if (a.place === 'remote' && !vote.remote_allowed) return 'remote_secret';
  return '';
}

/** Who voted, and how many may vote (those who voted and those entitled who have not). */
export function voteProgress(snap, vote) {
  const voted = Object.keys(vote.ballots || {}).length;
  if (vote.result) return { voted: vote.result.voted, entitled: vote.result.voted + vote.result.not_voted };
  const waiting = snap.participants.filter((p) => !(p.id in (vote.ballots || {})) && notEntitledReason(snap, vote, p.id) === '').length;
  return { voted, entitled: voted + waiting };
}

/** "accepted" | "rejected" | "counted" in words. */
export function outcomeText(result) {
  return t(`vote.outcome.${result.outcome}`);
}

/** The result in one line: "Angenommen: Ja 20, Nein 10, Enthaltung 3 (erforderlich: 11 Ja-Stimmen)". */
export function resultLine(vote) {
  const r = vote.result;
  const totals = r.totals.map((x) => `${optionLabel(vote, x.option)} ${x.count}`).join(', ');
  const required = r.required !== undefined && r.required !== null
    ? ` ${t(r.required === 1 ? 'vote.required_short_one' : 'vote.required_short', { n: r.required })}` : '';
  return `${outcomeText(r)}: ${totals}${required}`;
}

/** Applies one event to the snapshot, as the engine's FloorState::apply does. Returns
 *  false if the change type is unknown (the caller then reloads the snapshot). */
export function applyEvent(snap, ev) {
  const f = snap.floor;
  const c = ev.change;
  const same = (st) => (x) => sameStation(x.station, st);
  switch (c.type) {
    case 'request_added': {
      const i = Math.min(Math.max(c.position - 1, 0), f.requests.length);
      f.requests.splice(i, 0, c.request);
      f.next_request_id = Math.max(f.next_request_id, c.request.id + 1);
      break;
    }
    case 'request_removed':
      f.requests = f.requests.filter((r) => !sameStation(r.station, c.station));
      break;
    case 'request_moved': {
      const from = f.requests.findIndex(same(c.station));
      if (from >= 0) {
        const [r] = f.requests.splice(from, 1);
        f.requests.splice(Math.min(Math.max(c.position - 1, 0), f.requests.length), 0, r);
      }
      break;
    }
    case 'requests_cleared':
      f.requests = [];
      break;
    case 'microphone_opened':
      f.requests = f.requests.filter((r) => !sameStation(r.station, c.speaker.station));
      f.speakers.push(c.speaker);
      break;
    case 'microphone_closed': {
      const exempt = f.speakers.find(same(c.station))?.exempt ?? false;
      f.speakers = f.speakers.filter((s) => !sameStation(s.station, c.station));
      if (c.participant) {
        f.spoken_ms_by_participant[c.participant] = (f.spoken_ms_by_participant[c.participant] || 0) + c.spoken_ms;
        const group = snap.participants.find((p) => p.id === c.participant)?.group;
        if (group) {
          f.spoken_ms_by_group[group] = (f.spoken_ms_by_group[group] || 0) + c.spoken_ms;
          const b = f.budget;
          if (b && !exempt && b.allotted_ms[group] !== undefined) {
            b.used_ms[group] = (b.used_ms[group] || 0) + c.spoken_ms;
          }
        }
      }
      break;
    }
    case 'speaker_paused': {
      const s = f.speakers.find(same(c.station));
      if (s) s.paused_since = ev.at.mono_ms;
      break;
    }
    case 'speaker_resumed': {
      const s = f.speakers.find(same(c.station));
      if (s && s.paused_since !== null) {
        s.paused_ms += Math.max(0, ev.at.mono_ms - s.paused_since);
        s.paused_since = null;
      }
      break;
    }
    case 'time_warning': {
      const s = f.speakers.find(same(c.station));
      if (s) s.warned = true;
      break;
    }
    case 'time_expired': {
      const s = f.speakers.find(same(c.station));
      if (s) { s.warned = true; s.expired = true; }
      break;
    }
    case 'list_open_changed':
      f.list_open = c.open;
      break;
    case 'profile_changed':
      f.profile = c.profile;
      break;
    case 'presence_changed': {
      const old = f.presence[c.participant];
      if (old && typeof old === 'object' && old.seat !== undefined) delete f.seated[old.seat];
      if (c.presence && typeof c.presence === 'object' && c.presence.seat !== undefined) {
        f.seated[c.presence.seat] = c.participant;
      }
      f.presence[c.participant] = c.presence;
      break;
    }
    case 'phase_changed':
      f.phase = c.phase;
      break;
    case 'agenda_set':
      f.agenda = c.items.map((item) => ({ item, status: 'pending' }));
      f.current_item = null;
      f.carry_over = c.carry_over;
      delete f.parked;
      break;
    case 'publicity_confirmed': {
      const e = agendaEntry(snap, c.item);
      if (e) e.item.publicity = c.publicity;
      break;
    }
    case 'item_entered': {
      const e = agendaEntry(snap, c.item);
      if (e) e.status = 'current';
      f.current_item = c.item;
      break;
    }
    case 'item_finished': {
      const e = agendaEntry(snap, c.item);
      if (e) e.status = 'done';
      if (f.current_item === c.item) f.current_item = null;
      break;
    }
    case 'requests_parked':
      f.parked = f.parked || {};
      f.parked[c.item] = (f.parked[c.item] || []).concat(f.requests);
      f.requests = [];
      break;
    case 'requests_restored': {
      if (f.parked) delete f.parked[c.item];
      const rank = { point_of_order: 0, reply: 1, ordinary: 2 };
      // A stable sort keeps the order within each type, as the engine's sort_by_key does.
      f.requests = f.requests.concat(c.requests).sort((a, b) => (rank[a.kind] ?? 2) - (rank[b.kind] ?? 2));
      break;
    }
    case 'meeting_speaking_time_kept':
      f.meeting_speaking_time = c.speaking_time ?? undefined;
      break;
    case 'public_changed':
      f.public = c.public;
      break;
    case 'presentation_started':
      f.presentation = { source: c.source, on: c.on, since: ev.at };
      break;
    case 'presentation_stopped':
      delete f.presentation;
      break;
    case 'excluded': {
      const e = agendaEntry(snap, c.item);
      if (e) e.excluded = { ...(e.excluded || {}), [c.participant]: c.reason };
      break;
    }
    case 'readmitted': {
      const e = agendaEntry(snap, c.item);
      if (e && e.excluded) {
        delete e.excluded[c.participant];
        if (Object.keys(e.excluded).length === 0) delete e.excluded;
      }
      break;
    }
    case 'budget_set':
      if (c.budget) f.budget = c.budget;
      else delete f.budget;
      break;
    case 'budget_warning':
      if (f.budget && !f.budget.warned.includes(c.group)) f.budget.warned.push(c.group);
      break;
    case 'budget_exhausted':
      if (f.budget) {
        if (!f.budget.warned.includes(c.group)) f.budget.warned.push(c.group);
        if (!f.budget.exhausted.includes(c.group)) f.budget.exhausted.push(c.group);
      }
      break;
    case 'attendance_changed':
      f.attendance = f.attendance || {};
      f.attendance[c.participant] = c.attendance;
      break;
    case 'quorum_changed':
      f.quorum = c.quorum;
      break;
    case 'statutory_members_set':
      if (c.count === null || c.count === undefined) delete f.statutory_members;
      else f.statutory_members = c.count;
      break;
    case 'vote_opened':
      f.votes_held = Math.max(f.votes_held || 0, c.vote.id);
      f.vote = c.vote;
      break;
    case 'ballot_cast':
      if (f.vote && f.vote.id === c.vote) f.vote.ballots[c.participant] = c.ballot;
      break;
    case 'vote_closed':
      if (f.vote && f.vote.id === c.vote) {
        f.vote.result = c.result;
        f.vote.closed_at = ev.at;
      }
      break;
    case 'vote_cancelled':
      if (f.vote && f.vote.id === c.vote) delete f.vote;
      break;
    default:
      return false;
  }
  f.seq = ev.seq;
  return true;
}

/** The live floor: connects to the event stream, keeps the snapshot current and calls
 *  `onChange(snap, event|null)` after every change. EventSource reconnects by itself
 *  and resumes with Last-Event-ID; if the stream is refused (e.g. the login expired),
 *  `onStatus('lost')` is reported and a fresh connection is tried with a growing pause.
 *  If the refusal is because the session ended (logout elsewhere, expiry, a restart that
 *  did not keep it), `onSessionLost()` is called instead of retrying without end. */
export class LiveFloor {
  constructor({ onChange, onStatus, onSessionLost }) {
    this.onChange = onChange;
    this.onStatus = onStatus || (() => {});
    this.onSessionLost = onSessionLost || null;
    this.snap = null;
    this.source = null;
    this.retry = 1000;
  }

  start() {
    this.onStatus('connecting');
    const source = new EventSource('/api/v1/events');
    this.source = source;
    source.addEventListener('open', () => {
      this.retry = 1000;
      this.onStatus('live');
      clock.sync().then(() => this.snap && this.onChange(this.snap, null));
    });
    source.addEventListener('snapshot', (e) => {
      this.snap = JSON.parse(e.data);
      this.onChange(this.snap, null);
      this.mark();
    });
    source.addEventListener('floor', (e) => {
      const ev = JSON.parse(e.data);
      if (!this.snap || ev.seq <= this.snap.floor.seq) return; // already included
      clock.observe(ev.at.mono_ms);
      if (ev.seq !== this.snap.floor.seq + 1 || !applyEvent(this.snap, ev)) {
        this.restart(); // a gap or an unknown change: start again from a snapshot
        return;
      }
      this.onChange(this.snap, ev);
      this.mark();
    });
    source.addEventListener('error', () => {
      if (source.readyState === EventSource.CLOSED) {
        this.onStatus('lost');
        if (this.onSessionLost) {
          whoami().then((me) => {
            if (!me.role) this.onSessionLost();
          });
        }
        setTimeout(() => this.restart(), this.retry);
        this.retry = Math.min(this.retry * 2, 15000);
      } else {
        this.onStatus('lost'); // the browser reconnects by itself
      }
    });
  }

  /** The sequence number shown, on <html data-seq> (for tests and for support staff). */
  mark() {
    document.documentElement.dataset.seq = String(this.snap.floor.seq);
  }

  restart() {
    if (this.source) this.source.close();
    this.start();
  }
}

/** Shows the connection state in a status element. */
export function showConnection(el, status) {
  el.textContent = t(`conn.${status}`);
  el.dataset.state = status;
}

/** Calls `f` every quarter second (speaking-time displays). */
export function everyQuarterSecond(f) {
  setInterval(f, 250);
}
