//! The HTTP API under `/api/v1` (axum). Every route is declared once, with its OpenAPI
//! description, through `utoipa_axum::routes!`, so the served description cannot drift.

pub mod access;
pub mod body;
pub mod error;
pub mod events;
pub mod floor_routes;
pub mod health;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::session::SessionHandle;
use error::ApiError;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The session owner.
    pub session: SessionHandle,
    /// Fires at shutdown; long-lived responses watch it.
    pub cancel: CancellationToken,
    /// Tracks per-client stream tasks so shutdown can wait for them.
    pub tracker: TaskTracker,
    /// Room id from the configuration.
    pub room_id: Arc<str>,
    /// When the daemon started.
    pub started: Instant,
    /// The generated API description.
    pub openapi: Arc<utoipa::openapi::OpenApi>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Podium API", description = "One floor for a hybrid council meeting: state, commands and live events."),
    // The engine's rejection codes appear as `error` in 409 answers; list them for clients.
    components(schemas(podium_floor::Reason)),
    tags(
        (name = "floor", description = "The list of speakers, the open microphones and their timers"),
        (name = "system", description = "Health and API description")
    )
)]
struct ApiDoc;

/// The routes with their descriptions, before the state is attached.
pub fn routes() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(floor_routes::get_state))
        .routes(routes!(floor_routes::get_precedence))
        .routes(routes!(floor_routes::post_command))
        .routes(routes!(events::get_events))
        .routes(routes!(health::get_healthz))
        .routes(routes!(health::get_openapi))
        .split_for_parts()
}

/// The OpenAPI description alone (for `podiumd openapi` and tests).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().1
}

/// The complete router, ready to serve.
pub fn router(
    session: SessionHandle,
    cancel: CancellationToken,
    tracker: TaskTracker,
    room_id: &str,
) -> Router {
    let (routes, openapi) = routes();
    let state = AppState {
        session,
        cancel,
        tracker,
        room_id: room_id.into(),
        started: Instant::now(),
        openapi: Arc::new(openapi),
    };
    routes
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed here",
            )
        })
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .with_state(state)
}
