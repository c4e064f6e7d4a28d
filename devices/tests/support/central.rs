//! What the central units' driver tests share: the floor in a line, waiting for a report or
//! a condition.

use std::time::Duration;

use podium_devices::central::{SeatReport, UnitFloor};
use tokio::sync::mpsc;

/// Generous bound for anything to happen on a loaded machine; never a performance goal.
pub const WAIT: Duration = Duration::from_secs(10);

/// Open microphones and waiting requests, by the unit's seat numbers.
pub fn floor(speakers: &[u16], requests: &[u16]) -> UnitFloor {
    UnitFloor { speakers: speakers.iter().copied().collect(), requests: requests.iter().copied().collect() }
}

/// The next change made at the unit that the driver reports.
pub async fn next_report(rx: &mut mpsc::Receiver<(String, SeatReport)>) -> SeatReport {
    tokio::time::timeout(WAIT, rx.recv()).await.expect("a report in time").expect("driver running").1
}

/// Waits until `test` holds; `false` after [`WAIT`].
pub async fn until(mut test: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + WAIT;
    while tokio::time::Instant::now() < deadline {
        if test() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    false
}
