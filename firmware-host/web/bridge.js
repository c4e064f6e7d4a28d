// The Jitsi Meet bridge page, opened once per meeting in the room's conference PC browser
// as the conference's moderator. It joins the conference through the server's IFrame API
// (external_api.js; https://jitsi.github.io/handbook/docs/dev-guide/dev-guide-iframe),
// follows the floor through podiumd's event stream, and carries out what BridgeCore
// (bridge-map.js) decides: presence and hands to podiumd, unmute requests, mutes and the
// large video to the conference. It reconnects to both sides by itself and reports its
// state to podiumd for the technician console every 10 s and after every change.

import { LiveFloor, api, h, initLanguage, replaceKeepingFocus, say, t, whoami } from './common.js';
import { BridgeCore } from './bridge-map.js';

const $ = (id) => document.getElementById(id);
const MEMORY_KEY = 'podium.bridge.memory';
const REPORT_EVERY_MS = 10_000;
/** A join that has not completed by then is given up and tried again. */
const JOIN_TIMEOUT_MS = 30_000;
/** Without getRoomsInfo (older servers), the participants are taken as known this long
 *  after the join (they arrive as participantJoined). */
const SETTLE_MS = 3_000;

const state = {
  core: null,
  setup: null,
  jitsi: null,
  conference: 'joining',
  podium: false,
  actions: 0,
  failures: 0,
  lastAction: null,
  lastActionAt: null,
  queue: Promise.resolve(),
  fresh: true,
  retry: 1000,
};

function remember() {
  try {
    sessionStorage.setItem(MEMORY_KEY, JSON.stringify(state.core.memory()));
  } catch { /* private mode: the floor's own idempotence still holds */ }
}

function recalled() {
  try {
    return JSON.parse(sessionStorage.getItem(MEMORY_KEY) || '{}');
  } catch {
    return {};
  }
}

/** Carries out actions one after another, in order (a join before the request it
 *  enables), counting each and keeping the last for the report. */
function run(actions) {
  remember();
  if (!actions.length) return;
  state.queue = state.queue.catch(() => {}).then(async () => {
    for (const action of actions) {
      let ok = true;
      if (action.to === 'podium') {
        const r = await post(action.command);
        // A repeated join or a request the floor already has is no failure.
        ok = r.ok || r.status === 409;
        if (!r.ok) console.warn('podium refused', action.command, r.data);
        // A request that did not arrive (podiumd down, rate-limited, the login gone) is
        // asked again at the next convergence; the floor's answer 409 means it is there.
        if (!r.ok && r.status !== 409 && action.command.command === 'request') {
          state.core.forget(action.member, action.command.raised_at);
          remember();
          setTimeout(() => run(state.core.retryHands()), 3000);
        }
      } else if (state.jitsi) {
        try {
          state.jitsi.executeCommand(action.name, ...action.args);
        } catch (e) {
          ok = false;
          console.warn('conference refused', action.name, e);
        }
      } else {
        continue; // out of the conference: converged again on the next join
      }
      state.actions += 1;
      if (!ok) state.failures += 1;
      state.lastAction = describe(action);
      state.lastActionAt = Date.now();
    }
    render();
    report();
  });
}

/** A floor command with a deadline: one hung call must not hold up the conference
 *  commands queued behind it. */
async function post(body) {
  try {
    const r = await fetch('/api/v1/commands', {
      method: 'POST',
      headers: { accept: 'application/json', 'content-type': 'application/json', 'x-podium-csrf': '1' },
      credentials: 'same-origin',
      cache: 'no-store',
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(5000),
    });
    return { ok: r.ok, status: r.status, data: await r.json().catch(() => null) };
  } catch {
    return { ok: false, status: 0, data: null };
  }
}

function describe(action) {
  const who = action.member ? state.setup.members.find((m) => m.id === action.member)?.name ?? action.member : '';
  const what = action.to === 'podium' ? action.command.command : action.name;
  return `${what}${who ? ` ${who}` : ''}`.slice(0, 200);
}

// ---------------------------------------------------------------- the conference

function loadScript(url) {
  return new Promise((resolve, reject) => {
    const script = document.createElement('script');
    script.src = url;
    script.onload = resolve;
    script.onerror = () => { script.remove(); reject(new Error(`cannot load ${url}`)); };
    document.head.append(script);
  });
}

async function connectConference() {
  const jitsi = state.setup.jitsi;
  state.conference = 'joining';
  render();
  if (typeof window.JitsiMeetExternalAPI !== 'function') {
    try {
      await loadScript(jitsi.external_api);
    } catch {
      say($('notice'), t('bridge.no_script', { url: jitsi.external_api }), 'error');
      return retryConference();
    }
  }
  say($('notice'), '');
  const options = {
    roomName: jitsi.room,
    parentNode: $('jitsi'),
    userInfo: { displayName: jitsi.display_name },
    configOverwrite: { prejoinConfig: { enabled: false }, prejoinPageEnabled: false },
  };
  if (jitsi.no_ssl) options.noSSL = true;
  let conference;
  try {
    conference = new window.JitsiMeetExternalAPI(jitsi.domain, options);
  } catch (e) {
    console.warn('cannot start the conference', e);
    say($('notice'), t('bridge.no_script', { url: jitsi.external_api }), 'error');
    return retryConference();
  }
  state.jitsi = conference;
  const joinTimer = setTimeout(() => left(), JOIN_TIMEOUT_MS);
  conference.addListener('videoConferenceJoined', async (e) => {
    clearTimeout(joinTimer);
    if (state.jitsi !== conference) return;
    state.conference = 'joined';
    state.retry = 1000;
    run(state.core.conferenceJoined(e.id));
    render();
    // Who was there before us also arrives as participantJoined; the list makes sure, and
    // only once it is known is anyone the page joined taken for gone.
    const settled = new Promise((resolve) => setTimeout(() => resolve(null), SETTLE_MS));
    try {
      // Older servers have no getRoomsInfo, or never answer it: then the settling time.
      const info = await Promise.race([conference.getRoomsInfo(), settled]);
      const main = info?.rooms?.find((r) => r.isMainRoom) ?? info?.rooms?.[0];
      for (const p of main?.participants ?? []) {
        if (state.jitsi === conference) run(state.core.participantJoined(p.id, p.displayName));
      }
    } catch {
      await settled;
    }
    if (state.jitsi === conference) run(state.core.participantsListed());
    render();
  });
  conference.addListener('participantJoined', (e) => { run(state.core.participantJoined(e.id, e.displayName)); render(); });
  conference.addListener('participantLeft', (e) => { run(state.core.participantLeft(e.id)); render(); });
  conference.addListener('displayNameChange', (e) => {
    run(state.core.nameChanged(e.id, e.displayname ?? e.displayName));
    render();
  });
  conference.addListener('raiseHandUpdated', (e) => { run(state.core.hand(e.id, e.handRaised, Date.now())); render(); });
  function left() {
    clearTimeout(joinTimer);
    if (state.jitsi !== conference) return;
    state.jitsi = null;
    state.conference = 'left';
    state.core.conferenceLeft();
    try { conference.dispose(); } catch { /* already gone */ }
    render();
    report();
    retryConference();
  }
  conference.addListener('videoConferenceLeft', left);
  conference.addListener('readyToClose', left);
}

function retryConference() {
  const wait = state.retry;
  state.retry = Math.min(state.retry * 2, 30_000);
  setTimeout(connectConference, wait);
}

// ---------------------------------------------------------------- podiumd

function connectPodium() {
  let lastSnap = null;
  const live = new LiveFloor({
    onChange: (snap, event) => {
      // LiveFloor repeats the snapshot it has when a stream opens again (after its clock
      // sync): that is no news, and may be from before the outage; the fresh one follows.
      if (event === null && snap === lastSnap) return;
      lastSnap = snap;
      // A snapshot (event null) starts a stream: check everything again.
      const fresh = event === null || state.fresh;
      state.fresh = false;
      run(state.core.floorChanged(snap, fresh));
    },
    onStatus: (status) => {
      state.podium = status === 'live';
      if (status !== 'live') state.fresh = true;
      render();
    },
    onSessionLost: () => location.assign(`/login?next=${encodeURIComponent(location.pathname)}`),
  });
  live.start();
}

// ---------------------------------------------------------------- state

function render() {
  const podium = $('podium');
  podium.textContent = t(state.podium ? 'conn.live' : 'conn.lost');
  podium.dataset.state = state.podium ? 'live' : 'lost';
  const conference = $('conference');
  conference.textContent = t(`bridge.conference.${state.conference}`);
  conference.dataset.state = state.conference;
  $('last-action').textContent = state.lastAction
    ? `${state.lastAction} (${new Date(state.lastActionAt).toLocaleTimeString()})` : '–';
  const rows = state.core.report().map((p) => h('tr', { 'data-member': p.member ?? '' },
    h('td', {}, p.name),
    h('td', { class: p.member ? '' : 'unknown' },
      p.member ? state.setup.members.find((m) => m.id === p.member)?.name ?? p.member
        : t(p.ambiguous ? 'bridge.ambiguous' : 'bridge.unknown')),
    h('td', {}, p.hand_raised_at ? t('bridge.hand_since', { time: new Date(p.hand_raised_at).toLocaleTimeString() }) : '')));
  replaceKeepingFocus($('participants'), ...rows);
  $('no-participants').hidden = rows.length > 0;
  document.documentElement.dataset.bridge = `${state.podium ? 'live' : 'lost'} ${state.conference}`;
}

let reportTimer = null;
function report() {
  clearTimeout(reportTimer);
  reportTimer = setTimeout(sendReport, 250);
}

async function sendReport() {
  clearTimeout(reportTimer);
  reportTimer = setTimeout(sendReport, REPORT_EVERY_MS);
  // Names as podiumd takes them: no control characters, at most 200 characters (code
  // points, so no surrogate pair is cut).
  const clean = (text) => Array.from(String(text).replace(/\p{Cc}/gu, ' ')).slice(0, 200).join('');
  const participants = state.core.report().map(({ name, member, hand_raised_at }) => ({
    name: clean(name), member, hand_raised_at,
  }));
  await api('/api/v1/bridge/report', {
    method: 'PUT',
    body: {
      conference: state.conference,
      podium: state.podium,
      participants: participants.slice(0, 200),
      last_action: state.lastAction === null ? null : clean(state.lastAction),
      last_action_at: state.lastActionAt,
      actions: state.actions,
      failures: state.failures,
    },
  });
}

async function start() {
  initLanguage(() => state.core && render());
  const me = await whoami();
  if (!me.role) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname)}`);
    return;
  }
  const setup = await api('/api/v1/bridge/setup');
  if (!setup.ok || !setup.data.jitsi) {
    say($('notice'), t(setup.ok ? 'bridge.not_configured' : 'bridge.no_setup'), 'error');
    return;
  }
  state.setup = setup.data;
  state.core = new BridgeCore({
    members: setup.data.members,
    muteOthers: setup.data.jitsi.mute_others,
    memory: recalled(),
    texts: { lowerHand: (name) => t('bridge.lower_hand', { name }) },
  });
  render();
  connectPodium();
  connectConference();
  sendReport();
}

start();
