//! The gate in front of the embedded broker: logins and per-client topic rights.
//!
//! rumqttd 0.20 checks a user name and password (`ConnectionSettings::auth`,
//! `external_auth`), but it has no topic ACLs: once logged in, a client may publish and
//! subscribe to anything. Checking rights in podiumd's own message handling would not be
//! enough: a desk unit could still publish another unit's retained `outputs` (its
//! microphone relay), a bridge's retained presence, or podiumd's `conference`, and read
//! everything, without podiumd ever handling those messages. So when the room file gives
//! the embedded broker credentials, rumqttd listens on 127.0.0.1 only (a random port, with
//! one internal login known only to this process), and podiumd listens on the configured
//! address itself: every client connection passes this gate, which reads the client's
//! packets with the bounded codec in `packet.rs` and
//!
//! - answers a CONNECT without credentials, with unknown ones, with a client id beyond
//!   [`packet::MAX_CLIENT_ID`] or with a last will it may not publish with a CONNACK
//!   refusal and closes the connection;
//! - forwards an accepted CONNECT rewritten: the internal login, and the client id
//!   prefixed with the user name (`<user>:<client id>`; `:`, `/`, `+`, `#` and `$` are
//!   refused in client ids), so no client can take over another's (or podiumd's) session
//!   by its id;
//! - closes the connection at the first PUBLISH or SUBSCRIBE beyond the login's rights
//!   (`rights.rs`, equal to `deploy/mosquitto/podium.acl`), at a packet beyond
//!   [`packet::MAX_CLIENT_PACKET`] or with a topic beyond [`packet::MAX_TOPIC`], and at
//!   anything malformed; the refused packet never reaches the broker. (MQTT 3.1.1 has no
//!   way to refuse a single PUBLISH; closing is what the client can notice.)
//!
//! Everything the broker sends to the client is copied back unchanged. Logged-in
//! connections are capped at [`MAX_CONNECTIONS`] (beyond it a login gets CONNACK 3);
//! connections not yet logged in at [`MAX_PENDING`], [`MAX_PENDING_PER_ADDRESS`] of them
//! from one address, and one that has not sent its CONNECT within [`CONNECT_TIMEOUT`] is
//! closed, so idle sockets from one host cannot keep the desk units out.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use super::packet::{self, Connect, Frame, WireError, connack, kind};
use super::rights::{Accounts, Rights};

/// Logged-in client connections through the gate at most (desk units, bridges, dashboards).
pub const MAX_CONNECTIONS: usize = 256;
/// Connections that have not logged in yet, at most: in all, and from one address. Idle
/// or slow sockets from one host cannot keep the desk units out, nor can a handful of
/// hosts (a waiting connection costs one socket and a small buffer, so the total is high).
pub const MAX_PENDING: usize = 1024;
/// See [`MAX_PENDING`].
pub const MAX_PENDING_PER_ADDRESS: usize = 8;
/// A client must send its CONNECT within this time.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// The login podiumd and the gate use at the internal broker.
#[derive(Debug, Clone)]
pub struct InternalLogin {
    /// User name.
    pub username: String,
    /// Its random secret (made at start, never stored).
    pub password: String,
}

/// What the gate needs.
#[derive(Debug)]
pub struct Gate {
    /// Who may log in, with what rights.
    pub accounts: Accounts,
    /// The internal broker (on loopback).
    pub upstream: SocketAddr,
    /// The internal login.
    pub internal: InternalLogin,
    /// Connections accepted so far (a suffix for empty client ids).
    connections: AtomicU64,
}

impl Gate {
    /// A gate for these accounts in front of the broker at `upstream`.
    pub fn new(accounts: Accounts, upstream: SocketAddr, internal: InternalLogin) -> Gate {
        Gate { accounts, upstream, internal, connections: AtomicU64::new(0) }
    }
}

/// Why the gate closed a connection.
#[derive(Debug, thiserror::Error)]
enum Closed {
    #[error("no CONNECT within {CONNECT_TIMEOUT:?}")]
    Timeout,
    #[error("the first packet is not a CONNECT")]
    NotConnect,
    #[error("refused login (CONNACK {0})")]
    Refused(u8),
    #[error(transparent)]
    Wire(#[from] WireError),
    #[error("may not publish to {0:?}")]
    Publish(String),
    #[error("may not subscribe to {0:?}")]
    Subscribe(String),
    #[error("a second CONNECT")]
    SecondConnect,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Accepts client connections until `cancel` fires.
pub async fn serve(listener: std::net::TcpListener, gate: Arc<Gate>, cancel: CancellationToken) {
    let listener = match listener.set_nonblocking(true).and_then(|()| TcpListener::from_std(listener)) {
        Ok(listener) => listener,
        Err(error) => {
            tracing::error!(%error, "the MQTT gate cannot listen");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let pending = Arc::new(Mutex::new(Pending::default()));
    loop {
        let accepted = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let (client, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                // Out of file descriptors, typically: wait instead of spinning.
                tracing::warn!(%error, "MQTT gate: accept failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(waiting) = Waiting::admit(&pending, peer.ip()) else {
            tracing::warn!(%peer, "MQTT gate: connection refused, too many connections waiting to log in");
            continue;
        };
        let gate = gate.clone();
        let cancel = cancel.clone();
        let slots = slots.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                result = serve_client(client, peer, &gate, waiting, slots) => match result {
                    Ok(()) | Err(Closed::Io(_)) => {}
                    Err(error) => tracing::warn!(%peer, %error, "MQTT gate closed a connection"),
                },
            }
        });
    }
}

/// Connections waiting to log in, in all and per address (pure bookkeeping; at most
/// [`MAX_PENDING`] addresses are ever held).
#[derive(Debug, Default)]
struct Pending {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Pending {
    fn admit(&mut self, address: IpAddr) -> bool {
        let mine = self.by_address.get(&address).copied().unwrap_or(0);
        if self.total >= MAX_PENDING || mine >= MAX_PENDING_PER_ADDRESS {
            return false;
        }
        self.total += 1;
        self.by_address.insert(address, mine + 1);
        true
    }

    fn release(&mut self, address: IpAddr) {
        self.total = self.total.saturating_sub(1);
        if let Some(count) = self.by_address.get_mut(&address) {
            *count -= 1;
            if *count == 0 {
                self.by_address.remove(&address);
            }
        }
    }
}

/// One connection waiting to log in; released when dropped.
struct Waiting {
    pending: Arc<Mutex<Pending>>,
    address: IpAddr,
}

impl Waiting {
    fn admit(pending: &Arc<Mutex<Pending>>, address: IpAddr) -> Option<Waiting> {
        let admitted = pending.lock().map(|mut p| p.admit(address)).unwrap_or(false);
        admitted.then(|| Waiting { pending: pending.clone(), address })
    }
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Ok(mut pending) = self.pending.lock() {
            pending.release(self.address);
        }
    }
}

/// Reads bytes until `buf` starts with a complete packet (never more than the largest
/// packet a client may send plus one read). `Ok(None)` at end of stream.
async fn read_frame(
    stream: &mut (impl AsyncReadExt + Unpin),
    buf: &mut Vec<u8>,
) -> Result<Option<Frame>, Closed> {
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(frame) = packet::frame(buf, packet::MAX_CLIENT_PACKET)? {
            return Ok(Some(frame));
        }
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(None);
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Checks the login, takes a connection slot and connects to the broker: the rights, the
/// broker connection and the slot.
async fn log_in(
    client: &mut TcpStream,
    buf: &mut Vec<u8>,
    gate: &Gate,
    slots: Arc<Semaphore>,
) -> Result<(Rights, TcpStream, (OwnedSemaphorePermit, OwnedSemaphorePermit)), Closed> {
    let frame = tokio::time::timeout(CONNECT_TIMEOUT, read_frame(client, buf))
        .await
        .map_err(|_| Closed::Timeout)??;
    // A client that leaves before its CONNECT is no error worth a log line.
    let frame = frame.ok_or_else(|| Closed::Io(std::io::ErrorKind::UnexpectedEof.into()))?;
    if frame.kind() != kind::CONNECT {
        return Err(Closed::NotConnect);
    }
    let refuse = |code: u8| Closed::Refused(code);
    let decision = match packet::parse_connect(&buf[frame.body_start..frame.len]) {
        Err(WireError::Protocol) => Err(connack::UNACCEPTABLE_PROTOCOL),
        Err(WireError::TooLong("client id")) => Err(connack::IDENTIFIER_REJECTED),
        Err(error) => return Err(error.into()),
        Ok(connect) => check_login(&connect, &gate.accounts).and_then(|rights| {
            let user = connect.username.unwrap_or_default();
            let mine = gate.accounts.connection_place(user).ok_or(connack::SERVER_UNAVAILABLE)?;
            let slot = slots.try_acquire_owned().map_err(|_| connack::SERVER_UNAVAILABLE)?;
            Ok((rights.clone(), connect, (slot, mine)))
        }),
    };
    let (rights, connect, slot) = match decision {
        Ok(accepted) => accepted,
        Err(code) => {
            client.write_all(&connack(code)).await?;
            let _ = client.shutdown().await;
            return Err(refuse(code));
        }
    };
    let number = gate.connections.fetch_add(1, Ordering::Relaxed);
    let user = connect.username.unwrap_or_default();
    let client_id = if connect.client_id.is_empty() {
        format!("{user}:~{number}")
    } else {
        format!("{user}:{}", connect.client_id)
    };
    let rewritten = packet::encode_connect(&Connect {
        client_id: &client_id,
        username: Some(&gate.internal.username),
        password: Some(gate.internal.password.as_bytes()),
        ..connect
    });
    let mut upstream = TcpStream::connect(gate.upstream).await?;
    upstream.set_nodelay(true)?;
    upstream.write_all(&rewritten).await?;
    buf.drain(..frame.len);
    Ok((rights, upstream, slot))
}

/// The rights of a CONNECT's login, or the CONNACK code refusing it.
fn check_login<'a>(connect: &Connect<'_>, accounts: &'a Accounts) -> Result<&'a Rights, u8> {
    let (Some(user), Some(password)) = (connect.username, connect.password) else {
        return Err(connack::NOT_AUTHORIZED);
    };
    // rumqttd refuses these in client ids (after the CONNECT, without a CONNACK).
    if connect.client_id.contains(['+', '$', '#', '/', ':']) {
        return Err(connack::IDENTIFIER_REJECTED);
    }
    let rights = accounts.login(user, password).ok_or(connack::BAD_CREDENTIALS)?;
    if let Some(will) = &connect.will
        && !rights.may_publish(will.topic)
    {
        return Err(connack::NOT_AUTHORIZED);
    }
    Ok(rights)
}

/// Whether a client's packet may pass to the broker.
fn check_packet(frame: &Frame, body: &[u8], rights: &Rights) -> Result<(), Closed> {
    match frame.kind() {
        kind::CONNECT => Err(Closed::SecondConnect),
        kind::PUBLISH => {
            let topic = packet::parse_publish_topic(frame.first, body)?;
            if rights.may_publish(topic) { Ok(()) } else { Err(Closed::Publish(topic.to_owned())) }
        }
        kind::SUBSCRIBE => {
            for filter in packet::parse_subscribe_filters(frame.first, body)? {
                if !rights.may_subscribe(filter) {
                    return Err(Closed::Subscribe(filter.to_owned()));
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

async fn serve_client(
    mut client: TcpStream,
    peer: SocketAddr,
    gate: &Gate,
    waiting: Waiting,
    slots: Arc<Semaphore>,
) -> Result<(), Closed> {
    client.set_nodelay(true)?;
    let mut buf = Vec::with_capacity(1024);
    let logged_in = log_in(&mut client, &mut buf, gate, slots).await;
    drop(waiting);
    let (rights, upstream, _slot) = match logged_in {
        Ok(logged_in) => logged_in,
        Err(error @ (Closed::Refused(_) | Closed::Wire(_))) => {
            tracing::warn!(%peer, %error, "MQTT login refused");
            return Ok(());
        }
        Err(error) => return Err(error),
    };
    let (mut from_broker, mut to_broker) = upstream.into_split();
    let (mut from_client, mut to_client) = client.into_split();
    let downstream = async move {
        let _ = tokio::io::copy(&mut from_broker, &mut to_client).await;
        let _ = to_client.shutdown().await;
    };
    let upstream = async move {
        loop {
            let Some(frame) = read_frame(&mut from_client, &mut buf).await? else { return Ok(()) };
            check_packet(&frame, &buf[frame.body_start..frame.len], &rights)?;
            to_broker.write_all(&buf[..frame.len]).await?;
            buf.drain(..frame.len);
            // One large packet must not keep 64 KiB per connection for its lifetime.
            if buf.capacity() > 16 * 1024 && buf.len() < 4096 {
                buf.shrink_to(4096);
            }
        }
    };
    tokio::select! {
        () = downstream => Ok(()),
        result = upstream => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{MqttAccount, MqttRole};

    fn accounts() -> Accounts {
        let account = MqttAccount {
            username: "vogt".into(),
            role: MqttRole::Participant,
            password_hash: crate::api::access::secret::token_hash("vogt-secret"),
        };
        Accounts::new("p/saal", &[], &[account])
    }

    fn connect<'a>(
        username: Option<&'a str>,
        password: Option<&'a [u8]>,
        will: Option<&'a str>,
    ) -> Connect<'a> {
        Connect {
            clean_session: true,
            keep_alive: 30,
            client_id: "c",
            will: will.map(|topic| packet::Will { topic, payload: b"{}", qos: 1, retain: true }),
            username,
            password,
        }
    }

    #[test]
    fn waiting_connections_are_capped_per_address_and_in_all() {
        let mut pending = Pending::default();
        let one: IpAddr = [192, 168, 1, 9].into();
        for _ in 0..MAX_PENDING_PER_ADDRESS {
            assert!(pending.admit(one));
        }
        assert!(!pending.admit(one), "one address holds at most its share");
        pending.release(one);
        assert!(pending.admit(one));
        let mut admitted = MAX_PENDING_PER_ADDRESS;
        let hosts = || (0..MAX_PENDING as u32 + 100).map(|n| IpAddr::from((0x0a00_0000 + n).to_be_bytes()));
        for host in hosts() {
            if pending.admit(host) {
                admitted += 1;
            }
        }
        assert_eq!(admitted, MAX_PENDING, "in all at most MAX_PENDING");
        assert!(pending.by_address.len() <= MAX_PENDING);
        for host in hosts() {
            pending.release(host);
        }
        for _ in 0..MAX_PENDING_PER_ADDRESS {
            pending.release(one);
        }
        assert_eq!((pending.total, pending.by_address.len()), (0, 0));
    }

    #[test]
    fn logins_are_checked_with_their_last_will() {
        let accounts = accounts();
        assert_eq!(check_login(&connect(None, None, None), &accounts).err(), Some(connack::NOT_AUTHORIZED));
        assert_eq!(
            check_login(&connect(Some("vogt"), Some(b"nope"), None), &accounts).err(),
            Some(connack::BAD_CREDENTIALS)
        );
        assert!(check_login(&connect(Some("vogt"), Some(b"vogt-secret"), None), &accounts).is_ok());
        let mut odd_id = connect(Some("vogt"), Some(b"vogt-secret"), None);
        odd_id.client_id = "other:podiumd";
        assert_eq!(check_login(&odd_id, &accounts).err(), Some(connack::IDENTIFIER_REJECTED));
        let own_will = connect(Some("vogt"), Some(b"vogt-secret"), Some("p/saal/remote/vogt/presence"));
        assert!(check_login(&own_will, &accounts).is_ok());
        let foreign_will = connect(Some("vogt"), Some(b"vogt-secret"), Some("p/saal/remote/engel/presence"));
        assert_eq!(check_login(&foreign_will, &accounts).err(), Some(connack::NOT_AUTHORIZED));
    }
}
