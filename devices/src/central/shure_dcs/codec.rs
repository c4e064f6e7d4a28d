//! Lines of the Shure / DIS External Control Protocol. The controller sends
//! `<command> <data><CR>` (the unit takes CR, LF or both, in any case); the unit answers
//! `<command> <data><CR><LF>`, with the same verb, and only when it did something: a
//! `mic_on` for a microphone that is on already gets no answer at all. A change at the unit
//! (a delegate's key, the chair) comes as the same line. Pure; never panics.

use super::super::UnitSeat;

/// The TCP port.
pub const PORT: u16 = 3142;
/// Longest line kept; a longer one is dropped whole.
pub const MAX_LINE: usize = 256;

/// A discussion mode of the unit (`mic_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MicMode {
    /// A key opens the microphone if there is room, no request list.
    Auto,
    /// A key queues; the first in the queue opens as soon as there is room.
    Fifo,
    /// A key queues; only the chair, the web page or a controller opens microphones. The
    /// mode in which Podium decides.
    Manual,
    /// The voice opens the microphone.
    Vox,
}

impl MicMode {
    /// The word on the wire.
    pub fn word(self) -> &'static str {
        match self {
            MicMode::Auto => "auto",
            MicMode::Fifo => "fifo",
            MicMode::Manual => "manual",
            MicMode::Vox => "vox",
        }
    }

    /// Reads a mode; the DIS-CCU's `+reply` variants count as their base mode.
    pub fn parse(word: &str) -> Option<MicMode> {
        let word = word.to_ascii_lowercase();
        let base = word.strip_suffix("+reply").unwrap_or(&word);
        Some(match base {
            "auto" => MicMode::Auto,
            "fifo" => MicMode::Fifo,
            "manual" => MicMode::Manual,
            "vox" => MicMode::Vox,
            _ => return None,
        })
    }
}

/// What the controller sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `mic_on <seat>`.
    MicOn(UnitSeat),
    /// `mic_off <seat>`.
    MicOff(UnitSeat),
    /// `mic_request_on <seat>`.
    RequestOn(UnitSeat),
    /// `mic_request_off <seat>`.
    RequestOff(UnitSeat),
    /// `mic_all_delegates_off` (the chair's microphone stays on).
    AllDelegatesOff,
    /// `mic_all_requests_off`.
    AllRequestsOff,
    /// `mic_next_on`: the first speaker off, the first request on.
    NextOn,
    /// `mic_mode <mode>`.
    Mode(MicMode),
    /// `max_total_speakers <1-8>`.
    MaxTotalSpeakers(u8),
    /// `max_speakers <1-8>` (delegates).
    MaxSpeakers(u8),
    /// `max_requests <0-250>`.
    MaxRequests(u8),
    /// `mic_status`: the unit streams its state, ending with `mic_status_done`.
    Status,
    /// `help`.
    Help,
}

impl Command {
    /// The line on the wire, CR-terminated as the manuals write it.
    pub fn encode(&self) -> String {
        let body = match self {
            Command::MicOn(s) => format!("mic_on {s}"),
            Command::MicOff(s) => format!("mic_off {s}"),
            Command::RequestOn(s) => format!("mic_request_on {s}"),
            Command::RequestOff(s) => format!("mic_request_off {s}"),
            Command::AllDelegatesOff => "mic_all_delegates_off".into(),
            Command::AllRequestsOff => "mic_all_requests_off".into(),
            Command::NextOn => "mic_next_on".into(),
            Command::Mode(m) => format!("mic_mode {}", m.word()),
            Command::MaxTotalSpeakers(n) => format!("max_total_speakers {n}"),
            Command::MaxSpeakers(n) => format!("max_speakers {n}"),
            Command::MaxRequests(n) => format!("max_requests {n}"),
            Command::Status => "mic_status".into(),
            Command::Help => "help".into(),
        };
        body + "\r"
    }

    /// Reads a controller's line (the simulator's side).
    ///
    /// # Errors
    ///
    /// `unknown command` or `syntax error`, the unit's own `command_error` texts.
    pub fn parse(line: &str) -> Result<Command, &'static str> {
        const UNKNOWN: &str = "unknown command";
        const SYNTAX: &str = "syntax error";
        let mut words = line.split_whitespace();
        let verb = words.next().ok_or(UNKNOWN)?.to_ascii_lowercase();
        let arg = words.next();
        if words.next().is_some() {
            return Err(SYNTAX);
        }
        let seat = || arg.and_then(|a| a.parse::<UnitSeat>().ok()).filter(|s| *s >= 1).ok_or(SYNTAX);
        let number = |max: u8, min: u8| {
            arg.and_then(|a| a.parse::<u8>().ok()).filter(|n| (min..=max).contains(n)).ok_or(SYNTAX)
        };
        let bare = |c: Command| if arg.is_some() { Err(SYNTAX) } else { Ok(c) };
        match verb.as_str() {
            "mic_on" => Ok(Command::MicOn(seat()?)),
            "mic_off" => Ok(Command::MicOff(seat()?)),
            "mic_request_on" => Ok(Command::RequestOn(seat()?)),
            "mic_request_off" => Ok(Command::RequestOff(seat()?)),
            "mic_all_delegates_off" => bare(Command::AllDelegatesOff),
            "mic_all_requests_off" => bare(Command::AllRequestsOff),
            "mic_next_on" => bare(Command::NextOn),
            "mic_mode" => arg.and_then(MicMode::parse).map(Command::Mode).ok_or(SYNTAX),
            "max_total_speakers" => Ok(Command::MaxTotalSpeakers(number(8, 1)?)),
            "max_speakers" => Ok(Command::MaxSpeakers(number(8, 1)?)),
            "max_requests" => Ok(Command::MaxRequests(number(250, 0)?)),
            "mic_status" => bare(Command::Status),
            "help" => bare(Command::Help),
            _ => Err(UNKNOWN),
        }
    }
}

/// What the unit sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line {
    /// `mic_on <seat>`: the microphone went on.
    MicOn(UnitSeat),
    /// `mic_off <seat>`.
    MicOff(UnitSeat),
    /// `mic_request_on <seat>`: the seat entered the request list.
    RequestOn(UnitSeat),
    /// `mic_request_off <seat>`.
    RequestOff(UnitSeat),
    /// `seat_state <seat> active|passive [name]` (DIS-CCU) or `seat_number …` (CU 6105/5905):
    /// a seat the unit knows; passive when its unit is lost.
    Seat {
        /// The seat.
        seat: UnitSeat,
        /// Its unit is connected.
        active: bool,
        /// The delegate's or the seat's name.
        name: String,
    },
    /// `mic_mode <mode>`.
    Mode(MicMode),
    /// A setting the unit reports (`max_speakers 2`, `mic_interrupt off`, `mic_priority 3 5`).
    Setting {
        /// Its name.
        name: String,
        /// Its value as sent.
        value: String,
    },
    /// `mic_status_done`: the status stream is complete.
    StatusDone,
    /// `command_error <text>`: the unit did not understand a command.
    CommandError(String),
    /// A line this codec does not know (voting, audio, `help`'s list); kept for the monitor.
    Other(String),
}

/// A line that names a known verb but whose data does not fit it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed(pub String);

const SETTINGS: &[&str] =
    &["max_total_speakers", "max_speakers", "max_requests", "max_replies", "mic_interrupt", "mic_priority"];

impl Line {
    /// The line on the wire (the simulator's side), CR LF-terminated.
    pub fn encode(&self) -> String {
        let body = match self {
            Line::MicOn(s) => format!("mic_on {s}"),
            Line::MicOff(s) => format!("mic_off {s}"),
            Line::RequestOn(s) => format!("mic_request_on {s}"),
            Line::RequestOff(s) => format!("mic_request_off {s}"),
            Line::Seat { seat, active, name } => {
                format!("seat_state {seat} {} {name}", if *active { "active" } else { "passive" })
                    .trim_end()
                    .to_owned()
            }
            Line::Mode(m) => format!("mic_mode {}", m.word()),
            Line::Setting { name, value } => format!("{name} {value}"),
            Line::StatusDone => "mic_status_done".into(),
            Line::CommandError(text) => format!("command_error {text}"),
            Line::Other(text) => text.clone(),
        };
        body + "\r\n"
    }

    /// Reads one line of the unit (without its terminator).
    ///
    /// # Errors
    ///
    /// A known verb with data that does not fit (`mic_on x`, `seat_state 3 maybe`).
    pub fn parse(line: &str) -> Result<Line, Malformed> {
        let malformed = || Malformed(line.to_owned());
        let mut words = line.split_whitespace();
        let Some(verb) = words.next() else { return Ok(Line::Other(String::new())) };
        let verb = verb.to_ascii_lowercase();
        let mut seat = || words.next().and_then(|w| w.parse::<UnitSeat>().ok()).filter(|s| *s >= 1);
        // Clients seen in the field allow trailing words after a seat number; so do we.
        let with_seat =
            |make: fn(UnitSeat) -> Line, seat: Option<UnitSeat>| seat.map(make).ok_or_else(malformed);
        match verb.as_str() {
            "mic_on" => with_seat(Line::MicOn, seat()),
            "mic_off" => with_seat(Line::MicOff, seat()),
            "mic_request_on" => with_seat(Line::RequestOn, seat()),
            "mic_request_off" => with_seat(Line::RequestOff, seat()),
            "seat_state" | "seat_number" => {
                let seat = seat().ok_or_else(malformed)?;
                let active = match words.next().map(str::to_ascii_lowercase).as_deref() {
                    Some("active") => true,
                    Some("passive") => false,
                    _ => return Err(malformed()),
                };
                Ok(Line::Seat { seat, active, name: words.collect::<Vec<_>>().join(" ") })
            }
            "mic_mode" => words.next().and_then(MicMode::parse).map(Line::Mode).ok_or_else(malformed),
            "mic_status_done" => Ok(Line::StatusDone),
            "command_error" => Ok(Line::CommandError(words.collect::<Vec<_>>().join(" "))),
            v if SETTINGS.contains(&v) => {
                let value = words.collect::<Vec<_>>().join(" ");
                if value.is_empty() {
                    return Err(malformed());
                }
                Ok(Line::Setting { name: v.to_owned(), value })
            }
            _ => Ok(Line::Other(line.trim().to_owned())),
        }
    }
}

/// What [`take_line`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Taken {
    /// A line, without its terminator (empty lines are skipped).
    Line(String),
    /// A line longer than [`MAX_LINE`], dropped.
    Overlong,
}

/// Takes the next line out of `buf`: ends at CR or LF (CR LF, LF CR or a lone one are one
/// terminator each; the empty lines between are skipped). Bytes that are not UTF-8 become
/// U+FFFD. An unterminated tail longer than [`MAX_LINE`] is dropped.
pub fn take_line(buf: &mut Vec<u8>) -> Option<Taken> {
    loop {
        let Some(end) = buf.iter().position(|&b| b == b'\r' || b == b'\n') else {
            if buf.len() > MAX_LINE {
                buf.clear();
                return Some(Taken::Overlong);
            }
            return None;
        };
        let line: Vec<u8> = buf.drain(..=end).collect();
        let text = &line[..end];
        if text.len() > MAX_LINE {
            return Some(Taken::Overlong);
        }
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        return Some(Taken::Line(String::from_utf8_lossy(text).into_owned()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_manuals_examples() {
        // DDS 5900 manual p. 53: `mic_on 212<CR>`; the unit answers with the same verb.
        assert_eq!(Command::MicOn(212).encode(), "mic_on 212\r");
        assert_eq!(Command::parse("MIC_ON 212"), Ok(Command::MicOn(212)));
        assert_eq!(Line::parse("mic_on 212"), Ok(Line::MicOn(212)));
        // DCS 6000 manual p. 61 (CU 6105) and DIS-CCU p. 60: the two seat-line dialects.
        assert_eq!(
            Line::parse("seat_number 12 active John Jones"),
            Ok(Line::Seat { seat: 12, active: true, name: "John Jones".into() })
        );
        assert_eq!(
            Line::parse("seat_state 12 passive"),
            Ok(Line::Seat { seat: 12, active: false, name: String::new() })
        );
        // p. 62: the error texts.
        assert_eq!(
            Line::parse("command_error unknown command"),
            Ok(Line::CommandError("unknown command".into()))
        );
        assert_eq!(Command::parse("foo"), Err("unknown command"));
        assert_eq!(Command::parse("mic_on"), Err("syntax error"));
        assert_eq!(Command::parse("max_speakers 9"), Err("syntax error"));
        assert_eq!(Line::parse("mic_mode manual+reply"), Ok(Line::Mode(MicMode::Manual)));
        assert_eq!(
            Line::parse("mic_interrupt Same"),
            Ok(Line::Setting { name: "mic_interrupt".into(), value: "Same".into() })
        );
        assert!(Line::parse("mic_on twelve").is_err());
        assert!(Line::parse("mic_on 0").is_err());
    }

    #[test]
    fn lines_end_at_cr_lf_or_both() {
        let mut buf = b"mic_on 3\r\nmic_off 3\n\rmic_request_on 4\rmic_request_off".to_vec();
        let mut lines = Vec::new();
        while let Some(Taken::Line(l)) = take_line(&mut buf) {
            lines.push(l);
        }
        assert_eq!(lines, ["mic_on 3", "mic_off 3", "mic_request_on 4"]);
        assert_eq!(buf, b"mic_request_off");
        let mut long = vec![b'x'; MAX_LINE + 1];
        assert_eq!(take_line(&mut long), Some(Taken::Overlong));
        assert!(long.is_empty());
    }

    #[test]
    fn every_command_reads_back() {
        let all = [
            Command::MicOn(1),
            Command::MicOff(65535),
            Command::RequestOn(7),
            Command::RequestOff(7),
            Command::AllDelegatesOff,
            Command::AllRequestsOff,
            Command::NextOn,
            Command::Mode(MicMode::Vox),
            Command::MaxTotalSpeakers(8),
            Command::MaxSpeakers(1),
            Command::MaxRequests(250),
            Command::Status,
            Command::Help,
        ];
        for c in all {
            assert_eq!(Command::parse(c.encode().trim_end()), Ok(c));
        }
    }
}
