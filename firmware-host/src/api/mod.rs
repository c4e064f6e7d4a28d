//! The HTTP API under `/api/v1` (axum). Every route is declared once, with its OpenAPI
//! description, through `utoipa_axum::routes!`, so the served description cannot drift.

pub mod access;
pub mod body;
pub mod devices;
pub mod diagnostics;
pub mod error;
pub mod events;
pub mod floor_routes;
pub mod health;
pub mod meetings;
pub mod monitor;

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
    /// The MQTT link, if configured.
    pub mqtt: Option<crate::mqtt::link::Link>,
    /// Web consoles and access: users, sessions, personal links, metrics, clock.
    pub web: Arc<crate::web::Web>,
    /// Event-stream frames formatted once for all clients.
    pub frames: Arc<events::FrameCache>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Podium API", description = "One floor for a hybrid council meeting: state, commands and live events."),
    // The engine's rejection codes appear as `error` in 409 answers; list them for clients.
    components(schemas(podium_floor::Reason)),
    tags(
        (name = "floor", description = "The list of speakers, the open microphones and their timers"),
        (name = "system", description = "Health and API description"),
        (name = "meetings", description = "Meetings, their record and minutes (see README: Journal and recovery, Minutes export)"),
        (name = "devices", description = "Desk units: bus and unit health, lamp tests, simulated units (demo); room devices (cameras): health, director shots, test actions"),
        (name = "access", description = "Login, logout and the caller's role (see README: Web consoles and access)")
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
        .routes(routes!(diagnostics::get_diagnostics))
        .routes(routes!(meetings::get_meetings, meetings::post_meeting))
        .routes(routes!(meetings::get_meeting))
        .routes(routes!(meetings::post_close))
        .routes(routes!(meetings::get_minutes))
        .routes(routes!(health::get_mqtt))
        .routes(routes!(crate::room::routes::get_room_devices))
        .routes(routes!(crate::room::routes::post_room_test))
        .routes(routes!(crate::room::sim::get_sim_room))
        .routes(routes!(crate::room::sim::get_sim_gpio, crate::room::sim::post_sim_gpio))
        .routes(routes!(devices::get_devices))
        .routes(routes!(devices::post_devices_test))
        .routes(routes!(devices::get_sim_desks, devices::post_sim_desks))
        .routes(routes!(crate::web::auth_routes::post_login))
        .routes(routes!(crate::web::auth_routes::post_logout))
        .routes(routes!(crate::web::auth_routes::get_session))
        .routes(routes!(crate::web::auth_routes::get_clock))
        .routes(routes!(crate::web::log_tail::get_log))
        .routes(routes!(monitor::get_monitor))
        .routes(routes!(crate::web::metrics::get_metrics))
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
    mqtt: Option<crate::mqtt::link::Link>,
    web: Arc<crate::web::Web>,
) -> Router {
    let (routes, openapi) = routes();
    let state = AppState {
        session,
        cancel,
        tracker,
        room_id: room_id.into(),
        started: Instant::now(),
        openapi: Arc::new(openapi),
        mqtt,
        web,
        frames: Arc::default(),
    };
    routes
        .merge(crate::web::pages::routes())
        .fallback(|| async { ApiError::not_found("no such route") })
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed here",
            )
        })
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        // Every route passes the access rules (api/access.rs), including routes added later.
        .layer(axum::middleware::from_fn_with_state(state.clone(), access::guard))
        .with_state(state)
}
