// The room display (/display, 1920×1080 hall screen) and the stream overlay (/overlay,
// a transparent lower third for OBS): who speaks, their time, (display) who is next and
// the groups' remaining speaking time, the current agenda item and the meeting's state.
// The display's `?layout=map` shows the seat map (read only) instead of the list of next
// speakers: each seat's state, the remote members beside the room.
// A remote speaker is marked as remote in words, not by colour alone. In the non-public
// part both show only a neutral screen: no name, no list (the daemon also sends viewers
// none; the page clears what it showed, whoever it is logged in as).

import {
  LiveFloor, budgetRows, currentEntry, everyQuarterSecond, formatMs, h, initScreenLanguage, isRemote,
  itemLabel, optionLabel, outcomeText, personOf, quorumText, remoteBadge, stationText, t, timerView,
  voteProgress, whoami,
} from './common.js';
import { SeatMap } from './seatmap.js';

const $ = (id) => document.getElementById(id);
const overlay = document.body.classList.contains('overlay');
let snap = null;

/** The language of the hall display and the overlay when their address has no `?lang=`:
 *  the one place a room-wide default (e.g. from the room file) would come in. */
const SCREEN_LANGUAGE = 'de';

// Screens nobody operates: no language switch, no remembered choice, no browser default.
initScreenLanguage(SCREEN_LANGUAGE);
if (!overlay) whoami().then((me) => { $('room').textContent = me.room_name || 'Podium'; });

const nonPublic = () => snap.floor.public === false;

// The seat map layout, chosen in the screen's address (the display has no controls). It
// shows only what the display receives anyway: the floor, and no device health.
const seatMap = !overlay && new URLSearchParams(location.search).get('layout') === 'map'
  ? new SeatMap($('seatmap'), { mode: 'display' }) : null;
if (seatMap) document.body.classList.add('layout-map');

/** The speaker to show big: the most recent delegate, else the most recent speaker
 *  (the chair speaks often and briefly; the delegate holds the floor). */
function mainSpeaker() {
  const speakers = snap.floor.speakers;
  const delegates = speakers.filter((s) => !s.exempt);
  return (delegates.length ? delegates : speakers).at(-1) || null;
}

function tick() {
  if (!snap || nonPublic()) return;
  const sp = mainSpeaker();
  if (sp) {
    const tv = timerView(sp);
    const el = $('speaker-timer');
    el.dataset.state = tv.state;
    el.querySelector('.time').textContent = tv.text;
    el.querySelector('.timer-note').textContent = tv.note;
  }
  if (!overlay) renderBudgets();
}

/** "SPD: 4:30", with the state in words when it is not fine: "(bald aufgebraucht)",
 *  "(aufgebraucht)", "−0:12 (überzogen)". */
function budgetText(row) {
  const time = formatMs(row.remaining);
  const word = row.state === 'ok' ? '' : ` (${t(`budget.short.${row.state}`)})`;
  return `${row.group}: ${time}${word}`;
}

function renderBudgets() {
  const rows = budgetRows(snap);
  $('budgets').hidden = rows.length === 0;
  const list = $('budget-list');
  const items = [...list.children];
  if (items.length === rows.length && rows.every((r, i) => items[i].dataset.group === r.group)) {
    rows.forEach((r, i) => {
      const text = budgetText(r);
      if (items[i].textContent !== text) items[i].textContent = text;
      items[i].dataset.state = r.state;
    });
  } else {
    list.replaceChildren(...rows.map((r) => h('li', { dataset: { group: r.group, state: r.state } }, budgetText(r))));
  }
}

/** The quorum while a meeting runs (numbers only). */
function renderQuorum() {
  const q = snap.floor.quorum;
  const show = !!q && q.statutory > 0 && (snap.floor.phase === 'open' || snap.floor.phase === 'suspended');
  $('quorum-line').hidden = !show;
  $('quorum-line').textContent = show ? quorumText(q) : '';
  $('quorum-line').dataset.quorate = String(!!q?.quorate);
}

/** The vote: its question and how many have voted while it runs; the result (totals and
 *  the outcome) once closed, while its item is still current. Nothing per member. */
function renderVote() {
  const vote = snap.floor.vote;
  const sameItem = vote && (vote.item ?? null) === (snap.floor.current_item ?? null);
  const show = !!vote && (!vote.result || sameItem);
  $('vote-box').hidden = !show;
  if (!show) {
    $('vote-question').textContent = '';
    $('vote-totals').replaceChildren();
    return;
  }
  $('vote-question').textContent = vote.question;
  const progress = voteProgress(snap, vote);
  $('vote-progress').textContent = t(vote.result ? 'vote.progress_closed' : 'vote.progress', progress);
  $('vote-result').hidden = !vote.result;
  $('vote-totals').hidden = !vote.result;
  if (vote.result) {
    $('vote-result').textContent = outcomeText(vote.result);
    $('vote-result').dataset.outcome = vote.result.outcome;
    $('vote-totals').replaceChildren(...vote.result.totals.map((x) => h('li', { dataset: { option: x.option } },
      `${optionLabel(vote, x.option)}: ${x.count}`)));
  } else {
    $('vote-result').textContent = '';
    $('vote-totals').replaceChildren();
  }
}

/** The non-public part: everything that could name someone is emptied, only the neutral
 *  screen stays. */
function renderNonPublic() {
  document.body.classList.add('nonpublic');
  $('nonpublic').hidden = false;
  $('speaker').hidden = true;
  $('speaker-name').textContent = '';
  $('speaker-meta').replaceChildren();
  $('phase').hidden = true;
  $('item').hidden = true;
  $('item').textContent = '';
  $('quorum-line').hidden = true;
  $('quorum-line').textContent = '';
  $('vote-box').hidden = true;
  $('vote-question').textContent = '';
  $('vote-progress').textContent = '';
  $('vote-result').textContent = '';
  $('vote-totals').replaceChildren();
  if (overlay) return;
  $('more').textContent = '';
  $('next').replaceChildren();
  $('budget-list').replaceChildren();
  $('seatmap-box').hidden = true;
  seatMap?.clear();
}

function render() {
  if (!snap) return;
  if (nonPublic()) {
    renderNonPublic();
    return;
  }
  document.body.classList.remove('nonpublic');
  $('nonpublic').hidden = true;

  const suspended = snap.floor.phase === 'suspended';
  $('phase').hidden = !suspended;
  $('phase').textContent = suspended ? t('phase.suspended') : '';
  const entry = currentEntry(snap);
  $('item').hidden = !entry;
  $('item').textContent = entry ? itemLabel(entry.item) : '';
  renderQuorum();
  renderVote();

  const sp = mainSpeaker();
  $('speaker').hidden = !sp;
  if (!overlay) $('nobody').hidden = !!sp;
  if (sp) {
    const who = personOf(snap, sp);
    $('speaker-name').textContent = who.name;
    const where = isRemote(sp.station) ? null : stationText(snap, sp.station);
    $('speaker-meta').replaceChildren(
      [who.group, where].filter(Boolean).join(' · '),
      isRemote(sp.station) ? ' ' : '',
      isRemote(sp.station) ? remoteBadge() : '',
    );
    $('speaker').classList.toggle('remote', isRemote(sp.station));
    $('speaker').dataset.station = isRemote(sp.station) ? `remote:${sp.station.remote}` : `seat:${sp.station.seat}`;
    tick();
  }
  if (overlay) return;
  renderBudgets();
  $('seatmap-box').hidden = !seatMap;
  seatMap?.update(snap);
  const others = snap.floor.speakers.filter((s) => s !== sp).map((s) => personOf(snap, s).name);
  $('more').hidden = others.length === 0;
  $('more').textContent = others.length ? `${t('display.more')}: ${others.join(', ')}` : '';
  const upcoming = snap.floor.requests.slice(0, 6).map((r) => {
    const who = personOf(snap, r);
    const kind = r.kind === 'ordinary' ? null : h('span', { class: `badge kind-${r.kind}` }, t(`kind.${r.kind}`));
    return h('li', {}, who.name, who.group ? ` (${who.group})` : '', ' ', isRemote(r.station) ? remoteBadge() : null, ' ', kind);
  });
  $('next').replaceChildren(...upcoming);
  $('next').hidden = upcoming.length === 0;
  $('next-empty').hidden = upcoming.length > 0;
}

new LiveFloor({
  onChange: (s) => { snap = s; render(); },
  onStatus: (status) => {
    // The hall screen shows the connection only when it is not live.
    const conn = $('conn');
    if (!conn) return;
    conn.hidden = status === 'live';
    conn.textContent = status === 'live' ? '' : t(`conn.${status}`);
  },
}).start();
everyQuarterSecond(tick);
