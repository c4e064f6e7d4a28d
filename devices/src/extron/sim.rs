//! A simulated Extron matrix switcher on TCP or a pseudo-terminal: copyright banner,
//! ties, tie reads, SIS errors for bad inputs/outputs/commands.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use super::codec::Command;

/// A simulated matrix; clone it to control it while it serves.
#[derive(Clone)]
pub struct SimMatrix {
    inputs: u16,
    online: Arc<Mutex<bool>>,
    /// The input tied to each output (index 0 = output 1; 0 = untied).
    ties: watch::Sender<Vec<u16>>,
}

impl SimMatrix {
    /// A matrix with this many inputs and outputs, all untied.
    pub fn new(inputs: u16, outputs: u16) -> Self {
        SimMatrix {
            inputs,
            online: Arc::new(Mutex::new(true)),
            ties: watch::channel(vec![0; usize::from(outputs)]).0,
        }
    }

    /// The input tied to `output` (0: none).
    pub fn tie(&self, output: u16) -> u16 {
        self.ties.borrow().get(usize::from(output.saturating_sub(1))).copied().unwrap_or(0)
    }

    /// `false`: connections are dropped at once.
    pub fn set_online(&self, online: bool) {
        *self.online.lock().unwrap_or_else(|e| e.into_inner()) = online;
    }

    fn online(&self) -> bool {
        *self.online.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Waits until `output` carries `input`; `false` after `timeout`.
    pub async fn wait_for_tie(&self, timeout: Duration, output: u16, input: u16) -> bool {
        let mut rx = self.ties.subscribe();
        let i = usize::from(output.saturating_sub(1));
        tokio::time::timeout(timeout, rx.wait_for(|t| t.get(i) == Some(&input)))
            .await
            .is_ok_and(|r| r.is_ok())
    }

    fn answer(&self, text: &str) -> String {
        let outputs = self.ties.borrow().len() as u16;
        match Command::parse(text) {
            Some(Command::Tie { input, .. }) if input > self.inputs => "E01".into(),
            Some(Command::Tie { output, .. }) if output == 0 || output > outputs => "E12".into(),
            Some(Command::Tie { input, output, kind }) => {
                self.ties.send_modify(|t| t[usize::from(output - 1)] = input);
                let what = match kind {
                    super::codec::TieKind::All => "All",
                    super::codec::TieKind::Video => "Vid",
                    super::codec::TieKind::Audio => "Aud",
                };
                format!("Out{output:02} In{input:02} {what}")
            }
            Some(Command::ReadTie { output }) if output == 0 || output > outputs => "E12".into(),
            Some(Command::ReadTie { output }) => format!("{:02}", self.tie(output)),
            None => "E10".into(),
        }
    }

    /// Serves one byte stream until it closes.
    pub async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
        &self,
        mut stream: S,
    ) -> std::io::Result<()> {
        stream
            .write_all(b"(c) Copyright 2026, Extron Electronics, Podium SimMatrix, V1.00, 60-0000-00\r\n")
            .await?;
        let mut command = String::new();
        loop {
            let mut chunk = [0u8; 64];
            let n = stream.read(&mut chunk).await?;
            if n == 0 || !self.online() {
                return Ok(());
            }
            for &b in &chunk[..n] {
                match b {
                    b'\r' | b'\n' | b' ' => {}
                    b'!' | b'%' | b'&' | b'$' => {
                        command.push(char::from(b));
                        let answer = self.answer(&command);
                        command.clear();
                        stream.write_all(format!("{answer}\r\n").as_bytes()).await?;
                    }
                    _ if command.len() >= 16 => {
                        command.clear();
                        stream.write_all(b"E10\r\n").await?;
                    }
                    _ => command.push(char::from(b)),
                }
            }
        }
    }

    /// Serves SIS over TCP on `addr` (port 0: any free port); returns the address. While
    /// the matrix is offline, connections are closed at once.
    pub async fn serve_tcp(
        &self,
        addr: SocketAddr,
        cancel: CancellationToken,
    ) -> std::io::Result<SocketAddr> {
        let (sim, probe) = (self.clone(), self.clone());
        crate::sim_serve::tcp(
            addr,
            cancel,
            move || probe.online(),
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
