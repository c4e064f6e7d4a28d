//! Warnings about a valid configuration that is risky in a real room: `check-config`
//! prints them, `run` logs them. Errors (refusals) are in the sections and in
//! `public_secrets`; these are choices a room may make knowingly.

use std::net::IpAddr;

use super::{MqttBroker, RoomConfig};

/// What to warn about in `room`, one sentence each.
pub fn warnings(room: &RoomConfig) -> Vec<String> {
    let mut warnings = Vec::new();
    if let Some(mqtt) = &room.mqtt
        && let MqttBroker::External { host, port } = &mqtt.broker
        && !mqtt.tls
        && !is_loopback_host(host)
    {
        warnings.push(format!(
            "[mqtt] the broker {host}:{port} is on another host and reached without TLS: its password \
             and every message (requests, presence, microphone commands) cross the network readable \
             and changeable; set `tls = true` with `ca_file`"
        ));
    }
    if let Some(mqtt) = &room.mqtt
        && let MqttBroker::Embedded { listen } = &mqtt.broker
        && !listen.ip().is_loopback()
    {
        warnings.push(format!(
            "[mqtt] the embedded broker listens on {listen} without TLS (it has none): the desk \
             units' and bridges' secrets and every message cross the network in clear; keep \
             the desk units on a network of their own (a VLAN), or use Mosquitto with TLS"
        ));
    }
    if room.setup.profile.mode == podium_floor::Mode::Voice
        && room.mqtt_desk_units.is_empty()
        && !room.microphones.iter().any(|m| m.zones.iter().any(|(_, seats)| seats.len() == 1))
    {
        warnings.push(
            "[discussion] mode = \"voice\", but nothing in the room can hear a voice: no \
             [[microphone.zone]] covers a single seat and no [[mqtt_desk_unit]] reports voice; \
             microphones open only when the chair grants them"
                .to_owned(),
        );
    }
    warnings
}

fn is_loopback_host(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room(mqtt: &str) -> RoomConfig {
        let text = format!("[room]\nid = \"r\"\nname = \"R\"\n\n[mqtt]\n{mqtt}\n");
        super::super::parse(&text, std::path::Path::new("r.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn an_embedded_broker_on_the_lan_is_warned_about() {
        let text = "[room]\nid = \"r\"\nname = \"R\"\n\n[mqtt]\nbroker = \"embedded\"\nlisten = \"0.0.0.0:1883\"\n\n\
                    [[mqtt_account]]\nusername = \"bridge\"\nrole = \"bridge\"\n\
                    password_hash = \"sha256:0000000000000000000000000000000000000000000000000000000000000000\"\n";
        let room =
            super::super::parse(text, std::path::Path::new("r.toml")).unwrap_or_else(|e| panic!("{e}"));
        let warned = warnings(&room);
        assert!(
            warned.len() == 1 && warned[0].contains("0.0.0.0:1883") && warned[0].contains("VLAN"),
            "{warned:?}"
        );
    }

    #[test]
    fn a_remote_broker_without_tls_is_warned_about() {
        let warned = warnings(&room("broker = \"external\"\nhost = \"192.0.2.10\""));
        assert_eq!(warned.len(), 1);
        assert!(warned[0].contains("192.0.2.10:1883") && warned[0].contains("tls = true"), "{warned:?}");
        for quiet in [
            "broker = \"external\"\nhost = \"192.0.2.10\"\nport = 8883\ntls = true\nca_file = \"/etc/podium/ca.pem\"",
            "broker = \"external\"\nhost = \"localhost\"",
            "broker = \"external\"\nhost = \"127.0.0.1\"",
            "broker = \"external\"\nhost = \"::1\"",
            "broker = \"embedded\"",
            "broker = \"embedded\"\nlisten = \"127.0.0.1:1884\"",
        ] {
            assert_eq!(warnings(&room(quiet)), Vec::<String>::new(), "{quiet}");
        }
    }

    #[test]
    fn voice_mode_without_anything_that_hears_is_warned_about() {
        let parse = |extra: &str| {
            let text = format!("[room]\nid = \"r\"\nname = \"R\"\n[discussion]\nmode = \"voice\"\n{extra}");
            super::super::parse(&text, std::path::Path::new("r.toml")).unwrap_or_else(|e| panic!("{e}"))
        };
        let warned = warnings(&parse(""));
        assert!(warned.len() == 1 && warned[0].contains("nothing in the room can hear"), "{warned:?}");
        let array =
            "[[seat]]\nnumber = 1\n[[seat]]\nnumber = 2\n[[microphone]]\nname = \"c\"\ntcp = \"10.0.0.30\"\n";
        let shared = format!("{array}[[microphone.zone]]\nchannel = 1\nseats = [1, 2]\n");
        assert_eq!(warnings(&parse(&shared)).len(), 1, "a zone of two seats cannot tell who talks");
        let own = format!("{array}[[microphone.zone]]\nchannel = 1\nseats = [1]\n");
        assert_eq!(warnings(&parse(&own)), Vec::<String>::new());
    }
}
