//! A simulated DICENTIS server on a WebSocket (subprotocol `DICENTIS_1_0`), plain or over
//! TLS with a given certificate: `Login`
//! (a wrong password answers `loggedIn: false`; anything before it `Please login first`),
//! `RegisterEvents`, `GetSeats`, `GetDiscussionList`, `GrantSpeech`, `RemoveSpeech`,
//! `RequestSpeech`, unknown operations as errors. Commands are answered first and applied
//! 50 ms after, as the real server works; each registered connection gets `DiscussionListChanged`
//! once, until it reads the list again. A delegate's key is [`SimDicentis::press`]; in the
//! manually managed mode (the default) it queues a request. [`SimDicentis::restart`] drops
//! every connection and forgets the lists.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::sync::{broadcast, watch};
use tokio_tungstenite::tungstenite::Message as Frame;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_util::sync::CancellationToken;

use super::codec::{self, Message};

/// How long after its answer a floor command changes the list.
const APPLY_AFTER: Duration = Duration::from_millis(50);

/// The lists by seat name: (speaking, waiting).
pub type Names = (Vec<String>, Vec<String>);

#[derive(Debug, Clone)]
struct State {
    /// (id, name).
    seats: Vec<(String, String)>,
    speaking: Vec<String>,
    waiting: Vec<String>,
    max_speakers: usize,
}

impl State {
    fn name(&self, id: &str) -> String {
        self.seats.iter().find(|(i, _)| i == id).map_or_else(String::new, |(_, n)| n.clone())
    }

    fn names(&self) -> Names {
        (
            self.speaking.iter().map(|i| self.name(i)).collect(),
            self.waiting.iter().map(|i| self.name(i)).collect(),
        )
    }

    fn known(&self, id: &str) -> bool {
        self.seats.iter().any(|(i, _)| i == id)
    }
}

/// A simulated DICENTIS server; clone it to act at its seats while it serves.
#[derive(Clone)]
pub struct SimDicentis {
    state: Arc<Mutex<State>>,
    names: watch::Sender<Names>,
    /// "the list changed": each connection passes it on once until it reads the list.
    changed: broadcast::Sender<()>,
    raw: broadcast::Sender<String>,
    generation: watch::Sender<u64>,
    password: String,
    operations: Arc<Mutex<Vec<String>>>,
}

impl SimDicentis {
    /// A server with seats of these names (ids `seat-<name>`), four speakers at most, and
    /// the user `podium` with `password`.
    pub fn new(seat_names: &[&str], password: &str) -> Self {
        let seats = seat_names.iter().map(|n| (format!("seat-{n}"), (*n).to_owned())).collect();
        SimDicentis {
            state: Arc::new(Mutex::new(State {
                seats,
                speaking: Vec::new(),
                waiting: Vec::new(),
                max_speakers: 4,
            })),
            names: watch::channel(Names::default()).0,
            changed: broadcast::channel(64).0,
            raw: broadcast::channel(64).0,
            generation: watch::channel(0).0,
            password: password.to_owned(),
            operations: Arc::default(),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let before = state.names();
        let r = f(&mut state);
        let after = state.names();
        if after != before {
            self.names.send_replace(after);
            let _ = self.changed.send(());
        }
        r
    }

    /// A delegate's key at the seat named `name`: off while speaking, withdrawn while
    /// waiting, else a request.
    pub fn press(&self, name: &str) {
        self.with(|s| {
            let Some(id) = s.seats.iter().find(|(_, n)| n == name).map(|(i, _)| i.clone()) else { return };
            if s.speaking.contains(&id) || s.waiting.contains(&id) {
                s.speaking.retain(|i| *i != id);
                s.waiting.retain(|i| *i != id);
            } else {
                s.waiting.push(id);
            }
        });
    }

    /// The lists now, by seat name.
    pub fn lists(&self) -> Names {
        self.names.borrow().clone()
    }

    /// Every operation received, in order.
    pub fn operations(&self) -> Vec<String> {
        self.operations.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// Waits until the lists satisfy `test`; `false` after `timeout`.
    pub async fn wait_for(&self, timeout: Duration, test: impl FnMut(&Names) -> bool) -> bool {
        let mut rx = self.names.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(test)).await.is_ok_and(|r| r.is_ok())
    }

    /// Sends `text` as it is to every connection.
    pub fn send_raw(&self, text: &str) {
        let _ = self.raw.send(text.to_owned());
    }

    /// A restart: every connection drops, the lists are empty.
    pub fn restart(&self) {
        // Connections first, so none answers a read with the emptied lists.
        self.generation.send_modify(|g| *g += 1);
        self.with(|s| {
            s.speaking.clear();
            s.waiting.clear();
        });
    }

    /// The answer to one request, and the change to make after answering.
    fn answer(
        &self,
        request: &Message,
        logged_in: &mut bool,
        registered: &mut bool,
    ) -> (Message, Option<Message>) {
        let reply = |parameters: Value| Message {
            message_id: request.message_id,
            operation: request.operation.clone(),
            parameters,
        };
        let error = |text: String| Message {
            message_id: request.message_id,
            operation: "error".into(),
            parameters: json!({"message": text}),
        };
        if let Ok(mut ops) = self.operations.lock() {
            ops.push(request.operation.clone());
        }
        if request.is("Login") {
            if *logged_in {
                return (error("Already logged in. Please disconnect to log off".into()), None);
            }
            let ok = request.parameters["user"] == "podium"
                && request.parameters["password"] == self.password.as_str();
            *logged_in = ok;
            return (
                reply(
                    json!({"loggedIn": ok, "token": if ok { "sim-token" } else { "" }, "userId": if ok { "1" } else { "" }}),
                ),
                None,
            );
        }
        if !*logged_in {
            return (error("Please login first".into()), None);
        }
        let seat_ids = || -> Vec<String> {
            request.parameters["seatIds"]
                .as_array()
                .map_or_else(Vec::new, |a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        };
        match request.operation.to_ascii_lowercase().as_str() {
            "registerevents" => {
                *registered = true;
                (reply(json!({})), None)
            }
            "getseats" => {
                let seats: Vec<Value> = self.with(|s| {
                    s.seats
                        .iter()
                        .map(|(id, name)| json!({"seatId": id, "seatName": name, "screenLine": name}))
                        .collect()
                });
                (reply(json!({"seats": seats})), None)
            }
            "getdiscussionlist" => {
                let list: Vec<Value> = self.with(|s| {
                    s.speaking
                        .iter()
                        .map(|id| codec::entry(id, true))
                        .chain(s.waiting.iter().map(|id| codec::entry(id, false)))
                        .collect()
                });
                (reply(json!({"discussionList": list, "referenceTime": 0})), None)
            }
            "grantspeech" | "removespeech" | "requestspeech"
                if seat_ids().iter().all(|id| self.with(|s| s.known(id))) =>
            {
                (reply(json!({})), Some(request.clone()))
            }
            "grantspeech" | "removespeech" | "requestspeech" => (error("Unknown seat".into()), None),
            other => (error(format!("{} is an unknown operation", other.to_ascii_uppercase())), None),
        }
    }

    /// Applies a floor command after its answer went out.
    fn apply(&self, command: &Message) {
        let ids: Vec<String> = command.parameters["seatIds"]
            .as_array()
            .map_or_else(Vec::new, |a| a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect());
        self.with(|s| {
            for id in ids {
                if command.is("GrantSpeech") {
                    if !s.speaking.contains(&id) && s.speaking.len() < s.max_speakers {
                        s.waiting.retain(|i| *i != id);
                        s.speaking.push(id);
                    }
                } else if command.is("RemoveSpeech") {
                    s.speaking.retain(|i| *i != id);
                    s.waiting.retain(|i| *i != id);
                } else if !s.speaking.contains(&id) && !s.waiting.contains(&id) {
                    s.waiting.push(id);
                }
            }
        });
    }

    async fn connection<S>(&self, stream: S)
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let mut generation = self.generation.subscribe();
        generation.borrow_and_update();
        // The callback's type is tungstenite's: its error is the whole refusal response.
        #[allow(clippy::result_large_err)]
        let agree = |request: &Request, mut response: Response| -> Result<Response, ErrorResponse> {
            let offered = request
                .headers()
                .get_all("Sec-WebSocket-Protocol")
                .iter()
                .filter_map(|v| v.to_str().ok())
                .any(|v| v.split(',').any(|p| p.trim() == codec::SUBPROTOCOL));
            if !offered {
                let mut refused = ErrorResponse::new(Some("the DICENTIS_1_0 subprotocol is required".into()));
                *refused.status_mut() = tokio_tungstenite::tungstenite::http::StatusCode::BAD_REQUEST;
                return Err(refused);
            }
            response
                .headers_mut()
                .insert("Sec-WebSocket-Protocol", codec::SUBPROTOCOL.parse().expect("a header value"));
            Ok(response)
        };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, agree).await else { return };
        let mut changed = self.changed.subscribe();
        let mut raw = self.raw.subscribe();
        let (mut logged_in, mut registered, mut armed) = (false, false, true);
        loop {
            let mut out: Vec<String> = Vec::new();
            tokio::select! {
                biased;
                _ = generation.changed() => return,
                r = raw.recv() => if let Ok(text) = r { out.push(text) },
                c = changed.recv() => {
                    if c.is_ok() && registered && armed {
                        armed = false;
                        out.push(json!({"messageId": 0, "operation": "event", "parameters": {"events": [codec::LIST_CHANGED]}}).to_string());
                    }
                }
                frame = ws.next() => {
                    let text = match frame {
                        Some(Ok(Frame::Text(t))) => t.to_string(),
                        Some(Ok(_)) => continue,
                        _ => return,
                    };
                    let Ok(request) = Message::parse(&text) else {
                        // The real server closes the connection on malformed JSON.
                        let _ = ws.close(None).await;
                        return;
                    };
                    if request.is("GetDiscussionList") {
                        armed = true;
                    }
                    let (answer, then) = self.answer(&request, &mut logged_in, &mut registered);
                    if ws.send(Frame::Text(answer.encode().into())).await.is_err() {
                        return;
                    }
                    if let Some(command) = then {
                        // The real server changes its list after it answered (its clients
                        // read the list again on the event that follows).
                        let sim = self.clone();
                        tokio::spawn(async move {
                            tokio::time::sleep(APPLY_AFTER).await;
                            sim.apply(&command);
                        });
                    }
                }
            }
            for text in out {
                if ws.send(Frame::Text(text.into())).await.is_err() {
                    return;
                }
            }
        }
    }

    /// Serves TLS with this certificate and key (PEM) on `addr`, as the real server does
    /// (with its self-signed certificate); returns the address.
    ///
    /// # Errors
    ///
    /// A certificate or key that cannot be read, or an address that cannot be bound.
    pub async fn serve_tls(
        &self,
        addr: SocketAddr,
        cancel: CancellationToken,
        cert_pem: &[u8],
        key_pem: &[u8],
    ) -> std::io::Result<SocketAddr> {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let invalid =
            |e: &dyn std::fmt::Display| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string());
        let chain = CertificateDer::pem_slice_iter(cert_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| invalid(&e))?;
        let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| invalid(&e))?;
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| invalid(&e))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|e| invalid(&e))?;
        let acceptor = tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config));
        let sim = self.clone();
        crate::sim_serve::tcp(
            addr,
            cancel,
            || true,
            move |stream| {
                let (sim, acceptor) = (sim.clone(), acceptor.clone());
                // Small frames go out at once, as the real server's would (no Nagle delay).
                let _ = stream.set_nodelay(true);
                async move {
                    if let Ok(tls) = acceptor.accept(stream).await {
                        sim.connection(tls).await;
                    }
                }
            },
        )
        .await
    }

    /// Serves on `addr` (port 0: any free port) until `cancel`; returns the address.
    pub async fn serve(&self, addr: SocketAddr, cancel: CancellationToken) -> std::io::Result<SocketAddr> {
        let sim = self.clone();
        crate::sim_serve::tcp(
            addr,
            cancel,
            || true,
            move |stream| {
                let sim = sim.clone();
                // Small frames go out at once, as the real server's would (no Nagle delay).
                let _ = stream.set_nodelay(true);
                async move { sim.connection(stream).await }
            },
        )
        .await
    }
}
