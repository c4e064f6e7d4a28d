//! A simulated VISCA camera on a pseudo-terminal, raw TCP and VISCA over IP (UDP). It
//! answers like a real one: ACK in socket 1 or 2, completion after a configurable move
//! time, syntax error for what it does not understand, buffer full when both sockets are
//! busy, not executable in standby; and it reports its current preset.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use super::codec::{self, Command, ErrorKind, Packet, Reply};
use super::ip::{Control, Datagram, PayloadType};

/// How the simulated camera misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Behaviour {
    /// Like a healthy camera.
    #[default]
    Normal,
    /// Reads everything, answers nothing (a hung camera, a wrong address).
    Silent,
    /// Answers every command with a syntax error.
    SyntaxError,
    /// Answers every command with command buffer full.
    BufferFull,
    /// Answers every command with command not executable.
    NotExecutable,
}

/// What the simulated camera shows now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimStatus {
    /// The last preset recalled to completion (memory byte).
    pub preset: Option<u8>,
    /// Power on (`false`: standby).
    pub power: bool,
    /// Pan position.
    pub pan: i16,
    /// Tilt position.
    pub tilt: i16,
    /// Stored presets: memory byte → (pan, tilt).
    pub stored: BTreeMap<u8, (i16, i16)>,
    /// Packets received, including those it could not parse.
    pub received: u64,
    /// Commands completed.
    pub completed: u64,
    /// IF_Clear received.
    pub if_clears: u64,
}

struct Inner {
    address: u8,
    behaviour: Behaviour,
    /// ACKs still to lose (the network drops them; the command is carried out).
    lose_acks: u32,
    move_time: Duration,
    /// Highest memory byte the model accepts.
    max_preset: u8,
    busy: [bool; 2],
    next_socket: usize,
    /// Bumped by IF_Clear and Cancel: completions of older commands are not sent.
    generation: [u64; 2],
}

/// A simulated camera; clone it to control it while it serves.
#[derive(Clone)]
pub struct SimCamera {
    inner: Arc<Mutex<Inner>>,
    status: watch::Sender<SimStatus>,
}

/// A completion to send later: socket index, delay, generation, effect.
type Pending = (usize, Duration, u64, Effect);

/// What to do after a command was accepted.
enum Effect {
    Recall(u8),
    Store(u8),
    Home,
    Power(bool),
}

impl Default for SimCamera {
    fn default() -> Self {
        SimCamera::new()
    }
}

impl SimCamera {
    /// A powered camera at address 1, home position, 50 ms moves, presets 0..=0x63.
    pub fn new() -> Self {
        let status = SimStatus {
            preset: None,
            power: true,
            pan: 0,
            tilt: 0,
            stored: (0..=0x63u8).map(|m| (m, (i16::from(m) * 100, -i16::from(m) * 10))).collect(),
            received: 0,
            completed: 0,
            if_clears: 0,
        };
        let inner = Inner {
            address: 1,
            behaviour: Behaviour::Normal,
            lose_acks: 0,
            move_time: Duration::from_millis(50),
            max_preset: 0x63,
            busy: [false; 2],
            next_socket: 0,
            generation: [0; 2],
        };
        SimCamera { inner: Arc::new(Mutex::new(inner)), status: watch::channel(status).0 }
    }

    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Changes how the camera answers from now on.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        self.inner().behaviour = behaviour;
    }

    /// Loses the next `n` ACKs on the way back (commands are still carried out).
    pub fn lose_acks(&self, n: u32) {
        self.inner().lose_acks = n;
    }

    /// Whether this reply is lost on the way back.
    fn lost(&self, reply: &Reply) -> bool {
        let mut inner = self.inner();
        if matches!(reply, Reply::Ack { .. }) && inner.lose_acks > 0 {
            inner.lose_acks -= 1;
            return true;
        }
        false
    }

    /// Time from ACK to completion of a preset recall or home.
    pub fn set_move_time(&self, move_time: Duration) {
        self.inner().move_time = move_time;
    }

    /// Powers the camera on or to standby (as its own remote control would).
    pub fn set_power(&self, on: bool) {
        self.status.send_modify(|s| s.power = on);
    }

    /// The camera's state now.
    pub fn status(&self) -> SimStatus {
        self.status.borrow().clone()
    }

    /// Waits until `ready` holds for the status; `false` if `timeout` passes first.
    pub async fn wait_for(&self, timeout: Duration, ready: impl Fn(&SimStatus) -> bool) -> bool {
        let mut rx = self.status.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|s| ready(s))).await.is_ok_and(|r| r.is_ok())
    }

    /// The camera's answer to one packet: replies to send now, and a completion to send
    /// after a delay (socket, delay, generation).
    fn handle(&self, packet: &Packet) -> (Vec<Reply>, Option<Pending>) {
        self.status.send_modify(|s| s.received += 1);
        let mut inner = self.inner();
        let address = inner.address;
        let error = |socket: u8, kind: ErrorKind| Reply::Error { from: address, socket, kind };
        if inner.behaviour == Behaviour::Silent {
            return (Vec::new(), None);
        }
        let parsed = Command::parse(packet);
        let command = match parsed {
            Ok((to, c)) if to == address || to == 8 => c,
            Ok(_) => return (Vec::new(), None),
            Err(_) => return (vec![error(0, ErrorKind::Syntax)], None),
        };
        let done = |data: Vec<u8>| Reply::Completion { from: address, socket: 0, data };
        let effect = match command {
            Command::AddressSet => {
                inner.address = 1;
                return (vec![Reply::AddressSet { next: 2 }], None);
            }
            Command::IfClear { broadcast } => {
                inner.busy = [false; 2];
                inner.generation[0] += 1;
                inner.generation[1] += 1;
                self.status.send_modify(|s| s.if_clears += 1);
                let reply = if broadcast { Reply::IfClearBroadcast } else { done(Vec::new()) };
                return (vec![reply], None);
            }
            Command::PowerInquiry => {
                let on = self.status.borrow().power;
                return (vec![done(vec![if on { 0x02 } else { 0x03 }])], None);
            }
            Command::PanTiltInquiry => {
                let (pan, tilt) = {
                    let s = self.status.borrow();
                    (s.pan, s.tilt)
                };
                return (vec![done(codec::pan_tilt_data(pan, tilt))], None);
            }
            Command::Cancel(socket) => {
                let i = usize::from(socket.saturating_sub(1)).min(1);
                if (1..=2).contains(&socket) && inner.busy[i] {
                    inner.busy[i] = false;
                    inner.generation[i] += 1;
                    return (vec![error(socket, ErrorKind::Cancelled)], None);
                }
                return (vec![error(socket, ErrorKind::NoSocket)], None);
            }
            Command::PresetRecall(m) | Command::PresetSet(m) if m > inner.max_preset => {
                return (vec![error(0, ErrorKind::Syntax)], None);
            }
            Command::PresetRecall(m) => Effect::Recall(m),
            Command::PresetSet(m) => Effect::Store(m),
            Command::Home => Effect::Home,
            Command::Power(on) => Effect::Power(on),
        };
        match inner.behaviour {
            Behaviour::SyntaxError => return (vec![error(0, ErrorKind::Syntax)], None),
            Behaviour::BufferFull => return (vec![error(0, ErrorKind::BufferFull)], None),
            _ => {}
        }
        let Some(i) = (0..2).map(|k| (inner.next_socket + k) % 2).find(|&i| !inner.busy[i]) else {
            return (vec![error(0, ErrorKind::BufferFull)], None);
        };
        let socket = i as u8 + 1;
        let standby = !self.status.borrow().power && !matches!(effect, Effect::Power(_));
        if inner.behaviour == Behaviour::NotExecutable || standby {
            return (vec![error(socket, ErrorKind::NotExecutable)], None);
        }
        inner.busy[i] = true;
        inner.next_socket = (i + 1) % 2;
        let delay = match effect {
            Effect::Recall(_) | Effect::Home => inner.move_time,
            Effect::Store(_) | Effect::Power(_) => Duration::from_millis(5),
        };
        (vec![Reply::Ack { from: address, socket }], Some((i, delay, inner.generation[i], effect)))
    }

    /// Finishes a command after its delay; `None` if IF_Clear or Cancel ended it first.
    fn complete(&self, i: usize, generation: u64, effect: Effect) -> Option<Reply> {
        let mut inner = self.inner();
        if inner.generation[i] != generation || !inner.busy[i] {
            return None;
        }
        inner.busy[i] = false;
        let address = inner.address;
        drop(inner);
        self.status.send_modify(|s| {
            s.completed += 1;
            match effect {
                Effect::Recall(m) => {
                    if let Some(&(pan, tilt)) = s.stored.get(&m) {
                        (s.pan, s.tilt) = (pan, tilt);
                    }
                    s.preset = Some(m);
                }
                Effect::Store(m) => {
                    let here = (s.pan, s.tilt);
                    s.stored.insert(m, here);
                }
                Effect::Home => {
                    (s.pan, s.tilt) = (0, 0);
                    s.preset = None;
                }
                Effect::Power(on) => s.power = on,
            }
        });
        Some(Reply::Completion { from: address, socket: i as u8 + 1, data: Vec::new() })
    }

    /// Serves one byte stream (a pty master or a TCP connection) until it closes or
    /// `cancel` fires.
    pub async fn serve_stream<S>(&self, stream: S, cancel: CancellationToken) -> io::Result<()>
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (mut reader, mut writer) = tokio::io::split(stream);
        let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let writer_task = tokio::spawn(async move {
            while let Some(bytes) = out_rx.recv().await {
                if writer.write_all(&bytes).await.is_err() || writer.flush().await.is_err() {
                    break;
                }
            }
        });
        let mut buf = Vec::new();
        let result = loop {
            let mut chunk = [0u8; 64];
            let n = tokio::select! {
                _ = cancel.cancelled() => break Ok(()),
                n = reader.read(&mut chunk) => match n {
                    Ok(0) => break Ok(()),
                    Ok(n) => n,
                    Err(e) => break Err(e),
                },
            };
            buf.extend_from_slice(&chunk[..n]);
            loop {
                match codec::decode(&mut buf) {
                    Ok(Some(packet)) => {
                        let address = self.inner().address;
                        let (now, later) = self.handle(&packet);
                        for r in now.iter().filter(|r| !self.lost(r)) {
                            let _ = out.send(r.packet(address).to_bytes());
                        }
                        if let Some((i, delay, generation, effect)) = later {
                            let (sim, out) = (self.clone(), out.clone());
                            tokio::spawn(async move {
                                tokio::time::sleep(delay).await;
                                if let Some(r) = sim.complete(i, generation, effect) {
                                    let _ = out.send(r.packet(address).to_bytes());
                                }
                            });
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {
                        let address = self.inner().address;
                        let syntax =
                            Reply::Error { from: address, socket: 0, kind: ErrorKind::MessageLength };
                        let _ = out.send(syntax.packet(address).to_bytes());
                    }
                }
            }
        };
        drop(out);
        writer_task.abort();
        result
    }

    /// Serves raw VISCA over TCP on `addr` (port 0: any free port); returns the address.
    pub async fn serve_tcp(&self, addr: SocketAddr, cancel: CancellationToken) -> io::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let local = listener.local_addr()?;
        let sim = self.clone();
        tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = cancel.cancelled() => return,
                    a = listener.accept() => a,
                };
                if let Ok((stream, _)) = accepted {
                    let (sim, cancel) = (sim.clone(), cancel.child_token());
                    tokio::spawn(async move { sim.serve_stream(stream, cancel).await });
                }
            }
        });
        Ok(local)
    }

    /// Serves VISCA over IP on UDP `addr` (port 0: any free port); returns the address.
    /// The socket allows address reuse, as clients such as `visca-over-ip` bind a second
    /// socket to the camera's port number.
    pub async fn serve_udp(&self, addr: SocketAddr, cancel: CancellationToken) -> io::Result<SocketAddr> {
        let socket = socket2::Socket::new(socket2::Domain::for_address(addr), socket2::Type::DGRAM, None)?;
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        let socket = Arc::new(UdpSocket::from_std(socket.into())?);
        let local = socket.local_addr()?;
        let sim = self.clone();
        tokio::spawn(async move {
            // The last (peer, seq) served: a repeat is a retransmission (Sony's table).
            let mut last: Option<(SocketAddr, u32)> = None;
            let mut datagram = [0u8; 128];
            loop {
                let (n, peer) = tokio::select! {
                    _ = cancel.cancelled() => return,
                    r = socket.recv_from(&mut datagram) => match r {
                        Ok(r) => r,
                        Err(_) => continue,
                    },
                };
                let Ok(d) = Datagram::decode(&datagram[..n]) else {
                    continue;
                };
                let send = |d: Datagram| {
                    let socket = socket.clone();
                    async move {
                        let _ = socket.send_to(&d.encode(), peer).await;
                    }
                };
                if d.payload_type == PayloadType::Control {
                    if d.as_control() == Some(Control::Reset) && sim.inner().behaviour != Behaviour::Silent {
                        last = None;
                        send(Datagram::control(Control::Reset, true, d.seq)).await;
                    }
                    continue;
                }
                let Ok(packet) = Packet::parse(&d.payload) else {
                    send(Datagram::control(Control::MessageError, true, d.seq)).await;
                    continue;
                };
                if last == Some((peer, d.seq)) && !packet.body.starts_with(&[0x09]) {
                    send(Datagram::control(Control::SequenceError, true, d.seq)).await;
                    continue;
                }
                last = Some((peer, d.seq));
                let address = sim.inner().address;
                let (now, later) = sim.handle(&packet);
                for r in now.iter().filter(|r| !sim.lost(r)) {
                    send(Datagram::reply(&r.packet(address), d.seq)).await;
                }
                if let Some((i, delay, generation, effect)) = later {
                    let (sim, socket, seq) = (sim.clone(), socket.clone(), d.seq);
                    tokio::spawn(async move {
                        tokio::time::sleep(delay).await;
                        if let Some(r) = sim.complete(i, generation, effect) {
                            let _ = socket
                                .send_to(&Datagram::reply(&r.packet(address), seq).encode(), peer)
                                .await;
                        }
                    });
                }
            }
        });
        Ok(local)
    }

    /// Serves on a new pseudo-terminal; returns the path of its slave side (open it like
    /// a serial port). The pty lives until `cancel` fires.
    pub fn serve_pty(&self, cancel: CancellationToken) -> io::Result<String> {
        use tokio_serial::SerialPort;
        let (master, slave) = crate::serial::SerialStream::pair().map_err(io::Error::from)?;
        let path = slave.name().ok_or_else(|| io::Error::other("the pseudo-terminal has no name"))?;
        let sim = self.clone();
        tokio::spawn(async move {
            // Keep the slave open, so the master sees no hang-up between two opens by the driver.
            let _slave = slave;
            let _ = sim.serve_stream(master, cancel).await;
        });
        Ok(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(c: Command) -> Packet {
        c.packet(1)
    }

    #[tokio::test]
    async fn third_command_finds_both_buffers_full() {
        let sim = SimCamera::new();
        let (a, la) = sim.handle(&packet(Command::PresetRecall(1)));
        let (b, lb) = sim.handle(&packet(Command::PresetRecall(2)));
        let (c, lc) = sim.handle(&packet(Command::Home));
        assert_eq!(a, vec![Reply::Ack { from: 1, socket: 1 }]);
        assert_eq!(b, vec![Reply::Ack { from: 1, socket: 2 }]);
        assert_eq!(c, vec![Reply::Error { from: 1, socket: 0, kind: ErrorKind::BufferFull }]);
        assert!(la.is_some() && lb.is_some() && lc.is_none());
        let (i, _, generation, effect) = la.expect("pending");
        assert_eq!(
            sim.complete(i, generation, effect),
            Some(Reply::Completion { from: 1, socket: 1, data: vec![] })
        );
        assert_eq!(sim.status().preset, Some(1));
    }

    #[tokio::test]
    async fn standby_and_bad_parameters_are_refused() {
        let sim = SimCamera::new();
        let (r, _) = sim.handle(&packet(Command::PresetRecall(0x70)));
        assert_eq!(r, vec![Reply::Error { from: 1, socket: 0, kind: ErrorKind::Syntax }]);
        sim.set_power(false);
        let (r, _) = sim.handle(&packet(Command::PresetRecall(1)));
        assert_eq!(r, vec![Reply::Error { from: 1, socket: 1, kind: ErrorKind::NotExecutable }]);
        let (r, _) = sim.handle(&packet(Command::PowerInquiry));
        assert_eq!(r, vec![Reply::Completion { from: 1, socket: 0, data: vec![0x03] }]);
    }

    #[tokio::test]
    async fn if_clear_drops_pending_completions() {
        let sim = SimCamera::new();
        let (_, later) = sim.handle(&packet(Command::PresetRecall(3)));
        sim.handle(&packet(Command::IfClear { broadcast: false }));
        let (i, _, generation, effect) = later.expect("pending");
        assert_eq!(sim.complete(i, generation, effect), None);
        assert_eq!(sim.status().preset, None);
    }
}
