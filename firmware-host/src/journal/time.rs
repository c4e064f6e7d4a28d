//! Wall-clock times for the record: Unix milliseconds as RFC 3339 (UTC), never panicking.

/// `2026-03-01T18:04:05.123Z` for a Unix time in milliseconds (UTC, proleptic Gregorian).
/// Any `i64` gives a string; years outside 0..=9999 are written with as many digits as needed.
pub fn rfc3339(unix_ms: i64) -> String {
    let secs = unix_ms.div_euclid(1000);
    let millis = unix_ms.rem_euclid(1000);
    let days = secs.div_euclid(86_400);
    let of_day = secs.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{millis:03}Z",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

/// Year, month (1..=12) and day (1..=31) of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    // Count from 0000-03-01 so that the leap day is the last day of a "year"; an era is
    // 400 years = 146097 days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 { month_from_march + 3 } else { month_from_march - 9 };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// How times are written: the room's time zone.
#[derive(Debug, Clone)]
pub struct LocalTime {
    zone: jiff::tz::TimeZone,
    name: String,
}

impl LocalTime {
    /// The zone named `name` (IANA, e.g. `Europe/Berlin`), from the tz database built into
    /// podiumd (a Pi without `tzdata` gives the same minutes).
    pub fn new(name: &str) -> Result<LocalTime, String> {
        jiff::tz::TimeZone::get(name)
            .map(|zone| LocalTime { zone, name: name.to_owned() })
            .map_err(|e| format!("unknown time zone `{name}`: {e}"))
    }

    /// `2026-03-29 03:15:00 CEST`.
    pub fn format(&self, unix_ms: i64) -> String {
        match jiff::Timestamp::from_millisecond(unix_ms) {
            Ok(ts) => ts.to_zoned(self.zone.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string(),
            Err(_) => rfc3339(unix_ms),
        }
    }

    /// `15:04` (for the printed minutes).
    pub fn clock(&self, unix_ms: i64) -> String {
        match jiff::Timestamp::from_millisecond(unix_ms) {
            Ok(ts) => ts.to_zoned(self.zone.clone()).strftime("%H:%M").to_string(),
            Err(_) => String::new(),
        }
    }

    /// `05.12.2026` (for the printed minutes).
    pub fn date(&self, unix_ms: i64) -> String {
        match jiff::Timestamp::from_millisecond(unix_ms) {
            Ok(ts) => ts.to_zoned(self.zone.clone()).strftime("%d.%m.%Y").to_string(),
            Err(_) => String::new(),
        }
    }

    /// The zone's name.
    pub fn name(&self) -> &str {
        &self.name
    }
}

/// The room's time zone by default.
pub const DEFAULT_TIME_ZONE: &str = "Europe/Berlin";

#[cfg(test)]
mod tests {
    use super::rfc3339;

    #[test]
    fn known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(rfc3339(951_868_799_999), "2000-02-29T23:59:59.999Z");
        assert_eq!(rfc3339(1_709_251_199_000), "2024-02-29T23:59:59.000Z");
        assert_eq!(rfc3339(1_772_388_245_123), "2026-03-01T18:04:05.123Z");
        assert_eq!(rfc3339(4_102_444_800_000), "2100-01-01T00:00:00.000Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn extremes_do_not_panic() {
        assert!(rfc3339(i64::MIN).ends_with('Z'));
        assert!(rfc3339(i64::MAX).ends_with('Z'));
    }

    #[test]
    fn agrees_with_a_day_by_day_walk() {
        // Walk 1970..2101 one day at a time with the calendar rules and compare.
        let mut day_count: i64 = 0;
        for year in 1970..2101i64 {
            let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
            let lengths = [31, if leap { 29 } else { 28 }, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
            for (m, len) in lengths.iter().enumerate() {
                for d in 1..=*len {
                    let expected = format!("{year:04}-{:02}-{d:02}T00:00:00.000Z", m + 1);
                    assert_eq!(rfc3339(day_count * 86_400_000), expected);
                    day_count += 1;
                }
            }
        }
    }
}

/// A span of time as the minutes give it, in Unix milliseconds and local time (an item's
/// discussion, a member's presence).
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Period {
    /// From (Unix milliseconds).
    pub from_unix_ms: i64,
    /// From, local time.
    pub from_local: String,
    /// Until (Unix milliseconds); absent while it lasts.
    pub until_unix_ms: Option<i64>,
    /// Until, local time.
    pub until_local: Option<String>,
}
