// The remote member's page (opened through the personal link, which started a session
// for exactly this member): join, request the floor (an ordinary request pro or contra),
// withdraw, see one's position and who speaks; unmistakable feedback when the floor is
// granted, and ending one's own turn where the rules let members switch off.

import {
  LiveFloor, attendanceOf, command, commandNotice, currentEntry, everyQuarterSecond, h, initLanguage, isRemote,
  itemLabel, notEntitledReason, optionLabel, personOf, placeText, remoteBadge, resultLine, say, showConnection,
  stationText, t, timerView, voteProgress, whoami,
} from './common.js';

const $ = (id) => document.getElementById(id);
const notice = $('notice');
let me = null;
let snap = null;
let wasGranted = false;
let wasJoined = false; // joined remotely at the last change
let wasMovedOut = false; // moved out of the non-public part while joined

initLanguage(() => { langKey += 1; render(); });

const own = () => ({ remote: me.participant });
const mine = (st) => isRemote(st) && st.remote === me.participant;

async function send(body) {
  const r = await command(body);
  say(notice, ...commandNotice(r));
  return r.ok;
}

/** The stance chosen for an ordinary request, if any ('pro' or 'contra'). */
function stance() {
  return document.querySelector('input[name="stance"]:checked')?.value || undefined;
}

$('join').addEventListener('click', () => send({ command: 'join_remote', participant: me.participant }));
$('leave').addEventListener('click', () => send({ command: 'leave_remote', participant: me.participant }));
$('request').addEventListener('click', async () => {
  const ok = await send({ command: 'request', station: own(), kind: 'ordinary', stance: stance() });
  // The stance belongs to this request: the next one starts without.
  if (ok) $('stance-none').checked = true;
});
$('point-of-order').addEventListener('click', () => send({ command: 'request', station: own(), kind: 'point_of_order' }));
$('reply').addEventListener('click', () => send({ command: 'request', station: own(), kind: 'reply' }));
$('withdraw').addEventListener('click', () => send({ command: 'withdraw', station: own() }));
// A member ends their own turn with `cancel` (as the desk unit's cancel key): the engine
// closes their microphone where `members_may_switch_off` allows; `stop` is the chair's.
$('stop').addEventListener('click', () => send({ command: 'cancel', station: own() }));

// ---------------------------------------------------------------- attendance and votes

// What this member clicked in a secret vote: shown only here, from the click, never read
// from the state (which has no choice in a secret vote).
let secretChoice = null; // {vote, choice}

function renderAttendance() {
  const a = attendanceOf(snap, me.participant);
  let text = t('remote.attendance.unknown');
  if (a) {
    const where = a.status === 'present' && a.place !== undefined ? ` (${placeText(snap, a.place)})` : '';
    text = t('remote.attendance', { status: `${t(`attendance.status.${a.status}`)}${where}`, by: t(`attendance.by.${a.by}`) });
  }
  $('attendance').textContent = text;
}

async function castVote(vote, choice) {
  const ok = await send({ command: 'cast_vote', choice });
  if (ok && vote.kind === 'secret') secretChoice = { vote: vote.id, choice };
  render();
  if (ok && $('vote-options').hidden) $('vote-confirm').focus();
}

function renderVote() {
  const vote = snap.floor.vote;
  $('vote-card').hidden = !vote;
  if (!vote) return;
  const running = !vote.result;
  const secret = vote.kind === 'secret';
  $('vote-question').textContent = vote.question;
  $('vote-facts').textContent = [t(`vote.kind.${vote.kind}`), t(running ? 'vote.state.open' : 'vote.state.closed')].join(' · ');
  const ballot = vote.ballots?.[me.participant];
  const reason = notEntitledReason(snap, vote, me.participant);
  const joined = snap.floor.presence[me.participant] === 'remote';
  let why = '';
  if (running && !ballot) {
    if (!vote.remote_allowed) why = t('vote.remote_not_allowed');
    else if (reason === 'not_present' || (!reason && !joined)) {
      const a = attendanceOf(snap, me.participant);
      why = t(a?.status === 'present' && a.place?.seat !== undefined ? 'vote.at_seat' : 'vote.join_first');
    } else if (reason) why = t(`vote.not_entitled.${reason}`);
  }
  $('vote-notice').hidden = !why;
  $('vote-notice').textContent = why;
  $('vote-notice').dataset.kind = 'info';

  const mine = secret ? (secretChoice?.vote === vote.id ? secretChoice.choice : null) : ballot?.choice ?? null;
  const buttons = running && !why && joined && !reason && vote.remote_allowed && (!ballot || vote.changeable);
  $('vote-options').hidden = !buttons;
  if (buttons) {
    const key = `${vote.id}:${mine}:${currentLangKey()}`;
    if ($('vote-options').dataset.key !== key) {
      const focused = document.activeElement?.dataset?.option;
      $('vote-options').dataset.key = key;
      $('vote-options').replaceChildren(...vote.options.map((o) => h('button', {
        type: 'button', class: mine === o.id ? 'primary vote-option' : 'vote-option',
        'aria-pressed': String(mine === o.id), dataset: { option: o.id },
        onclick: () => castVote(vote, o.id),
      }, optionLabel(vote, o.id))));
      if (focused) $('vote-options').querySelector(`[data-option="${CSS.escape(focused)}"]`)?.focus();
    }
  } else {
    $('vote-options').replaceChildren();
    delete $('vote-options').dataset.key;
  }

  let confirm = '';
  if (ballot) {
    if (secret) {
      confirm = mine ? t('vote.counted_secret_mine', { choice: optionLabel(vote, mine) }) : t('vote.counted_secret');
    } else {
      confirm = t('vote.counted', { choice: optionLabel(vote, ballot.choice) });
      if (running && vote.changeable) confirm += ` ${t('vote.may_change')}`;
    }
  } else if (!running) {
    confirm = t('vote.did_not_vote');
  }
  $('vote-confirm').hidden = !confirm;
  $('vote-confirm').tabIndex = -1;
  if ($('vote-confirm').textContent !== confirm) $('vote-confirm').textContent = confirm;
  $('vote-progress').textContent = t('vote.progress', voteProgress(snap, vote));
  $('vote-result').hidden = running;
  $('vote-result').textContent = running ? '' : resultLine(vote);
  if (!running) $('vote-result').dataset.outcome = vote.result.outcome;
}

let langKey = 0;
const currentLangKey = () => langKey;

/** The meeting's state, the current item, and the member's own standing in words: moved
 *  out of the non-public part, or excluded from the item for conflict of interest. */
function renderMeeting() {
  const f = snap.floor;
  const phase = f.phase || 'none';
  $('meeting-line').textContent = phase === 'suspended' ? t('remote.suspended')
    : phase === 'open' ? t('phase.open') : t('remote.no_meeting');
  $('meeting-line').dataset.phase = phase;
  const entry = currentEntry(snap);
  const parts = [];
  if (entry) parts.push(t('remote.item', { item: itemLabel(entry.item) }));
  if (f.public === false) parts.push(t('remote.non_public'));
  $('item-line').textContent = parts.join(' ');
  $('item-line').hidden = parts.length === 0;

  const person = snap.participants.find((x) => x.id === me.participant);
  const presence = f.presence[me.participant];
  const absent = presence === undefined || presence === null || presence === 'absent';
  // Not admitted to the non-public part: the engine moved this member out (or refuses the join).
  const notAdmitted = f.public === false && absent && (person ? person.nonpublic_allowed === false : true);
  if (!absent) wasMovedOut = false;
  else if (notAdmitted && wasJoined) wasMovedOut = true;
  wasJoined = presence === 'remote';
  const reason = entry?.excluded?.[me.participant];
  let warning = '';
  if (notAdmitted) warning = t(wasMovedOut ? 'remote.moved_out' : 'remote.not_admitted');
  else if (reason !== undefined) warning = reason ? t('remote.excluded', { reason }) : t('remote.excluded_no_reason');
  $('part-line').hidden = !warning;
  if ($('part-line').textContent !== warning) $('part-line').textContent = warning;
  $('part-line').dataset.kind = 'error';
}

/** "Wortmeldung" or, with a stance, "Wortmeldung, dafür". */
function requestKind(r) {
  const kind = t(`kind.${r.kind}`);
  return r.stance ? t('remote.kind_stance', { kind, stance: t(`stance.${r.stance}`) }) : kind;
}

function render() {
  if (!snap || !me) return;
  renderMeeting();
  const f = snap.floor;
  const presence = f.presence[me.participant];
  const joined = presence === 'remote';
  // In the conference since an earlier meeting, but not checked in for this one: joining
  // again is the check-in (attendance ends with each meeting).
  const checkedIn = attendanceOf(snap, me.participant)?.status === 'present';
  if (joined && checkedIn) $('presence').textContent = t('remote.joined');
  else if (joined) $('presence').textContent = t('remote.joined_not_present');
  else if (presence && presence.seat !== undefined) $('presence').textContent = t('remote.elsewhere', { n: presence.seat });
  else $('presence').textContent = t('remote.not_joined');
  $('join').hidden = joined && checkedIn;
  $('join').dataset.i18n = joined ? 'remote.check_in' : 'remote.join';
  $('join').textContent = t($('join').dataset.i18n);
  $('leave').hidden = !joined;
  renderAttendance();
  renderVote();

  const index = f.requests.findIndex((r) => mine(r.station));
  const speaking = f.speakers.some((s) => mine(s.station));
  $('position').textContent = index >= 0
    ? t('remote.position', { n: index + 1, kind: requestKind(f.requests[index]) })
    : t('remote.no_request');
  const cannotRequest = !joined || index >= 0 || speaking;
  for (const id of ['request', 'point-of-order', 'reply']) $(id).disabled = cannotRequest;
  $('stance').disabled = cannotRequest;
  $('withdraw').disabled = index < 0;
  const stopFocused = document.activeElement === $('stop');
  $('stop').hidden = !(speaking && f.profile.limits.members_may_switch_off);
  // The button goes when the turn ends: keep the keyboard in the card.
  if (stopFocused && $('stop').hidden) $('request').focus();

  $('granted').hidden = !speaking;
  $('granted').textContent = speaking ? t('remote.granted') : '';
  if (speaking && !wasGranted && navigator.vibrate) navigator.vibrate(300);
  wasGranted = speaking;

  $('nobody').hidden = f.speakers.length > 0;
  $('speakers').replaceChildren(...f.speakers.map((sp) => {
    const who = personOf(snap, sp);
    const tv = timerView(sp);
    return h('li', { class: isRemote(sp.station) ? 'remote' : '' },
      h('div', {},
        h('div', { class: 'who' }, who.name),
        h('div', { class: 'meta' }, [who.group, isRemote(sp.station) ? null : stationText(snap, sp.station)].filter(Boolean).join(' · '),
          ' ', isRemote(sp.station) ? remoteBadge() : null)),
      h('div', { class: 'timer', 'data-state': tv.state, dataset: { timer: '1' } },
        h('span', { class: 'time' }, tv.text), h('span', { class: 'timer-note' }, tv.note)));
  }));
  const list = f.requests.map((r) => {
    const who = personOf(snap, r);
    const kind = r.kind === 'ordinary' ? null : h('span', { class: `badge kind-${r.kind}` }, t(`kind.${r.kind}`));
    const side = r.stance ? ` (${t(`stance.${r.stance}`)})` : '';
    return h('li', { class: mine(r.station) ? 'position' : '' }, who.name, side, ' ', isRemote(r.station) ? remoteBadge() : null, ' ', kind);
  });
  $('list').replaceChildren(...list);
  $('list').hidden = list.length === 0;
  $('list-empty').hidden = list.length > 0;
}

function tick() {
  if (!snap) return;
  const timers = document.querySelectorAll('#speakers [data-timer]');
  snap.floor.speakers.forEach((sp, i) => {
    const el = timers[i];
    if (!el) return;
    const tv = timerView(sp);
    el.dataset.state = tv.state;
    el.querySelector('.time').textContent = tv.text;
    el.querySelector('.timer-note').textContent = tv.note;
  });
}

whoami().then((who) => {
  me = who;
  if (me.role !== 'member' || !me.participant) {
    say(notice, t('error.unauthorized'), 'error');
    return;
  }
  $('room').textContent = me.room_name ? `· ${me.room_name}` : '';
  // With a Jitsi bridge, the conference opens under the name the bridge knows this member by.
  if (typeof me.conference_url === 'string' && /^https?:\/\//.test(me.conference_url)) {
    $('conference-url').href = me.conference_url;
    $('conference-link').hidden = false;
  }
  new LiveFloor({
    onChange: (s) => {
      snap = s;
      // In the non-public part a member not admitted to it gets the public view, without
      // names: the name shown before stays.
      const person = snap.participants.find((x) => x.id === me.participant);
      if (person) $('member').textContent = person.name;
      else if (!$('member').dataset.named) $('member').textContent = me.participant;
      if (person) $('member').dataset.named = '1';
      render();
    },
    onStatus: (status) => showConnection($('conn'), status),
    // The session ended (it expired, or was ended elsewhere): opening the personal link
    // again (this page's address) starts a fresh one instead of reconnecting in vain.
    onSessionLost: () => location.reload(),
  }).start();
});
everyQuarterSecond(tick);
