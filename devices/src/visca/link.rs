//! The byte transports a VISCA camera is reached over: a serial port (RS-232/RS-422), raw
//! VISCA over TCP (port 5678) and VISCA over IP on UDP (port 52381, with the 8-byte header
//! and sequence numbers).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

use super::codec::{self, Packet};
use super::engine::Incoming;
use super::ip::{Control, Datagram, PayloadType};
use crate::serial::SerialSettings;

/// Where a camera is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Transport {
    /// A serial port; VISCA runs at 9600 or 38400 baud, 8N1.
    Serial(SerialSettings),
    /// VISCA over IP (UDP, default port 52381).
    Udp(SocketAddr),
    /// Raw VISCA over TCP (default port 5678).
    Tcp(SocketAddr),
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Transport::Serial(s) => f.write_str(&s.describe()),
            Transport::Udp(a) => write!(f, "udp {a}"),
            Transport::Tcp(a) => write!(f, "tcp {a}"),
        }
    }
}

pub use crate::link_io::ByteStream;

/// An open link.
pub(crate) enum Link {
    Stream { io: Box<dyn ByteStream>, buf: Vec<u8> },
    Udp { socket: UdpSocket, seq: u32 },
}

const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);

impl Link {
    /// Opens the transport.
    pub(crate) async fn open(transport: &Transport) -> io::Result<Link> {
        match transport {
            Transport::Serial(settings) => {
                let port = crate::serial::open(settings)?;
                Ok(Link::Stream { io: Box::new(port), buf: Vec::new() })
            }
            Transport::Tcp(addr) => {
                let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
                    .await
                    .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "connect timed out"))??;
                stream.set_nodelay(true)?;
                Ok(Link::Stream { io: Box::new(stream), buf: Vec::new() })
            }
            Transport::Udp(addr) => {
                let local: SocketAddr =
                    if addr.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
                let socket = UdpSocket::bind(local).await?;
                socket.connect(addr).await?;
                Ok(Link::Udp { socket, seq: 0 })
            }
        }
    }

    /// Whether sequence numbers and control messages exist on this link.
    pub(crate) fn is_ip(&self) -> bool {
        matches!(self, Link::Udp { .. })
    }

    /// Starts a new message: over IP the next sequence number (wrapping to 0).
    pub(crate) fn next_message(&mut self) {
        if let Link::Udp { seq, .. } = self {
            *seq = seq.wrapping_add(1);
        }
    }

    /// Sends a VISCA packet (again, with the same sequence number, if called twice).
    pub(crate) async fn send(&mut self, packet: &Packet) -> io::Result<()> {
        match self {
            // No flush: on a serial port it is tcdrain(), which would block podiumd's one
            // thread until the packet left the UART; written, the kernel sends it.
            Link::Stream { io, .. } => io.write_all(&packet.to_bytes()).await,
            Link::Udp { socket, seq } => {
                socket.send(&Datagram::visca(packet, *seq).encode()).await.map(|_| ())
            }
        }
    }

    /// Sends RESET (VISCA over IP) and restarts the sequence at 0.
    pub(crate) async fn send_reset(&mut self) -> io::Result<()> {
        if let Link::Udp { socket, seq } = self {
            *seq = 0;
            socket.send(&Datagram::control(Control::Reset, false, 0).encode()).await?;
        }
        Ok(())
    }

    /// The next message from the camera. Cancel-safe: bytes already read stay buffered.
    /// Over IP, datagrams with another sequence number (late answers) are skipped.
    pub(crate) async fn recv(&mut self) -> io::Result<Result<Incoming, codec::CodecError>> {
        match self {
            Link::Stream { io, buf } => loop {
                match codec::decode(buf) {
                    Ok(Some(packet)) => return Ok(Ok(Incoming::Packet(packet))),
                    Ok(None) => {}
                    Err(e) => return Ok(Err(e)),
                }
                let mut chunk = [0u8; 64];
                let n = io.read(&mut chunk).await?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        "the camera closed the connection",
                    ));
                }
                buf.extend_from_slice(&chunk[..n]);
            },
            Link::Udp { socket, seq } => loop {
                let mut datagram = [0u8; 64];
                let n = socket.recv(&mut datagram).await?;
                let Ok(d) = Datagram::decode(&datagram[..n]) else {
                    continue;
                };
                if d.seq != *seq {
                    continue;
                }
                if let Some(control) = d.as_control() {
                    return Ok(Ok(Incoming::Control(control)));
                }
                if d.payload_type == PayloadType::Reply {
                    return Ok(Packet::parse(&d.payload).map(Incoming::Packet));
                }
            },
        }
    }
}
