// The seat map: the room drawn from the seats' positions, each seat with its number, who
// sits there and what they are doing, in words (speaking, place in the list, next,
// present, empty; the desk unit's health where the page knows it), and the members
// joined remotely beside the room with the same states. One module for three pages: the
// chair console (a seat opens its actions), the technician console (a seat runs its lamp
// test) and the hall display (read only, nothing to focus). On the consoles the seats are
// buttons with a single tab stop; the arrow keys move between them as they sit in the room.

import { clockTime, h, requestKindShort, stationKey, stationText, t } from './common.js';

/** Seats without a position go in rows of this many below the placed ones
 *  (config/README.md, `[[seat]]` `x`, `y`). */
const ROW_LENGTH = 10;

/** Every seat's cell `{number, x, y}`, front row first and left to right: its own
 *  position, or, without one (or on a cell an earlier seat holds), the next place in rows
 *  of ten after the placed seats. */
export function layout(seats) {
  const taken = new Set();
  const cells = [];
  const unplaced = [];
  for (const s of seats) {
    const p = s.position;
    if (p && !taken.has(`${p.x},${p.y}`)) {
      taken.add(`${p.x},${p.y}`);
      cells.push({ number: s.number, x: p.x, y: p.y });
    } else {
      unplaced.push(s.number);
    }
  }
  const firstFree = cells.length ? Math.max(...cells.map((c) => c.y)) + 1 : 0;
  unplaced.forEach((number, i) => cells.push({ number, x: i % ROW_LENGTH, y: firstFree + Math.floor(i / ROW_LENGTH) }));
  return cells.sort((a, b) => a.y - b.y || a.x - b.x);
}

/** The cell an arrow key (or Home/End, with Ctrl the first or last seat of the room) moves
 *  to from `from`: left and right within the row, up and down to the nearest row with
 *  seats, there the seat nearest in x. `null` if there is none that way, `undefined` if
 *  the key is no navigation key. */
export function neighbour(cells, from, key, ctrl = false) {
  const row = cells.filter((c) => c.y === from.y);
  const nearestRow = (ys) => {
    if (ys.length === 0) return null;
    const y = key === 'ArrowUp' ? Math.max(...ys) : Math.min(...ys);
    return cells.filter((c) => c.y === y)
      .reduce((best, c) => (Math.abs(c.x - from.x) < Math.abs(best.x - from.x) ? c : best));
  };
  switch (key) {
    case 'ArrowLeft': return row.filter((c) => c.x < from.x).at(-1) ?? null;
    case 'ArrowRight': return row.find((c) => c.x > from.x) ?? null;
    case 'ArrowUp': return nearestRow(cells.filter((c) => c.y < from.y).map((c) => c.y));
    case 'ArrowDown': return nearestRow(cells.filter((c) => c.y > from.y).map((c) => c.y));
    case 'Home': return ctrl ? cells[0] : row[0];
    case 'End': return ctrl ? cells.at(-1) : row.at(-1);
    default: return undefined;
  }
}

/** A name short enough for a seat: "Dr. Thomas Becker" → "T. Becker" (titles ending in a
 *  dot are skipped; a single word stays as it is). */
export function shortName(name) {
  const words = String(name).trim().split(/\s+/);
  const first = words.find((w) => !w.endsWith('.'));
  const last = words.at(-1);
  return first && first !== last ? `${first[0]}. ${last}` : last;
}

/** What a station does now: its speaker entry, its request with its 1-based place in the
 *  list, and whether it is next (the head of the list). */
export function stationState(snap, station) {
  const key = stationKey(station);
  const speaker = snap.floor.speakers.find((s) => stationKey(s.station) === key) || null;
  const i = snap.floor.requests.findIndex((r) => stationKey(r.station) === key);
  return { speaker, request: i >= 0 ? { ...snap.floor.requests[i], position: i + 1 } : null, next: i === 0 };
}

/** The desk units serving each seat, from GET /api/v1/devices: seat → [{bus, unit, status,
 *  last_seen_unix_ms, timeouts, crc_errors, exceptions}]. */
export function seatHealth(buses) {
  const bySeat = new Map();
  for (const bus of buses) {
    for (const u of bus.units || []) {
      for (const seat of u.seats || []) {
        if (!bySeat.has(seat)) bySeat.set(seat, []);
        bySeat.get(seat).push({ ...u, bus: bus.id });
      }
    }
  }
  return bySeat;
}

/** A seat's device state: 'offline' if any of its units is, 'online' if all answer,
 *  'none' without a unit, else 'unknown' (not polled yet). */
function deviceState(units) {
  if (!units || units.length === 0) return 'none';
  if (units.some((u) => u.status === 'offline')) return 'offline';
  return units.every((u) => u.status === 'online') ? 'online' : 'unknown';
}

/** The state of a station in words: `{state, short, full, next}`; `short` is what fits on
 *  the seat, `full` what its accessible name says. */
function stateWords(st, occupied) {
  if (st.speaker) {
    const paused = st.speaker.paused_since !== null && st.speaker.paused_since !== undefined;
    const words = paused ? `${t('seatmap.state.speaking')} (${t('timer.paused')})` : t('seatmap.state.speaking');
    return { state: 'speaking', short: words, full: words };
  }
  if (st.request) {
    const r = st.request;
    const n = t('seatmap.short.requested', { n: r.position });
    return {
      state: 'requested',
      short: r.kind === 'ordinary' ? n : `${t(`kind.short.${r.kind}`)} ${n}`,
      full: t('seatmap.state.requested', { kind: requestKindShort(r), n: r.position }),
      next: st.next,
    };
  }
  return occupied
    ? { state: 'present', short: t('seatmap.state.present'), full: t('seatmap.state.present') }
    : { state: 'absent', short: t('seatmap.state.absent'), full: t('seatmap.state.absent') };
}

/** A small menu of actions opened from a seat: the arrow keys move, Enter runs, Escape or
 *  Tab closes and returns to the seat; clicking elsewhere closes it. */
export class ActionMenu {
  /** `host`: the positioned element the menu is placed in (near its seat). */
  constructor(host, id) {
    this.host = host;
    this.el = h('div', { class: 'seat-menu', role: 'menu', id, hidden: true });
    host.append(this.el);
    this.anchor = null;
    this.items = null; // () => the items now
    this.shown = []; // the items as last built
    this.signature = null; // their keys, texts and kinds: unchanged items are not rebuilt
    this.filling = false;
    this.el.addEventListener('keydown', (e) => this.onKey(e));
    this.el.addEventListener('focusout', (e) => {
      if (!this.filling && !this.el.contains(e.relatedTarget)) this.close(false);
    });
    // Safari and Firefox on macOS do not focus a button they press: without this the press
    // would blur the menu, close it, and the click would never reach the item.
    this.el.addEventListener('mousedown', (e) => e.preventDefault());
  }

  get isOpen() {
    return !this.el.hidden;
  }

  /** Opens below `anchor`, labelled `label`, with `items()` → [{key, text, kind, run}]. */
  open(anchor, label, items) {
    this.close(false);
    this.anchor = anchor;
    this.items = items;
    this.el.setAttribute('aria-label', label);
    anchor.setAttribute('aria-expanded', 'true');
    anchor.setAttribute('aria-controls', this.el.id);
    this.signature = null;
    this.fill();
    this.el.hidden = false;
    this.place();
    this.buttons()[0]?.focus();
  }

  /** Rebuilds the items (the station's state changed while open), keeping the focused one. */
  refresh(label) {
    if (!this.isOpen) return;
    if (!this.anchor.isConnected) {
      // The station left (a remote member) while its menu was open: the map's tab stop
      // takes the focus, which would otherwise fall to the page.
      const hadFocus = this.el.contains(document.activeElement);
      this.close(false);
      if (hadFocus) this.el.parentElement?.querySelector('[tabindex="0"]')?.focus();
      return;
    }
    const focused = this.el.contains(document.activeElement) ? document.activeElement.dataset.key : null;
    if (this.el.getAttribute('aria-label') !== label) this.el.setAttribute('aria-label', label);
    this.fill();
    this.place();
    if (focused) (this.buttons().find((b) => b.dataset.key === focused) || this.buttons()[0])?.focus();
  }

  close(returnFocus = true) {
    if (!this.anchor) return;
    const anchor = this.anchor;
    this.anchor = null;
    this.el.hidden = true;
    anchor.setAttribute('aria-expanded', 'false');
    anchor.removeAttribute('aria-controls');
    if (returnFocus) anchor.focus();
  }

  buttons() {
    return [...this.el.querySelectorAll('[role="menuitem"]')];
  }

  /** Builds the items; the same items again are left alone (a screen reader stays where it
   *  was), while what they do follows the floor (a move's target position, say). */
  fill() {
    this.shown = this.items();
    const signature = JSON.stringify(this.shown.map((item) => [item.key, item.text, item.kind]));
    if (signature === this.signature) return;
    this.signature = signature;
    this.filling = true;
    this.el.replaceChildren(...this.shown.map((item) => h('button', {
      type: 'button', role: 'menuitem', tabindex: '-1', class: `small ${item.kind || ''}`.trim(), dataset: { key: item.key },
      onclick: () => {
        const chosen = this.shown.find((x) => x.key === item.key);
        this.close();
        chosen.run();
      },
    }, item.text)));
    this.filling = false;
  }

  place() {
    const a = this.anchor.getBoundingClientRect();
    const box = this.host.getBoundingClientRect();
    const left = Math.min(a.left - box.left, box.width - this.el.offsetWidth);
    this.el.style.left = `${Math.max(0, left)}px`;
    this.el.style.top = `${a.bottom - box.top + 4}px`;
  }

  onKey(e) {
    const buttons = this.buttons();
    const i = buttons.indexOf(document.activeElement);
    let to = null;
    if (e.key === 'ArrowDown') to = buttons[(i + 1) % buttons.length];
    else if (e.key === 'ArrowUp') to = buttons[(i - 1 + buttons.length) % buttons.length];
    else if (e.key === 'Home') to = buttons[0];
    else if (e.key === 'End') to = buttons.at(-1);
    else if (e.key === 'Escape' || e.key === 'Tab') {
      e.preventDefault();
      this.close();
      return;
    } else {
      return;
    }
    e.preventDefault();
    to?.focus();
  }
}

/** The map in `root`. `mode`: 'chair' (seats and remote members are buttons; activating
 *  one calls `onActivate(station, element, name)`), 'tech' (seats are buttons, with their
 *  desk unit's health; remote members are shown only) or 'display' (nothing is a control). */
export class SeatMap {
  constructor(root, { mode, onActivate = null }) {
    this.mode = mode;
    this.onActivate = onActivate;
    this.seatsAreButtons = mode !== 'display';
    this.remoteAreButtons = mode === 'chair';
    this.snap = null;
    this.health = null; // seat → units, or null where the page has no device health
    this.cells = [];
    this.layoutKey = '';
    this.seats = new Map(); // seat number → {item, target, parts, name}
    this.remotes = new Map(); // participant id → the same
    this.current = null; // the seat holding the map's tab stop
    this.currentRemote = null; // the remote member holding the strip's tab stop
    this.pending = null; // {station, name, seq}: say the station's state once the floor reached seq

    const id = root.id || 'seatmap';
    this.hint = this.seatsAreButtons ? h('p', { class: 'hint' }) : null;
    this.front = h('p', { class: 'seatmap-front' });
    this.room = h('ul', { class: 'seatmap-room', role: 'list', id: `${id}-room` });
    this.remoteTitle = h('p', { class: 'seatmap-remote-title', id: `${id}-remote-title` });
    this.remote = h('ul', { class: 'seatmap-remote', role: 'list', 'aria-labelledby': `${id}-remote-title` });
    this.remoteNone = h('p', { class: 'seatmap-remote-none' });
    this.status = h('p', { class: 'sr-only', role: 'status' });
    root.classList.add('seatmap');
    // A narrow screen scrolls the room sideways rather than squeezing names to nothing.
    const scroll = h('div', { class: 'seatmap-scroll' }, this.front, this.room);
    root.replaceChildren(...[this.hint, scroll, this.remoteTitle, this.remote, this.remoteNone, this.status].filter(Boolean));
    if (this.seatsAreButtons) this.room.addEventListener('keydown', (e) => this.roomKey(e));
    if (this.remoteAreButtons) this.remote.addEventListener('keydown', (e) => this.remoteKey(e));
  }

  /** Draws the floor `snap`; `health` (from `seatHealth`), if given, replaces the last. */
  update(snap, health) {
    if (health !== undefined) this.health = health;
    this.snap = snap;
    if (!snap) return;
    this.setText(this.front, t('seatmap.front'));
    this.room.setAttribute('aria-label', t('seatmap.room'));
    this.setText(this.remoteTitle, t('seatmap.remote'));
    this.setText(this.remoteNone, t('seatmap.remote_none'));
    if (this.hint) this.setText(this.hint, t(this.mode === 'chair' ? 'seatmap.hint.chair' : 'seatmap.hint.tech'));
    const key = JSON.stringify(snap.seats.map((s) => [s.number, s.position ?? null]));
    if (key !== this.layoutKey) this.build(snap.seats, key);
    for (const s of snap.seats) this.fill(this.seats.get(s.number), this.seatView(s));
    this.updateRemote();
    this.announce();
  }

  /** Empties the map (the display's non-public part: no name may stay on screen). */
  clear() {
    this.layoutKey = '';
    this.seats.clear();
    this.remotes.clear();
    this.room.replaceChildren();
    this.remote.replaceChildren();
    this.status.textContent = '';
  }

  /** Before a command on `station` (null: it was refused): its new state is to be said in
   *  the live region once the command's events are shown, see `settled`. */
  expect(station) {
    const entry = station ? this.entryOf(station) : null;
    this.pending = entry ? { station, name: entry.name, seq: null } : null;
  }

  /** The command expected is done; its last event is `seq` (one command may change a
   *  station more than once, e.g. its request ends before its microphone opens: only the
   *  state after all of them is said). */
  settled(seq) {
    if (!this.pending) return;
    this.pending.seq = seq;
    this.announce();
  }

  entryOf(station) {
    return station.seat !== undefined ? this.seats.get(station.seat) : this.remotes.get(station.remote);
  }

  announce() {
    if (!this.pending || this.pending.seq === null || !this.snap || this.snap.floor.seq < this.pending.seq) return;
    const entry = this.entryOf(this.pending.station);
    if (entry && entry.name !== this.pending.name) this.status.textContent = entry.name;
    this.pending = null;
  }

  setText(el, text) {
    if (el.textContent !== text) el.textContent = text;
  }

  build(seats, key) {
    this.layoutKey = key;
    this.cells = layout(seats);
    const xs = this.cells.map((c) => c.x);
    const ys = this.cells.map((c) => c.y);
    const minX = Math.min(...xs);
    const minY = Math.min(...ys);
    // An empty column or row is an aisle: drawn, but narrow.
    const track = (from, to, values, full, gap) => Array.from({ length: to - from + 1 },
      (_, i) => (values.includes(from + i) ? full : gap)).join(' ');
    // On a console a seat keeps room for its name (a narrow screen scrolls); the hall
    // display cannot scroll, so there the seats share its width.
    const seat = this.mode === 'display' ? 'minmax(0, 1fr)' : 'minmax(6.5rem, 1fr)';
    this.room.style.gridTemplateColumns = this.cells.length ? track(minX, Math.max(...xs), xs, seat, '0.75rem') : '';
    this.room.style.gridTemplateRows = this.cells.length ? track(minY, Math.max(...ys), ys, 'auto', '0.75rem') : '';
    this.seats.clear();
    if (!this.cells.some((c) => c.number === this.current)) this.current = this.cells[0]?.number ?? null;
    this.room.replaceChildren(...this.cells.map((c) => {
      const entry = this.entry({ seat: c.number });
      entry.item.style.gridColumn = String(c.x - minX + 1);
      entry.item.style.gridRow = String(c.y - minY + 1);
      this.seats.set(c.number, entry);
      return entry.item;
    }));
    if (this.seatsAreButtons) this.rove(this.seats, 'current', this.current);
  }

  /** A seat's or remote member's element: a list item holding a button (or, on the
   *  display, a plain box) with its label, name, state and device lines. A button's name
   *  is one sentence with the full name and every state ("Platz 12, Anna Müller (SPD):
   *  spricht"); the short lines it draws are hidden from screen readers, which would
   *  only hear them twice. */
  entry(station) {
    const button = station.seat !== undefined ? this.seatsAreButtons : this.remoteAreButtons;
    const parts = {
      label: h('span', { class: 'seat-label' }),
      name: h('span', { class: 'seat-name' }),
      state: h('span', { class: 'seat-state' }),
      next: h('span', { class: 'seat-next' }),
      device: h('span', { class: 'seat-device' }),
      spoken: button ? h('span', { class: 'sr-only' }) : null,
    };
    const lines = h('span', { class: 'seat-lines', 'aria-hidden': button ? 'true' : null },
      parts.label, parts.name, parts.state, parts.next, parts.device);
    const target = button
      ? h('button', {
        type: 'button', class: 'seat', tabindex: '-1', 'aria-haspopup': this.mode === 'chair' ? 'menu' : null,
        'aria-expanded': this.mode === 'chair' ? 'false' : null,
        onclick: () => this.activate(station),
      }, parts.spoken, lines)
      : h('div', { class: 'seat' }, lines);
    if (station.seat !== undefined) target.dataset.seat = String(station.seat);
    else target.dataset.remote = station.remote;
    return { item: h('li', {}, target), target, parts, name: '' };
  }

  activate(station) {
    const entry = this.entryOf(station);
    if (station.seat !== undefined) this.rove(this.seats, 'current', station.seat);
    else this.rove(this.remotes, 'currentRemote', station.remote);
    if (this.onActivate) this.onActivate(station, entry.target, entry.name);
  }

  /** Moves the tab stop of `entries` to `key` (the roving tab index). */
  rove(entries, field, key) {
    this[field] = key;
    for (const [k, e] of entries) e.target.tabIndex = k === key ? 0 : -1;
  }

  roomKey(e) {
    const button = e.target.closest('button.seat');
    if (!button || e.altKey || e.metaKey || e.shiftKey) return;
    const from = this.cells.find((c) => c.number === Number(button.dataset.seat));
    const to = neighbour(this.cells, from, e.key, e.ctrlKey);
    if (to === undefined) return;
    e.preventDefault();
    if (!to) return;
    this.rove(this.seats, 'current', to.number);
    this.seats.get(to.number).target.focus();
  }

  remoteKey(e) {
    const button = e.target.closest('button.seat');
    if (!button || e.altKey || e.metaKey || e.shiftKey || e.ctrlKey) return;
    const ids = [...this.remotes.keys()];
    const i = ids.indexOf(button.dataset.remote);
    const to = { ArrowLeft: i - 1, ArrowUp: i - 1, ArrowRight: i + 1, ArrowDown: i + 1, Home: 0, End: ids.length - 1 }[e.key];
    if (to === undefined) return;
    e.preventDefault();
    if (to < 0 || to >= ids.length) return;
    this.rove(this.remotes, 'currentRemote', ids[to]);
    this.remotes.get(ids[to]).target.focus();
  }

  /** What a seat shows: label, short name, state and device, and its accessible name. */
  seatView(seat) {
    const snap = this.snap;
    const station = { seat: seat.number };
    const id = snap.floor.seated[seat.number];
    const person = id ? snap.participants.find((p) => p.id === id) : null;
    const words = stateWords(stationState(snap, station), !!id);
    const label = seat.label === String(seat.number) ? seat.label : `${seat.number} · ${seat.label}`;
    const device = this.deviceView(seat.number);
    const who = person ? `, ${person.group ? `${person.name} (${person.group})` : person.name}` : (id ? `, ${id}` : '');
    const states = [words.full, words.next ? t('seatmap.state.next') : null, device.full].filter(Boolean);
    return {
      label, short: person ? shortName(person.name) : (id ?? ''), words, device,
      name: `${stationText(snap, station)}${who}: ${states.join(', ')}`,
    };
  }

  /** A seat's desk unit as the page shows it: on the chair console only when offline, on
   *  the technician console always (with its errors); the display has none. */
  deviceView(seat) {
    if (!this.health) return { state: null, short: '', full: '' };
    const units = this.health.get(seat);
    const state = deviceState(units);
    if (this.mode !== 'tech') {
      return state === 'offline'
        ? { state, short: `\u26a0 ${t('seatmap.device_short.offline')}`, full: t('seatmap.device.offline') }
        : { state: null, short: '', full: '' };
    }
    const errors = (units || []).reduce((sum, u) => ({
      timeouts: sum.timeouts + (u.timeouts || 0), crc: sum.crc + (u.crc_errors || 0), exceptions: sum.exceptions + (u.exceptions || 0),
    }), { timeouts: 0, crc: 0, exceptions: 0 });
    const count = errors.timeouts + errors.crc + errors.exceptions;
    const seen = (units || []).map((u) => u.last_seen_unix_ms).filter(Boolean);
    const full = [
      t(`seatmap.device.${state}`),
      state === 'offline' && seen.length ? t('seatmap.device.last_seen', { time: clockTime(Math.max(...seen)) }) : null,
      units?.length ? t('seatmap.device.errors', errors) : null,
    ].filter(Boolean).join(', ');
    const short = [`${state === 'offline' ? '\u26a0 ' : ''}${t(`seatmap.device_short.${state}`)}`,
      count ? t('seatmap.device.errors_short', { n: count }) : null].filter(Boolean).join(' · ');
    return { state, short, full };
  }

  fill(entry, view) {
    const { target, parts } = entry;
    this.setText(parts.label, view.label);
    this.setText(parts.name, view.short);
    this.setText(parts.state, view.words.short);
    this.setText(parts.next, view.words.next ? t('seatmap.state.next') : '');
    this.setText(parts.device, view.device.short);
    parts.next.hidden = !view.words.next;
    parts.device.hidden = !view.device.short;
    target.dataset.state = view.words.state;
    target.dataset.next = String(!!view.words.next);
    if (view.device.state) target.dataset.device = view.device.state;
    else delete target.dataset.device;
    entry.name = view.name;
    if (parts.spoken) this.setText(parts.spoken, view.name);
  }

  /** The members joined remotely (and any remote station still on the floor), by name. */
  updateRemote() {
    const snap = this.snap;
    const ids = new Set(snap.participants.filter((p) => snap.floor.presence[p.id] === 'remote').map((p) => p.id));
    for (const x of [...snap.floor.speakers, ...snap.floor.requests]) {
      if (x.station.remote !== undefined) ids.add(x.station.remote);
    }
    const people = [...ids].map((id) => snap.participants.find((p) => p.id === id) || { id, name: id })
      .sort((a, b) => a.name.localeCompare(b.name));
    const wanted = people.map((p) => p.id);
    if (wanted.join('\u0000') !== [...this.remotes.keys()].join('\u0000')) {
      const hadFocus = this.remote.contains(document.activeElement);
      const entries = new Map(people.map((p) => [p.id, this.remotes.get(p.id) || this.entry({ remote: p.id })]));
      this.remotes = entries;
      this.remote.replaceChildren(...[...entries.values()].map((e) => e.item));
      if (this.remoteAreButtons) {
        this.rove(entries, 'currentRemote', entries.has(this.currentRemote) ? this.currentRemote : (wanted[0] ?? null));
        // The focused member left: keep the keyboard in the strip, or go back to the room.
        if (hadFocus && !this.remote.contains(document.activeElement)) {
          (entries.get(this.currentRemote)?.target ?? this.seats.get(this.current)?.target)?.focus();
        }
      }
    }
    for (const p of people) {
      const station = { remote: p.id };
      const words = stateWords(stationState(snap, station), true);
      const states = [words.full, words.next ? t('seatmap.state.next') : null];
      const who = p.group ? `${p.name} (${p.group})` : p.name;
      this.fill(this.remotes.get(p.id), {
        label: p.group ?? '', short: p.name, words, device: { state: null, short: '', full: '' },
        name: `${who}, ${t('station.remote')}: ${states.filter(Boolean).join(', ')}`,
      });
    }
    this.remote.hidden = people.length === 0;
    this.remoteNone.hidden = people.length > 0;
  }
}
