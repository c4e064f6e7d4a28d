//! Reading the floor and sending it commands.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
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
/// part no names or lists at all. Compressed with gzip when the request's
/// `Accept-Encoding` allows it (a console that reloads a room of 1,500 members gets about a
/// seventh of the JSON).
#[utoipa::path(get, path = "/api/v1/state", tag = "floor",
    responses((status = 200, description = "Snapshot of the floor (gzip if accepted)", body = Snapshot)))]
pub async fn get_state(State(app): State<AppState>, principal: Principal, headers: HeaderMap) -> Response {
    let snapshot = app.session.snapshot();
    let view = if sees_everything(&principal, &snapshot) {
        snapshot
    } else {
        Arc::new(podium_floor::public_view(&snapshot))
    };
    let json = match serde_json::to_vec(&*view) {
        Ok(json) => json,
        Err(error) => {
            let message = format!("the state could not be serialised: {error}");
            return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message).into_response();
        }
    };
    let vary = [(header::VARY, HeaderValue::from_static("accept-encoding"))];
    let content_type = (header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    if json.len() < GZIP_FROM || !accepts_gzip(&headers) {
        return ([content_type], vary, json).into_response();
    }
    // Compressing a large room takes about a millisecond: off the runtime's one thread.
    // If compressing fails (it writes to memory; it should not), the JSON goes as it is.
    match tokio::task::spawn_blocking(move || gzip(&json).map_err(|_| json)).await {
        Ok(Ok(body)) => {
            let encoding = (header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            ([content_type, encoding], vary, body).into_response()
        }
        Ok(Err(json)) => ([content_type], vary, json).into_response(),
        Err(error) => {
            let message = format!("the state could not be compressed: {error}");
            ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message).into_response()
        }
    }
}

/// Bodies smaller than this go uncompressed: gzip would save little and add its header.
const GZIP_FROM: usize = 1024;

/// Whether `Accept-Encoding` allows gzip: `gzip` (or `x-gzip`, or `*` unless gzip itself
/// is refused) with a weight above zero.
fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut star = false;
    for value in headers.get_all(header::ACCEPT_ENCODING) {
        let Ok(value) = value.to_str() else { continue };
        for entry in value.split(',') {
            let mut parts = entry.split(';');
            let coding = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q=").or_else(|| p.trim().strip_prefix("Q=")))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            match coding.as_str() {
                "gzip" | "x-gzip" => return weight > 0.0,
                "*" => star = weight > 0.0,
                _ => {}
            }
        }
    }
    star
}

/// Gzip at the fast level: a console's reload waits for it, and the JSON of a room
/// compresses well even so (BENCHMARKS.md, engine section).
fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Write;
    let mut encoder =
        flate2::write::GzEncoder::new(Vec::with_capacity(bytes.len() / 8), flate2::Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// Whether a caller sees the whole floor, or the public view ([`podium_floor::public`]):
/// the chair and the technician always; a remote member if they may attend non-public
/// parts; the video-conference bridge always (it must unmute a member who speaks in the
/// non-public part, as the MQTT bridge reads the private topics); viewers (display,
/// overlay) and anonymous readers never.
pub fn sees_everything(principal: &Principal, snapshot: &Snapshot) -> bool {
    use crate::config::UserRole;
    match principal {
        Principal::User { role: UserRole::Chair | UserRole::Technician | UserRole::Bridge, .. } => true,
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
        (status = 404, description = "Unknown seat, participant, agenda item or presentation source", body = ErrorBody),
        (status = 409, description = "Rejected by the floor rules; `error` is the reason code", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "A value outside the range the room file allows (`invalid_value`, `field` names it)", body = ErrorBody),
        (status = 429, description = "This client sends too many commands (`rate_limited`)", body = ErrorBody),
    ))]
pub async fn post_command(
    State(app): State<AppState>,
    principal: Principal,
    super::diagnostics::ApiSource(source): super::diagnostics::ApiSource,
    JsonBody(mut command): JsonBody<Command>,
) -> Result<Json<Accepted>, ApiError> {
    let bridge = matches!(principal, Principal::User { role: crate::config::UserRole::Bridge, .. });
    // The time a hand went up in the conference is the bridge's to report; from anyone
    // else it would only put an invented time into the minutes.
    if let Command::Request { raised_at, .. } = &mut command
        && !bridge
    {
        *raised_at = None;
    }
    let actor = principal.actor_for(&command)?;
    if let Some(field) = command.out_of_range_field() {
        return Err(ApiError::invalid_value(
            field,
            format!("{field} is outside the range the room file allows"),
        ));
    }
    // Per-client rate limit (429 `rate_limited`), see session::rate_limit. The
    // video-conference bridge relays many members: each member it acts for has a bucket of
    // its own (as on the MQTT link), so one member's hands cannot use up the others'.
    // Only for the room's members: made-up ids share the bridge's own bucket.
    let source = match (&principal, &actor) {
        (
            Principal::User { name, .. },
            podium_floor::Actor::Station(podium_floor::Station::Remote(member)),
        ) if bridge && app.session.snapshot().participants.iter().any(|p| &p.id == member) => {
            crate::session::Source::Api(format!("user:{name}:{member}"))
        }
        _ => source,
    };
    let answered = app.session.enqueue_from(source, command, actor).await?.with_durability().await?;
    let events = answered.outcome?;
    let seq = events.last().map(|e| e.seq).unwrap_or_else(|| app.session.snapshot().floor.seq);
    Ok(Json(Accepted { seq, events, durability: answered.durability }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(values: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn gzip_only_when_the_client_accepts_it() {
        assert!(accepts_gzip(&accept(&["gzip, deflate, br, zstd"])));
        assert!(accepts_gzip(&accept(&["br;q=1.0, GZIP;q=0.5"])));
        assert!(accepts_gzip(&accept(&["identity", "x-gzip"])));
        assert!(accepts_gzip(&accept(&["*"])));
        assert!(!accepts_gzip(&accept(&[])));
        assert!(!accepts_gzip(&accept(&["identity"])));
        assert!(!accepts_gzip(&accept(&["br, deflate"])));
        assert!(!accepts_gzip(&accept(&["gzip;q=0"])));
        assert!(!accepts_gzip(&accept(&["*, gzip;q=0"])));
        assert!(!accepts_gzip(&accept(&["*;q=0"])));
    }

    #[test]
    fn gzip_gives_back_the_same_bytes() {
        use std::io::Read;
        let json = serde_json::to_vec(&serde_json::json!({"floor": {"seq": 7, "requests": []}})).unwrap();
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(gzip(&json).unwrap().as_slice()).read_to_end(&mut unpacked).unwrap();
        assert_eq!(unpacked, json);
    }
}
