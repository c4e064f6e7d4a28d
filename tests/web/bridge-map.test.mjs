// The Jitsi bridge's decisions (firmware-host/web/bridge-map.js) without a browser: who is
// who, one request per raise, what a grant and a reconnect send.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BridgeCore, fold, wanted } from '../../firmware-host/web/bridge-map.js';

const members = [
  { id: 'roth', name: 'Anna Roth', conference_name: 'Anna Roth', remote_allowed: true },
  { id: 'berg', name: 'Carl Berg', conference_name: 'C. Berg (SPD)', remote_allowed: true },
  { id: 'saal', name: 'Nur im Saal', conference_name: 'Nur im Saal', remote_allowed: false },
];
const texts = { lowerHand: (name) => `lower ${name}` };

function snap({ remote = [], waiting = [], speakers = [] } = {}) {
  return {
    floor: {
      presence: Object.fromEntries(remote.map((id) => [id, 'remote'])),
      requests: waiting.map((id) => ({ station: { remote: id } })),
      speakers: speakers.map((id) => ({ station: typeof id === 'number' ? { seat: id } : { remote: id } })),
    },
  };
}

const podium = (actions) => actions.filter((a) => a.to === 'podium').map((a) => a.command);
const jitsi = (actions) => actions.filter((a) => a.to === 'jitsi').map((a) => [a.name, ...a.args]);

test('names compare without case and extra spaces; the floor gives the conference\'s wish', () => {
  assert.equal(fold('  Anna   ROTH '), 'anna roth');
  const w = wanted(snap({ remote: ['roth', 'berg'], waiting: ['berg'], speakers: [3, 'roth', 'berg'] }));
  assert.deepEqual(w.unmuted, ['roth', 'berg']);
  assert.equal(w.large, 'berg');
  assert.ok(w.waiting.has('berg') && w.remote.has('roth'));
});

test('a known participant joins and requests once per raise; a name used twice is nobody', () => {
  const core = new BridgeCore({ members, texts });
  core.floorChanged(snap(), true);
  core.conferenceJoined('room');
  assert.deepEqual(podium(core.participantJoined('p1', 'anna roth')), [{ command: 'join_remote', participant: 'roth' }]);
  core.floorChanged(snap({ remote: ['roth'] }), false);
  assert.deepEqual(podium(core.hand('p1', 111, 0)), [{ command: 'request', station: { remote: 'roth' }, raised_at: 111 }]);
  assert.deepEqual(podium(core.hand('p1', 111, 0)), [], 'the same raise asks nothing twice');
  core.floorChanged(snap({ remote: ['roth'], waiting: ['roth'] }), false);
  assert.deepEqual(podium(core.hand('p1', 0, 0)), [{ command: 'withdraw', station: { remote: 'roth' } }]);
  // Someone else takes the same name: neither is acted on, and roth leaves the floor.
  const actions = core.participantJoined('p2', 'Anna Roth');
  assert.deepEqual(podium(actions), [{ command: 'leave_remote', participant: 'roth' }]);
  assert.deepEqual(podium(core.hand('p2', 222, 0)), []);
  assert.equal(core.report().filter((p) => p.ambiguous).length, 2);
  // A member who may not attend remotely is not joined.
  assert.deepEqual(podium(core.participantJoined('p3', 'Nur im Saal')), []);
});

test('a grant unmutes the speaker, mutes the rest, and a reconnect converges without asking twice', () => {
  const memory = { handled: { berg: 333 }, joined: ['berg'] };
  const core = new BridgeCore({ members, texts, memory });
  core.conferenceJoined('room');
  core.participantJoined('p1', 'Anna Roth');
  core.participantJoined('p2', 'c. berg (spd)');
  core.participantJoined('g1', 'Gast');
  // Before podiumd's first snapshot a raise is sent at once; berg's was handled before a reload.
  assert.deepEqual(podium(core.hand('p1', 200, 0)), [{ command: 'request', station: { remote: 'roth' }, raised_at: 200 }]);
  assert.deepEqual(podium(core.hand('p2', 333, 0)), []);
  const first = core.floorChanged(snap({ remote: ['roth', 'berg'], waiting: ['roth'] }), true);
  assert.deepEqual(podium(first), [], 'nothing is asked twice');
  assert.deepEqual(jitsi(first).filter(([n]) => n === 'muteRemoteParticipant').map(([, p]) => p).sort(), ['g1', 'p1', 'p2']);
  assert.deepEqual(jitsi(first).at(-1), ['setLargeVideoParticipant', 'room']);
  const grant = core.floorChanged(snap({ remote: ['roth', 'berg'], speakers: ['roth'] }), false);
  assert.deepEqual(jitsi(grant), [
    ['askToUnmute', 'p1'], ['muteRemoteParticipant', 'p2', 'audio'], ['muteRemoteParticipant', 'g1', 'audio'],
    ['setLargeVideoParticipant', 'p1'],
  ]);
  const stop = core.floorChanged(snap({ remote: ['roth', 'berg'] }), false);
  assert.deepEqual(jitsi(stop).map(([n, p]) => `${n} ${p}`).sort(),
    ['muteRemoteParticipant g1', 'muteRemoteParticipant p1', 'muteRemoteParticipant p2', 'setLargeVideoParticipant room']);
  // A request that could not be sent is asked again at the next convergence.
  core.forget('roth', 200);
  assert.deepEqual(podium(core.floorChanged(snap({ remote: ['roth', 'berg'] }), true)),
    [{ command: 'request', station: { remote: 'roth' }, raised_at: 200 }]);
  // A removed request with the hand still up: the member is told in the chat.
  core.floorChanged(snap({ remote: ['roth', 'berg'], waiting: ['roth'] }), false);
  const removed = core.floorChanged(snap({ remote: ['roth', 'berg'] }), false);
  assert.deepEqual(jitsi(removed), [['sendChatMessage', 'lower Anna Roth', 'p1']]);
  // Leaving the conference leaves the floor.
  assert.deepEqual(podium(core.participantLeft('p2')), [{ command: 'leave_remote', participant: 'berg' }]);
});
