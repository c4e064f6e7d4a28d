// The Jitsi bridge's decisions, without I/O: given what the conference reports and what
// the floor says, which commands go to podiumd and which to the conference. bridge.js
// feeds it events and carries out what it returns; tests/web/bridge-map.test.mjs runs it
// in Node. Every method returns a list of actions:
//   to podiumd:         {to:'podium', command:{...}, member}
//   to the conference:  {to:'jitsi', name:'askToUnmute'|'muteRemoteParticipant'|
//                        'setLargeVideoParticipant'|'sendChatMessage', args:[...], member}

/** How names are compared (the room file's check uses the same rule, config/section/
 *  conference.rs): case and runs of white space do not count. */
export function fold(name) {
  return String(name ?? '').trim().split(/\s+/).join(' ').toLowerCase();
}

/** What the conference must do for a floor snapshot: the rule of the MQTT `conference`
 *  topic (firmware-host/src/mqtt/contract.rs `conference`): every remote speaker unmuted,
 *  the one who got the floor last large. Also who is remote and who waits. */
export function wanted(snap) {
  const floor = snap.floor;
  const unmuted = floor.speakers.filter((s) => s.station.remote !== undefined).map((s) => s.station.remote);
  const presence = Object.entries(floor.presence || {});
  const remote = new Set(presence.filter(([, p]) => p === 'remote').map(([id]) => id));
  // Checked in in the room (at a seat, or marked present in the room): there in person.
  // A seat merely assigned in the room file is no presence.
  const inRoom = (a) => a?.status === 'present' && a.place !== 'remote' && a.place !== undefined;
  const seated = new Set(Object.entries(floor.attendance || {}).filter(([, a]) => inRoom(a)).map(([id]) => id));
  const waiting = new Set(floor.requests.filter((r) => r.station.remote !== undefined).map((r) => r.station.remote));
  return { unmuted, large: unmuted.length ? unmuted[unmuted.length - 1] : null, remote, seated, waiting };
}

export class BridgeCore {
  /** `members`: [{id, name, conference_name, remote_allowed}] from /api/v1/bridge/setup;
   *  `muteOthers`: mute everyone without the floor, not only known members;
   *  `memory`: {handled: {member: raisedAt}, joined: [member]} kept across page reloads,
   *  so no hand is acted on twice; `texts.lowerHand(name)`: the chat notice. */
  constructor({ members, muteOthers = true, memory = {}, texts }) {
    this.byName = new Map(members.map((m) => [fold(m.conference_name), m]));
    this.members = new Map(members.map((m) => [m.id, m]));
    this.muteOthers = muteOthers;
    this.texts = texts;
    this.participants = new Map(); // conference id -> {name, hand}
    this.localId = null;
    // Whether the conference's participants are known since the last join: until then
    // nobody is taken for gone (after a rejoin they arrive one by one).
    this.listed = false;
    this.floor = null; // wanted(snap) of the last snapshot
    this.applied = { unmuted: new Set(), large: undefined };
    this.handled = new Map(Object.entries(memory.handled || {}));
    this.joined = new Set(memory.joined || []);
    // Withdrawals sent for lowered hands, until the floor shows the request gone.
    this.withdrawing = new Set();
  }

  /** A request that did not reach podiumd (it was down): the raise is not yet handled,
   *  so the next convergence asks again. */
  forget(memberId, raisedAt) {
    if (this.handled.get(memberId) === raisedAt) this.handled.delete(memberId);
  }

  /** What must survive a reload of the page. */
  memory() {
    return { handled: Object.fromEntries(this.handled), joined: [...this.joined] };
  }

  /** The member a conference participant is, or null: unknown, or ambiguous (two
   *  participants under one member's name: neither is acted on until one leaves). */
  memberOf(pid) {
    const p = this.participants.get(pid);
    if (!p) return null;
    const m = this.byName.get(fold(p.name));
    if (!m) return null;
    for (const [other, q] of this.participants) {
      if (other !== pid && fold(q.name) === fold(p.name)) return null;
    }
    return m;
  }

  participantOf(memberId) {
    for (const pid of this.participants.keys()) {
      if (this.memberOf(pid)?.id === memberId) return pid;
    }
    return null;
  }

  /** Everyone in the conference but the room, for the report. */
  report() {
    return [...this.participants].map(([pid, p]) => {
      const m = this.memberOf(pid);
      const ambiguous = !m && this.byName.has(fold(p.name));
      return { name: p.name, member: m ? m.id : null, ambiguous, hand_raised_at: p.hand || null };
    });
  }

  // ------------------------------------------------------------ the conference

  /** The page joined the conference (again). Who is already there arrives as
   *  `participantJoined` (and from `getRoomsInfo`, through the same method). */
  conferenceJoined(localId) {
    this.localId = localId;
    this.listed = false;
    this.participants.delete(localId);
    return this.converge();
  }

  /** Everyone in the conference has been reported (`getRoomsInfo`, or a settling time
   *  after the join): who the page joined and is not there has left. */
  participantsListed() {
    this.listed = true;
    return this.converge(false);
  }

  conferenceLeft() {
    this.localId = null;
    this.listed = false;
    this.participants = new Map();
    this.applied = { unmuted: new Set(), large: undefined };
    return [];
  }

  participantJoined(pid, name) {
    if (pid === this.localId) return [];
    const before = this.mapped();
    const known = this.participants.has(pid);
    this.participants.set(pid, { name: name ?? '', hand: this.participants.get(pid)?.hand || 0 });
    const actions = this.remapped(before);
    // Whoever comes in while others have the floor starts muted.
    if (!known && this.floor && this.localId !== null && !this.applied.unmuted.has(pid)
        && (this.muteOthers || this.memberOf(pid))) {
      actions.push({ to: 'jitsi', member: this.memberOf(pid)?.id, name: 'muteRemoteParticipant', args: [pid, 'audio'] });
    }
    return actions;
  }

  participantLeft(pid) {
    const before = this.mapped();
    this.participants.delete(pid);
    this.applied.unmuted.delete(pid);
    return this.remapped(before);
  }

  nameChanged(pid, name) {
    if (!this.participants.has(pid)) return this.participantJoined(pid, name);
    const before = this.mapped();
    this.participants.get(pid).name = name ?? '';
    return this.remapped(before);
  }

  /** `raiseHandUpdated`: `handRaised` is the raise time (newer Jitsi: a timestamp, 0 when
   *  lowered) or a boolean (older builds; the time is then when the bridge saw it). */
  hand(pid, handRaised, now) {
    const p = this.participants.get(pid);
    if (!p) return [];
    const m = this.memberOf(pid);
    // A time is a positive whole number of milliseconds; an older server's `true` (or
    // anything else raised) has none: the raise the page handled before a reconnect or
    // reload is the same raise until a lowering is seen.
    const timed = typeof handRaised === 'number' && Number.isSafeInteger(handRaised) && handRaised > 0;
    const raised = timed || Boolean(handRaised);
    const seen = m && raised && !timed ? this.handled.get(m.id) : undefined;
    const raisedAt = timed ? handRaised : raised ? (p.hand || seen || now) : 0;
    p.hand = raisedAt;
    if (!m) return [];
    if (raisedAt) return this.requestFor(m, raisedAt);
    // Lowered: a new raise is a new request. A request the page sent may not show in the
    // floor yet: withdraw it unless the member speaks (Jitsi lowers the hand of who speaks).
    const sent = this.handled.has(m.id);
    this.handled.delete(m.id);
    const speaks = this.floor?.unmuted.includes(m.id);
    if (this.floor?.waiting.has(m.id) || (sent && !speaks)) {
      this.withdrawing.add(m.id);
      return [{ to: 'podium', member: m.id, command: { command: 'withdraw', station: { remote: m.id } } }];
    }
    return [];
  }

  // ------------------------------------------------------------ the floor

  /** A new floor snapshot. `fresh`: it starts a stream (first connection or after a
   *  reconnect): everything is checked again, not only what changed. */
  floorChanged(snap, fresh) {
    const before = this.floor;
    this.floor = wanted(snap);
    for (const id of [...this.withdrawing]) if (!this.floor.waiting.has(id)) this.withdrawing.delete(id);
    // Who the page took out and the floor no longer shows remote is done with.
    const present = this.mapped();
    for (const id of [...this.joined]) {
      if (!this.floor.remote.has(id) && !present.has(id) && !this.named(id)) this.joined.delete(id);
    }
    if (fresh || !before) return this.converge();
    const actions = this.applyConference();
    // A request that left the list without its member speaking was withdrawn or removed:
    // the hand is still up in the conference, and Jitsi lets nobody lower it for them.
    for (const id of before.waiting) {
      if (this.floor.waiting.has(id) || this.floor.unmuted.includes(id)) continue;
      const pid = this.participantOf(id);
      if (pid && this.participants.get(pid).hand) {
        actions.push({ to: 'jitsi', member: id, name: 'sendChatMessage', args: [this.texts.lowerHand(this.members.get(id).name), pid] });
      }
    }
    return actions;
  }

  // ------------------------------------------------------------ rules

  mapped() {
    const out = new Map();
    for (const pid of this.participants.keys()) {
      const m = this.memberOf(pid);
      if (m) out.set(m.id, pid);
    }
    return out;
  }

  /** After the conference's membership changed: join who came, leave who went, ask for
   *  raised hands, mute who must be. */
  remapped(before) {
    const after = this.mapped();
    const actions = [];
    for (const [id] of before) {
      // Gone, not merely ambiguous: while someone in the conference carries the member's
      // name the member stays in the floor (the page just stops acting for them).
      // Kept in `joined` until the floor shows them gone, so a leave that does not arrive
      // (podiumd down) is sent again at the next convergence.
      if (!after.has(id) && this.joined.has(id) && !this.named(id)) {
        actions.push({ to: 'podium', member: id, command: { command: 'leave_remote', participant: id } });
      }
    }
    for (const [id, pid] of after) {
      if (before.get(id) === pid) continue;
      actions.push(...this.joinFor(id));
      const hand = this.participants.get(pid).hand;
      if (hand) actions.push(...this.requestFor(this.members.get(id), hand));
    }
    return actions.concat(this.applyConference());
  }

  /** Whether a participant in the conference carries the member's name. */
  named(id) {
    const name = fold(this.members.get(id)?.conference_name);
    for (const p of this.participants.values()) if (fold(p.name) === name) return true;
    return false;
  }

  /** Joins a member who came into the conference, unless they are checked in in the room
   *  (the same name in the conference must not take a member off their seat) or are
   *  remote already. */
  joinFor(id) {
    const m = this.members.get(id);
    // Before podiumd's first snapshot nothing is known: the first convergence joins.
    if (!this.floor || !m?.remote_allowed || this.floor.seated.has(id)) return [];
    this.joined.add(id);
    if (this.floor?.remote.has(id)) return [];
    return [{ to: 'podium', member: id, command: { command: 'join_remote', participant: id } }];
  }

  /** One request per raise: the raise's time is remembered, so the same hand seen again
   *  (a reconnect, a reload of this page, a restart of podiumd) asks nothing twice. */
  requestFor(m, raisedAt) {
    if (!this.floor || this.handled.get(m.id) === raisedAt) return [];
    if (this.floor.waiting.has(m.id) || this.floor.unmuted.includes(m.id)) {
      this.handled.set(m.id, raisedAt);
      return [];
    }
    this.handled.set(m.id, raisedAt);
    return [{ to: 'podium', member: m.id, command: { command: 'request', station: { remote: m.id }, raised_at: raisedAt } }];
  }

  /** Everything checked again: presence, hands and, with `reapply`, every conference
   *  command (after a reconnect to podiumd; a rejoin of the conference starts afresh). */
  converge(reapply = true) {
    const actions = [];
    const present = this.mapped();
    for (const id of this.listed ? [...this.joined] : []) {
      if (!present.has(id) && !this.named(id)) {
        if (this.floor?.remote.has(id)) {
          actions.push({ to: 'podium', member: id, command: { command: 'leave_remote', participant: id } });
        } else {
          this.joined.delete(id);
        }
      }
    }
    for (const id of this.withdrawing) {
      if (this.floor?.waiting.has(id)) {
        actions.push({ to: 'podium', member: id, command: { command: 'withdraw', station: { remote: id } } });
      }
    }
    if (this.floor) {
      const hands = [...present].map(([id, pid]) => [id, this.participants.get(pid).hand]).filter(([, h]) => h);
      hands.sort((a, b) => a[1] - b[1]); // the earliest raise first, as Jitsi orders them
      for (const [id] of present) actions.push(...this.joinFor(id));
      for (const [id, hand] of hands) actions.push(...this.requestFor(this.members.get(id), hand));
    }
    if (reapply) this.applied = { unmuted: new Set(), large: undefined };
    return actions.concat(this.applyConference(true));
  }

  /** Raised hands whose request has not reached the floor (a failed request), asked again. */
  retryHands() {
    if (!this.floor) return [];
    const actions = [];
    for (const [id, pid] of this.mapped()) {
      const hand = this.participants.get(pid).hand;
      if (hand) actions.push(...this.requestFor(this.members.get(id), hand));
    }
    return actions;
  }

  /** The conference as the floor wants it: ask the speakers to unmute, mute the others,
   *  the last granted speaker large (the room's own picture when the floor is in the room).
   *  `all`: mute everyone without the floor (after a reconnect), not only those who just
   *  lost it. */
  applyConference(all = false) {
    if (!this.floor || this.localId === null) return [];
    const actions = [];
    const unmute = new Set();
    for (const id of this.floor.unmuted) {
      const pid = this.participantOf(id);
      if (pid) unmute.add(pid);
    }
    // When the speakers change, everyone else is muted again (someone may have unmuted
    // themselves in the conference); otherwise only who just lost the floor.
    const changed = unmute.size !== this.applied.unmuted.size || [...unmute].some((pid) => !this.applied.unmuted.has(pid));
    all = all || changed;
    for (const pid of unmute) {
      if (!this.applied.unmuted.has(pid)) {
        actions.push({ to: 'jitsi', member: this.memberOf(pid)?.id, name: 'askToUnmute', args: [pid] });
      }
    }
    const lost = [...this.applied.unmuted].filter((pid) => !unmute.has(pid) && this.participants.has(pid));
    const others = all
      ? [...this.participants.keys()].filter((pid) => !unmute.has(pid) && (this.muteOthers || this.memberOf(pid)))
      : [];
    const mute = [...new Set([...lost, ...others])];
    for (const pid of mute) {
      actions.push({ to: 'jitsi', member: this.memberOf(pid)?.id, name: 'muteRemoteParticipant', args: [pid, 'audio'] });
    }
    this.applied.unmuted = unmute;
    const large = (this.floor.large && this.participantOf(this.floor.large)) || this.localId;
    if (large !== this.applied.large) {
      this.applied.large = large;
      actions.push({ to: 'jitsi', member: this.memberOf(large)?.id, name: 'setLargeVideoParticipant', args: [large] });
    }
    return actions;
  }
}
