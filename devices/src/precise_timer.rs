//! A timer precise to a few microseconds, for the serial drivers' line silences and
//! answer deadlines.
//!
//! tokio's timer wheel ticks once a millisecond and rounds every sleep up to the next
//! tick, so a 1.75 ms silence took 2–3 ms and a 42 µs one (3.5 characters at 921600 baud)
//! a whole millisecond. A Linux timerfd on `CLOCK_MONOTONIC` (the clock `std::time::Instant`
//! reads) is armed by the kernel's high-resolution timers and wakes the runtime's epoll
//! when it expires: the thread sleeps in the kernel, it never spins. The cost is one
//! `timerfd_settime` and one `read` per sleep (measured in the `modbus_bus` benchmark as
//! the driver's CPU time). Where no timerfd can be made, tokio's timer stands in.

use std::io;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;

/// The timerfd, as tokio's `AsyncFd` wants it.
struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

/// A one-shot timer with microsecond precision (see the module documentation). One per
/// driver: each sleep re-arms it, and a sleep dropped early (bytes arrived first) leaves
/// nothing behind that the next one could mistake for its own expiry.
pub struct PreciseTimer {
    fd: Option<AsyncFd<Fd>>,
}

impl PreciseTimer {
    /// A timer; falls back to tokio's when the kernel refuses a timerfd. Must be called
    /// inside a tokio runtime with I/O enabled.
    pub fn new() -> Self {
        let fd = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC)
            .map_err(io::Error::from)
            .and_then(|timer| {
                // SAFETY: `Fd` owns the timerfd (an `OwnedFd` inside `TimerFd`): it stays open
                // and is the same descriptor until the `AsyncFd` holding it is dropped.
                unsafe { AsyncFd::register_with_interest(Fd(timer), Interest::READABLE) }
                    .map_err(|error| error.into_parts().1)
            });
        match fd {
            Ok(fd) => PreciseTimer { fd: Some(fd) },
            Err(error) => {
                tracing::warn!(%error, "no timerfd; line silences use tokio's millisecond timer");
                PreciseTimer { fd: None }
            }
        }
    }

    /// tokio's millisecond timer, as the drivers used before (for the benchmark's comparison).
    pub fn coarse() -> Self {
        PreciseTimer { fd: None }
    }

    /// Whether the precise timer is in use (else tokio's).
    pub fn is_precise(&self) -> bool {
        self.fd.is_some()
    }

    /// Sleeps until `deadline` (returns at once if it has passed).
    pub async fn sleep_until(&mut self, deadline: Instant) {
        let now = Instant::now();
        if deadline <= now {
            return;
        }
        if let Some(fd) = &self.fd
            && Self::wait(fd, deadline - now).await.is_ok()
        {
            return;
        }
        tokio::time::sleep_until(deadline.into()).await;
    }

    async fn wait(fd: &AsyncFd<Fd>, after: Duration) -> io::Result<()> {
        // A zero time would disarm the timer; one nanosecond expires at once.
        let after = TimeSpec::from_duration(after.max(Duration::from_nanos(1)));
        // Re-arming resets the expiry count: an expiry of a sleep dropped earlier is gone.
        fd.get_ref()
            .0
            .set(Expiration::OneShot(after), TimerSetTimeFlags::empty())
            .map_err(io::Error::from)?;
        loop {
            let mut ready = fd.readable().await?;
            let mut count = [0u8; 8];
            // Readiness cached from an old expiry reads EAGAIN; `try_io` clears it then.
            match ready.try_io(|fd| nix::unistd::read(&fd.get_ref().0, &mut count).map_err(io::Error::from)) {
                Ok(Ok(_)) => {
                    // Read: not readable again before the next expiry (saves a read next time).
                    ready.clear_ready();
                    return Ok(());
                }
                Ok(Err(error)) if error.kind() == io::ErrorKind::Interrupted => {}
                Ok(Err(error)) => return Err(error),
                Err(_would_block) => {}
            }
        }
    }
}

impl Default for PreciseTimer {
    fn default() -> Self {
        PreciseTimer::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "current_thread")]
    async fn sleeps_are_not_rounded_to_milliseconds_and_never_end_early() {
        let mut timer = PreciseTimer::new();
        assert!(timer.is_precise(), "Linux gives every process timerfds");
        // Asserts only what cannot fail on a loaded machine: never early. How late the
        // wake-ups are is measured by the modbus_bus benchmark, not here.
        for micros in [0, 40, 300, 1_750] {
            let deadline = Instant::now() + Duration::from_micros(micros);
            timer.sleep_until(deadline).await;
            assert!(Instant::now() >= deadline, "{micros} µs: woke early");
        }
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_sleep_dropped_before_its_expiry_does_not_end_the_next_one_early() {
        let mut timer = PreciseTimer::new();
        let short = Instant::now() + Duration::from_millis(20);
        // Dropped before it expires, as when bytes arrive first.
        tokio::select! {
            () = timer.sleep_until(short) => panic!("the immediate branch must win"),
            () = std::future::ready(()) => {}
        }
        tokio::time::sleep(Duration::from_millis(25)).await; // the old expiry has passed
        let deadline = Instant::now() + Duration::from_millis(5);
        timer.sleep_until(deadline).await;
        assert!(Instant::now() >= deadline, "an old expiry ended the new sleep");
    }
}
