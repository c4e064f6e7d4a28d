//! `podiumd fleet`: the city's read-only fleet view. It subscribes to the central broker
//! (every room's `health`, `alarms`, `status` and bridge state), keeps the latest of each
//! in memory ([`Fleet`]) and serves a page and a JSON API. It has no database: after a
//! restart the broker's retained messages bring every room back.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS, Transport};
use tokio_util::sync::CancellationToken;

use super::view::{Fleet, RoomView};

/// How to reach the central broker and where to serve the page.
#[derive(Debug, Clone)]
pub struct FleetSettings {
    /// The central broker's host.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The fleet view's login (`fleet` in `deploy/mosquitto/central.acl`).
    pub username: Option<String>,
    /// A file holding its password.
    pub password_file: Option<PathBuf>,
    /// Connect with TLS, trusting this CA.
    pub ca_file: Option<PathBuf>,
    /// The topic prefix (`podium/v1`).
    pub prefix: String,
    /// Where the page and the API listen.
    pub listen: SocketAddr,
}

#[derive(Clone)]
struct Shared {
    fleet: Arc<Mutex<Fleet>>,
    connected: Arc<AtomicBool>,
}

/// Runs the fleet view until `cancel` fires.
pub async fn run(settings: FleetSettings, cancel: CancellationToken) -> anyhow::Result<()> {
    let shared =
        Shared { fleet: Arc::new(Mutex::new(Fleet::new(&settings.prefix))), connected: Arc::default() };
    let options = mqtt_options(&settings)?;
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    // The same line as the room's daemon prints, so scripts and tests find the address.
    println!("podiumd listening on http://{}", listener.local_addr()?);
    println!("podiumd fleet view of {}:{} under {}", settings.host, settings.port, settings.prefix);
    let subscriber = tokio::spawn(subscribe(options, shared.clone(), cancel.clone()));
    let app = Router::new()
        .route("/", get(page))
        // The consoles' asset handler: common.js and i18n.js (texts, language switch, DOM
        // helper) and the fleet page's own script and style.
        .route("/assets/{file}", get(crate::api::pages::asset))
        .route("/api/v1/rooms", get(rooms))
        .route("/api/v1/alarms", get(alarms))
        .with_state(shared);
    axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned()).await?;
    subscriber.abort();
    Ok(())
}

fn mqtt_options(settings: &FleetSettings) -> anyhow::Result<MqttOptions> {
    // A fresh session each time: the retained messages are the state, nothing is queued.
    let id = format!("podium-fleet-{}", std::process::id());
    let mut options = MqttOptions::new(id, settings.host.clone(), settings.port);
    options.set_keep_alive(Duration::from_secs(15)).set_clean_session(true);
    options.set_max_packet_size(1 << 20, 1 << 20);
    if let Some(user) = &settings.username {
        let password = match &settings.password_file {
            Some(path) => std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the password file {}", path.display()))?
                .trim_end()
                .to_owned(),
            None => String::new(),
        };
        options.set_credentials(user.clone(), password);
    }
    if let Some(ca) = &settings.ca_file {
        let ca = std::fs::read(ca).with_context(|| format!("cannot read the CA file {}", ca.display()))?;
        options.set_transport(Transport::tls(ca, None, None));
    }
    Ok(options)
}

/// Follows the central broker, reconnecting with back-off, and feeds every message to the
/// fleet; subscribes again on every connection (a new session each time).
async fn subscribe(options: MqttOptions, shared: Shared, cancel: CancellationToken) {
    let (client, mut eventloop) = AsyncClient::new(options, 64);
    let filters = shared.fleet.lock().map(|f| f.filters()).unwrap_or_else(|e| e.into_inner().filters());
    let mut backoff = Duration::from_millis(200);
    loop {
        let event = tokio::select! {
            _ = cancel.cancelled() => return,
            event = eventloop.poll() => event,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                tracing::info!("fleet: connected to the central broker");
                shared.connected.store(true, Ordering::Relaxed);
                backoff = Duration::from_millis(200);
                for filter in &filters {
                    if let Err(error) = client.subscribe(filter.clone(), QoS::AtLeastOnce).await {
                        tracing::warn!(%error, filter, "fleet: cannot subscribe");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(message))) => {
                let now = podium_devices::serial::unix_ms_now();
                let mut fleet = shared.fleet.lock().unwrap_or_else(|e| e.into_inner());
                if !fleet.apply(&message.topic, &message.payload, now) {
                    tracing::debug!(topic = %message.topic, "fleet: ignored a message");
                }
            }
            Ok(_) => {}
            Err(error) => {
                if shared.connected.swap(false, Ordering::Relaxed) {
                    tracing::warn!(%error, "fleet: central broker lost; reconnecting");
                }
                tokio::select! {
                    _ = cancel.cancelled() => return,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
}

/// `GET /api/v1/rooms`.
#[derive(serde::Serialize)]
struct RoomsAnswer {
    /// Whether the view is connected to the central broker now (else its rooms may be old).
    connected: bool,
    /// Every room, the ones needing attention first.
    rooms: Vec<RoomView>,
}

async fn rooms(State(shared): State<Shared>) -> Json<RoomsAnswer> {
    let rooms = shared.fleet.lock().map(|f| f.rooms()).unwrap_or_else(|e| e.into_inner().rooms());
    Json(RoomsAnswer { connected: shared.connected.load(Ordering::Relaxed), rooms })
}

async fn alarms(State(shared): State<Shared>) -> Json<serde_json::Value> {
    let alarms = shared.fleet.lock().map(|f| f.alarms()).unwrap_or_else(|e| e.into_inner().alarms());
    Json(serde_json::json!({ "alarms": alarms }))
}

/// The page, with a strict CSP (nothing but this origin's files), no sniffing, no referrer.
async fn page() -> impl IntoResponse {
    let headers: axum::http::HeaderMap = [
        (header::CONTENT_TYPE, "text/html; charset=utf-8"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'self'; frame-ancestors 'none'"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
    ]
    .map(|(name, value)| (name, axum::http::HeaderValue::from_static(value)))
    .into_iter()
    .collect();
    (headers, include_str!("../../web/fleet.html"))
}
