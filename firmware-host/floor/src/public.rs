//! What the public may see: one function for every public output (displays, the stream
//! overlay, viewers, anonymous readers, the public MQTT topics).
//!
//! - Always hidden: exclusions for conflict of interest (the minutes record them; the hall
//!   does not show them) and the titles, papers and OParl ids of non-public items (their
//!   numbers stay, so the agenda keeps its shape).
//! - In the non-public part (`floor.public == false`) also every name and id: no
//!   participants, no list, no speakers, no presence or seating, no spoken times, no
//!   budgets, no seat's default occupant, no attendance and no vote. Only the phase, the
//!   agenda as above, the current item, the quorum's numbers and the profile remain.
//! - Votes in the public part are public as the state holds them: an open or roll-call
//!   vote's choices by name (the public must be able to follow them), a secret vote's
//!   ballots without a choice (the state never has one).

use std::sync::Arc;

use crate::agenda::Publicity;
use crate::engine::Snapshot;
use crate::outcome::{Change, Event};
use crate::setup::SeatSetup;

/// The snapshot as the public may see it.
pub fn public_view(snapshot: &Snapshot) -> Snapshot {
    let mut floor = (*snapshot.floor).clone();
    // A vote of the non-public part stays out of sight after the part ends.
    if floor.vote.as_ref().is_some_and(|v| !v.public) {
        floor.vote = None;
    }
    // Kept lists may hold requests made in the non-public part, and the totals per member
    // include speaking time in it: neither is for the public, in either part.
    floor.parked.clear();
    floor.spoken_ms_by_participant.clear();
    // By index, and only the entries that show something hidden: the agenda is a
    // persistent vector shared with the state, and `iter_mut` on it is avoided (`state.rs`).
    for index in 0..floor.agenda.len() {
        let hides = |e: &crate::agenda::AgendaEntry| {
            !e.excluded.is_empty()
                || e.item.publicity != Publicity::Public
                    && (!e.item.title.is_empty() || e.item.paper.is_some() || e.item.oparl_id.is_some())
        };
        if !floor.agenda.get(index).is_some_and(hides) {
            continue;
        }
        let Some(entry) = floor.agenda.get_mut(index) else { continue };
        entry.excluded.clear();
        if entry.item.publicity != Publicity::Public {
            entry.item.title.clear();
            entry.item.paper = None;
            entry.item.oparl_id = None;
        }
    }
    let mut view = Snapshot {
        seats: snapshot.seats.clone(),
        participants: snapshot.participants.clone(),
        precedence: snapshot.precedence.clone(),
        presentation_sources: snapshot.presentation_sources.clone(),
        floor: Arc::new(floor),
    };
    if !snapshot.floor.public {
        let floor = Arc::make_mut(&mut view.floor);
        // What is shown in a closed session is not the public's business either.
        floor.presentation = None;
        floor.requests.clear();
        floor.speakers.clear();
        floor.presence.clear();
        floor.seated.clear();
        floor.spoken_ms_by_participant.clear();
        floor.spoken_ms_by_group.clear();
        floor.parked.clear();
        floor.budget = None;
        floor.attendance.clear();
        floor.vote = None;
        view.participants = Arc::from(Vec::new());
        view.seats = snapshot
            .seats
            .iter()
            .map(|seat| SeatSetup { default_participant: None, ..seat.clone() })
            .collect::<Vec<_>>()
            .into();
    }
    view
}

/// Whether an event of the public part may go to the public as it is. Events that carry
/// the agenda, exclusions, budgets or the switch of the part, and every event of the
/// non-public part, are replaced by a fresh [`public_view`] instead.
pub fn shown_as_is(event: &Event) -> bool {
    // An exclusion is never public, not even through the request or microphone it ended.
    if matches!(
        event.change,
        Change::RequestRemoved { reason: crate::outcome::RequestEnd::Excluded, .. }
            | Change::MicrophoneClosed { closed_by: crate::outcome::MuteSource::Exclusion, .. }
    ) {
        return false;
    }
    matches!(
        event.change,
        Change::RequestAdded { .. }
            | Change::RequestRemoved { .. }
            | Change::RequestMoved { .. }
            | Change::RequestsCleared { .. }
            | Change::MicrophoneOpened { .. }
            | Change::MicrophoneClosed { .. }
            | Change::SpeakerPaused { .. }
            | Change::SpeakerResumed { .. }
            | Change::TimeWarning { .. }
            | Change::TimeExpired { .. }
            | Change::ListOpenChanged { .. }
            | Change::ProfileChanged { .. }
            | Change::PresenceChanged { .. }
            | Change::AttendanceChanged { .. }
            | Change::QuorumChanged { .. }
            | Change::VoteOpened { .. }
            | Change::BallotCast { .. }
            | Change::VoteClosed { .. }
            | Change::VoteCancelled { .. }
            | Change::StatutoryMembersSet { .. }
    )
}
