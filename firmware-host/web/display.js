// The room display (/display, 1920×1080 hall screen) and the stream overlay (/overlay,
// a transparent lower third for OBS): who speaks, their time, and (display) who is next.
// A remote speaker is marked as remote in words, not by colour alone.

import {
  LiveFloor, everyQuarterSecond, h, initLanguage, isRemote, personOf, remoteBadge,
  stationText, t, timerView, whoami,
} from './common.js';

const $ = (id) => document.getElementById(id);
const overlay = document.body.classList.contains('overlay');
let snap = null;

initLanguage(() => render());
if (!overlay) whoami().then((me) => { $('room').textContent = me.room_name || 'Podium'; });

/** The speaker to show big: the most recent delegate, else the most recent speaker
 *  (the chair speaks often and briefly; the delegate holds the floor). */
function mainSpeaker() {
  const speakers = snap.floor.speakers;
  const delegates = speakers.filter((s) => !s.exempt);
  return (delegates.length ? delegates : speakers).at(-1) || null;
}

function tick() {
  const sp = snap && mainSpeaker();
  if (!sp) return;
  const tv = timerView(sp);
  const el = $('speaker-timer');
  el.dataset.state = tv.state;
  el.querySelector('.time').textContent = tv.text;
  el.querySelector('.timer-note').textContent = tv.note;
}

function render() {
  if (!snap) return;
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
