//! A simulated Shure MXA on TCP: `GET`/`SET` of `AUDIO_MUTE` per channel, `GET` of the
//! automixer's gate (`AUTOMIX_GATE_OUT_EXT_SIG`), `< REP ERR >` for anything else, and
//! unsolicited REPs to every client when a channel is changed "at the device" or its gate
//! opens or closes. The gate is open while someone talks into the channel's lobe and the
//! channel is not muted: the mute is before the automixer (the manual's "pre-meter"), so a
//! muted channel hears nobody.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;

use super::codec::{self, Message};

/// A simulated microphone array; clone it to control it while it serves.
#[derive(Clone)]
pub struct SimMxa {
    /// Muted per channel (index 0 = channel 1).
    mutes: watch::Sender<Vec<bool>>,
    /// Someone talks into the channel's lobe (index 0 = channel 1).
    talking: Arc<Mutex<Vec<bool>>>,
    reports: broadcast::Sender<String>,
}

impl SimMxa {
    /// `channels` channels, all muted.
    pub fn new(channels: u8) -> Self {
        SimMxa {
            mutes: watch::channel(vec![true; usize::from(channels)]).0,
            talking: Arc::new(Mutex::new(vec![false; usize::from(channels)])),
            reports: broadcast::channel(64).0,
        }
    }

    /// Whether `channel` is muted.
    pub fn muted(&self, channel: u8) -> Option<bool> {
        self.mutes.borrow().get(usize::from(channel).checked_sub(1)?).copied()
    }

    /// Whether the automixer's gate of `channel` is open (someone talks, not muted).
    pub fn gate(&self, channel: u8) -> Option<bool> {
        let i = usize::from(channel).checked_sub(1)?;
        let talking = *self.talking.lock().unwrap_or_else(|e| e.into_inner()).get(i)?;
        Some(talking && !self.muted(channel)?)
    }

    /// Someone starts or stops talking into `channel`'s lobe; every client gets a REP when
    /// the gate changes.
    pub fn talk(&self, channel: u8, talking: bool) {
        let Some(i) = usize::from(channel).checked_sub(1) else { return };
        self.changing_gate(channel, || {
            if let Some(t) = self.talking.lock().unwrap_or_else(|e| e.into_inner()).get_mut(i) {
                *t = talking;
            }
        });
    }

    /// Changes a channel at the device (web GUI, mute button): every client gets a REP.
    pub fn set_locally(&self, channel: u8, muted: bool) {
        if self.set(channel, muted) {
            let _ = self.reports.send(Message::rep_mute(channel, muted).encode());
        }
    }

    /// Runs `change`, then reports the gate of `channel` to every client if it changed.
    fn changing_gate(&self, channel: u8, change: impl FnOnce()) {
        let before = self.gate(channel);
        change();
        let after = self.gate(channel);
        if let Some(open) = after.filter(|_| after != before) {
            let _ = self.reports.send(Message::rep_gate(channel, open).encode());
        }
    }

    /// Waits until channel `channel` is `muted`; `false` after `timeout`.
    pub async fn wait_for(&self, timeout: Duration, channel: u8, muted: bool) -> bool {
        let mut rx = self.mutes.subscribe();
        let i = usize::from(channel.saturating_sub(1));
        tokio::time::timeout(timeout, rx.wait_for(|m| m.get(i) == Some(&muted)))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    fn set(&self, channel: u8, muted: bool) -> bool {
        let Some(i) = usize::from(channel).checked_sub(1) else { return false };
        let mut known = false;
        self.changing_gate(channel, || {
            known = self.mutes.send_if_modified(|m| match m.get_mut(i) {
                Some(v) => {
                    *v = muted;
                    true
                }
                None => false,
            });
        });
        known
    }

    fn answer(&self, m: &Message) -> String {
        let err = "< REP ERR >".to_owned();
        match (m.verb.as_str(), m.channel, m.param.as_str()) {
            ("GET", Some(c), "AUDIO_MUTE") => self.muted(c).map_or(err, |v| Message::rep_mute(c, v).encode()),
            ("SET", Some(c), "AUDIO_MUTE") => {
                let value = match m.value.as_str() {
                    "ON" => true,
                    "OFF" => false,
                    "TOGGLE" => !self.muted(c).unwrap_or(true),
                    _ => return err,
                };
                if self.muted(c).is_none() {
                    return err;
                }
                self.set(c, value);
                Message::rep_mute(c, value).encode()
            }
            ("GET", Some(c), "AUTOMIX_GATE_OUT_EXT_SIG") => {
                self.gate(c).map_or(err, |open| Message::rep_gate(c, open).encode())
            }
            // Identify: the LEDs flash (for 30 s on the real array).
            ("SET", None, "FLASH") if matches!(m.value.as_str(), "ON" | "OFF") => {
                format!("< REP FLASH {} >", m.value)
            }
            ("GET", None, "MODEL") => "< REP MODEL {MXA910 (Podium simulator)          } >".into(),
            _ => err,
        }
    }

    async fn connection(&self, mut stream: TcpStream) -> std::io::Result<()> {
        let mut reports = self.reports.subscribe();
        let mut buf = Vec::new();
        loop {
            let mut chunk = [0u8; 512];
            tokio::select! {
                r = reports.recv() => if let Ok(rep) = r { stream.write_all(rep.as_bytes()).await? },
                n = stream.read(&mut chunk) => {
                    let n = n?;
                    if n == 0 {
                        return Ok(());
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    while let Some(message) = codec::take(&mut buf) {
                        let answer = message.map_or_else(|| "< REP ERR >".to_owned(), |m| self.answer(&m));
                        stream.write_all(answer.as_bytes()).await?;
                    }
                }
            }
        }
    }

    /// Serves on `addr` (port 0: any free port); returns the address.
    pub async fn serve(&self, addr: SocketAddr, cancel: CancellationToken) -> std::io::Result<SocketAddr> {
        let sim = self.clone();
        crate::sim_serve::tcp(
            addr,
            cancel,
            || true,
            move |stream| {
                let sim = sim.clone();
                async move { sim.connection(stream).await }
            },
        )
        .await
    }
}
