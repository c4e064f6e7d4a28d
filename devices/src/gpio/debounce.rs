//! Debouncing sampled button levels: a change counts once the level has held for the
//! debounce period. Pure: the caller passes the time (milliseconds) with every sample.

/// Per-button debouncing that waits for a level to hold (adds the period to every press;
/// for sampled GPIO levels). The desk units' [`EdgeDebouncer`](crate::modbus::debounce::EdgeDebouncer)
/// reports the first edge at once instead.
#[derive(Debug, Clone)]
pub struct StableLevelFilter {
    period_ms: u64,
    stable: Vec<bool>,
    /// A level seen but not yet held long enough, and since when.
    candidate: Vec<Option<(bool, u64)>>,
}

impl StableLevelFilter {
    /// `buttons` buttons, all released, accepting a change after `period_ms`.
    pub fn new(buttons: usize, period_ms: u64) -> Self {
        StableLevelFilter { period_ms, stable: vec![false; buttons], candidate: vec![None; buttons] }
    }

    /// Feeds one sample; returns the buttons that were pressed (went active) and held.
    pub fn sample(&mut self, levels: &[bool], now_ms: u64) -> Vec<usize> {
        let mut pressed = Vec::new();
        for (i, &level) in levels.iter().enumerate().take(self.stable.len()) {
            if level == self.stable[i] {
                self.candidate[i] = None;
                continue;
            }
            match self.candidate[i] {
                Some((l, since)) if l == level && now_ms.saturating_sub(since) >= self.period_ms => {
                    self.stable[i] = level;
                    self.candidate[i] = None;
                    if level {
                        pressed.push(i);
                    }
                }
                Some((l, _)) if l == level => {}
                _ => self.candidate[i] = Some((level, now_ms)),
            }
        }
        pressed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounces_are_ignored_and_a_held_press_counts_once() {
        let mut d = StableLevelFilter::new(2, 20);
        assert!(d.sample(&[true, false], 0).is_empty());
        assert!(d.sample(&[false, false], 5).is_empty(), "bounce");
        assert!(d.sample(&[true, false], 10).is_empty());
        assert!(d.sample(&[true, false], 25).is_empty(), "held 15 ms only");
        assert_eq!(d.sample(&[true, false], 30), vec![0]);
        assert!(d.sample(&[true, false], 100).is_empty(), "still held: no repeat");
        assert!(d.sample(&[false, false], 110).is_empty());
        assert!(d.sample(&[false, false], 130).is_empty(), "released");
        assert!(d.sample(&[true, true], 140).is_empty());
        assert_eq!(d.sample(&[true, true], 160), vec![0, 1]);
    }
}
