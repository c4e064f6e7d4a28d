//! What every handler can reach: one typed application state, built once by
//! [`super::router`]. Handlers take `State<AppState>` only when they use
//! it.

use std::sync::Arc;
use std::time::Instant;

use podium_devices::monitor::FrameMonitor;
use tokio_util::sync::CancellationToken;

use super::access::RouteRules;
use super::sse::{FrameCache, StreamCap};
use super::web::Web;
use crate::config::HttpLimits;
use crate::desks::Desks;
use crate::journal::print::PrintSettings;
use crate::mqtt::link::Link;
use crate::room::Room;
use crate::session::SessionHandle;

/// The daemon's parts the HTTP layer serves.
#[derive(Clone)]
pub struct AppState {
    /// The session owner.
    pub session: SessionHandle,
    /// Fires at shutdown; long-lived responses watch it.
    pub cancel: CancellationToken,
    /// Room id from the configuration.
    pub room_id: Arc<str>,
    /// When the daemon started.
    pub started: Instant,
    /// The generated API description.
    pub openapi: Arc<utoipa::openapi::OpenApi>,
    /// The access rule of every route, declared with the route (see `api/mod.rs`).
    pub rules: Arc<RouteRules>,
    /// The MQTT link, if configured.
    pub mqtt: Option<Link>,
    /// Web consoles and access: users, sessions, personal links, metrics, clock.
    pub web: Arc<Web>,
    /// Event-stream frames formatted once for all clients.
    pub frames: Arc<FrameCache>,
    /// Open event streams per address of callers without credentials.
    pub streams: Arc<StreamCap>,
    /// Desk-unit buses (none configured: an empty set).
    pub desks: Desks,
    /// Cameras, displays, switchers, microphones, button box (empty without devices).
    pub room: Room,
    /// Frames in and out of every driver, for `GET /api/v1/monitor`.
    pub monitor: FrameMonitor,
    /// Room name, time zone and signature lines of the printed minutes.
    pub print: Arc<PrintSettings>,
    /// `[oparl]` and the members' `oparl_person`, for the agenda import.
    pub oparl: Arc<crate::oparl::OparlContext>,
    /// The video-conference bridge: its setup and its last report.
    pub bridge: Arc<crate::conference::Bridge>,
}

/// The daemon's parts [`super::router`] serves; everything else in [`AppState`] the router
/// makes itself.
pub struct Parts {
    /// The session owner.
    pub session: SessionHandle,
    /// Fires at shutdown.
    pub cancel: CancellationToken,
    /// Room id from the configuration.
    pub room_id: Arc<str>,
    /// The MQTT link, if configured.
    pub mqtt: Option<Link>,
    /// Web consoles and access.
    pub web: Arc<Web>,
    /// Desk-unit buses.
    pub desks: Desks,
    /// Room devices.
    pub room: Room,
    /// The protocol monitor shared by every driver.
    pub monitor: FrameMonitor,
    /// `[http]` limits (the stream cap; the connection caps are the server's).
    pub limits: HttpLimits,
    /// Room name, time zone and signature lines of the printed minutes.
    pub print: PrintSettings,
    /// `[oparl]` and the members' `oparl_person`, for the agenda import.
    pub oparl: crate::oparl::OparlContext,
    /// The video-conference bridge's setup (`[jitsi]`, the members' conference names).
    pub bridge: Arc<crate::conference::Bridge>,
}
