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
    #[schema(max_length = 200)]
    pub title: Option<String>,
    /// The body holding it (council, committee).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub body: Option<String>,
    /// The OParl id (URL) of the meeting it was imported from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000)]
    pub oparl_id: Option<String>,
    /// The items, in order (at most 1,000).
    #[schema(max_items = 1000)]
    pub items: Vec<AgendaItem>,
    /// What the import reported (warnings, undecided items, unmatched persons), if imported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub report: Option<serde_json::Value>,
}

impl AgendaDraft {
    /// The first problem with the draft, as an API error naming the field.
    pub fn check(&self) -> Result<(), ApiError> {
        if self.items.len() > podium_floor::agenda::MAX_ITEMS {
            return Err(ApiError::invalid_value("items", "at most 1,000 items"));
        }
        let mut ids = std::collections::BTreeSet::new();
        for (index, item) in self.items.iter().enumerate() {
            if !ids.insert(item.id) {
                return Err(ApiError::invalid_value(
                    "items",
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
