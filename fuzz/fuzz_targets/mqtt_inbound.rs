//! Remote members' MQTT messages (topic action + JSON payload): any payload becomes a command
//! for the sender's own virtual seat or a refusal with a code, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

const ACTIONS: [&str; 5] = ["request", "withdraw", "presence", "reply", "other"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, payload)) = data.split_first() else { return };
    let action = ACTIONS[usize::from(selector) % ACTIONS.len()];
    match podium_host::mqtt::contract::inbound_command("m4", action, payload) {
        Ok(_) => {}
        Err(e) => assert!(!e.code().is_empty()),
    }
});
