//! `GET /api/v1/log`: the daemon's log as Server-Sent Events, from the tail kept by
//! [`crate::log_tail`].

use std::convert::Infallible;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, Sse};
use futures_util::Stream;

use super::sse;
use super::state::AppState;
use crate::log_tail::{LogLine, since};

/// The daemon's log, live: the last lines kept (after `Last-Event-ID`, if given), then
/// every new line, as Server-Sent Events (`event: log`, data: a LogLine).
#[utoipa::path(get, path = "/api/v1/log", tag = "system",
    params(("Last-Event-ID" = Option<u64>, Header, minimum = 0, maximum = 9223372036854775807_i64, description = "Continue after this line")),
    responses(
        (status = 400, description = "Bad `Last-Event-ID`", body = super::error::ErrorBody),
        (status = 200, description = "`event: log` (data: LogLine), `id:` = line number", content_type = "text/event-stream", body = LogLine),
        (status = 401, description = "Login required", body = super::error::ErrorBody),
        (status = 403, description = "Technicians only", body = super::error::ErrorBody),
    ))]
pub async fn get_log(
    State(app): State<AppState>,
    headers: HeaderMap,
) -> Result<Sse<impl Stream<Item = Result<SseEvent, Infallible>>>, super::error::ApiError> {
    let after = sse::last_event_id(&headers)?.unwrap_or(0);
    let (backlog, live) = since(after);
    // A line pushed while the backlog was taken can come twice: once in each.
    let mut sent = after;
    Ok(sse::forward(backlog, live, app.cancel.clone(), move |line| {
        (line.seq > sent).then(|| {
            sent = line.seq;
            log_event(line)
        })
    }))
}

fn log_event(line: &LogLine) -> SseEvent {
    SseEvent::default()
        .event("log")
        .id(line.seq.to_string())
        .data(serde_json::to_string(line).unwrap_or_else(|_| "{}".into()))
}
