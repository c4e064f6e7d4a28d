//! `podium-devsim`: simulated Podium desk units on a pseudo-terminal.
//!
//! ```text
//! podium-devsim [--units 1-40] [--chair 1] [--link /tmp/podium-desks] [--delay-ms 0] [--baud 115200]
//! ```
//!
//! Prints one JSON line `{"ready":{"path":"/dev/pts/7",...}}`; point a `[[bus]]` `path` at
//! that path (or at `--link`, a symlink that survives restarts of the simulator). Then
//! reads JSON-lines commands on stdin, e.g. `{"action":"click","unit":12,"key":"request"}`,
//! `{"action":"state","unit":12}`, `{"action":"fault","unit":3,"fault":"silent"}`, the
//! register map v2 credentials `{"action":"badge","unit":12,"uid":"04A1B2C3D4"}`,
//! `{"action":"remove_badge","unit":12}`, `{"action":"pin","unit":12,"pin":"4711"}`, and
//! answers each with one JSON line: `{"ok":[...unit views...]}` or `{"error":"..."}`.

use std::process::ExitCode;

use podium_devices::modbus::sim::{ControlCommand, SimBus};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio_serial::{SerialPort, SerialStream};
use tokio_util::sync::CancellationToken;

struct Options {
    units: Vec<u8>,
    chairs: Vec<u8>,
    link: Option<String>,
    delay_ms: u64,
    baud: u32,
}

fn parse_units(text: &str) -> Result<Vec<u8>, String> {
    let mut units = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (from, to) = part.split_once('-').unwrap_or((part, part));
        let parse =
            |s: &str| s.trim().parse::<u8>().map_err(|_| format!("`{s}` is not a unit address (1-247)"));
        let (from, to) = (parse(from)?, parse(to)?);
        if from == 0 || to > 247 || from > to {
            return Err(format!("`{part}` is not a range of unit addresses within 1-247"));
        }
        units.extend(from..=to);
    }
    Ok(units)
}

fn parse_args() -> Result<Options, String> {
    let mut options =
        Options { units: (1..=8).collect(), chairs: vec![1], link: None, delay_ms: 0, baud: 115_200 };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--units" => options.units = parse_units(&value()?)?,
            "--chair" => options.chairs = parse_units(&value()?)?,
            "--link" => options.link = Some(value()?),
            "--delay-ms" => {
                options.delay_ms = value()?.parse().map_err(|_| "--delay-ms needs milliseconds")?
            }
            "--baud" => options.baud = value()?.parse().map_err(|_| "--baud needs a number")?,
            "-h" | "--help" => {
                println!(
                    "podium-devsim [--units 1-40] [--chair 1] [--link PATH] [--delay-ms N] [--baud 115200]\n\
                     Simulated Podium desk units (Modbus RTU slaves) on a pseudo-terminal; JSON-lines control on stdin."
                );
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}` (try --help)")),
        }
    }
    Ok(options)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("podium-devsim: {message}");
            return ExitCode::FAILURE;
        }
    };
    let (master, slave) = match SerialStream::pair() {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("podium-devsim: cannot create a pseudo-terminal: {e}");
            return ExitCode::FAILURE;
        }
    };
    let Some(path) = slave.name() else {
        eprintln!("podium-devsim: the pseudo-terminal has no name");
        return ExitCode::FAILURE;
    };
    if let Some(link) = &options.link {
        let _ = std::fs::remove_file(link);
        if let Err(e) = std::os::unix::fs::symlink(&path, link) {
            eprintln!("podium-devsim: cannot create the link {link}: {e}");
            return ExitCode::FAILURE;
        }
    }
    let bus = SimBus::desk_units(options.units.iter().copied(), &options.chairs, options.baud);
    bus.set_response_delay(std::time::Duration::from_millis(options.delay_ms));
    let ready = serde_json::json!({"ready": {"path": path, "link": options.link, "units": options.units, "chairs": options.chairs}});
    println!("{ready}");

    let cancel = CancellationToken::new();
    let server = tokio::spawn({
        let (bus, cancel) = (bus.clone(), cancel.clone());
        async move { bus.serve(master, cancel).await }
    });
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<ControlCommand>(&line) {
            Ok(command) => match bus.control(&command) {
                Ok(views) => serde_json::json!({ "ok": views }),
                Err(e) => serde_json::json!({ "error": e.to_string() }),
            },
            Err(e) => serde_json::json!({ "error": format!("not a command: {e}") }),
        };
        println!("{reply}");
    }
    // stdin closed: stop serving, then let the slave end go.
    cancel.cancel();
    let _ = server.await;
    drop(slave);
    if let Some(link) = &options.link {
        let _ = std::fs::remove_file(link);
    }
    ExitCode::SUCCESS
}
