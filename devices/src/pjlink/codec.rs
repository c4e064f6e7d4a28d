//! PJLink class 1 (and the class 2 framing): command and response lines, the greeting and
//! the MD5 authentication digest. Pure; decoding never panics.

use md5::{Digest, Md5};
use thiserror::Error;

/// The default TCP port.
pub const PORT: u16 = 4352;
/// Longest line accepted (the spec's 136-byte packet, with margin).
pub const MAX_LINE: usize = 160;

/// A framing or parsing error.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PjError {
    /// No `\r` within [`MAX_LINE`] bytes.
    #[error("line longer than {MAX_LINE} bytes")]
    TooLong,
    /// Not a PJLink line.
    #[error("not a PJLink line: {0:?}")]
    Malformed(String),
}

/// Takes the next `\r`-terminated line out of `buf` (without the `\r`).
pub fn take_line(buf: &mut Vec<u8>) -> Result<Option<String>, PjError> {
    match buf.iter().position(|&b| b == b'\r') {
        Some(end) if end <= MAX_LINE => {
            let line: Vec<u8> = buf.drain(..=end).collect();
            Ok(Some(String::from_utf8_lossy(&line[..end]).trim_start_matches('\n').to_owned()))
        }
        Some(end) => {
            buf.drain(..=end);
            Err(PjError::TooLong)
        }
        None if buf.len() > MAX_LINE => {
            buf.clear();
            Err(PjError::TooLong)
        }
        None => Ok(None),
    }
}

/// The greeting a device sends on connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Greeting {
    /// `PJLINK 0`: no authentication.
    Open,
    /// `PJLINK 1 <random>`: authenticate with this random value.
    Auth(String),
    /// `PJLINK ERRA`: wrong password.
    AuthError,
}

impl Greeting {
    /// Parses a greeting line (without `\r`).
    pub fn parse(line: &str) -> Result<Greeting, PjError> {
        match line.split_once(' ') {
            Some(("PJLINK", "0")) => Ok(Greeting::Open),
            Some(("PJLINK", "ERRA")) => Ok(Greeting::AuthError),
            Some(("PJLINK", rest)) => match rest.split_once(' ') {
                Some(("1", random)) if !random.is_empty() && random.len() <= 32 && random.is_ascii() => {
                    Ok(Greeting::Auth(random.to_owned()))
                }
                _ => Err(PjError::Malformed(line.to_owned())),
            },
            _ => Err(PjError::Malformed(line.to_owned())),
        }
    }

    /// The line (with `\r`).
    pub fn encode(&self) -> String {
        match self {
            Greeting::Open => "PJLINK 0\r".to_owned(),
            Greeting::Auth(r) => format!("PJLINK 1 {r}\r"),
            Greeting::AuthError => "PJLINK ERRA\r".to_owned(),
        }
    }
}

/// `lowercase_hex(MD5(random + password))`, sent in front of the first command.
pub fn digest(random: &str, password: &str) -> String {
    let mut md5 = Md5::new();
    md5.update(random.as_bytes());
    md5.update(password.as_bytes());
    md5.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// A command line: `%1POWR 1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// Class `1` or `2`.
    pub class: u8,
    /// Four uppercase letters/digits, e.g. `POWR`.
    pub command: String,
    /// `?` for a query.
    pub param: String,
}

impl Request {
    /// A class 1 command.
    pub fn new(command: &str, param: impl Into<String>) -> Request {
        Request { class: 1, command: command.to_owned(), param: param.into() }
    }

    /// The line (with `\r`).
    pub fn encode(&self) -> String {
        format!("%{}{} {}\r", self.class, self.command, self.param)
    }

    /// Parses a command line (device side), after any digest was removed.
    pub fn parse(line: &str) -> Result<Request, PjError> {
        let bad = || PjError::Malformed(line.to_owned());
        let rest = line.strip_prefix('%').ok_or_else(bad)?;
        let (head, param) = rest.split_once(' ').ok_or_else(bad)?;
        let mut chars = head.chars();
        let class = chars.next().and_then(|c| c.to_digit(10)).ok_or_else(bad)? as u8;
        let command: String = chars.collect();
        if command.len() != 4 || !command.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()) {
            return Err(bad());
        }
        Ok(Request { class, command, param: param.to_owned() })
    }
}

/// The error codes in a response's parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum DeviceError {
    /// `ERR1`: undefined command.
    #[error("ERR1 undefined command")]
    Undefined,
    /// `ERR2`: out of parameter.
    #[error("ERR2 out of parameter")]
    OutOfParameter,
    /// `ERR3`: unavailable time (warm-up, cooling).
    #[error("ERR3 unavailable time")]
    Unavailable,
    /// `ERR4`: projector/display failure.
    #[error("ERR4 projector or display failure")]
    Failure,
}

impl DeviceError {
    /// The code as sent.
    pub fn code(self) -> &'static str {
        match self {
            DeviceError::Undefined => "ERR1",
            DeviceError::OutOfParameter => "ERR2",
            DeviceError::Unavailable => "ERR3",
            DeviceError::Failure => "ERR4",
        }
    }
}

/// A response line: `%1POWR=OK`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// Class.
    pub class: u8,
    /// The command answered.
    pub command: String,
    /// The parameter, or the device's error.
    pub result: Result<String, DeviceError>,
}

impl Response {
    /// Parses a response line (without `\r`).
    pub fn parse(line: &str) -> Result<Response, PjError> {
        let bad = || PjError::Malformed(line.to_owned());
        let rest = line.strip_prefix('%').ok_or_else(bad)?;
        let (head, param) = rest.split_once('=').ok_or_else(bad)?;
        let mut chars = head.chars();
        let class = chars.next().and_then(|c| c.to_digit(10)).ok_or_else(bad)? as u8;
        let command: String = chars.collect();
        if command.len() != 4 {
            return Err(bad());
        }
        let result = match param.to_ascii_uppercase().as_str() {
            "ERR1" => Err(DeviceError::Undefined),
            "ERR2" => Err(DeviceError::OutOfParameter),
            "ERR3" => Err(DeviceError::Unavailable),
            "ERR4" => Err(DeviceError::Failure),
            _ => Ok(param.to_owned()),
        };
        Ok(Response { class, command: command.to_ascii_uppercase(), result })
    }

    /// The line (with `\r`).
    pub fn encode(&self) -> String {
        let param = match &self.result {
            Ok(p) => p.as_str(),
            Err(e) => e.code(),
        };
        format!("%{}{}={}\r", self.class, self.command, param)
    }
}

/// Power states of `POWR ?`.
pub fn parse_power(param: &str) -> Option<&'static str> {
    match param {
        "0" => Some("standby"),
        "1" => Some("on"),
        "2" => Some("cooling"),
        "3" => Some("warm-up"),
        _ => None,
    }
}

/// Whether `s` is an input as `INPT` takes it: type 1–6, index 1–9 or A–Z.
pub fn is_input(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 2
        && (b'1'..=b'6').contains(&b[0])
        && (b[1].is_ascii_digit() && b[1] != b'0' || b[1].is_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_digest() {
        assert_eq!(digest("498e4a67", "JBMIAProjectorLink"), "5d8409bc1c3fa39749434aa3a5c38682");
    }

    #[test]
    fn lines_round_trip() {
        assert_eq!(Request::new("POWR", "1").encode(), "%1POWR 1\r");
        assert_eq!(Request::parse("%1INPT 31"), Ok(Request::new("INPT", "31")));
        let r = Response::parse("%1POWR=OK").expect("response");
        assert_eq!(r.result, Ok("OK".to_owned()));
        assert_eq!(
            Response::parse("%1INPT=ERR2").expect("response").result,
            Err(DeviceError::OutOfParameter)
        );
        assert_eq!(
            Response { class: 1, command: "POWR".into(), result: Err(DeviceError::Unavailable) }.encode(),
            "%1POWR=ERR3\r"
        );
        assert_eq!(Greeting::parse("PJLINK 1 498e4a67"), Ok(Greeting::Auth("498e4a67".into())));
        assert_eq!(Greeting::parse("PJLINK 0"), Ok(Greeting::Open));
        assert_eq!(Greeting::parse("PJLINK ERRA"), Ok(Greeting::AuthError));
        assert!(Greeting::parse("HELLO").is_err());
    }

    #[test]
    fn inputs_are_checked() {
        assert!(is_input("31") && is_input("5Z") && is_input("11"));
        assert!(!is_input("70") && !is_input("30") && !is_input("3") && !is_input("3a"));
    }

    #[test]
    fn overlong_lines_are_dropped() {
        let mut buf = vec![b'x'; MAX_LINE + 1];
        assert_eq!(take_line(&mut buf), Err(PjError::TooLong));
        assert!(buf.is_empty());
        let mut buf = b"%1POWR=1\r%1".to_vec();
        assert_eq!(take_line(&mut buf), Ok(Some("%1POWR=1".to_owned())));
        assert_eq!(take_line(&mut buf), Ok(None));
    }
}
