//! Benchmark (not a test): a talker at a Shure MXA → the floor's microphone state published,
//! end to end through the real `podiumd` in voice mode. A simulated MXA on loopback TCP (its
//! own thread and runtime) reports its automixer gate (`< REP x AUTOMIX_GATE_OUT_EXT_SIG ON >`)
//! the moment someone talks into a channel; podiumd turns it into voice activity and the
//! floor publishes the open microphone on its event stream.
//!
//! Measured from the simulator's gate change until this process reads the floor's
//! `microphone_opened` (and, for silence, `microphone_closed`) on `GET /api/v1/events`, with
//! `[voice]` hold times of 0: the hold times (150 ms / 1.5 s by default) are a room's choice
//! against chatter and come on top. The path: the REP to podiumd, the room task's hold and
//! command, the owner, the event stream to the client: two loopback hops, so beside it, in
//! the same run, a loopback TCP round trip (the raw transport's floor for those hops).
//!
//! Run: `cargo bench -p podium-host --bench voice` (add `-- --samples 500`).

#[path = "../../tests/bench/report.rs"]
mod report;
#[path = "../../tests/e2e/support/mod.rs"]
mod support;

use std::time::{Duration, Instant};

use podium_devices::shure::sim::SimMxa;
use report::{Kind, Report};
use support::{Daemon, SseClient};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

const CHANNELS: u8 = 8;
/// Generous bound for an event on a loaded machine; never a performance goal.
const PATIENCE: Duration = Duration::from_secs(10);
/// Between changes: the voice source's rate limit is 20 commands a second.
const PACE: Duration = Duration::from_millis(60);

fn room(mxa: &str) -> String {
    let mut toml = format!(
        "[room]\nid = \"bench\"\nname = \"Voice\"\n\n[web]\ntrust_loopback_as = \"chair\"\n\n\
         [discussion]\nmode = \"voice\"\nmax_open_microphones = {CHANNELS}\n\n\
         [voice]\nopen_after_ms = 0\nclose_after_ms = 0\n\n\
         [[microphone]]\nname = \"ceiling\"\ntcp = \"{mxa}\"\n"
    );
    for seat in 1..=CHANNELS {
        toml.push_str(&format!("[[microphone.zone]]\nchannel = {seat}\nseats = [{seat}]\n"));
    }
    for seat in 1..=CHANNELS {
        toml.push_str(&format!(
            "\n[[seat]]\nnumber = {seat}\nmember = \"m{seat}\"\n[[member]]\nid = \"m{seat}\"\nname = \"Member {seat}\"\n"
        ));
    }
    toml
}

/// Someone starts or stops talking into `channel`; the reply is the moment of the gate's
/// change at the simulator.
struct Talk {
    channel: u8,
    talking: bool,
    reply: oneshot::Sender<Instant>,
}

fn start_simulator(cancel: &CancellationToken) -> (mpsc::UnboundedSender<Talk>, String, SimMxa) {
    let (talk_tx, mut talks) = mpsc::unbounded_channel::<Talk>();
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let cancel = cancel.clone();
    let mxa = SimMxa::new(CHANNELS);
    let sim = mxa.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
        rt.block_on(async move {
            let addr = sim.serve("127.0.0.1:0".parse().expect("addr"), cancel).await.expect("mxa");
            addr_tx.send(addr.to_string()).expect("address");
            while let Some(talk) = talks.recv().await {
                let at = Instant::now();
                sim.talk(talk.channel, talk.talking);
                let _ = talk.reply.send(at);
            }
        });
    });
    let addr = addr_rx.recv().expect("simulator address");
    (talk_tx, addr, mxa)
}

/// Waits for the floor event `change` of `seat`; returns when it was read.
async fn event(events: &mut SseClient, change: &str, seat: u8) -> Instant {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let e = events.next_within(left).await.unwrap_or_else(|| panic!("no {change} of seat {seat}"));
        let change_of = &e.data["change"];
        let station = if change == "microphone_opened" {
            &change_of["speaker"]["station"]
        } else {
            &change_of["station"]
        };
        if e.event == "floor" && change_of["type"] == change && station["seat"] == seat {
            return Instant::now();
        }
    }
}

#[tokio::main]
async fn main() {
    let samples: usize =
        std::env::args().skip_while(|a| a != "--samples").nth(1).and_then(|s| s.parse().ok()).unwrap_or(300);
    let cancel = CancellationToken::new();
    let (talk, mxa_addr, mxa) = start_simulator(&cancel);
    let dir = tempfile::tempdir().expect("tempdir");
    let daemon = Daemon::with_config(dir.path(), &room(&mxa_addr));
    // Every channel listens (unmuted) before anyone talks.
    for channel in 1..=CHANNELS {
        assert!(mxa.wait_for(PATIENCE, channel, false).await, "channel {channel} never listened");
    }
    let mut events = SseClient::connect(&daemon.url("/api/v1/events"), None).await;
    let say = |channel: u8, talking: bool| {
        let (reply, at) = oneshot::channel();
        talk.send(Talk { channel, talking, reply }).expect("simulator thread");
        async move { at.await.expect("simulator reply") }
    };

    let (mut opened, mut closed) = (Vec::new(), Vec::new());
    for i in 0..samples + 10 {
        let channel = (i % usize::from(CHANNELS)) as u8 + 1;
        let started = say(channel, true).await;
        let open = event(&mut events, "microphone_opened", channel).await;
        tokio::time::sleep(PACE).await;
        let stopped = say(channel, false).await;
        let close = event(&mut events, "microphone_closed", channel).await;
        tokio::time::sleep(PACE).await;
        // The first ten warm the path up (connections, caches).
        if i >= 10 {
            opened.push(open.saturating_duration_since(started));
            closed.push(close.saturating_duration_since(stopped));
        }
    }
    let mut round_trips = report::loopback_round_trips(samples);

    let mut report = Report::new(
        "voice",
        "Voice mode: a talker at a Shure MXA to the floor's microphone state (voice mode, hold times 0)",
        "cargo bench -p podium-host --bench voice",
    );
    report.distribution("gate opens at the MXA → `microphone_opened` read", Kind::Podium, &mut opened);
    report.distribution("gate closes at the MXA → `microphone_closed` read", Kind::Podium, &mut closed);
    report.distribution("loopback TCP round trip (raw transport, same run)", Kind::Limit, &mut round_trips);
    report.note(
        "The path crosses loopback twice (the MXA's report to podiumd, the event stream to the \
         reader): one TCP round trip is the raw transport's share. The room's `[voice]` hold \
         times (default 150 ms to open, 1.5 s to close) come on top by design.",
    );
    report.finish();
    cancel.cancel();
}
