//! Extron SIS for matrix switchers: ties and tie reads (commands need no terminator and
//! end with their tie character), responses as CR LF lines. Pure; never panics.

use thiserror::Error;

/// Longest response line kept.
pub const MAX_LINE: usize = 256;

/// Which signal a tie switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TieKind {
    /// `!`: video and audio.
    All,
    /// `%` (or `&`): video only.
    Video,
    /// `$`: audio only.
    Audio,
}

impl TieKind {
    fn symbol(self) -> char {
        match self {
            TieKind::All => '!',
            TieKind::Video => '%',
            TieKind::Audio => '$',
        }
    }

    fn from_symbol(c: char) -> Option<TieKind> {
        match c {
            '!' => Some(TieKind::All),
            '%' | '&' => Some(TieKind::Video),
            '$' => Some(TieKind::Audio),
            _ => None,
        }
    }
}

/// Commands Podium sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    /// `I*O!`: tie input to output.
    Tie {
        /// Input (0 unties).
        input: u16,
        /// Output.
        output: u16,
        /// Signal.
        kind: TieKind,
    },
    /// `O%`: which input feeds this output (video).
    ReadTie {
        /// Output.
        output: u16,
    },
}

impl Command {
    /// The characters to send.
    pub fn encode(self) -> String {
        match self {
            Command::Tie { input, output, kind } => format!("{input}*{output}{}", kind.symbol()),
            Command::ReadTie { output } => format!("{output}%"),
        }
    }

    /// Parses one command (device side), e.g. `1*3!` or `3%`.
    pub fn parse(text: &str) -> Option<Command> {
        let text = text.trim();
        let last = text.chars().last()?;
        let kind = TieKind::from_symbol(last)?;
        let body = &text[..text.len() - last.len_utf8()];
        match body.split_once('*') {
            Some((i, o)) => Some(Command::Tie { input: number(i)?, output: number(o)?, kind }),
            None if kind == TieKind::Video => Some(Command::ReadTie { output: number(body)? }),
            None => None,
        }
    }
}

fn number(s: &str) -> Option<u16> {
    (!s.is_empty() && s.len() <= 3 && s.bytes().all(|b| b.is_ascii_digit())).then(|| s.parse().ok()).flatten()
}

/// SIS error codes (`E01`, `E10`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("E{code:02} {what}", code = self.0, what = describe(self.0))]
pub struct SisError(pub u8);

fn describe(code: u8) -> &'static str {
    match code {
        1 => "invalid input",
        10 => "invalid command",
        11 => "invalid preset",
        12 => "invalid output",
        13 => "invalid value",
        14 => "illegal for this configuration",
        17 => "timeout",
        22 => "busy",
        24 => "privilege violation",
        25 => "device not present",
        _ => "error",
    }
}

/// A response line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Response {
    /// `Out03 In01 All`: a tie was made.
    Tied {
        /// Output.
        output: u16,
        /// Input.
        input: u16,
    },
    /// `01`: the answer to a tie read.
    Input(u16),
    /// `E13`.
    Error(SisError),
    /// The copyright banner on connect.
    Banner(String),
    /// Anything else (front-panel messages).
    Other(String),
}

impl Response {
    /// Parses one line (without CR LF).
    pub fn parse(line: &str) -> Response {
        let line = line.trim();
        if let Some(code) =
            line.strip_prefix('E').and_then(|c| (c.len() == 2).then(|| c.parse::<u8>().ok()).flatten())
        {
            return Response::Error(SisError(code));
        }
        if let Some(n) = number(line) {
            return Response::Input(n);
        }
        if line.starts_with("(c)") {
            return Response::Banner(line.to_owned());
        }
        let mut words = line.split_whitespace();
        if let (Some(o), Some(i)) = (words.next(), words.next())
            && let (Some(output), Some(input)) =
                (o.strip_prefix("Out").and_then(number), i.strip_prefix("In").and_then(number))
        {
            return Response::Tied { output, input };
        }
        Response::Other(line.to_owned())
    }
}

/// Takes the next CR LF (or LF) terminated line out of `buf`; overlong runs are dropped.
pub fn take_line(buf: &mut Vec<u8>) -> Option<String> {
    match buf.iter().position(|&b| b == b'\n') {
        Some(end) => {
            let line: Vec<u8> = buf.drain(..=end).collect();
            let text = String::from_utf8_lossy(&line[..end]).trim_end_matches('\r').to_owned();
            Some(text)
        }
        None => {
            if buf.len() > MAX_LINE {
                buf.clear();
            }
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_examples() {
        assert_eq!(Command::Tie { input: 1, output: 3, kind: TieKind::All }.encode(), "1*3!");
        assert_eq!(Command::Tie { input: 7, output: 5, kind: TieKind::Video }.encode(), "7*5%");
        assert_eq!(
            Command::parse("12*4$"),
            Some(Command::Tie { input: 12, output: 4, kind: TieKind::Audio })
        );
        assert_eq!(
            Command::parse("10*4&"),
            Some(Command::Tie { input: 10, output: 4, kind: TieKind::Video })
        );
        assert_eq!(Command::parse("3%"), Some(Command::ReadTie { output: 3 }));
        assert_eq!(Response::parse("Out03 In01 All"), Response::Tied { output: 3, input: 1 });
        assert_eq!(Response::parse("Out003 In001 All"), Response::Tied { output: 3, input: 1 });
        assert_eq!(Response::parse("Out3 In1 All"), Response::Tied { output: 3, input: 1 });
        assert_eq!(Response::parse("00"), Response::Input(0));
        assert_eq!(Response::parse("E12"), Response::Error(SisError(12)));
        assert!(matches!(
            Response::parse("(c) Copyright 2024, Extron Electronics, MTPX, V1.0"),
            Response::Banner(_)
        ));
        assert_eq!(SisError(1).to_string(), "E01 invalid input");
    }
}
