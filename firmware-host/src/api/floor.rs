//! Reading the floor and sending it commands.

use axum::Json;
use axum::extract::State;
use podium_floor::{Command, Event, PrecedenceRule, Snapshot, precedence_table};
use serde::{Deserialize, Serialize};

use super::access::Principal;
use super::body::JsonBody;
use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::session::Durability;

/// The answer to an accepted command.
#[derive(Debug, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Accepted {
    /// Sequence number of the state after the command.
    pub seq: u64,
    /// The events the command caused, in order; empty when it changed nothing
    /// (e.g. a repeated request).
    pub events: Vec<Event>,
    /// Whether the change is in the journal: `written`; `not_recorded` (the daemon
    /// runs without a journal); `not_durable` (the journal cannot write at the moment: the change is applied
    /// and retried, but lost if the daemon stops before the store works again; consoles
    /// show a warning).
    pub durability: Durability,
}

/// The whole state of the floor: seats, participants, precedence, list, speakers, timers,
/// meeting phase, agenda and budgets. Viewers and callers without credentials get the
/// public view: no exclusions and no titles of non-public items, and in the non-public
/// part no names or lists at all.
#[utoipa::path(get, path = "/api/v1/state", tag = "floor",
    responses((status = 200, description = "Snapshot of the floor", body = Snapshot)))]
pub async fn get_state(State(app): State<AppState>, principal: Principal) -> Json<Snapshot> {
    let snapshot = app.session.snapshot();
    if sees_everything(&principal, &snapshot) {
        Json((*snapshot).clone())
    } else {
        Json(podium_floor::public_view(&snapshot))
    }
}

/// Whether a caller sees the whole floor, or the public view ([`podium_floor::public`]):
/// the chair and the technician always; a remote member if they may attend non-public
/// parts; viewers (display, overlay) and anonymous readers never.
pub fn sees_everything(principal: &Principal, snapshot: &Snapshot) -> bool {
    use crate::config::UserRole;
    match principal {
        Principal::User { role: UserRole::Chair | UserRole::Technician, .. } => true,
        Principal::Member { participant } => {
            snapshot.participants.iter().any(|p| &p.id == participant && p.nonpublic_allowed)
        }
        _ => false,
    }
}

/// The precedence of request types, highest first (the same for room and remote).
#[utoipa::path(get, path = "/api/v1/precedence", tag = "floor",
    responses((status = 200, description = "Precedence table", body = [PrecedenceRule])))]
pub async fn get_precedence() -> Json<Vec<PrecedenceRule>> {
    Json(precedence_table())
}

/// Sends one command to the floor. The body is a command object tagged by `command`,
/// e.g. `{"command":"request","station":{"seat":12}}` or `{"command":"next"}`.
/// Accepted: 200 with the events. Rejected by the rules: 409 (404 for an unknown seat or
/// participant) with the engine's reason code. Malformed: 400.
#[utoipa::path(post, path = "/api/v1/commands", tag = "floor",
    request_body = Command,
    responses(
        (status = 200, description = "Accepted", body = Accepted),
        (status = 400, description = "Malformed JSON or unknown command", body = ErrorBody),
        (status = 404, description = "Unknown seat or participant", body = ErrorBody),
        (status = 409, description = "Rejected by the floor rules; `error` is the reason code", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "A value outside the range the room file allows (`invalid_value`, `field` names it)", body = ErrorBody),
        (status = 429, description = "This client sends too many commands (`rate_limited`)", body = ErrorBody),
    ))]
pub async fn post_command(
    State(app): State<AppState>,
    principal: Principal,
    super::diagnostics::ApiSource(source): super::diagnostics::ApiSource,
    JsonBody(command): JsonBody<Command>,
) -> Result<Json<Accepted>, ApiError> {
    let actor = principal.actor_for(&command)?;
    if let Some(field) = command.out_of_range_field() {
        return Err(ApiError::invalid_value(
            field,
            format!("{field} is outside the range the room file allows"),
        ));
    }
    // Per-client rate limit (429 `rate_limited`), see session::rate_limit.
    let answered = app.session.enqueue_from(source, command, actor).await?.with_durability().await?;
    let events = answered.outcome?;
    let seq = events.last().map(|e| e.seq).unwrap_or_else(|| app.session.snapshot().floor.seq);
    Ok(Json(Accepted { seq, events, durability: answered.durability }))
}
