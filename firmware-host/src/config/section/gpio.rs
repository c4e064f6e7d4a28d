//! `[gpio]` with `[[gpio.button]]` and `[[gpio.lamp]]`: the chair's button box and tally
//! lamps on the Pi's GPIO.

use std::collections::HashSet;

use super::super::reader::{Cx, Table};

/// What a button does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ButtonAction {
    /// Grant the floor to the next request.
    Next,
    /// Close the microphone that opened last.
    Stop,
    /// Priority: close every delegate microphone.
    Priority,
    /// Remove every waiting request.
    Clear,
    /// Present a source (`[[presentation_source]]`), or stop it if it is presented.
    Present {
        /// The source's name.
        source: String,
        /// Where.
        on: podium_floor::Screens,
    },
}

impl ButtonAction {
    /// Its name in the room file (`action = "…"`).
    pub fn name(&self) -> &'static str {
        match self {
            ButtonAction::Next => "next",
            ButtonAction::Stop => "stop",
            ButtonAction::Priority => "priority",
            ButtonAction::Clear => "clear",
            ButtonAction::Present { .. } => "present",
        }
    }
}

/// What a lamp shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LampShows {
    /// A delegate (not the chair) speaks.
    SomeoneSpeaking,
    /// A remote member speaks.
    RemoteSpeaking,
    /// Any microphone is open.
    OnAir,
}

/// Which GPIO implementation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GpioBackendKind {
    /// The kernel's GPIO character device.
    Cdev,
    /// Simulated (tests, demo, machines without GPIO).
    Simulated,
}

/// The validated `[gpio]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GpioConfig {
    /// Backend.
    pub backend: GpioBackendKind,
    /// GPIO chip device.
    pub chip: String,
    /// Debounce period.
    pub debounce_ms: u64,
    /// (line, action) per button.
    pub buttons: Vec<(u32, ButtonAction)>,
    /// (line, what it shows) per lamp.
    pub lamps: Vec<(u32, LampShows)>,
}

const BACKENDS: &[&str] = &["cdev", "simulated"];
const ACTIONS: &[&str] = &["next", "stop", "priority", "clear", "present"];
const SHOWS: &[&str] = &["someone_speaking", "remote_speaking", "on_air"];

/// Reads `[gpio]` (optional).
/// `sources` are the room's presentation sources, for `action = "present"`.
pub(crate) fn read(
    root: &mut Table<'_>,
    cx: &mut Cx<'_>,
    sources: &[super::presentation::PresentationSourceConfig],
) -> Option<GpioConfig> {
    let mut t = root.table(cx, "gpio")?;
    let backend = match t.choice(cx, "backend", "GPIO backend", BACKENDS).map(|b| b.v) {
        Some("simulated") => GpioBackendKind::Simulated,
        _ => GpioBackendKind::Cdev,
    };
    let chip = t.string(cx, "chip").map_or_else(|| "/dev/gpiochip0".to_owned(), |c| c.v);
    let debounce_ms = t.integer_in(cx, "debounce_ms", 0, 1000).map_or(30, |d| d.v as u64);
    let mut used = HashSet::new();
    let mut line = |cx: &mut Cx<'_>, e: &mut Table<'_>| -> Option<u32> {
        let l = e.integer_in(cx, "line", 0, 511)?;
        if !used.insert(l.v) {
            cx.err(&l.span, e.field("line"), format!("GPIO line {} is used twice", l.v), None);
        }
        Some(l.v as u32)
    };
    let mut buttons = Vec::new();
    for mut b in t.tables(cx, "button") {
        let l = line(cx, &mut b);
        let action = match b.choice(cx, "action", "button action", ACTIONS).map(|a| a.v) {
            Some("next") => Some(ButtonAction::Next),
            Some("stop") => Some(ButtonAction::Stop),
            Some("priority") => Some(ButtonAction::Priority),
            Some("clear") => Some(ButtonAction::Clear),
            Some(_) => present(cx, &mut b, sources),
            None => None,
        };
        for (key, missing, example) in [("line", l.is_none(), "17"), ("action", action.is_none(), "\"next\"")]
        {
            if missing && !b.has(key) {
                b.missing(cx, key, example);
            }
        }
        b.finish(cx);
        if let (Some(l), Some(a)) = (l, action) {
            buttons.push((l, a));
        }
    }
    let mut lamps = Vec::new();
    for mut o in t.tables(cx, "lamp") {
        let l = line(cx, &mut o);
        let shows = o.choice(cx, "shows", "lamp meaning", SHOWS).map(|s| match s.v {
            "someone_speaking" => LampShows::SomeoneSpeaking,
            "remote_speaking" => LampShows::RemoteSpeaking,
            _ => LampShows::OnAir,
        });
        for (key, missing, example) in [("line", l.is_none(), "22"), ("shows", shows.is_none(), "\"on_air\"")]
        {
            if missing && !o.has(key) {
                o.missing(cx, key, example);
            }
        }
        o.finish(cx);
        if let (Some(l), Some(s)) = (l, shows) {
            lamps.push((l, s));
        }
    }
    t.finish(cx);
    Some(GpioConfig { backend, chip, debounce_ms, buttons, lamps })
}

/// `action = "present"` with `source` (a `[[presentation_source]]`) and `on` (`hall`,
/// `stream` or `both`; default `hall`).
fn present(
    cx: &mut Cx<'_>,
    b: &mut Table<'_>,
    sources: &[super::presentation::PresentationSourceConfig],
) -> Option<ButtonAction> {
    let on = match b.choice(cx, "on", "screen", &["hall", "stream", "both"]).map(|o| o.v) {
        Some("stream") => podium_floor::Screens::Stream,
        Some("both") => podium_floor::Screens::Both,
        _ => podium_floor::Screens::Hall,
    };
    let source = b.string(cx, "source");
    if source.is_none() && !b.has("source") {
        b.missing(cx, "source", "\"lectern\" (a [[presentation_source]])");
    }
    let source = source?;
    if !sources.iter().any(|s| s.name == source.v) {
        let names: Vec<&str> = sources.iter().map(|s| s.name.as_str()).collect();
        let help = if names.is_empty() {
            "the room has no [[presentation_source]]".to_owned()
        } else {
            format!("the room's sources: {}", names.join(", "))
        };
        cx.err(&source.span, b.field("source"), format!("no presentation source `{}`", source.v), Some(help));
        return None;
    }
    Some(ButtonAction::Present { source: source.v, on })
}
