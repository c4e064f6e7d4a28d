//! The pure cores stay pure: no runtime, no I/O and no clock in their source. Their tests
//! (in `master/tests.rs`, `engine/tests.rs`) may take one `Instant` as the origin of
//! virtual time; the cores themselves only get `now` from their caller.

const CORES: &[(&str, &str)] = &[
    ("src/modbus/master.rs", include_str!("../src/modbus/master.rs")),
    ("src/modbus/units.rs", include_str!("../src/modbus/units.rs")),
    ("src/modbus/debounce.rs", include_str!("../src/modbus/debounce.rs")),
    ("src/modbus/timing.rs", include_str!("../src/modbus/timing.rs")),
    ("src/modbus/wire.rs", include_str!("../src/modbus/wire.rs")),
    ("src/visca/engine.rs", include_str!("../src/visca/engine.rs")),
    ("src/central/reconcile.rs", include_str!("../src/central/reconcile.rs")),
    ("src/central/shure_dcs/core.rs", include_str!("../src/central/shure_dcs/core.rs")),
    ("src/central/cocon/hub.rs", include_str!("../src/central/cocon/hub.rs")),
    ("src/central/cocon/codec.rs", include_str!("../src/central/cocon/codec.rs")),
    ("src/central/dicentis/codec.rs", include_str!("../src/central/dicentis/codec.rs")),
    ("src/central/shure_dcs/codec.rs", include_str!("../src/central/shure_dcs/codec.rs")),
];

const FORBIDDEN: &[&str] =
    &["tokio", "Instant::now", "SystemTime", "std::io", "std::net", "std::thread", "std::fs", "unix_ms_now"];

#[test]
fn the_cores_use_no_runtime_no_io_and_no_clock() {
    for (path, source) in CORES {
        // Unit tests of a core live in its own file or its `tests` module; only the code counts.
        let code = source.split("#[cfg(test)]").next().unwrap_or(source);
        for word in FORBIDDEN {
            assert!(!code.contains(word), "{path} uses `{word}`: pass time and bytes in instead");
        }
    }
}
