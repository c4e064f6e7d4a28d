//! The journal's reading of SQLite's write-ahead log (before SQLite opens it after a crash):
//! any bytes give a report, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Some(report) = podium_host::journal::wal::inspect(data) {
        let _ = report.warning();
    }
});
