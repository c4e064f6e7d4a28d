//! The session around the floor: meeting phase, agenda items with their own lists,
//! conflict of interest, the non-public part and speaking-time budgets per group.
//!
//! Rules (each enforced here, on the state the command is applied to):
//! - **Suspended** (`set_phase suspended`): every delegate microphone closes; members'
//!   requests, keys and grants to delegates are refused (`meeting_suspended`) until the
//!   meeting resumes; the list is kept. The chair's and podium's microphones work.
//! - **Items**: entering an item finishes the current one. With carry-over off, the
//!   waiting requests stay with the item they were made on (`requests_parked`) and come
//!   back when it is called up again (`requests_restored`, minus members who moved or are
//!   excluded there); with carry-over on they move on. Open microphones stay open: closing
//!   them is the chair's call. An item with its own speaking-time rules applies them while
//!   current; the meeting's rules come back when it is left. A header cannot be entered,
//!   nor an item whose publicity is undecided (`publicity_undecided`: never taken for public).
//! - **Publicity**: entering an item sets the part from the item; `set_public` overrides it.
//!   Going non-public moves remote members without the right to attend it out of the
//!   remote floor; they cannot join until the part ends.
//! - **Conflict of interest**: a member excluded from the current item has no request and
//!   no open microphone there; requests, keys, voice and grants for them are refused
//!   (`excluded_from_item`), also when the chair grants.
//! - **Budgets**: a group's remaining time is its allotment minus its closed turns minus
//!   its open turns (live). At the warning time `budget_warning`, at zero
//!   `budget_exhausted`; then `refuse_requests` removes the group's waiting requests and
//!   refuses new ones and grants, `cut_off` also closes its microphones. The chair's
//!   and podium's turns are not counted.
//! - **Presentation**: the chair or the technician presents a source named in the setup
//!   and stops it; presenting another source replaces the one presented; stopping returns
//!   every screen to the floor. The floor itself is untouched by either.

use std::collections::BTreeMap;

use crate::agenda::{
    AgendaItem, CarryOver, ItemId, ItemKind, MAX_ITEMS, MAX_REASON_CHARS, MeetingPhase, Publicity,
};
use crate::budget::{BudgetPolicy, BudgetScope, BudgetSpec, BudgetState, Shares};
use crate::command::Actor;
use crate::engine::Floor;
use crate::entries::Presence;
use crate::outcome::{Change, MuteSource, Reason, Rejection, RequestEnd};
use crate::setup::{Role, SpeakingTime};
use crate::station::Station;
use crate::time::{Instant, Timestamp};

impl Floor {
    /// Whether `station` may get or ask for the floor now, by the session's rules
    /// (suspension, exclusion, budget). Exempt stations (chair, podium) always may.
    pub(crate) fn admissible(&self, now: Timestamp, station: &Station) -> Result<(), Rejection> {
        let participant = self.occupant(station);
        // Exclusion first: a chair who is befangen hands the item to the deputy and does
        // not speak on it either (the exemption only lifts limits, suspension and budgets).
        if let Some(participant) = &participant
            && self.state().is_excluded_now(participant)
        {
            return Err(Rejection::new(
                Reason::ExcludedFromItem,
                format!("{participant} is excluded from this item (conflict of interest)"),
            ));
        }
        if self.is_exempt(station) {
            return Ok(());
        }
        if self.state().phase == MeetingPhase::Suspended {
            return Err(Rejection::new(Reason::MeetingSuspended, "the meeting is suspended"));
        }
        let Some(participant) = participant else { return Ok(()) };
        if self.group_exhausted(now, Some(&participant)) {
            let group = self.budget_group(&participant).unwrap_or_default();
            return Err(Rejection::new(
                Reason::BudgetExhausted,
                format!("the speaking time of {group} is used up"),
            ));
        }
        Ok(())
    }

    /// Whether a participant may join remotely now (the non-public part admits only those
    /// with the right).
    pub(crate) fn admitted_remotely(&self, participant: &str) -> Result<(), Rejection> {
        if self.state().public {
            return Ok(());
        }
        let allowed = self.participants.get(participant).is_some_and(|p| p.nonpublic_allowed);
        if allowed {
            Ok(())
        } else {
            Err(Rejection::new(
                Reason::NotAdmittedNonPublic,
                format!("{participant} may not attend the non-public part"),
            ))
        }
    }

    pub(crate) fn set_phase(
        &mut self,
        now: Timestamp,
        actor: &Actor,
        phase: MeetingPhase,
    ) -> Result<(), Rejection> {
        if !matches!(actor, Actor::System) {
            return Err(Rejection::new(
                Reason::NotAllowedForRole,
                "meetings are opened, suspended, resumed and closed through the meeting routes",
            ));
        }
        if self.state().phase == phase {
            return Ok(());
        }
        self.emit(now, Change::PhaseChanged { phase });
        match phase {
            MeetingPhase::Suspended => self.close_all_delegates(now, MuteSource::Suspension),
            MeetingPhase::None => {
                // The meeting is over: its vote, if one is open, ends without a result,
                // its requests end with it (waiting or kept with an item, they must not
                // reappear in the next meeting), its item ends, and the room is public again.
                if self.open_vote().is_some() {
                    let _ = self.cancel_vote(now);
                }
                self.clear(now, RequestEnd::MeetingClosed);
                if let Some(item) = self.state().current_item {
                    self.leave_item(now, item);
                }
                let count: usize = self.state().parked.values().map(imbl::Vector::len).sum();
                if !self.state().parked.is_empty() {
                    self.emit(now, Change::ParkedCleared { count });
                }
                if !self.state().public {
                    self.emit(now, Change::PublicChanged { public: true });
                }
                self.end_attendance(now);
                // A meeting's own statutory number ends with it.
                if self.state().statutory_members.is_some() {
                    self.emit(now, Change::StatutoryMembersSet { count: None });
                }
                // And its presentation: the screens go back to the floor (and to standby
                // where they follow the meeting).
                if self.state().presentation.is_some() {
                    self.emit(now, Change::PresentationStopped {});
                }
            }
            MeetingPhase::Open => self.fill_open_slots(now),
        }
        Ok(())
    }

    pub(crate) fn set_agenda(
        &mut self,
        now: Timestamp,
        items: &[AgendaItem],
        carry_over: CarryOver,
    ) -> Result<(), Rejection> {
        self.no_vote_running()?;
        if self.state().current_item.is_some() {
            return Err(Rejection::new(
                Reason::AgendaLocked,
                "finish the current item before replacing the agenda",
            ));
        }
        if items.len() > MAX_ITEMS {
            return Err(Rejection::new(Reason::InvalidAgenda, format!("at most {MAX_ITEMS} items")));
        }
        let mut ids = std::collections::BTreeSet::new();
        for (index, item) in items.iter().enumerate() {
            if !ids.insert(item.id) {
                return Err(Rejection::new(
                    Reason::InvalidAgenda,
                    format!("items[{index}].id: {} is used twice", item.id),
                ));
            }
            if let Some((field, why)) = item.invalid_field() {
                return Err(Rejection::new(Reason::InvalidAgenda, format!("items[{index}].{field}: {why}")));
            }
        }
        // Requests kept with items of the old agenda come back into the list first: a new
        // agenda must not swallow anyone's request.
        let kept: Vec<ItemId> = self.state().parked.keys().copied().collect();
        for item in kept {
            self.restore_parked(now, item);
        }
        self.emit(now, Change::AgendaSet { items: items.to_vec(), carry_over });
        Ok(())
    }

    pub(crate) fn set_publicity(
        &mut self,
        now: Timestamp,
        item: ItemId,
        publicity: Publicity,
    ) -> Result<(), Rejection> {
        let entry = self.agenda_item(item)?;
        if publicity == Publicity::Undecided {
            return Err(Rejection::new(Reason::InvalidAgenda, "publicity must be public or non_public"));
        }
        if entry.item.publicity != publicity {
            self.emit(now, Change::PublicityConfirmed { item, publicity });
            if self.state().current_item == Some(item) {
                self.set_public(now, publicity == Publicity::Public);
            }
        }
        Ok(())
    }

    pub(crate) fn enter_item(&mut self, now: Timestamp, item: ItemId) -> Result<(), Rejection> {
        self.no_vote_running()?;
        let entry = self.agenda_item(item)?;
        if entry.item.kind == ItemKind::Header {
            return Err(Rejection::new(Reason::NotAnItem, format!("{} is a heading", entry.item.label())));
        }
        if entry.item.publicity == Publicity::Undecided {
            return Err(Rejection::new(
                Reason::PublicityUndecided,
                format!("decide whether {} is public first", entry.item.label()),
            ));
        }
        if self.state().current_item == Some(item) {
            return Ok(());
        }
        let public = entry.item.publicity == Publicity::Public;
        let speaking_time = entry.item.speaking_time;
        if let Some(current) = self.state().current_item {
            self.leave_item(now, current);
        }
        self.emit(now, Change::ItemEntered { item });
        if let Some(budget) = self.state().budget.as_ref().filter(|b| b.spec.scope == BudgetScope::Item) {
            // A per-item budget starts afresh with each item.
            let fresh = self.fresh_budget(budget.spec.clone(), budget.allotted_ms.clone(), now);
            self.emit(now, Change::BudgetSet { budget: Some(fresh) });
        }
        if let Some(speaking_time) = speaking_time {
            let meeting = self.state().profile.speaking_time;
            self.emit(now, Change::MeetingSpeakingTimeKept { speaking_time: Some(meeting) });
            self.apply_speaking_time(now, speaking_time);
        }
        self.set_public(now, public);
        // Nobody excluded here keeps a request or a microphone.
        let excluded: Vec<String> =
            self.state().item(item).map(|e| e.excluded.keys().cloned().collect()).unwrap_or_default();
        for participant in excluded {
            self.remove_from_floor(now, &participant, RequestEnd::Excluded, MuteSource::Exclusion);
        }
        if self.state().carry_over == CarryOver::PerItem {
            self.restore_parked(now, item);
        }
        self.fill_open_slots(now);
        Ok(())
    }

    pub(crate) fn next_item(&mut self, now: Timestamp) -> Result<(), Rejection> {
        self.no_vote_running()?;
        let state = self.state();
        let from = state.current_item.and_then(|id| state.agenda.iter().position(|e| e.item.id == id));
        let start = from.map_or(0, |i| i + 1);
        let next = state
            .agenda
            .iter()
            .skip(start)
            .find(|e| e.item.kind == ItemKind::Item && e.status == crate::agenda::ItemStatus::Pending)
            .map(|e| e.item.id);
        match next {
            Some(item) => self.enter_item(now, item),
            None => Err(Rejection::new(Reason::NoSuchItem, "no pending item follows")),
        }
    }

    pub(crate) fn finish_item(&mut self, now: Timestamp) -> Result<(), Rejection> {
        self.no_vote_running()?;
        let Some(item) = self.state().current_item else {
            return Err(Rejection::new(Reason::NoCurrentItem, "no item is current"));
        };
        self.leave_item(now, item);
        Ok(())
    }

    /// Ends the current item: with carry-over off its waiting requests stay with it; the
    /// meeting's speaking-time rules come back.
    fn leave_item(&mut self, now: Timestamp, item: ItemId) {
        let count = self.state().requests.len();
        if self.state().carry_over == CarryOver::PerItem && count > 0 {
            self.emit(now, Change::RequestsParked { item, count });
        }
        self.emit(now, Change::ItemFinished { item });
        if let Some(meeting) = self.state().meeting_speaking_time {
            self.emit(now, Change::MeetingSpeakingTimeKept { speaking_time: None });
            self.apply_speaking_time(now, meeting);
        }
    }

    fn apply_speaking_time(&mut self, now: Timestamp, speaking_time: SpeakingTime) {
        if self.state().profile.speaking_time != speaking_time {
            let profile = crate::setup::Profile { speaking_time, ..self.state().profile.clone() };
            self.emit(now, Change::ProfileChanged { profile });
        }
    }

    /// Brings back the requests kept with `item`, minus those that can no longer stand.
    fn restore_parked(&mut self, now: Timestamp, item: ItemId) {
        let Some(parked) = self.state().parked.get(&item) else { return };
        let excluded = |participant: &Option<String>| {
            participant.as_ref().is_some_and(|p| {
                self.state().item(item).is_some_and(|e| e.excluded.contains_key(p))
                    || (self.state().current_item == Some(item) && self.state().is_excluded_now(p))
            })
        };
        let requests: Vec<_> = parked
            .iter()
            .filter(|r| {
                self.state().request_index(&r.station).is_none()
                    && self.state().speaker_index(&r.station).is_none()
            })
            .filter(|r| self.occupant(&r.station) == r.participant && self.check_present(&r.station))
            .filter(|r| !excluded(&r.participant))
            .filter(|r| !self.group_exhausted(now, r.participant.as_deref()))
            .map(|r| (**r).clone())
            .collect();
        self.emit(now, Change::RequestsRestored { item, requests });
    }

    fn check_present(&self, station: &Station) -> bool {
        match station {
            Station::Seat(n) => self.seats.contains_key(n),
            Station::Remote(id) => self.state().presence.get(id) == Some(&Presence::Remote),
        }
    }

    pub(crate) fn set_public(&mut self, now: Timestamp, public: bool) {
        if self.state().public == public {
            return;
        }
        self.emit(now, Change::PublicChanged { public });
        if !public {
            let out: Vec<String> = self
                .state()
                .presence
                .iter()
                .filter(|(id, presence)| {
                    **presence == Presence::Remote
                        && !self.participants.get(*id).is_some_and(|p| p.nonpublic_allowed)
                })
                .map(|(id, _)| id.clone())
                .collect();
            for participant in out {
                self.move_participant(now, &participant, Presence::Absent);
            }
        }
    }

    pub(crate) fn exclude(
        &mut self,
        now: Timestamp,
        item: ItemId,
        participant: &str,
        reason: &str,
    ) -> Result<(), Rejection> {
        self.agenda_item(item)?;
        self.participant(participant)?;
        self.no_vote_on(item)?;
        if reason.chars().count() > MAX_REASON_CHARS || reason.chars().any(char::is_control) {
            return Err(Rejection::new(
                Reason::InvalidAgenda,
                format!("reason: at most {MAX_REASON_CHARS} characters, no control characters"),
            ));
        }
        if self
            .state()
            .item(item)
            .is_some_and(|e| e.excluded.get(participant).map(String::as_str) == Some(reason))
        {
            return Ok(());
        }
        self.emit(
            now,
            Change::Excluded { item, participant: participant.to_owned(), reason: reason.to_owned() },
        );
        if self.state().current_item == Some(item) {
            self.remove_from_floor(now, participant, RequestEnd::Excluded, MuteSource::Exclusion);
            self.fill_open_slots(now);
        }
        Ok(())
    }

    pub(crate) fn readmit(
        &mut self,
        now: Timestamp,
        item: ItemId,
        participant: &str,
    ) -> Result<(), Rejection> {
        self.no_vote_on(item)?;
        let entry = self.agenda_item(item)?;
        if entry.excluded.contains_key(participant) {
            self.emit(now, Change::Readmitted { item, participant: participant.to_owned() });
        }
        Ok(())
    }

    /// Removes a participant's request and closes their microphone, wherever they are.
    fn remove_from_floor(&mut self, now: Timestamp, participant: &str, end: RequestEnd, mute: MuteSource) {
        let station = match self.state().presence.get(participant) {
            Some(Presence::Seat(n)) => Station::Seat(*n),
            Some(Presence::Remote) => Station::Remote(participant.to_owned()),
            _ => return,
        };
        if self.state().request_index(&station).is_some() {
            self.emit(now, Change::RequestRemoved { station: station.clone(), reason: end });
        }
        if self.state().speaker_index(&station).is_some() {
            self.close(now, &station, mute);
        }
    }

    pub(crate) fn set_budget(&mut self, now: Timestamp, spec: Option<&BudgetSpec>) -> Result<(), Rejection> {
        let Some(spec) = spec else {
            if self.state().budget.is_some() {
                self.emit(now, Change::BudgetSet { budget: None });
            }
            return Ok(());
        };
        if let Some(field) = spec.out_of_range_field() {
            return Err(Rejection::new(Reason::InvalidAgenda, format!("{field} out of range")));
        }
        let allotted_ms: BTreeMap<String, u64> = match &spec.shares {
            Shares::PerGroup { seconds } => {
                seconds.iter().map(|(g, s)| (g.clone(), u64::from(*s) * 1000)).collect()
            }
            Shares::Equal { total_s } => {
                let groups: std::collections::BTreeSet<&String> = self
                    .participants
                    .values()
                    .filter(|p| !p.role.is_chair() && matches!(p.role, Role::Member))
                    .filter_map(|p| p.group.as_ref())
                    .collect();
                let share =
                    if groups.is_empty() { 0 } else { u64::from(*total_s) * 1000 / groups.len() as u64 };
                groups.into_iter().map(|g| (g.clone(), share)).collect()
            }
        };
        let budget = self.fresh_budget(spec.clone(), allotted_ms, now);
        self.emit(now, Change::BudgetSet { budget: Some(budget) });
        // A budget of zero is used up from the start.
        self.check_budgets(now);
        Ok(())
    }

    /// A budget counting from `now`: turns running now count only from here on.
    fn fresh_budget(
        &self,
        spec: BudgetSpec,
        allotted_ms: BTreeMap<String, u64>,
        now: Timestamp,
    ) -> BudgetState {
        let mut budget = BudgetState {
            spec,
            allotted_ms,
            used_ms: BTreeMap::new(),
            warned: Default::default(),
            exhausted: Default::default(),
            credit_ms: BTreeMap::new(),
        };
        for speaker in self.state().speakers.iter().filter(|s| !s.exempt) {
            let group = speaker
                .participant
                .as_deref()
                .and_then(|p| self.participants.get(p))
                .and_then(|p| (!p.role.is_chair()).then(|| p.group.clone()).flatten());
            if let Some(group) = group.filter(|g| budget.allotted_ms.contains_key(g)) {
                *budget.credit_ms.entry(group).or_default() += speaker.spoken_ms(now.mono_ms);
            }
        }
        budget
    }

    /// Whether a participant's group has used up a budget that refuses requests.
    /// Exhausted is the engine's own verdict (`budget_exhausted`, which may come up to a
    /// millisecond per running speaker early) or no time left at all.
    fn group_exhausted(&self, now: Timestamp, participant: Option<&str>) -> bool {
        let Some(group) = participant.and_then(|p| self.budget_group(p)) else { return false };
        let Some(budget) = self.state().budget.as_ref().filter(|b| b.spec.policy != BudgetPolicy::WarnOnly)
        else {
            return false;
        };
        budget.exhausted.contains(&group) || self.remaining_ms(&group, now.mono_ms) <= 0
    }

    /// The budgeted group of a participant (none if no budget covers them).
    fn budget_group(&self, participant: &str) -> Option<String> {
        let budget = self.state().budget.as_ref()?;
        let person = self.participants.get(participant)?;
        if person.role.is_chair() {
            return None;
        }
        person.group.clone().filter(|g| budget.allotted_ms.contains_key(g))
    }

    /// A group's remaining time at `at` (negative when overdrawn).
    pub fn remaining_ms(&self, group: &str, at: Instant) -> i64 {
        let Some(budget) = &self.state().budget else { return 0 };
        let allotted = budget.allotted_ms.get(group).copied().unwrap_or(0);
        let used = budget.used_ms.get(group).copied().unwrap_or(0);
        let allotted = allotted + budget.credit_ms.get(group).copied().unwrap_or(0);
        let live: u64 = self.group_speakers(group).map(|s| s.spoken_ms(at)).sum();
        i64::try_from(allotted).unwrap_or(i64::MAX) - i64::try_from(used + live).unwrap_or(i64::MAX)
    }

    fn group_speakers<'a>(
        &'a self,
        group: &'a str,
    ) -> impl Iterator<Item = &'a crate::entries::Speaker> + 'a {
        self.state().speakers.iter().filter(move |s| {
            !s.exempt && s.participant.as_deref().and_then(|p| self.budget_group(p)).as_deref() == Some(group)
        })
    }

    /// When a budget next needs attention: a group's warning or exhaustion time.
    ///
    /// A running speaker's time is `t − started − paused_ms`, a paused one's is fixed, so
    /// the group's remaining time falls linearly while any of its speakers runs:
    /// `remaining(t) = fixed − k·t + Σ(started + paused_ms)`, solved exactly for the
    /// threshold (no reference instant, which a resumed speaker would skew).
    pub(crate) fn budget_deadline(&self) -> Option<Instant> {
        let budget = self.state().budget.as_ref()?;
        let warning_ms = i128::from(budget.spec.warning_s) * 1000;
        let mut earliest: Option<Instant> = None;
        for group in budget.allotted_ms.keys() {
            let speakers: Vec<_> = self.group_speakers(group).collect();
            let running: Vec<_> = speakers.iter().filter(|s| s.paused_since.is_none()).collect();
            if running.is_empty() {
                continue;
            }
            let allotted = i128::from(budget.allotted_ms.get(group).copied().unwrap_or(0))
                + i128::from(budget.credit_ms.get(group).copied().unwrap_or(0));
            let used = i128::from(budget.used_ms.get(group).copied().unwrap_or(0));
            let paused: i128 =
                speakers.iter().filter_map(|s| s.paused_since.map(|at| i128::from(s.spoken_ms(at)))).sum();
            let offsets: i128 =
                running.iter().map(|s| i128::from(s.started_at.mono_ms.0) + i128::from(s.paused_ms)).sum();
            let rate = running.len() as i128;
            let fixed = allotted - used - paused + offsets;
            let mut due_at = |threshold: i128| {
                // Due at the first whole millisecond t with remaining(t) − threshold < rate:
                // with k speakers the time falls k ms per ms, so this is the last moment
                // before it would pass the threshold (see `within_a_millisecond`).
                let t = (fixed - threshold - rate).div_euclid(rate) + 1;
                let due = Instant(u64::try_from(t.max(0)).unwrap_or(u64::MAX));
                earliest = Some(earliest.map_or(due, |e| e.min(due)));
            };
            if !budget.exhausted.contains(group) {
                due_at(0);
            }
            if warning_ms > 0 && !budget.warned.contains(group) {
                due_at(warning_ms);
            }
        }
        earliest
    }

    /// Emits the warnings and exhaustions due at `now`, and applies the policy.
    pub(crate) fn check_budgets(&mut self, now: Timestamp) {
        let Some(budget) = self.state().budget.clone() else { return };
        let warning_ms = i64::from(budget.spec.warning_s) * 1000;
        for group in budget.allotted_ms.keys() {
            let remaining = self.remaining_ms(group, now.mono_ms);
            let rate = self.group_speakers(group).filter(|s| s.paused_since.is_none()).count();
            if within_a_millisecond(remaining, 0, rate) && !budget.exhausted.contains(group) {
                self.emit(now, Change::BudgetExhausted { group: group.clone() });
                if budget.spec.policy != BudgetPolicy::WarnOnly {
                    let waiting: Vec<Station> = self
                        .state()
                        .requests
                        .iter()
                        .filter(|r| {
                            r.participant.as_deref().and_then(|p| self.budget_group(p)).as_deref()
                                == Some(group)
                        })
                        .map(|r| r.station.clone())
                        .collect();
                    for station in waiting {
                        self.emit(
                            now,
                            Change::RequestRemoved { station, reason: RequestEnd::BudgetExhausted },
                        );
                    }
                }
                if budget.spec.policy == BudgetPolicy::CutOff {
                    let speaking: Vec<Station> =
                        self.group_speakers(group).map(|s| s.station.clone()).collect();
                    for station in speaking {
                        self.close(now, &station, MuteSource::Budget);
                    }
                    self.fill_open_slots(now);
                }
            } else if !within_a_millisecond(remaining, 0, rate)
                && within_a_millisecond(remaining, warning_ms, rate)
                && !budget.warned.contains(group)
            {
                self.emit(now, Change::BudgetWarning { group: group.clone() });
            }
        }
    }

    /// Refuses to change who may decide an item while it is being voted on.
    fn no_vote_on(&self, item: ItemId) -> Result<(), Rejection> {
        match self.open_vote() {
            Some(vote) if vote.item == Some(item) => Err(Rejection::new(
                Reason::VoteOpen,
                format!("vote {} on this item is open: close it first", vote.id),
            )),
            _ => Ok(()),
        }
    }

    fn agenda_item(&self, item: ItemId) -> Result<&crate::agenda::AgendaEntry, Rejection> {
        self.state()
            .item(item)
            .ok_or_else(|| Rejection::new(Reason::NoSuchItem, format!("there is no agenda item {item}")))
    }
}

/// Whether `remaining` reaches `threshold` within the next millisecond while `rate`
/// speakers run (at least one counts, so a group nobody speaks for is due at the threshold
/// itself).
fn within_a_millisecond(remaining: i64, threshold: i64, rate: usize) -> bool {
    let rate = i64::try_from(rate.max(1)).unwrap_or(i64::MAX);
    remaining.saturating_sub(threshold) < rate
}

/// Presentation (`presentation.rs` has the data).
impl Floor {
    /// Presents a source of the setup (chair or technician): presenting another source
    /// replaces the one presented; the floor is untouched.
    pub(crate) fn present_source(
        &mut self,
        now: Timestamp,
        source: &str,
        on: crate::presentation::Screens,
    ) -> Result<(), Rejection> {
        if !self.setup().presentation_sources.iter().any(|s| s.name == source) {
            let known: Vec<&str> =
                self.setup().presentation_sources.iter().map(|s| s.name.as_str()).collect();
            return Err(Rejection::new(
                Reason::UnknownSource,
                if known.is_empty() {
                    "this room has no presentation sources ([[presentation_source]])".to_owned()
                } else {
                    format!("no presentation source `{source}`; the room has {}", known.join(", "))
                },
            ));
        }
        let same = self.state().presentation.as_ref().is_some_and(|p| p.source == source && p.on == on);
        if !same {
            self.emit(now, Change::PresentationStarted { source: source.to_owned(), on });
        }
        Ok(())
    }

    /// Stops presenting: every screen follows the floor again.
    pub(crate) fn stop_presenting(&mut self, now: Timestamp) -> Result<(), Rejection> {
        if self.state().presentation.is_none() {
            return Err(Rejection::new(Reason::NotPresenting, "nothing is presented"));
        }
        self.emit(now, Change::PresentationStopped {});
        Ok(())
    }
}
