//! Meetings: open and close them, list them, export their minutes (CSV or JSON).

use axum::Json;
use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use super::access::Principal;
use super::body::AgendaBody;
use super::diagnostics::ApiSource;
use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::clock::unix_ms as now_unix_ms;
use crate::journal::{JournalError, MeetingInfo, Minutes, minutes};
use crate::session::{MeetingError, MeetingOpening};
use podium_floor::{AgendaItem, CarryOver, MeetingPhase};

/// Longest meeting title accepted, in characters.
pub const MAX_TITLE: usize = 200;

/// The body of `POST /api/v1/meetings`.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpenMeeting {
    /// Title for the record, e.g. "Stadtrat, 12. Sitzung"; default "Meeting" plus the date.
    /// At most 200 characters, no control characters.
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub title: Option<String>,
    /// The body holding it (council, committee), e.g. "Stadtrat" or "Bauausschuss".
    /// At most 200 characters, no control characters.
    #[serde(default)]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub body: Option<String>,
    /// The agenda (at most 1,000 items). Without it and without `use_draft`, the floor's
    /// current agenda stays.
    #[serde(default)]
    #[schema(max_items = 1000)]
    pub agenda: Option<Vec<AgendaItem>>,
    /// Open with the draft agenda (`PUT /api/v1/agenda/draft` or an OParl import);
    /// its title, body and OParl id are used where the request gives none.
    #[serde(default)]
    pub use_draft: bool,
    /// Whether waiting requests move on from item to item (default: each item keeps its own list).
    #[serde(default)]
    pub carry_over: CarryOver,
}

/// Query of the minutes.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MinutesQuery {
    /// `json` (default), `csv` or `html` (the printable page).
    #[param(inline)]
    pub format: Option<MinutesFormat>,
    /// The copy for publication: the non-public part left out (default false).
    pub publication: Option<bool>,
    /// With `format=csv`: `speakers` (default, one row per request or turn), `attendance`
    /// (one row per member and period present) or `votes` (a row per vote, then per ballot).
    #[param(inline)]
    pub part: Option<MinutesPart>,
}

/// The CSV parts of the minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MinutesPart {
    /// The speaker log.
    Speakers,
    /// Attendance.
    Attendance,
    /// Votes.
    Votes,
}

/// The minutes' formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum MinutesFormat {
    /// `Minutes` as JSON.
    Json,
    /// One row per request or turn.
    Csv,
    /// The printable German page (print stylesheet, page numbers, signature lines).
    Html,
}

impl From<MeetingError> for ApiError {
    fn from(e: MeetingError) -> Self {
        match e {
            MeetingError::AlreadyOpen(_) => {
                ApiError::new(StatusCode::CONFLICT, "meeting_already_open", e.to_string())
            }
            MeetingError::NotOpen(_) => {
                ApiError::new(StatusCode::CONFLICT, "meeting_not_open", e.to_string())
            }
            MeetingError::NoJournal(_) => {
                ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "journal_unavailable", e.to_string())
            }
            MeetingError::Closed => ApiError::unavailable(),
            MeetingError::Rejected(rejection) => rejection.into(),
        }
    }
}

impl From<JournalError> for ApiError {
    fn from(e: JournalError) -> Self {
        match e {
            JournalError::NoSuchMeeting(id) => ApiError::not_found(format!("there is no meeting {id}")),
            other => ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "journal_unavailable", other.to_string()),
        }
    }
}

fn meeting_id(path: Result<Path<i64>, PathRejection>) -> Result<i64, ApiError> {
    path.map(|Path(id)| id).map_err(|e| ApiError::bad_request("invalid_meeting_id", e.body_text()))
}

/// Every meeting in the journal, newest first (open and closed, until retention deletes them).
#[utoipa::path(get, path = "/api/v1/meetings", tag = "meetings",
    responses(
        (status = 200, description = "Meetings, newest first", body = [MeetingInfo]),
        (status = 503, description = "No journal", body = ErrorBody),
    ))]
pub async fn get_meetings(State(app): State<AppState>) -> Result<Json<Vec<MeetingInfo>>, ApiError> {
    let meetings = app
        .session
        .journal()
        .read(|store| store.meetings().map_err(JournalError::sqlite("cannot list the meetings")))
        .await?;
    Ok(Json(meetings))
}

/// Opens a meeting: from now on every event is recorded, starting from the floor as it
/// stands. At most one meeting is open.
#[utoipa::path(post, path = "/api/v1/meetings", tag = "meetings",
    request_body = OpenMeeting,
    responses(
        (status = 201, description = "Opened", body = MeetingInfo),
        (status = 400, description = "Malformed body, or a title with control characters or longer than 200 characters", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 409, description = "A meeting is open already (`meeting_already_open`), the draft has undecided items (`agenda_undecided`) or none is stored (`no_draft`), or the agenda cannot be replaced now (`agenda_locked`) or is invalid (`invalid_agenda`: the message names the item and field, e.g. an id used twice)", body = ErrorBody),
        (status = 503, description = "No journal to record it in (`journal_unavailable`)", body = ErrorBody),
    ))]
pub async fn post_meeting(
    State(app): State<AppState>,
    principal: Principal,
    ApiSource(source): ApiSource,
    AgendaBody(request): AgendaBody<OpenMeeting>,
) -> Result<(StatusCode, Json<MeetingInfo>), ApiError> {
    let draft = if request.use_draft { Some(super::agenda::stored_draft(&app).await?) } else { None };
    let mut title = request.title.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let mut body = request.body.as_deref().map(str::trim).unwrap_or_default().to_owned();
    let (mut agenda, mut oparl_id, mut statutory) = (request.agenda, None, None);
    if let Some(draft) = draft {
        statutory = draft.statutory_members;
        super::agenda::check_decided(&draft.items)?;
        if title.is_empty() {
            title = draft.title.unwrap_or_default();
        }
        if body.is_empty() {
            body = draft.body.unwrap_or_default();
        }
        agenda = Some(draft.items);
        oparl_id = draft.oparl_id;
    }
    if let Some(items) = &agenda {
        // Typed in or from the draft: an item nobody classified never opens as public.
        super::agenda::check_decided(items)?;
    }
    for (field, text) in [("title", &title), ("body", &body)] {
        if text.chars().count() > MAX_TITLE || text.chars().any(char::is_control) {
            return Err(ApiError::bad_request(
                &format!("invalid_{field}"),
                format!("a {field} has at most {MAX_TITLE} characters and no control characters"),
            ));
        }
    }
    if title.is_empty() {
        title = format!("Meeting {}", &crate::journal::time::rfc3339(now_unix_ms())[..10]);
    }
    let actor = if principal.role() == Some(super::access::Role::Chair) {
        podium_floor::Actor::Chair
    } else {
        podium_floor::Actor::Technician
    };
    let opening =
        MeetingOpening { title, body, agenda, carry_over: request.carry_over, oparl_id, by: source, actor };
    let meeting = app.session.open_meeting(opening).await?;
    if let Some(count) = statutory {
        // The organization's number, where the room file sets none (the engine's rule).
        let command = podium_floor::Command::SetStatutoryMembers { count: Some(count) };
        if let Ok(Err(rejection)) = app.session.command(command, podium_floor::Actor::System).await {
            tracing::warn!("the imported statutory number {count} was not applied: {rejection}");
        }
    }
    Ok((StatusCode::CREATED, Json(meeting)))
}

/// Suspends the open meeting (Sitzungsunterbrechung): delegate microphones close, the list
/// is kept, members' requests wait until it resumes. Shown on every console and display.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/suspend", tag = "meetings",
    params(("id" = i64, Path, minimum = 1, description = "Meeting id")),
    responses(
        (status = 200, description = "Suspended", body = MeetingInfo),
        (status = 400, description = "The id is not a meeting id (`invalid_meeting_id`)", body = ErrorBody),
        (status = 409, description = "Not the open meeting (`meeting_not_open`)", body = ErrorBody),
    ))]
pub async fn post_suspend(
    State(app): State<AppState>,
    ApiSource(source): ApiSource,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<MeetingInfo>, ApiError> {
    let id = meeting_id(path)?;
    Ok(Json(app.session.set_meeting_phase(id, MeetingPhase::Suspended, source).await?))
}

/// Resumes the suspended meeting.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/resume", tag = "meetings",
    params(("id" = i64, Path, minimum = 1, description = "Meeting id")),
    responses(
        (status = 200, description = "Resumed", body = MeetingInfo),
        (status = 400, description = "The id is not a meeting id (`invalid_meeting_id`)", body = ErrorBody),
        (status = 409, description = "Not the open meeting (`meeting_not_open`)", body = ErrorBody),
    ))]
pub async fn post_resume(
    State(app): State<AppState>,
    ApiSource(source): ApiSource,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<MeetingInfo>, ApiError> {
    let id = meeting_id(path)?;
    Ok(Json(app.session.set_meeting_phase(id, MeetingPhase::Open, source).await?))
}

/// One meeting.
#[utoipa::path(get, path = "/api/v1/meetings/{id}", tag = "meetings",
    params(("id" = i64, Path, minimum = 1, description = "Meeting id")),
    responses(
        (status = 200, description = "The meeting", body = MeetingInfo),
        (status = 400, description = "The id is not a meeting id (`invalid_meeting_id`)", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
    ))]
pub async fn get_meeting(
    State(app): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<MeetingInfo>, ApiError> {
    let id = meeting_id(path)?;
    let meeting = app
        .session
        .journal()
        .read(move |store| {
            store
                .meeting(id)
                .map_err(JournalError::sqlite("cannot read the meeting"))?
                .ok_or(JournalError::NoSuchMeeting(id))
        })
        .await?;
    Ok(Json(meeting))
}

/// Closes the open meeting: its record is sealed (and kept until retention deletes it).
/// The floor goes on, recorded outside any meeting.
#[utoipa::path(post, path = "/api/v1/meetings/{id}/close", tag = "meetings",
    params(("id" = i64, Path, minimum = 1, description = "Meeting id")),
    responses(
        (status = 200, description = "Closed", body = MeetingInfo),
        (status = 400, description = "The id is not a meeting id (`invalid_meeting_id`)", body = ErrorBody),
        (status = 409, description = "Not the open meeting (`meeting_not_open`)", body = ErrorBody),
    ))]
pub async fn post_close(
    State(app): State<AppState>,
    ApiSource(source): ApiSource,
    path: Result<Path<i64>, PathRejection>,
) -> Result<Json<MeetingInfo>, ApiError> {
    let id = meeting_id(path)?;
    Ok(Json(app.session.close_meeting_by(id, source).await?))
}

/// The minutes: the speaker log (who requested when, who granted, start, end, speaking
/// time, pauses, who closed the microphone, the agenda item), the items with their times
/// and exclusions, the session log and the attendees, as JSON, CSV (`?format=csv`) or a
/// printable German page (`?format=html`); times in UTC and in the room's time zone.
/// `publication=true` leaves the non-public part out.
#[utoipa::path(get, path = "/api/v1/meetings/{id}/minutes", tag = "meetings",
    params(("id" = i64, Path, minimum = 1, description = "Meeting id"), MinutesQuery),
    responses(
        (status = 200, description = "JSON (`Minutes`), CSV (one row per request or turn) or HTML", content(
            (Minutes = "application/json"),
            (String = "text/csv"),
            (String = "text/html"),
        )),
        (status = 400, description = "Unknown format, or the id is not a meeting id", body = ErrorBody),
        (status = 404, description = "No such meeting", body = ErrorBody),
    ))]
pub async fn get_minutes(
    State(app): State<AppState>,
    path: Result<Path<i64>, PathRejection>,
    query: Result<Query<MinutesQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let id = meeting_id(path)?;
    // The only query parameter is the format: a bad query is a bad format.
    let Query(query) = query.map_err(|e| {
        ApiError::bad_request("invalid_format", format!("{}: use json, csv or html", e.body_text()))
    })?;
    let now = now_unix_ms();
    let local = app.print.local.clone();
    let mut minutes =
        app.session.journal().read(move |store| minutes::from_store_in(store, id, now, &local)).await?;
    if query.publication == Some(true) {
        minutes = minutes.for_publication();
    }
    match query.format {
        None | Some(MinutesFormat::Json) => return Ok(Json(minutes).into_response()),
        Some(MinutesFormat::Html) => {
            let page = crate::journal::print::to_html(&minutes, &app.print);
            return Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response());
        }
        Some(MinutesFormat::Csv) => {}
    }
    let (text, name) = match query.part {
        None | Some(MinutesPart::Speakers) => (minutes.to_csv(), "minutes"),
        Some(MinutesPart::Attendance) => (minutes.attendance_csv(), "attendance"),
        Some(MinutesPart::Votes) => (minutes.votes_csv(), "votes"),
    };
    let text =
        text.map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "export_failed", e.to_string()))?;
    let disposition = format!("attachment; filename=\"meeting-{id}-{name}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
        ],
        text,
    )
        .into_response())
}
