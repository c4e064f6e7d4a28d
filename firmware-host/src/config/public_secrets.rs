//! The demo room's logins and personal link are public (the README prints them): a room
//! file that still carries them would let anyone on the LAN act as the chair. `podiumd
//! demo` uses them on purpose; `run` and `check-config` refuse them (see [`super::load`]).

use std::path::Path;

use super::{ConfigError, RoomConfig};
use crate::api::access::secret;

/// The demo's public passwords (`config/demo.toml`: users `chair`, `technik`, `konferenz`).
const DEMO_PASSWORDS: [&str; 3] = ["chair", "technik", "konferenz"];

/// An error for every login whose password is one of the demo's and for the demo's
/// personal link, at the place in `text` where its hash is written.
pub(crate) fn refuse_demo_secrets(room: &RoomConfig, text: &str, file: &Path) -> Vec<ConfigError> {
    let mut errors = Vec::new();
    for user in &room.web.users {
        let Some(password) =
            DEMO_PASSWORDS.iter().find(|password| secret::verify_password(&user.password_hash, password))
        else {
            continue;
        };
        let error = at_value(
            file,
            text,
            &user.password_hash,
            "user.password_hash",
            format!(
                "user `{}` has the demo's public password `{password}`: anyone could log in with it",
                user.name
            ),
        );
        errors.push(error.with_help(Some(
            "make a password of your own with `podiumd hash-password` and put its hash here".into(),
        )));
    }
    let demo_token = secret::token_hash(crate::api::web::DEMO_REMOTE_TOKEN);
    for link in room.web.remote_links.iter().filter(|link| link.token_hash == demo_token) {
        let error = at_value(
            file,
            text,
            &link.token_hash,
            "remote_link.token_hash",
            format!(
                "the personal link of `{}` is the demo's public link: anyone could act as this member",
                link.member
            ),
        );
        errors.push(error.with_help(Some(format!(
            "make a link of its own with `podiumd remote-link {} --config {}`",
            link.member,
            file.display()
        ))));
    }
    errors
}

fn at_value(file: &Path, text: &str, value: &str, field: &str, message: String) -> ConfigError {
    match text.find(value) {
        Some(start) => ConfigError::at(file, text, start..start + value.len(), field, message),
        None => ConfigError::whole_file(file, message),
    }
}
