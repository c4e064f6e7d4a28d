//! A simulated Samsung MDC display on a pseudo-terminal or TCP: power, input source,
//! NAK for unknown commands and inputs.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::codec::{self, Frame, INPUT, INPUTS, POWER};

/// What the simulated display shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MdcStatus {
    /// Power on.
    pub power: bool,
    /// Input source code.
    pub input: u8,
}

/// A simulated display; clone it to control it while it serves.
#[derive(Clone)]
pub struct SimDisplay {
    id: u8,
    status: watch::Sender<MdcStatus>,
}

impl SimDisplay {
    /// Display `id`, off, on HDMI1.
    pub fn new(id: u8) -> Self {
        SimDisplay { id, status: watch::channel(MdcStatus { power: false, input: 0x21 }).0 }
    }

    /// The state now.
    pub fn status(&self) -> MdcStatus {
        self.status.borrow().clone()
    }

    /// Waits until `ready` holds; `false` after `timeout`.
    pub async fn wait_for(&self, timeout: Duration, ready: impl Fn(&MdcStatus) -> bool) -> bool {
        let mut rx = self.status.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|s| ready(s))).await.is_ok_and(|r| r.is_ok())
    }

    fn answer(&self, frame: &Frame) -> Option<Frame> {
        if frame.id != self.id && frame.id != 0xFE {
            return None;
        }
        let reply = match (frame.command, frame.data.as_slice()) {
            (POWER, []) => Frame::reply(self.id, true, POWER, &[u8::from(self.status().power)]),
            (POWER, [v @ (0 | 1)]) => {
                self.status.send_modify(|s| s.power = *v == 1);
                Frame::reply(self.id, true, POWER, &[*v])
            }
            (INPUT, []) => Frame::reply(self.id, true, INPUT, &[self.status().input]),
            (INPUT, [c]) if INPUTS.iter().any(|(_, code)| code == c) && self.status().power => {
                self.status.send_modify(|s| s.input = *c);
                Frame::reply(self.id, true, INPUT, &[*c])
            }
            (cmd, _) => Frame::reply(self.id, false, cmd, &[0x01]),
        };
        // `FE` addresses every display on the chain: executed, not answered.
        (frame.id != 0xFE).then_some(reply)
    }

    /// Serves one byte stream until it closes.
    pub async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
    ) -> std::io::Result<()> {
        let mut buf = Vec::new();
        loop {
            let mut chunk = [0u8; 64];
            let n = stream.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
            loop {
                match codec::decode(&mut buf) {
                    Ok(Some(frame)) => {
                        if let Some(reply) = self.answer(&frame) {
                            stream.write_all(&reply.encode()).await?;
                        }
                    }
                    Ok(None) => break,
                    Err(_) => {}
                }
            }
        }
    }

    /// Serves MDC over TCP on `addr` (port 0: any free port); returns the address.
    pub async fn serve_tcp(
        &self,
        addr: SocketAddr,
        cancel: CancellationToken,
    ) -> std::io::Result<SocketAddr> {
        let sim = self.clone();
        crate::sim_serve::tcp(
            addr,
            cancel,
            || true,
            move |stream| {
                let sim = sim.clone();
                async move { sim.serve_stream(stream).await }
            },
        )
        .await
    }

    /// Serves on a new pseudo-terminal; returns its path.
    pub fn serve_pty(&self, cancel: CancellationToken) -> std::io::Result<String> {
        let sim = self.clone();
        crate::sim_serve::pty(cancel, move |master| async move { sim.serve_stream(master).await })
    }
}
