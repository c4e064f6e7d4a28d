//! The room configuration parser: any text gives a configuration or a list of errors with
//! positions inside the text, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(errors) = podium_host::config::parse(text, std::path::Path::new("fuzz.toml")) {
        assert!(!errors.is_empty());
        let lines = text.lines().count().max(1);
        for error in &errors {
            assert!(error.line >= 1 && error.line <= lines + 1, "line {} of {lines}", error.line);
            assert!(error.column >= 1);
            let _ = error.to_string();
        }
    }
});
