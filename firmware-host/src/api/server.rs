//! The HTTP server: accepts connections, admits them under the `[http]` caps and serves each
//! with hyper under a header-read timeout, until shutdown.
//!
//! What one client may hold is bounded so nobody on the LAN can starve the chair:
//! - a connection must send a request's headers within `header_timeout_s` of opening or of
//!   its previous answer (hyper's header-read timer, which also runs while a keep-alive
//!   connection waits for its next request); a half-sent request or an idle socket is
//!   closed then; a request body must arrive within the same time once the headers have
//!   (408 `body_timeout`, then closed). Answers themselves (event streams) have no time limit.
//! - at most `max_connections` in all, of which `reserved_connections` only for consoles
//!   and carriers ([`Standing`]): addresses where a chair or technician logged in within
//!   [`VOUCHED_FOR`], `[http] trusted_proxies`, and loopback when `[web] trust_loopback_as`
//!   makes every loopback client a console anyway; members and viewers are not vouched
//!   for (one member's device must not take the chair's reserve);
//! - at most `max_connections_per_address` from one address that is not a carrier.
//!
//! A connection over a cap is closed at once, before any byte is read, and counted in
//! `/metrics`. The caps are decided by [`Admission`], a plain state machine; the rest of
//! this file is the thin async edge around it.

use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::middleware::Next;
use axum::response::Response;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::Service;

use super::access::Principal;
use super::metrics::Metrics;
use crate::config::HttpLimits;
use crate::config::UserRole;

/// How long an address counts as a console's after a chair or technician last presented
/// valid credentials from it: as long as a login lasts by default, so a quiet meeting
/// (a long speech, no clicks) does not lose the chair its reserve.
pub const VOUCHED_FOR: Duration = Duration::from_secs(12 * 3600);
/// Trusted addresses remembered at most (the least recently seen is forgotten first).
const MAX_VOUCHED: usize = 4096;
/// What one connection may buffer for reading or writing in the daemon. An event stream
/// whose client does not read stops being polled once the socket's send buffer and this
/// are full, so a slow client holds a few frames, not the stream's backlog.
const MAX_CONNECTION_BUFFER: usize = 64 * 1024;
/// The kernel's send buffer per connection (it doubles the value for its bookkeeping).
/// Linux grows it on loopback and fast links up to megabytes: a client that does not read
/// would have the daemon format and write megabytes of backlog into it, costing CPU that
/// the chair's commands need. 64 KiB still carries tens of MB/s on a LAN.
const SOCKET_SEND_BUFFER: usize = 64 * 1024;
/// Pause after an accept error that is about this process (no file descriptors left, no
/// memory): retrying at once would spin on the same error.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// What an address may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Anyone: the shared connections, up to the per-address cap.
    Anonymous,
    /// A chair's or technician's console: the reserve too, still the per-address cap.
    Console,
    /// Carries many clients (a trusted proxy, trusted loopback): the reserve, no
    /// per-address cap (its clients' own limits apply per request).
    Carrier,
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every connection (that this peer may use) is in use.
    Global,
    /// The peer's address has as many connections as it may.
    Address,
}

/// The connection caps, without I/O: who holds how many connections and which addresses
/// have recently proved to be consoles.
#[derive(Debug)]
pub struct Admission {
    limits: HttpLimits,
    open: usize,
    per_address: HashMap<IpAddr, usize>,
    vouched: HashMap<IpAddr, Instant>,
}

impl Admission {
    pub fn new(limits: HttpLimits) -> Self {
        Admission { limits, open: 0, per_address: HashMap::new(), vouched: HashMap::new() }
    }

    /// Admits a connection from `ip` (counted until [`Admission::release`]) or says why not.
    pub fn admit(&mut self, ip: IpAddr, standing: Standing) -> Result<(), Refused> {
        let limits = &self.limits;
        let room = match standing {
            Standing::Anonymous => limits.max_connections.saturating_sub(limits.reserved_connections),
            Standing::Console | Standing::Carrier => limits.max_connections,
        };
        if self.open >= room {
            return Err(Refused::Global);
        }
        let held = self.per_address.entry(ip).or_insert(0);
        if standing != Standing::Carrier && *held >= limits.max_connections_per_address {
            return Err(Refused::Address);
        }
        *held += 1;
        self.open += 1;
        Ok(())
    }

    /// A connection from `ip` closed.
    pub fn release(&mut self, ip: IpAddr) {
        self.open = self.open.saturating_sub(1);
        if let Some(held) = self.per_address.get_mut(&ip) {
            *held -= 1;
            if *held == 0 {
                self.per_address.remove(&ip);
            }
        }
    }

    /// `ip` presented valid credentials at `now`.
    pub fn vouch(&mut self, ip: IpAddr, now: Instant) {
        if self.vouched.len() >= MAX_VOUCHED && !self.vouched.contains_key(&ip) {
            self.vouched.retain(|_, seen| now.saturating_duration_since(*seen) < VOUCHED_FOR);
            if self.vouched.len() >= MAX_VOUCHED
                && let Some(oldest) = self.vouched.iter().min_by_key(|(_, seen)| **seen).map(|(ip, _)| *ip)
            {
                self.vouched.remove(&oldest);
            }
        }
        self.vouched.insert(ip, now);
    }

    /// Whether `ip` presented valid credentials within [`VOUCHED_FOR`] before `now`.
    pub fn is_vouched(&self, ip: IpAddr, now: Instant) -> bool {
        self.vouched.get(&ip).is_some_and(|seen| now.saturating_duration_since(*seen) < VOUCHED_FOR)
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open
    }
}

/// The shared admission state, reachable from each request (as an extension) so the
/// access guard's verdict can vouch for the peer's address.
pub struct Gate {
    admission: Mutex<Admission>,
    trust_loopback: bool,
    /// `[http] trusted_proxies`: admitted as trusted; their `X-Forwarded-For` names the client.
    trusted_proxies: Vec<IpAddr>,
    /// `[http] header_timeout_s`, which a request body must keep too.
    body_timeout: Duration,
    metrics: Arc<Metrics>,
}

impl Gate {
    pub fn new(
        limits: HttpLimits,
        trust_loopback: bool,
        trusted_proxies: Vec<IpAddr>,
        metrics: Arc<Metrics>,
    ) -> Arc<Self> {
        let body_timeout = limits.header_timeout;
        let admission = Mutex::new(Admission::new(limits));
        Arc::new(Gate { admission, trust_loopback, trusted_proxies, body_timeout, metrics })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Admission> {
        self.admission.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Admits a connection; the ticket releases it when dropped.
    fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Ticket, Refused> {
        // A reverse proxy carries many clients; their own limits apply per request.
        let carrier = (self.trust_loopback && ip.is_loopback()) || self.trusted_proxies.contains(&ip);
        let mut admission = self.lock();
        let standing = if carrier {
            Standing::Carrier
        } else if admission.is_vouched(ip, Instant::now()) {
            Standing::Console
        } else {
            Standing::Anonymous
        };
        admission.admit(ip, standing)?;
        drop(admission);
        self.metrics.connections_changed(1);
        Ok(Ticket { gate: self.clone(), ip })
    }

    /// `ip` presented valid credentials.
    pub fn vouch(&self, ip: IpAddr) {
        self.lock().vouch(ip.to_canonical(), Instant::now());
    }
}

/// One admitted connection.
struct Ticket {
    gate: Arc<Gate>,
    ip: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.gate.lock().release(self.ip);
        self.gate.metrics.connections_changed(-1);
    }
}

/// Middleware (inside the access guard): a request the guard let through with a chair's or
/// technician's credentials vouches for its address, which may then use the reserved
/// connections. Members and viewers are not vouched for: the reserve is the consoles'.
pub async fn vouch_for_credentials(req: Request, next: Next) -> Response {
    let console = req.extensions().get::<Principal>().is_some_and(|p| {
        matches!(p, Principal::User { role: UserRole::Chair | UserRole::Technician | UserRole::Bridge, .. })
    });
    if console
        && let (Some(gate), Some(ConnectInfo(peer))) =
            (req.extensions().get::<Arc<Gate>>(), req.extensions().get::<ConnectInfo<SocketAddr>>())
    {
        gate.vouch(peer.ip());
    }
    next.run(req).await
}

/// Serves `app` on `listener` until `cancel` fires, then lets every connection finish its
/// answer (event streams end on `cancel` themselves) and returns once all are closed.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    gate: Arc<Gate>,
    limits: HttpLimits,
    cancel: CancellationToken,
) {
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true)
        .max_buf_size(MAX_CONNECTION_BUFFER);
    let connections = TaskTracker::new();
    let mut accept_errors = AcceptErrors::default();
    loop {
        let (tcp, peer) = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    if let Some(pause) = accept_errors.on_error(&e) {
                        tokio::select! {
                            _ = cancel.cancelled() => break,
                            _ = tokio::time::sleep(pause) => {}
                        }
                    }
                    continue;
                }
            },
        };
        let peer = SocketAddr::new(peer.ip().to_canonical(), peer.port());
        let ticket = match gate.admit(peer.ip()) {
            Ok(ticket) => ticket,
            Err(refused) => {
                // Dropping the socket closes it: no read, no task, no answer.
                gate.metrics.connection_refused(refused == Refused::Global);
                tracing::debug!(%peer, ?refused, "connection refused: over the cap");
                continue;
            }
        };
        connections.spawn(serve_connection(
            tcp,
            peer,
            app.clone(),
            gate.clone(),
            http.clone(),
            cancel.clone(),
            ticket,
        ));
    }
    connections.close();
    connections.wait().await;
}

async fn serve_connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    gate: Arc<Gate>,
    http: http1::Builder,
    cancel: CancellationToken,
    ticket: Ticket,
) {
    // Events are small writes on long-lived streams: send them at once (no Nagle delay).
    if let Err(e) = tcp.set_nodelay(true) {
        tracing::debug!("TCP_NODELAY not set: {e}");
    }
    if let Err(e) = rustix::net::sockopt::set_socket_send_buffer_size(&tcp, SOCKET_SEND_BUFFER) {
        tracing::debug!("SO_SNDBUF not set: {e}");
    }
    let service = hyper::service::service_fn(move |mut req: hyper::Request<hyper::body::Incoming>| {
        // The client's address feeds the access rules and the per-address limits (the
        // forwarded one behind a trusted proxy); the gate takes their verdict (see
        // `vouch_for_credentials`).
        let client = super::client_address::client_address(peer.ip(), req.headers(), &gate.trusted_proxies);
        req.extensions_mut().insert(ConnectInfo(SocketAddr::new(client, peer.port())));
        req.extensions_mut().insert(gate.clone());
        // The body must follow within the same time as the headers (see `api::body`).
        req.extensions_mut().insert(super::body::BodyTimeout(gate.body_timeout));
        app.clone().call(req.map(axum::body::Body::new))
    });
    let connection = http.serve_connection(TokioIo::new(tcp), service);
    tokio::pin!(connection);
    let result = tokio::select! {
        result = connection.as_mut() => result,
        _ = cancel.cancelled() => {
            // Finish the answer in progress, take no new request.
            connection.as_mut().graceful_shutdown();
            connection.await
        }
    };
    if let Err(e) = result {
        // Timeouts, resets and malformed requests are the client's business.
        tracing::debug!(%peer, "connection ended: {e}");
    }
    drop(ticket);
}

/// Tells accept errors about one connection (the next accept works) from those about this
/// process (no descriptors or memory: pause, log at most every [`Self::LOG_EVERY`]).
#[derive(Default)]
struct AcceptErrors {
    logged: Option<Instant>,
    since_logged: u64,
}

impl AcceptErrors {
    const LOG_EVERY: Duration = Duration::from_secs(10);

    fn on_error(&mut self, e: &io::Error) -> Option<Duration> {
        use io::ErrorKind::*;
        if matches!(e.kind(), ConnectionAborted | ConnectionRefused | ConnectionReset | Interrupted) {
            return None;
        }
        self.since_logged += 1;
        if self.logged.is_none_or(|at| at.elapsed() >= Self::LOG_EVERY) {
            tracing::error!(errors = self.since_logged, "accept failed: {e}; pausing {ACCEPT_BACKOFF:?}");
            self.logged = Some(Instant::now());
            self.since_logged = 0;
        }
        Some(ACCEPT_BACKOFF)
    }
}

/// File descriptors kept for everything but HTTP connections: the journal, serial ports,
/// device sockets (256), and the embedded broker's gate at its caps: every connection
/// waiting to log in holds one, every logged-in client three (its socket, the gate's
/// upstream socket and rumqttd's end of it).
const OTHER_FILES: u64 =
    256 + (crate::mqtt::gate::MAX_PENDING + 3 * crate::mqtt::gate::MAX_CONNECTIONS) as u64;

/// The caps made to fit `open_files` (the process's limit): a cap above what the process
/// may open would end in accept errors (EMFILE) for everyone instead of a clean refusal
/// of the excess. Returns the limits and whether they had to shrink.
pub fn fit_to_file_limit(limits: HttpLimits, open_files: u64) -> (HttpLimits, bool) {
    let room = usize::try_from(open_files.saturating_sub(OTHER_FILES)).unwrap_or(usize::MAX).max(16);
    if limits.max_connections <= room {
        return (limits, false);
    }
    let fitted = HttpLimits {
        max_connections: room,
        // Keep the reserve's share of the configured caps.
        reserved_connections: limits.reserved_connections.min(room / 8),
        max_connections_per_address: limits.max_connections_per_address.min(room),
        ..limits
    };
    (fitted, true)
}

/// Raises this process's soft limit of open files to its hard limit: every connection is
/// a file descriptor, and the default soft limit (often 1,024) is below the connection
/// caps. Returns the limit in force.
pub fn raise_open_file_limit() -> io::Result<u64> {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let (Some(current), hard) = (limit.current, limit.maximum) else {
        return Ok(u64::MAX); // unlimited already
    };
    let target = hard.unwrap_or(u64::MAX);
    if current >= target {
        return Ok(current);
    }
    setrlimit(Resource::Nofile, rustix::process::Rlimit { current: Some(target), maximum: hard })?;
    Ok(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(max: usize, reserved: usize, per_address: usize) -> HttpLimits {
        HttpLimits {
            max_connections: max,
            reserved_connections: reserved,
            max_connections_per_address: per_address,
            ..HttpLimits::default()
        }
    }

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([192, 168, 1, last])
    }

    #[test]
    fn one_address_gets_its_share_and_no_more() {
        let mut a = Admission::new(limits(100, 10, 3));
        for _ in 0..3 {
            assert_eq!(a.admit(ip(1), Standing::Anonymous), Ok(()));
        }
        assert_eq!(a.admit(ip(1), Standing::Anonymous), Err(Refused::Address));
        assert_eq!(a.admit(ip(2), Standing::Anonymous), Ok(()), "another address is not affected");
        a.release(ip(1));
        assert_eq!(a.admit(ip(1), Standing::Anonymous), Ok(()), "a closed connection frees its place");
        assert_eq!(a.open(), 4);
    }

    #[test]
    fn the_reserve_is_for_consoles_and_carriers_only() {
        let mut a = Admission::new(limits(20, 5, 100));
        for n in 0..15 {
            assert_eq!(a.admit(ip(n), Standing::Anonymous), Ok(()));
        }
        let refused = a.admit(ip(99), Standing::Anonymous);
        assert_eq!(refused, Err(Refused::Global), "anonymous peers stop at max - reserved");
        for _ in 0..3 {
            assert_eq!(a.admit(ip(200), Standing::Console), Ok(()), "consoles use the reserve");
        }
        for _ in 0..2 {
            assert_eq!(a.admit(ip(201), Standing::Carrier), Ok(()), "carriers too");
        }
        assert_eq!(a.admit(ip(200), Standing::Console), Err(Refused::Global), "and nobody goes beyond max");
    }

    #[test]
    fn a_carrier_has_no_per_address_cap_and_a_console_has() {
        let mut a = Admission::new(limits(100, 10, 2));
        for _ in 0..50 {
            assert_eq!(a.admit(ip(7), Standing::Carrier), Ok(()));
        }
        assert_eq!(a.admit(ip(8), Standing::Console), Ok(()));
        assert_eq!(a.admit(ip(8), Standing::Console), Ok(()));
        assert_eq!(a.admit(ip(8), Standing::Console), Err(Refused::Address), "a console keeps the cap");
    }

    #[test]
    fn released_addresses_are_forgotten() {
        let mut a = Admission::new(limits(100, 10, 2));
        a.admit(ip(1), Standing::Anonymous).unwrap();
        a.release(ip(1));
        assert!(a.per_address.is_empty());
        a.release(ip(1)); // a stray release does not underflow
        assert_eq!(a.open(), 0);
    }

    #[test]
    fn vouching_expires_and_is_bounded() {
        let mut a = Admission::new(limits(100, 10, 2));
        let t0 = Instant::now();
        a.vouch(ip(1), t0);
        assert!(a.is_vouched(ip(1), t0 + Duration::from_secs(60)));
        assert!(!a.is_vouched(ip(1), t0 + VOUCHED_FOR), "vouching ends");
        assert!(!a.is_vouched(ip(2), t0));
        for n in 0..(MAX_VOUCHED as u32 + 10) {
            a.vouch(IpAddr::from(n.to_be_bytes()), t0 + Duration::from_millis(u64::from(n)));
        }
        assert!(a.vouched.len() <= MAX_VOUCHED);
        let newest = IpAddr::from((MAX_VOUCHED as u32 + 9).to_be_bytes());
        assert!(a.vouched.contains_key(&newest), "the newest stays, the oldest go");
    }

    #[test]
    fn caps_shrink_to_the_file_limit() {
        let configured = limits(8192, 1024, 128);
        assert_eq!(fit_to_file_limit(configured, 65_536), (configured, false));
        let (fitted, shrunk) = fit_to_file_limit(configured, 4096);
        assert!(shrunk);
        assert_eq!(fitted.max_connections, 4096 - OTHER_FILES as usize);
        assert!(fitted.reserved_connections < fitted.max_connections);
        assert_eq!(fitted.max_connections_per_address, 128);
    }

    #[test]
    fn accept_errors_about_one_connection_do_not_pause() {
        let mut errors = AcceptErrors::default();
        assert_eq!(errors.on_error(&io::Error::from(io::ErrorKind::ConnectionAborted)), None);
        let emfile = io::Error::from_raw_os_error(24);
        assert_eq!(errors.on_error(&emfile), Some(ACCEPT_BACKOFF));
    }
}
