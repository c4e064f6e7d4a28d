//! Edge detection with a hold-off debounce, pure.
//!
//! The first change of an input is reported at once (no added latency on a key press);
//! for `hold_off` after it, further changes of that input are ignored, so contact bounce
//! and a sample taken mid-bounce cannot turn one press into press-release-press. When the
//! hold-off ends, a value that differs from the last reported one is reported then.

use std::time::{Duration, Instant};

/// Edges of a block of inputs, the first at once, then a hold-off against bounce (for
/// polled keys: no added latency). The GPIO [`StableLevelFilter`](crate::gpio::debounce::StableLevelFilter)
/// waits for a level to hold instead.
#[derive(Debug, Clone)]
pub struct EdgeDebouncer {
    hold_off: Duration,
    /// Last reported value per input; `None` before the first sample (the baseline).
    reported: Option<Vec<bool>>,
    /// Until when each input ignores changes.
    quiet_until: Vec<Option<Instant>>,
}

impl EdgeDebouncer {
    /// A debouncer with this hold-off (zero: every change is an edge).
    pub fn new(hold_off: Duration) -> Self {
        EdgeDebouncer { hold_off, reported: None, quiet_until: Vec::new() }
    }

    /// Forgets the inputs: the next sample is a new baseline and reports nothing (after a
    /// unit comes back, keys held meanwhile are not presses).
    pub fn reset(&mut self) {
        self.reported = None;
        self.quiet_until.clear();
    }

    /// Feeds one sample taken at `now`; returns the edges as (input index, new value).
    pub fn sample(&mut self, raw: &[bool], now: Instant) -> Vec<(usize, bool)> {
        let reported = match &mut self.reported {
            Some(reported) if reported.len() == raw.len() => reported,
            _ => {
                self.reported = Some(raw.to_vec());
                self.quiet_until = vec![None; raw.len()];
                return Vec::new();
            }
        };
        let mut edges = Vec::new();
        for (i, (&value, last)) in raw.iter().zip(reported.iter_mut()).enumerate() {
            if value == *last {
                continue;
            }
            if self.quiet_until[i].is_some_and(|until| now < until) {
                continue;
            }
            *last = value;
            self.quiet_until[i] = Some(now + self.hold_off);
            edges.push((i, value));
        }
        edges
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_sample_is_the_baseline() {
        let t0 = Instant::now();
        let mut d = EdgeDebouncer::new(Duration::from_millis(30));
        assert!(d.sample(&[true, false], t0).is_empty());
        assert_eq!(d.sample(&[true, true], t0 + Duration::from_millis(1)), vec![(1, true)]);
    }

    #[test]
    fn bounce_inside_the_hold_off_is_ignored_and_settles_after_it() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut d = EdgeDebouncer::new(ms(30));
        d.sample(&[false], t0);
        assert_eq!(d.sample(&[true], t0 + ms(10)), vec![(0, true)]);
        // Bounce: open, closed, open again within the hold-off.
        assert!(d.sample(&[false], t0 + ms(15)).is_empty());
        assert!(d.sample(&[true], t0 + ms(20)).is_empty());
        // Still pressed after the hold-off: nothing new.
        assert!(d.sample(&[true], t0 + ms(50)).is_empty());
        // Released: reported at once.
        assert_eq!(d.sample(&[false], t0 + ms(60)), vec![(0, false)]);
        // A release seen only inside the hold-off is reported when it ends.
        assert_eq!(d.sample(&[true], t0 + ms(100)), vec![(0, true)]);
        assert!(d.sample(&[false], t0 + ms(110)).is_empty());
        assert_eq!(d.sample(&[false], t0 + ms(131)), vec![(0, false)]);
    }

    #[test]
    fn reset_makes_a_new_baseline() {
        let t0 = Instant::now();
        let mut d = EdgeDebouncer::new(Duration::ZERO);
        d.sample(&[false], t0);
        d.reset();
        assert!(d.sample(&[true], t0).is_empty());
        assert_eq!(d.sample(&[false], t0), vec![(0, false)]);
    }
}
