//! The sections of a room configuration file. Each section is a struct plus a `read`
//! function that reads and validates it; cross-section checks live in [`seating`].
//!
//! To add a section (e.g. `[mqtt]`): write `mqtt.rs` with `struct Mqtt` and
//! `fn read(root: &mut Table, cx: &mut Cx) -> Mqtt`, call it from `config::parse`, and
//! document its keys in `config/README.md`. Keys not asked for are reported as unknown
//! automatically.

pub mod camera;
pub mod central;
pub mod cocon_api;
pub mod conference;
pub mod desks;
pub(crate) mod discussion;
pub mod display;
pub mod gpio;
pub(crate) mod http;
pub(crate) mod journal;
pub mod microphone;
pub mod mqtt;
pub(crate) mod oparl;
pub mod presentation;
pub(crate) mod room;
pub(crate) mod seating;
pub mod voice;
pub(crate) mod voting;
pub mod web;

use serde::de::IntoDeserializer;

use super::reader::{Cx, Sp, Table};

/// Reports an empty (or blank) string value.
pub(crate) fn non_empty(cx: &mut Cx<'_>, t: &Table<'_>, key: &str, value: &Sp<String>) -> bool {
    if value.v.trim().is_empty() {
        cx.err(&value.span, t.field(key), format!("{key} must not be empty"), None);
        false
    } else {
        true
    }
}

/// The engine enum value for a configuration name (as listed in its `NAMES`).
pub(crate) fn named<T: serde::de::DeserializeOwned>(name: &str) -> Option<T> {
    T::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(name)).ok()
}

/// Reads `key` as a TCP address, `host:port` or a bare host with `default_port`; a host that
/// does not resolve is an error naming the field, with `example` as the help.
pub(crate) fn tcp_address(
    cx: &mut Cx<'_>,
    t: &mut Table<'_>,
    key: &'static str,
    default_port: u16,
    example: &str,
) -> Option<std::net::SocketAddr> {
    use std::net::ToSocketAddrs;
    let s = t.string(cx, key)?;
    let text = s.v.trim();
    let with_port = if text.rsplit_once(':').is_some_and(|(_, p)| p.parse::<u16>().is_ok()) {
        text.to_owned()
    } else {
        format!("{text}:{default_port}")
    };
    let found = with_port.to_socket_addrs().ok().and_then(|mut a| a.next());
    if found.is_none() {
        let help = Some(format!("write a host and a port, e.g. \"{example}\""));
        cx.err(&s.span, t.field(key), format!("`{}` is not a reachable address", s.v), help);
    }
    found
}
