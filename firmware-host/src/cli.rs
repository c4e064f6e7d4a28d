//! `podiumd hash-password`, `podiumd remote-link` and `podiumd mqtt-credential`: making the
//! secrets for the room file.

use std::io::{BufRead, IsTerminal};
use std::path::Path;

use anyhow::{Context, bail};

use crate::api::access::secret;

/// Reads one password line from `input` and returns its argon2 hash.
pub fn hash_password(input: &mut dyn BufRead) -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        eprintln!("Password (shown as you type; pipe it in to avoid that), then Enter:");
    }
    let mut line = String::new();
    input.read_line(&mut line).context("cannot read the password from standard input")?;
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    if password.is_empty() {
        bail!("the password is empty (give it on standard input, e.g. `podiumd hash-password < file`)");
    }
    if password.chars().count() < 10 {
        eprintln!("podiumd: warning: the password is shorter than 10 characters");
    }
    Ok(secret::hash_password(password)?)
}

/// A new personal link for `member`: the text to print (the link once, and the lines for
/// the configuration). With a configuration file, the member is checked and the address
/// is taken from `http.listen` unless `base_url` is given.
pub fn remote_link(member: &str, config: Option<&Path>, base_url: Option<&str>) -> anyhow::Result<String> {
    let mut base = base_url.map(|b| b.trim_end_matches('/').to_owned());
    if let Some(path) = config {
        let room = crate::config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
        let Some(participant) = room.setup.participants.iter().find(|p| p.id == member) else {
            bail!("`{member}` is not the id of any [[member]] in {}", path.display());
        };
        if !participant.remote_allowed {
            bail!("member `{member}` may not attend remotely: set `remote_allowed = true` first");
        }
        if base.is_none() {
            base = Some(format!("http://{}", room.http_listen));
        }
    } else if member.is_empty() || member.chars().any(|c| c.is_whitespace() || c.is_control()) {
        bail!("`{member}` is not a valid member id");
    }
    let base = base.unwrap_or_else(|| "http://PODIUM-HOST:8080".to_owned());
    let token = secret::new_token()?;
    let hash = secret::token_hash(&token);
    Ok(format!(
        "# Personal link of `{member}`. Send it to the member only; it is not stored and not shown again:\n\
         {base}/remote/{token}\n\
         \n\
         # Add this to the room configuration and restart podiumd (delete it to revoke the link):\n\
         [[remote_link]]\n\
         member = \"{member}\"\n\
         token_hash = \"{hash}\"\n"
    ))
}

/// A new login for the embedded MQTT broker: the secret (256 random bits, shown once) and
/// the `password_hash` line for the room file. A generated secret, not a chosen password:
/// the broker checks it with one fast SHA-256 per CONNECT, which only a secret nobody can
/// guess makes safe.
pub fn mqtt_credential(username: &str) -> anyhow::Result<String> {
    if !crate::config::valid_username(username) {
        bail!(
            "`{username}` is not a valid MQTT user name: use 1 to {} characters from a-z A-Z 0-9 - _ .",
            crate::config::MAX_MQTT_USERNAME
        );
    }
    let secret = secret::new_token()?;
    let hash = secret::token_hash(&secret);
    Ok(format!(
        "# MQTT login `{username}`. Configure the client (user name and password) with it; it is \
         not stored and not shown again:\n\
         # user name: {username}\n\
         # password:  {secret}\n\
         \n\
         # Add this line to the unit's [[mqtt_desk_unit]] (id = \"{username}\"), or to an\n\
         # [[mqtt_account]] with username = \"{username}\" and its role, then restart podiumd:\n\
         password_hash = \"{hash}\"\n"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_the_first_line_only() {
        let hash = hash_password(&mut "correct horse\r\nignored\n".as_bytes()).expect("hash");
        assert!(secret::verify_password(&hash, "correct horse"));
        assert!(hash_password(&mut "\n".as_bytes()).is_err());
        assert!(hash_password(&mut "".as_bytes()).is_err());
    }

    #[test]
    fn link_text_holds_a_token_whose_hash_it_prints() {
        let text = remote_link("vogt", None, Some("https://rat.example/")).expect("link");
        let url = text.lines().find(|l| l.starts_with("https://")).expect("url line");
        let token = url.strip_prefix("https://rat.example/remote/").expect("base and path");
        assert!(text.contains(&format!("token_hash = \"{}\"", secret::token_hash(token))));
        assert!(text.contains("member = \"vogt\""));
        assert!(remote_link("two words", None, None).is_err());
    }

    #[test]
    fn mqtt_credential_prints_a_secret_and_its_hash() {
        let text = mqtt_credential("esp32-a1").expect("credential");
        let secret = text.lines().find_map(|l| l.strip_prefix("# password:  ")).expect("secret line");
        assert!(secret::plausible_token(secret));
        assert!(text.contains(&format!("password_hash = \"{}\"", secret::token_hash(secret))));
        assert!(mqtt_credential("two words").is_err());
        assert!(mqtt_credential(&"x".repeat(65)).is_err());
    }
}
