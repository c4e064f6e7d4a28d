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
  // Someone else takes the same name: neither is acted on, and roth stays in the floor
  // (an impostor must not take the member out).
  assert.deepEqual(podium(core.participantJoined('p2', 'Anna Roth')), []);
  assert.deepEqual(podium(core.hand('p2', 222, 0)), []);
  assert.equal(core.report().filter((p) => p.ambiguous).length, 2);
  assert.deepEqual(podium(core.participantLeft('p2')), [], 'p1 is roth again, remote already');
  // A member who may not attend remotely is not joined, nor one who sits in the room.
  assert.deepEqual(podium(core.participantJoined('p3', 'Nur im Saal')), []);
  const seated = snap({ remote: ['roth'] });
  seated.floor.presence.berg = { seat: 12 };
  seated.floor.attendance = { berg: { status: 'present', place: { seat: 12 }, by: 'badge' } };
  core.floorChanged(seated, false);
  assert.deepEqual(podium(core.participantJoined('p4', 'C. Berg (SPD)')), []);
  // A hand lowered before the floor shows its request: the request is withdrawn all the same.
  core.floorChanged(snap({ remote: ['roth'] }), false);
  assert.deepEqual(podium(core.hand('p1', 444, 0)), [{ command: 'request', station: { remote: 'roth' }, raised_at: 444 }]);
  assert.deepEqual(podium(core.hand('p1', 0, 0)), [{ command: 'withdraw', station: { remote: 'roth' } }]);
  // An older server's `true`: one raise until it is lowered, across a reconnect.
  const r1 = podium(core.hand('p1', true, 500));
  assert.deepEqual(r1, [{ command: 'request', station: { remote: 'roth' }, raised_at: 500 }]);
  core.conferenceLeft();
  core.conferenceJoined('room2');
  core.participantJoined('p1', 'Anna Roth');
  assert.deepEqual(podium(core.hand('p1', true, 900)), [], 'the same raise after a reconnect');
});

test('a grant unmutes the speaker, mutes the rest, and a reconnect converges without asking twice', () => {
  const memory = { handled: { berg: 333 }, joined: ['berg'] };
  const core = new BridgeCore({ members, texts, memory });
  core.conferenceJoined('room');
  core.participantJoined('p1', 'Anna Roth');
  core.participantJoined('p2', 'c. berg (spd)');
  core.participantJoined('g1', 'Gast');
  // Before podiumd's first snapshot nothing is sent (nobody knows who sits in the room);
  // the first convergence asks. berg's raise was handled before a reload of the page.
  assert.deepEqual(podium(core.hand('p1', 200, 0)), []);
  assert.deepEqual(podium(core.hand('p2', 333, 0)), []);
  const first = core.floorChanged(snap({ remote: ['roth', 'berg'] }), true);
  assert.deepEqual(podium(first), [{ command: 'request', station: { remote: 'roth' }, raised_at: 200 }], 'berg\'s is not asked twice');
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

test('a rejoin of the conference takes nobody out of the floor before the participants are known', () => {
  const core = new BridgeCore({ members, texts });
  core.conferenceJoined('room');
  core.participantJoined('p1', 'Anna Roth');
  core.participantJoined('p2', 'C. Berg (SPD)');
  core.floorChanged(snap({ remote: ['roth', 'berg'], speakers: ['roth'] }), true);
  core.conferenceLeft();
  // Rejoined: the snapshot comes before anyone is reported again.
  assert.deepEqual(podium(core.conferenceJoined('room2')), []);
  assert.deepEqual(podium(core.floorChanged(snap({ remote: ['roth', 'berg'], speakers: ['roth'] }), true)), []);
  const back = core.participantJoined('p1', 'Anna Roth');
  assert.deepEqual(podium(back), []);
  assert.ok(jitsi(back).some(([n, p]) => n === 'askToUnmute' && p === 'p1'), 'the speaker is asked again');
  // The list is complete: berg did not come back, so berg has left.
  assert.deepEqual(podium(core.participantsListed()), [{ command: 'leave_remote', participant: 'berg' }]);
});

test('odd hand values, a lost leave and a lost withdrawal', () => {
  const core = new BridgeCore({ members, texts });
  core.conferenceJoined('room');
  core.floorChanged(snap({ remote: ['roth'] }), true);
  core.participantJoined('p1', 'Anna Roth');
  // A value that is no time (negative, a fraction) is a raise without one: stamped when seen.
  assert.deepEqual(podium(core.hand('p1', -5, 1000)), [{ command: 'request', station: { remote: 'roth' }, raised_at: 1000 }]);
  assert.ok(core.report().every((p) => p.hand_raised_at === null || Number.isSafeInteger(p.hand_raised_at)));
  // The withdrawal for the lowered hand does not arrive: the next convergence sends it again.
  core.floorChanged(snap({ remote: ['roth'], waiting: ['roth'] }), false);
  assert.deepEqual(podium(core.hand('p1', 0, 0)), [{ command: 'withdraw', station: { remote: 'roth' } }]);
  assert.ok(podium(core.floorChanged(snap({ remote: ['roth'], waiting: ['roth'] }), true))
    .some((c) => c.command === 'withdraw'));
  // The leave does not arrive (podiumd down): sent again until the floor shows roth gone.
  assert.deepEqual(podium(core.participantLeft('p1')), [{ command: 'leave_remote', participant: 'roth' }]);
  core.participantsListed();
  assert.ok(podium(core.floorChanged(snap({ remote: ['roth'] }), true)).some((c) => c.command === 'leave_remote'));
  assert.deepEqual(podium(core.floorChanged(snap({}), true)), []);
  assert.deepEqual(core.memory().joined, []);
});

test('with mute_others off, a speaker who no longer maps to a member is still muted', () => {
  const core = new BridgeCore({ members, texts, muteOthers: false });
  core.conferenceJoined('room');
  core.participantJoined('p1', 'Anna Roth');
  core.floorChanged(snap({ remote: ['roth'], speakers: ['roth'] }), true);
  const renamed = core.nameChanged('p1', 'Anna (Laptop)');
  assert.ok(jitsi(renamed).some(([n, p]) => n === 'muteRemoteParticipant' && p === 'p1'));
});
