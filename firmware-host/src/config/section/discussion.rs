//! `[discussion]` and `[discussion.speaking_time]`: the discussion profile at session start.

use podium_floor::setup::{Activation, Limits, Mode, OnExpiry, Profile, SeatNo};

use super::super::reader::{Cx, Sp, StrOrInt, Table};
use super::named;

/// Longest accepted time value (24 hours), in seconds.
pub(crate) const MAX_TIME_S: u32 = 24 * 3600;

/// Keys of `[discussion.speaking_time]`.
pub(crate) const TIME_KEYS: [&str; 3] = ["turn_limit", "warning", "on_expiry"];
/// Keys of `[discussion]` itself.
pub(crate) const LIMIT_KEYS: [&str; 8] = [
    "mode",
    "activation",
    "max_open_microphones",
    "max_requests",
    "members_may_cancel",
    "members_may_switch_off",
    "point_of_order_when_closed",
    "podium_seat",
];

/// The validated `[discussion]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Discussion {
    pub profile: Profile,
    /// The podium seat with its place, for the check against the configured seats.
    pub podium_seat: Option<Sp<SeatNo>>,
}

/// Reads `[discussion]` (optional; defaults are `Profile::default()`).
pub(crate) fn read(root: &mut Table<'_>, cx: &mut Cx<'_>) -> Discussion {
    let mut d = Discussion { profile: Profile::default(), podium_seat: None };
    let Some(mut t) = root.table(cx, "discussion") else {
        return d;
    };
    let p = &mut d.profile;
    if let Some(m) = t.choice(cx, "mode", "mode", Mode::NAMES) {
        set_named(cx, &t, "mode", &m, &mut p.mode);
    }
    if let Some(a) = t.choice(cx, "activation", "activation", Activation::NAMES) {
        set_named(cx, &t, "activation", &a, &mut p.activation);
    }
    read_limits(&mut t, cx, &mut p.limits);
    if let Some(seat) = t.u16_in(cx, "podium_seat", 1, SeatNo::MAX) {
        p.podium_seat = Some(seat.v);
        d.podium_seat = Some(seat);
    }
    if let Some(mut st) = t.table(cx, "speaking_time") {
        read_speaking_time(&mut st, cx, &mut d.profile);
        st.belong_elsewhere(&LIMIT_KEYS, "[discussion]");
        st.finish(cx);
    }
    t.belong_elsewhere(&TIME_KEYS, "[discussion.speaking_time]");
    t.finish(cx);
    d
}

/// Converts a name already checked against `NAMES` into the engine's enum.
fn set_named<T: serde::de::DeserializeOwned>(
    cx: &mut Cx<'_>,
    t: &Table<'_>,
    key: &str,
    name: &Sp<&'static str>,
    out: &mut T,
) {
    match named::<T>(name.v) {
        Some(v) => *out = v,
        None => cx.err(
            &name.span,
            t.field(key),
            format!("`{}` is not supported by this version of podiumd", name.v),
            None,
        ),
    }
}

fn read_limits(t: &mut Table<'_>, cx: &mut Cx<'_>, limits: &mut Limits) {
    let defaults = *limits;
    let open = t.integer(cx, "max_open_microphones");
    let requests = t.integer(cx, "max_requests");
    let mut spans = Vec::new();
    for (key, value, slot) in [
        ("max_open_microphones", &open, &mut limits.max_open_microphones),
        ("max_requests", &requests, &mut limits.max_requests),
    ] {
        let Some(v) = value else { continue };
        match u16::try_from(v.v) {
            Ok(n) => {
                *slot = n;
                spans.push((key, v.span.clone(), v.v));
            }
            Err(_) => cx.err(&v.span, t.field(key), range_message(key, v.v), None),
        }
    }
    // The engine's own range check decides; report each field it names, then put the
    // default back and ask again, so both limits can be reported at once.
    for _ in 0..4 {
        let Some(field) = limits.out_of_range_field() else {
            break;
        };
        match spans.iter().find(|(k, _, _)| *k == field) {
            Some((key, span, value)) => {
                cx.err(span, t.field(key), range_message(key, *value), None);
                match field {
                    "max_open_microphones" => limits.max_open_microphones = defaults.max_open_microphones,
                    _ => limits.max_requests = defaults.max_requests,
                }
            }
            None => {
                cx.err(&t.span, t.field(field), format!("{field} is out of range"), None);
                break;
            }
        }
    }
    if let Some(b) = t.boolean(cx, "members_may_cancel") {
        limits.members_may_cancel = b.v;
    }
    if let Some(b) = t.boolean(cx, "members_may_switch_off") {
        limits.members_may_switch_off = b.v;
    }
    if let Some(b) = t.boolean(cx, "point_of_order_when_closed") {
        limits.point_of_order_when_closed = b.v;
    }
}

fn range_message(key: &str, value: i64) -> String {
    match key {
        "max_open_microphones" => {
            format!("max_open_microphones must be between 1 and {}, not {value}", Limits::MAX_OPEN)
        }
        "max_requests" => format!("max_requests must be between 0 and {}, not {value}", Limits::MAX_REQUESTS),
        _ => format!("{key} is out of range: {value}"),
    }
}

fn read_speaking_time(t: &mut Table<'_>, cx: &mut Cx<'_>, profile: &mut Profile) {
    let st = &mut profile.speaking_time;
    let limit = read_time(t, cx, "turn_limit", 1);
    let warning = read_time(t, cx, "warning", 0);
    if let Some(l) = &limit {
        st.turn_limit_s = Some(l.v);
    }
    if let Some(w) = &warning {
        st.warning_s = w.v;
    }
    if let (Some(l), Some(w)) = (&limit, &warning)
        && w.v >= l.v
    {
        cx.err(
            &w.span,
            t.field("warning"),
            format!(
                "the warning ({}) must be shorter than the turn limit ({})",
                format_time(w.v),
                format_time(l.v)
            ),
            Some("the warning starts this long before the time runs out".into()),
        );
    }
    if let Some(e) = t.choice(cx, "on_expiry", "expiry action", OnExpiry::NAMES) {
        set_named(cx, t, "on_expiry", &e, &mut st.on_expiry);
    }
}

const TIME_HELP: &str = "write minutes and seconds as a string, e.g. \"3:00\" or \"0:30\", or whole seconds as an integer, e.g. 180";

/// A duration written as "m:ss" or as integer seconds, at least `min` seconds.
fn read_time(t: &mut Table<'_>, cx: &mut Cx<'_>, key: &'static str, min: u32) -> Option<Sp<u32>> {
    let raw = t.string_or_integer(cx, key, "a time")?;
    let secs = match &raw.v {
        StrOrInt::Int(i) => u32::try_from(*i).map_err(|_| {
            if *i < 0 { format!("{key} must not be negative") } else { format!("{key} is too long") }
        }),
        StrOrInt::Str(s) => parse_time(s).ok_or_else(|| format!("`{s}` is not a valid time")),
    };
    let secs = match secs {
        Ok(s) => s,
        Err(message) => {
            cx.err(&raw.span, t.field(key), message, Some(TIME_HELP.into()));
            return None;
        }
    };
    if secs > MAX_TIME_S {
        cx.err(
            &raw.span,
            t.field(key),
            format!("{key} must be at most 24 hours, not {}", format_time(secs)),
            None,
        );
        return None;
    }
    if secs < min {
        let help =
            (key == "turn_limit").then(|| "leave `turn_limit` out for unlimited speaking time".to_owned());
        cx.err(&raw.span, t.field(key), format!("{key} must be at least {min} second(s)"), help);
        return None;
    }
    Some(Sp { v: secs, span: raw.span })
}

/// "m:ss" (minutes any number of digits, seconds exactly two digits below 60) → seconds.
pub(crate) fn parse_time(s: &str) -> Option<u32> {
    let (m, sec) = s.split_once(':')?;
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    if !digits(m) || !digits(sec) || sec.len() != 2 || m.len() > 6 {
        return None;
    }
    let m: u32 = m.parse().ok()?;
    let sec: u32 = sec.parse().ok()?;
    if sec >= 60 {
        return None;
    }
    m.checked_mul(60)?.checked_add(sec)
}

/// Seconds → "m:ss".
pub(crate) fn format_time(s: u32) -> String {
    format!("{}:{:02}", s / 60, s % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(parse_time("3:00"), Some(180));
        assert_eq!(parse_time("0:30"), Some(30));
        assert_eq!(parse_time("10:05"), Some(605));
        assert_eq!(parse_time("3:0"), None);
        assert_eq!(parse_time("3:60"), None);
        assert_eq!(parse_time(":30"), None);
        assert_eq!(parse_time("3"), None);
        assert_eq!(parse_time("-1:00"), None);
        assert_eq!(parse_time("3:00:00"), None);
        assert_eq!(parse_time("９:00"), None);
        assert_eq!(parse_time("99999999999:00"), None);
        assert_eq!(format_time(185), "3:05");
    }
}
