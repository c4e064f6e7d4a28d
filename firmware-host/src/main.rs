//! `podiumd`: the command line. The work happens in the library (`podium_host`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use podium_host::{config, daemon, logging};
use tokio_util::sync::CancellationToken;

/// The demo room, built into the binary so `podiumd demo` runs from anywhere.
const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");

#[derive(Parser)]
#[command(
    name = "podiumd",
    version,
    about = "Podium: one floor for a hybrid council meeting",
    arg_required_else_help = true
)]
struct Cli {
    /// Log level when RUST_LOG is not set (error, warn, info, debug, trace).
    #[arg(long, global = true, default_value = "info")]
    log_level: String,
    #[command(subcommand)]
    command: Action,
}

#[derive(Subcommand)]
enum Action {
    /// Run the room described by a configuration file.
    Run {
        /// The room configuration.
        #[arg(long, short, default_value = "/etc/podium/room.toml")]
        config: PathBuf,
        /// Listen here instead of the configured `http.listen` (e.g. 127.0.0.1:0 for any free port).
        #[arg(long)]
        listen: Option<SocketAddr>,
    },
    /// Check a configuration file: prints OK or every error with file, line and column.
    CheckConfig {
        /// The room configuration.
        file: PathBuf,
    },
    /// Run the built-in demo room (40 seats) on 127.0.0.1 and print its URL.
    Demo {
        /// Listen here (default 127.0.0.1:8080).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Print the HTTP API's OpenAPI description.
    Openapi,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Action::CheckConfig { file } => match config::load(&file) {
            Ok(room) => {
                println!(
                    "OK: {} ({}): {} seats, {} participants",
                    file.display(),
                    room.room_name,
                    room.setup.seats.len(),
                    room.setup.participants.len()
                );
                ExitCode::SUCCESS
            }
            Err(errors) => {
                eprintln!("{errors}");
                ExitCode::FAILURE
            }
        },
        Action::Openapi => {
            match serde_json::to_string_pretty(&podium_host::api::openapi()) {
                Ok(json) => println!("{json}"),
                Err(e) => {
                    eprintln!("podiumd: {e}");
                    return ExitCode::FAILURE;
                }
            }
            ExitCode::SUCCESS
        }
        Action::Run { config, listen } => {
            logging::init(&cli.log_level);
            match config::load(&config) {
                Ok(room) => {
                    let listen = listen.unwrap_or(room.http_listen);
                    run(room, listen)
                }
                Err(errors) => {
                    eprintln!("{errors}");
                    ExitCode::FAILURE
                }
            }
        }
        Action::Demo { listen } => {
            logging::init(&cli.log_level);
            match config::parse(DEMO_CONFIG, Path::new("config/demo.toml")) {
                Ok(room) => {
                    println!(
                        "Podium demo room \"{}\": {} seats, {} participants. State: http://{listen}/api/v1/state",
                        room.room_name,
                        room.setup.seats.len(),
                        room.setup.participants.len()
                    );
                    run(room, listen)
                }
                Err(errors) => {
                    eprintln!("{errors}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

fn run(room: config::RoomConfig, listen: SocketAddr) -> ExitCode {
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("podiumd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let cancel = CancellationToken::new();
        daemon::cancel_on_signals(cancel.clone())?;
        daemon::serve(room, listen, cancel).await
    });
    // Do not wait for blocking tasks beyond the shutdown grace.
    runtime.shutdown_timeout(std::time::Duration::from_millis(200));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("podiumd: {e:#}");
            ExitCode::FAILURE
        }
    }
}
