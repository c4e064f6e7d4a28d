//! The agenda: the current one (for every console and display, redacted in the
//! non-public part) and the draft for the next meeting (typed in, or from an OParl import).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use podium_floor::{AgendaItem, ItemKind, Publicity};
use serde::{Deserialize, Serialize};

use super::body::AgendaBody;
use super::error::{ApiError, ErrorBody};
use super::state::AppState;
use crate::journal::JournalError;

/// The agenda prepared for the next meeting. Opening a meeting with `use_draft` takes it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AgendaDraft {
    /// Title of the meeting ("Stadtrat, 12. Sitzung").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub title: Option<String>,
    /// The body holding it (council, committee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub body: Option<String>,
    /// The OParl id (URL) of the meeting it was imported from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000, pattern = r"^[^\u0000-\u001F\u007F-\u009F]*$")]
    pub oparl_id: Option<String>,
    /// The items, in order (at most 1,000).
    #[schema(max_items = 1000)]
    pub items: Vec<AgendaItem>,
    /// The statutory number of members from the imported meeting's organization (its
    /// members with a vote at the meeting's date); used when the room file sets none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 2000)]
    pub statutory_members: Option<u32>,
    /// What the import reported (warnings, undecided items, unmatched persons), if imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Map<String, serde_json::Value>>,
}

impl AgendaDraft {
    /// The first problem with the draft, as an API error naming the field.
    pub fn check(&self) -> Result<(), ApiError> {
        if self.items.len() > podium_floor::agenda::MAX_ITEMS {
            return Err(ApiError::invalid_value("items", "at most 1,000 items"));
        }
        if self.statutory_members.is_some_and(|n| !(1..=podium_floor::vote::MAX_STATUTORY).contains(&n)) {
            return Err(ApiError::invalid_value("statutory_members", "1 to 2,000"));
        }
        let mut ids = std::collections::BTreeSet::new();
        for (index, item) in self.items.iter().enumerate() {
            if !ids.insert(item.id) {
                // Each item is valid on its own: the list as a whole conflicts.
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "invalid_agenda",
                    format!("items[{index}].id: {} is used twice", item.id),
                ));
            }
            if let Some((field, why)) = item.invalid_field() {
                return Err(ApiError::invalid_value("items", format!("items[{index}].{field}: {why}")));
            }
        }
        for (field, text) in [("title", &self.title), ("body", &self.body)] {
            if text.as_ref().is_some_and(|t| t.chars().count() > 200 || t.chars().any(char::is_control)) {
                return Err(ApiError::invalid_value(
                    field,
                    format!("{field}: at most 200 characters, no control characters"),
                ));
            }
        }
        if self.oparl_id.as_ref().is_some_and(|t| t.len() > 2000 || t.chars().any(char::is_control)) {
            return Err(ApiError::invalid_value("oparl_id", "oparl_id: at most 2,000 characters"));
        }
        Ok(())
    }
}

/// 409 `agenda_undecided` while an item's publicity is undecided: the chair decides before
/// the meeting opens (an import never takes an unclassified item for public).
pub fn check_decided(items: &[AgendaItem]) -> Result<(), ApiError> {
    let undecided: Vec<String> = items
        .iter()
        .filter(|i| i.kind == ItemKind::Item && i.publicity == Publicity::Undecided)
        .map(AgendaItem::label)
        .collect();
    if undecided.is_empty() {
        Ok(())
    } else {
        Err(ApiError::new(
            StatusCode::CONFLICT,
            "agenda_undecided",
            format!("decide whether these items are public first: {}", undecided.join("; ")),
        ))
    }
}

/// The stored draft, or 409 `no_draft`.
pub async fn stored_draft(app: &AppState) -> Result<AgendaDraft, ApiError> {
    let json = app
        .session
        .journal()
        .read(|store| store.agenda_draft().map_err(JournalError::sqlite("cannot read the draft agenda")))
        .await?;
    let json =
        json.ok_or_else(|| ApiError::new(StatusCode::CONFLICT, "no_draft", "no draft agenda is stored"))?;
    serde_json::from_str(&json).map_err(|e| {
        ApiError::new(StatusCode::CONFLICT, "no_draft", format!("the stored draft agenda is unreadable: {e}"))
    })
}

/// The draft agenda for the next meeting.
#[utoipa::path(get, path = "/api/v1/agenda/draft", tag = "meetings",
    responses(
        (status = 200, description = "The draft", body = AgendaDraft),
        (status = 409, description = "No draft is stored (`no_draft`)", body = ErrorBody),
        (status = 503, description = "No journal", body = ErrorBody),
    ))]
pub async fn get_draft(State(app): State<AppState>) -> Result<Json<AgendaDraft>, ApiError> {
    Ok(Json(stored_draft(&app).await?))
}

/// Replaces the draft agenda for the next meeting (typed in on the chair console, or an
/// import corrected by hand). Items may be undecided; the meeting cannot open until they
/// are decided.
#[utoipa::path(put, path = "/api/v1/agenda/draft", tag = "meetings",
    request_body = AgendaDraft,
    responses(
        (status = 200, description = "Stored", body = AgendaDraft),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 409, description = "An id used twice (`invalid_agenda`)", body = ErrorBody),
        (status = 422, description = "An invalid item (`invalid_value`; `field` and the message name it)", body = ErrorBody),
        (status = 503, description = "No journal", body = ErrorBody),
    ))]
pub async fn put_draft(
    State(app): State<AppState>,
    AgendaBody(draft): AgendaBody<AgendaDraft>,
) -> Result<Json<AgendaDraft>, ApiError> {
    draft.check()?;
    let json = serde_json::to_string(&draft)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    app.session.save_agenda_draft(json).await?;
    Ok(Json(draft))
}

impl AgendaDraft {
    /// The draft made from an OParl import, with its report.
    pub fn from_import(import: crate::oparl::Import) -> AgendaDraft {
        let report = match serde_json::to_value(&import.report) {
            Ok(serde_json::Value::Object(map)) => Some(map),
            _ => None,
        };
        let title: String = import.meeting.title.chars().take(200).collect();
        let body = import.meeting.body.map(|b| b.chars().take(200).collect());
        AgendaDraft {
            title: Some(title),
            body,
            oparl_id: import.meeting.oparl_id,
            statutory_members: import.meeting.statutory_members.filter(|n| (1..=2000).contains(n)),
            items: import.items,
            report,
        }
    }
}

/// The body of `POST /api/v1/agenda/import`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    /// The meeting: its OParl URL (on the host of `[oparl] system`) or its id (the last
    /// part of its URL), looked up in the system's meeting lists.
    #[schema(min_length = 1, max_length = 2000)]
    pub meeting: String,
}

/// Only one import runs at a time (it may take up to `[oparl] total_timeout_s`).
pub static IMPORT_RUNNING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Imports a meeting with its agenda from the council information system (`[oparl]
/// system`) and stores it as the draft agenda, with the import's report (undecided items,
/// unmatched persons, warnings). All or nothing: a failed object (named with its URL and
/// JSON path) leaves the stored draft as it was.
#[utoipa::path(post, path = "/api/v1/agenda/import", tag = "meetings",
    request_body = ImportRequest,
    responses(
        (status = 200, description = "Imported and stored as the draft", body = AgendaDraft),
        (status = 400, description = "Malformed body", body = ErrorBody),
        (status = 409, description = "No `[oparl] system` is configured (`oparl_not_configured`), or an import is running (`import_running`)", body = ErrorBody),
        (status = 413, description = "Body too large", body = ErrorBody),
        (status = 422, description = "The meeting URL is not on the configured system's host (`invalid_value`)", body = ErrorBody),
        (status = 502, description = "The council information system's answers could not be imported (`oparl_import_failed`; the message lists each failed object with its URL and JSON path)", body = ErrorBody),
        (status = 503, description = "No journal to store the draft in", body = ErrorBody),
    ))]
pub async fn post_import(
    State(app): State<AppState>,
    super::body::JsonBody(request): super::body::JsonBody<ImportRequest>,
) -> Result<Json<AgendaDraft>, ApiError> {
    let settings = &app.oparl.settings;
    let Some(system) = settings.system.clone() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "oparl_not_configured",
            "no council information system is configured ([oparl] system in the room file)",
        ));
    };
    let meeting = request.meeting.trim().to_owned();
    if meeting.is_empty() || meeting.len() > 2000 || meeting.chars().any(char::is_control) {
        return Err(ApiError::invalid_value("meeting", "a meeting URL or id"));
    }
    if meeting.contains("://") && host_of(&meeting) != host_of(&system) {
        // The daemon fetches only from the configured system: a client cannot make it
        // reach any other host.
        return Err(ApiError::invalid_value(
            "meeting",
            "the meeting URL must be on the configured system's host",
        ));
    }
    let Ok(_running) = IMPORT_RUNNING.try_lock() else {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "import_running",
            "an import is running; try again when it is done",
        ));
    };
    let source = crate::oparl::Source::Url { url: system, meeting: Some(meeting) };
    let import = crate::oparl::import(&source, &app.oparl.members, settings)
        .await
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "oparl_import_failed", e.to_string()))?;
    tracing::info!(
        items = import.items.len(),
        undecided = import.report.undecided.len(),
        "agenda imported from OParl: \"{}\"",
        import.meeting.title
    );
    let draft = AgendaDraft::from_import(import);
    let json = serde_json::to_string(&draft)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    app.session.save_agenda_draft(json).await?;
    Ok(Json(draft))
}

/// `scheme://host:port` of a URL (lowercase), or nothing if it is not one.
fn host_of(url: &str) -> Option<String> {
    let parsed = reqwest::Url::parse(url).ok()?;
    Some(format!(
        "{}://{}:{}",
        parsed.scheme(),
        parsed.host_str()?.to_lowercase(),
        parsed.port_or_known_default()?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_agenda_is_a_valid_draft_with_a_non_public_item() {
        let draft: AgendaDraft =
            serde_json::from_str(include_str!("../../../config/demo-agenda.json")).expect("the demo's draft");
        assert!(draft.check().is_ok());
        assert!(check_decided(&draft.items).is_ok());
        assert!(draft.items.iter().any(|i| i.publicity == Publicity::NonPublic && i.kind == ItemKind::Item));
    }

    #[test]
    fn only_urls_on_the_systems_host_are_the_same_host() {
        let system = host_of("https://ris.example.org/oparl/v1/system");
        assert_eq!(host_of("https://RIS.example.org:443/oparl/v1/meeting/7"), system);
        assert_ne!(host_of("https://ris.example.org.evil.test/meeting/7"), system);
        assert_ne!(
            host_of("http://ris.example.org/oparl/v1/meeting/7"),
            system,
            "another scheme, another port"
        );
        assert_eq!(host_of("not a url"), None);
    }
}
