//! Simulated room devices for `simulated = true` (the demo room): a VISCA camera on UDP,
//! a PJLink projector or MDC display on TCP, an Extron matrix on a pty, a Shure MXA on TCP,
//! each on a free port, so several demos can run at once. Their state is visible at `GET /api/v1/sim/room`.

use std::net::SocketAddr;

use podium_devices::extron::sim::SimMatrix;
use podium_devices::mdc::sim::SimDisplay;
use podium_devices::pjlink::sim::SimProjector;
use podium_devices::serial::{Parity, SerialSettings};
use podium_devices::shure::sim::SimMxa;
use podium_devices::visca::Transport;
use podium_devices::visca::sim::SimCamera;

use tokio_util::sync::CancellationToken;

use crate::config::{DisplayDevice, RoomConfig};

/// One running simulator.
#[derive(Clone)]
pub enum Sim {
    /// A camera.
    Camera(SimCamera),
    /// A PJLink projector.
    Projector(SimProjector),
    /// A Samsung display.
    Display(SimDisplay),
    /// An Extron matrix and the outputs configured.
    Matrix(SimMatrix, Vec<u16>),
    /// A Shure MXA and its channels.
    Microphone(SimMxa, u8),
}

/// The simulators by device name.
pub type Sims = Vec<(String, Sim)>;

/// Any free port on loopback, where every simulator listens.
pub(crate) const LOOPBACK: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Starts a simulator for every `simulated = true` device and returns the configuration
/// with their real addresses. A simulator that cannot start leaves its device pointing
/// nowhere: the driver reports it in health, the room runs on.
pub async fn start(config: &RoomConfig, sims: &mut Sims, cancel: &CancellationToken) -> RoomConfig {
    let mut config = config.clone();
    for c in config.cameras.iter_mut().filter(|c| c.simulated) {
        let sim = SimCamera::new();
        sim.set_move_time(std::time::Duration::from_millis(800));
        match sim.serve_udp(LOOPBACK, cancel.clone()).await {
            Ok(addr) => {
                c.transport = Transport::Udp(addr);
                sims.push((c.name.clone(), Sim::Camera(sim)));
            }
            Err(e) => tracing::error!(camera = %c.name, "cannot start the simulated camera: {e}"),
        }
    }
    for m in config.microphones.iter_mut().filter(|m| m.simulated) {
        // As many channels as its zones use (an MXA910 has 8).
        let channels = m.zones.iter().map(|(c, _)| *c).max().unwrap_or(1).max(8);
        let sim = SimMxa::new(channels);
        match sim.serve(LOOPBACK, cancel.clone()).await {
            Ok(addr) => {
                m.addr = addr;
                sims.push((m.name.clone(), Sim::Microphone(sim, channels)));
            }
            Err(e) => tracing::error!(microphone = %m.name, "cannot start the simulated array: {e}"),
        }
    }
    for d in config.displays.iter_mut().filter(|d| d.simulated) {
        let started = match &mut d.device {
            DisplayDevice::Pjlink { addr, password } => {
                let sim = SimProjector::new(password.as_deref());
                sim.serve(LOOPBACK, cancel.clone()).await.map(|a| {
                    *addr = a;
                    Sim::Projector(sim)
                })
            }
            DisplayDevice::Mdc { addr, serial, id } => {
                let sim = SimDisplay::new(*id);
                sim.serve_tcp(LOOPBACK, cancel.clone()).await.map(|a| {
                    *addr = Some(a);
                    *serial = None;
                    Sim::Display(sim)
                })
            }
            DisplayDevice::Extron { addr, serial, outputs } => {
                let sim = SimMatrix::new(16, outputs.iter().copied().max().unwrap_or(1).max(1));
                sim.serve_pty(cancel.clone()).map(|path| {
                    *addr = None;
                    *serial = Some(SerialSettings {
                        baud: 9600,
                        parity: Parity::None,
                        ..SerialSettings::new(path)
                    });
                    Sim::Matrix(sim, outputs.clone())
                })
            }
        };
        match started {
            Ok(sim) => sims.push((d.name.clone(), sim)),
            Err(e) => tracing::error!(display = %d.name, "cannot start the simulated device: {e}"),
        }
    }
    config
}
