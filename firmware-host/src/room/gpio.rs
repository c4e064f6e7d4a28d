//! The chair's button box: debounced buttons become chair commands, lamps follow the
//! floor. The mapping is pure ([`command_for`], [`lamp_on`]); [`run`] samples the lines
//! every few milliseconds and rewrites the lamps on every snapshot.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use podium_devices::gpio::GpioBackend;
use podium_devices::gpio::debounce::StableLevelFilter;
use podium_devices::health::DeviceHealth;
use podium_floor::{Command, Snapshot, Station};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::config::{ButtonAction, GpioConfig, LampShows};

/// The chair command for a button. *stop* is `stop_current`, and the engine picks the
/// newest delegate speaker on the floor as it is when the command is applied; *present*
/// toggles: it stops its source if that is presented (anywhere), else presents it.
pub fn command_for(action: &ButtonAction, snapshot: &Snapshot) -> Command {
    match action {
        ButtonAction::Next => Command::Next {},
        ButtonAction::Stop => Command::StopCurrent {},
        ButtonAction::Priority => Command::Priority { clear_requests: false },
        ButtonAction::Clear => Command::ClearRequests {},
        ButtonAction::Present { source, on } => {
            if snapshot.floor.presentation.as_ref().is_some_and(|p| &p.source == source) {
                Command::StopPresenting {}
            } else {
                Command::Present { source: source.clone(), on: *on }
            }
        }
    }
}

/// Whether a lamp is lit for the floor now.
pub fn lamp_on(shows: LampShows, snapshot: &Snapshot) -> bool {
    let speakers = &snapshot.floor.speakers;
    match shows {
        LampShows::SomeoneSpeaking => speakers.iter().any(|s| !s.exempt),
        LampShows::RemoteSpeaking => speakers.iter().any(|s| matches!(s.station, Station::Remote(_))),
        LampShows::OnAir => !speakers.is_empty(),
    }
}

/// How often the buttons are sampled.
const SAMPLE: Duration = Duration::from_millis(5);

/// Runs the button box until `cancel`: presses go to `commands`, lamps follow `snapshots`.
pub async fn run<B: GpioBackend>(
    mut backend: B,
    config: GpioConfig,
    commands: mpsc::Sender<Command>,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    health: Arc<Mutex<DeviceHealth>>,
    cancel: CancellationToken,
) {
    let update = |f: &mut dyn FnMut(&mut DeviceHealth)| {
        let mut h = health.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut h);
    };
    let origin = tokio::time::Instant::now();
    let mut debouncer = StableLevelFilter::new(config.buttons.len(), config.debounce_ms);
    let mut tick = tokio::time::interval(SAMPLE);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut lamps_dirty = true;
    update(&mut |h| h.connected = true);
    loop {
        if lamps_dirty {
            let snapshot = snapshots.borrow_and_update().clone();
            for (i, (_, shows)) in config.lamps.iter().enumerate() {
                if let Err(e) = backend.write_output(i, lamp_on(*shows, &snapshot)) {
                    update(&mut |h| h.failed(e.to_string(), false));
                }
            }
            lamps_dirty = false;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            changed = snapshots.changed() => {
                if changed.is_err() {
                    return;
                }
                lamps_dirty = true;
            }
            _ = tick.tick() => {
                let levels = match backend.read_inputs() {
                    Ok(levels) => levels,
                    Err(e) => {
                        update(&mut |h| h.failed(e.to_string(), true));
                        continue;
                    }
                };
                let now = origin.elapsed().as_millis() as u64;
                for i in debouncer.sample(&levels, now) {
                    let Some((_, action)) = config.buttons.get(i) else { continue };
                    update(&mut |h| {
                        h.answered();
                        h.state = Some(format!("{} pressed", action.name()));
                    });
                    update(&mut |h| h.counters.sent += 1);
                    let command = command_for(action, &snapshots.borrow());
                    if commands.send(command).await.is_err() {
                        return;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use podium_devices::gpio::sim::SimGpio;
    use podium_floor::setup::{SeatSetup, Setup};
    use podium_floor::{Actor, Floor, Timestamp};

    use super::*;
    use crate::config::GpioBackendKind;

    fn floor() -> Floor {
        let seat =
            |n: u16| SeatSetup { number: n, label: n.to_string(), default_participant: None, position: None };
        Floor::new(Setup {
            voting: Default::default(),
            presentation_sources: Vec::new(),
            seats: vec![seat(1), seat(2)],
            participants: Vec::new(),
            profile: Default::default(),
        })
    }

    #[test]
    fn the_present_button_presents_its_source_or_stops_it() {
        let lectern = podium_floor::PresentationSource { name: "lectern".into(), label: "Pult".into() };
        let doccam = podium_floor::PresentationSource { name: "doccam".into(), label: "Kamera".into() };
        let mut floor = Floor::new(Setup {
            voting: Default::default(),
            presentation_sources: vec![lectern, doccam],
            seats: Vec::new(),
            participants: Vec::new(),
            profile: Default::default(),
        });
        let button = ButtonAction::Present { source: "lectern".into(), on: podium_floor::Screens::Hall };
        let press = command_for(&button, &floor.snapshot());
        assert_eq!(press, Command::Present { source: "lectern".into(), on: podium_floor::Screens::Hall });
        floor.handle(&press, &Actor::Chair, Timestamp::new(0, 0)).expect("presented");
        assert_eq!(command_for(&button, &floor.snapshot()), Command::StopPresenting {});
        // Another source presented: the button takes the screens for its own.
        let other = Command::Present { source: "doccam".into(), on: podium_floor::Screens::Both };
        floor.handle(&other, &Actor::Chair, Timestamp::new(1, 1)).expect("presented");
        assert!(matches!(command_for(&button, &floor.snapshot()), Command::Present { .. }));
    }

    #[tokio::test(flavor = "current_thread", start_paused = true)]
    async fn a_debounced_press_sends_one_chair_command_and_lamps_follow_the_floor() {
        let mut floor = floor();
        let at = Timestamp::new(0, 0);
        let request = serde_json::json!({"command": "request", "station": {"seat": 2}});
        let request: Command = serde_json::from_value(request).expect("command");
        assert!(floor.handle(&request, &Actor::Chair, at).is_ok());
        let (tx, snapshots) = watch::channel(Arc::new(floor.snapshot()));
        let sim = SimGpio::new(2, 3);
        let config = GpioConfig {
            backend: GpioBackendKind::Simulated,
            chip: String::new(),
            debounce_ms: 30,
            buttons: vec![(17, ButtonAction::Next), (27, ButtonAction::Stop)],
            lamps: vec![
                (22, LampShows::SomeoneSpeaking),
                (23, LampShows::RemoteSpeaking),
                (24, LampShows::OnAir),
            ],
        };
        let (commands, mut received) = mpsc::channel(8);
        let health = Arc::new(Mutex::new(DeviceHealth::new("buttons", "gpio", "sim")));
        let cancel = CancellationToken::new();
        tokio::spawn(run(sim.clone(), config, commands, snapshots, health.clone(), cancel.clone()));

        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(sim.outputs(), vec![false, false, false]);
        sim.set_button(0, true);
        tokio::time::sleep(Duration::from_millis(10)).await;
        sim.set_button(0, false);
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(received.try_recv().is_err(), "a 10 ms bounce is no press");
        sim.set_button(0, true);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(received.try_recv(), Ok(Command::Next {}));
        assert!(received.try_recv().is_err(), "held: one press");

        let outcome = floor.handle(&Command::Next {}, &Actor::Chair, at);
        assert!(outcome.is_ok(), "{outcome:?}");
        tx.send_replace(Arc::new(floor.snapshot()));
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(sim.outputs(), vec![true, false, true]);
        sim.set_button(1, true);
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert_eq!(received.try_recv(), Ok(Command::StopCurrent {}));
        assert!(health.lock().expect("health").state.as_deref() == Some("stop pressed"));
        cancel.cancel();
    }
}
