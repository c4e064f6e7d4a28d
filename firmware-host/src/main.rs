//! `podiumd`: the command line. The work happens in the library (`podium_host`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use podium_host::{config, daemon, logging};
use tokio_util::sync::CancellationToken;

/// The demo room, built into the binary so `podiumd demo` runs from anywhere.
const DEMO_CONFIG: &str = include_str!("../../config/demo.toml");
const DEMO_AGENDA: &str = include_str!("../../config/demo-agenda.json");

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
        /// Where the demo's embedded MQTT broker listens (port 0: any free port).
        #[arg(long, default_value = "127.0.0.1:1883", conflicts_with = "no_mqtt")]
        mqtt_listen: SocketAddr,
        /// Run the demo without MQTT.
        #[arg(long)]
        no_mqtt: bool,
        /// Keep the demo's journal in this file (default: in memory, gone at exit).
        #[arg(long)]
        journal: Option<PathBuf>,
        /// A Jitsi Meet conference for the bridge page (`/bridge/jitsi`, login konferenz /
        /// konferenz), e.g. https://meet.example.org/DemoRatssaal; as `[jitsi] url`.
        #[arg(long)]
        jitsi: Option<String>,
        /// Seats 2-40 on a simulated central unit of an existing conference system instead
        /// of Modbus desk units (the chair keeps its desk unit): `shure_dcs`,
        /// `televic_cocon` or `bosch_dicentis`. Press its keys with POST /api/v1/sim/central {"seat": 12}.
        #[arg(long, value_parser = ["shure_dcs", "televic_cocon", "bosch_dicentis"])]
        central_unit: Option<String>,
    },
    /// Print a meeting's minutes from a journal file as JSON, CSV or a printable HTML page.
    Export {
        /// The journal file (read-only; podiumd may be running).
        #[arg(long)]
        journal: PathBuf,
        /// The meeting id (default: the most recently opened meeting).
        #[arg(long)]
        meeting: Option<i64>,
        /// Output format: JSON, CSV (the speaker log), the attendance or the votes as CSV, or
        /// the printable HTML page.
        #[arg(long, value_parser = ["csv", "attendance-csv", "votes-csv", "json", "html"], default_value = "json")]
        format: String,
        /// The copy for publication: the non-public part left out.
        #[arg(long)]
        publication: bool,
        /// The room configuration, for the time zone, room name and signature lines
        /// (default: Europe/Berlin, the Saxon signature lines).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// The meeting's agenda: import it from an OParl endpoint or files.
    Agenda {
        #[command(subcommand)]
        action: AgendaAction,
    },
    /// The city's fleet view: every room's health from the central broker, as a read-only
    /// page and JSON API (deploy/README.md, "A fleet of rooms").
    Fleet {
        /// The central broker, host:port.
        #[arg(long, default_value = "127.0.0.1:1883")]
        broker: String,
        /// The fleet view's login at the broker.
        #[arg(long)]
        username: Option<String>,
        /// A file holding that login's password.
        #[arg(long, requires = "username")]
        password_file: Option<PathBuf>,
        /// Connect with TLS, trusting this CA certificate (PEM).
        #[arg(long)]
        ca_file: Option<PathBuf>,
        /// The topic prefix of the rooms.
        #[arg(long, default_value = "podium/v1")]
        prefix: String,
        /// Where the page and the API listen.
        #[arg(long, default_value = "127.0.0.1:8090")]
        listen: SocketAddr,
    },
    /// Print the HTTP API's OpenAPI description.
    Openapi,
    /// Hash a password for a `[[user]]`: reads it from standard input, prints the argon2 hash.
    HashPassword,
    /// Create a remote member's personal link: prints the link and the `[[remote_link]]` lines.
    RemoteLink {
        /// The member's id (`[[member]].id`).
        member: String,
        /// Check the member in this room configuration (and take the address from `http.listen`).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// The address members reach podiumd at, e.g. https://ratssaal.example.org.
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Create a login for the embedded MQTT broker: prints the secret once and the
    /// `password_hash` line for `[[mqtt_desk_unit]]` or `[[mqtt_account]]`.
    MqttCredential {
        /// The user name: a desk unit's id, a bridge's or dashboard's account name, or a
        /// remote participant's member id.
        username: String,
    },
}

#[derive(Subcommand)]
enum AgendaAction {
    /// Read a meeting, its agenda and its organization's members from OParl (1.0 or 1.1),
    /// print the report and write the draft as JSON. Nothing partial: any failed object
    /// is an error and nothing is written.
    Import {
        /// An OParl Meeting URL, or a System URL together with --meeting.
        #[arg(long, conflicts_with = "dir", required_unless_present = "dir")]
        url: Option<String>,
        /// With a System URL: the meeting's URL, or the last part of it (its id).
        #[arg(long, requires = "url")]
        meeting: Option<String>,
        /// A Meeting JSON file, or a directory with meeting.json and optional organization.json,
        /// memberships.json, persons.json, consultations.json, papers.json.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// The room configuration: its `[[member]] oparl_person` keys and `[oparl]` settings.
        #[arg(long, short, default_value = "/etc/podium/room.toml")]
        config: PathBuf,
        /// Write the draft (JSON, as `PUT /api/v1/agenda/draft` takes it) here instead of
        /// standard output.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also store the draft in this journal (e.g. /var/lib/podium/journal.sqlite3, also
        /// while podiumd runs): the chair console then offers it for the next meeting.
        #[arg(long)]
        journal: Option<PathBuf>,
    },
}

/// The text a secret-making command printed on success, or its error on stderr.
fn printed(result: anyhow::Result<String>) -> ExitCode {
    match result {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("podiumd: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Action::CheckConfig { file } => match config::load(&file) {
            Ok(room) => {
                for warning in config::warnings(&room) {
                    eprintln!("{}: warning: {warning}", file.display());
                }
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
        Action::HashPassword => {
            printed(podium_host::cli::hash_password(&mut std::io::stdin().lock()).map(|hash| hash + "\n"))
        }
        Action::RemoteLink { member, config, base_url } => {
            printed(podium_host::cli::remote_link(&member, config.as_deref(), base_url.as_deref()))
        }
        Action::MqttCredential { username } => printed(podium_host::cli::mqtt_credential(&username)),
        Action::Agenda { action: AgendaAction::Import { url, meeting, dir, config, out, journal } } => {
            let source = match (url, dir) {
                (Some(url), _) => podium_host::oparl::Source::Url { url, meeting },
                (None, Some(dir)) => podium_host::oparl::Source::Files(dir),
                (None, None) => {
                    eprintln!("podiumd: give --url or --dir");
                    return ExitCode::FAILURE;
                }
            };
            agenda_import(&source, &config, out.as_deref(), journal.as_deref())
        }
        Action::Fleet { broker, username, password_file, ca_file, prefix, listen } => {
            let _log = logging::init(&cli.log_level);
            // host:port, an IPv6 address in brackets: [::1]:8883.
            let parsed = broker.rsplit_once(':').and_then(|(h, p)| {
                Some((h.trim_start_matches('[').trim_end_matches(']').to_owned(), p.parse().ok()?))
            });
            let Some((host, port)) = parsed else {
                eprintln!("podiumd: --broker must be host:port, not {broker}");
                return ExitCode::FAILURE;
            };
            let settings = podium_host::fleet::server::FleetSettings {
                host,
                port,
                username,
                password_file,
                ca_file,
                prefix,
                listen,
            };
            fleet(settings)
        }
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
            let _log = logging::init(&cli.log_level);
            match config::load(&config) {
                Ok(room) => {
                    for warning in config::warnings(&room) {
                        tracing::warn!("{}: {warning}", config.display());
                    }
                    let listen = listen.unwrap_or(room.http_listen);
                    run(room, listen)
                }
                Err(errors) => {
                    eprintln!("{errors}");
                    ExitCode::FAILURE
                }
            }
        }
        Action::Export { journal, meeting, format, publication, config: room } => {
            let room = match room.map(|path| config::load(&path)).transpose() {
                Ok(room) => room,
                Err(errors) => {
                    eprintln!("{errors}");
                    return ExitCode::FAILURE;
                }
            };
            let export = podium_host::journal::export::Export { format, publication, room };
            match podium_host::journal::export::export(&journal, meeting, &export) {
                Ok(text) => {
                    print!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("podiumd: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Action::Demo { listen, mqtt_listen, no_mqtt, journal, jitsi, central_unit } => {
            let _log = logging::init(&cli.log_level);
            // The conference is read as the room file's `[jitsi]` would be, with its checks.
            let text = match &jitsi {
                Some(url) => {
                    format!("{DEMO_CONFIG}\n[jitsi]\nurl = {}\n", toml_edit::Value::from(url.as_str()))
                }
                None => DEMO_CONFIG.to_owned(),
            };
            match config::parse(&text, Path::new("config/demo.toml")) {
                Ok(mut room) => {
                    room.journal.location = journal.map_or(
                        podium_host::journal::JournalLocation::Memory,
                        podium_host::journal::JournalLocation::File,
                    );
                    if no_mqtt {
                        room.mqtt = None;
                    } else if let Some(mqtt) = room.mqtt.as_mut() {
                        mqtt.broker = config::MqttBroker::Embedded { listen: mqtt_listen };
                    }
                    println!(
                        "Podium demo room \"{}\": {} seats, {} participants. State: http://{listen}/api/v1/state",
                        room.room_name,
                        room.setup.seats.len(),
                        room.setup.participants.len()
                    );
                    println!(
                        "Demo logins (config/demo.toml): chair / chair, technician: technik / technik, \
                         video-conference bridge: konferenz / konferenz"
                    );
                    if let Some(protocol) = &central_unit {
                        demo_central_unit(&mut room, protocol);
                    }
                    room.initial_draft = Some(DEMO_AGENDA.to_owned());
                    room.web.demo_link = Some(config::DemoLink {
                        member: podium_host::api::web::DEMO_REMOTE_MEMBER.into(),
                        token: podium_host::api::web::DEMO_REMOTE_TOKEN.into(),
                    });
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

/// The demo's delegates on a simulated central unit: every desk unit but the chair's moves
/// to it, with the unit's seat numbers equal to the room's.
fn demo_central_unit(room: &mut config::RoomConfig, protocol: &str) {
    let protocol = match protocol {
        "televic_cocon" => config::CentralProtocol::TelevicCocon,
        "bosch_dicentis" => config::CentralProtocol::BoschDicentis,
        _ => config::CentralProtocol::ShureDcs,
    };
    let seats: Vec<(u16, u16)> =
        room.desks.desk_units.iter().filter(|d| !d.chair).map(|d| (d.seat, d.seat)).collect();
    room.desks.desk_units.retain(|d| d.chair);
    println!(
        "Demo: seats {}-{} on a simulated central unit ({protocol:?})",
        seats.first().map_or(0, |s| s.0),
        seats.last().map_or(0, |s| s.0)
    );
    room.central_units.push(config::CentralUnitConfig {
        name: "zentrale".into(),
        protocol,
        addr: None,
        simulated: true,
        set_manual_mode: true,
        dicentis: (protocol == config::CentralProtocol::BoschDicentis).then(|| config::DicentisConfig {
            user: "podium".into(),
            password: None,
            password_file: None,
            tls_fingerprint: None,
            seat_names: seats.iter().map(|(seat, _)| format!("Platz {seat}")).collect(),
        }),
        seats,
        chair_seats: Vec::new(),
    });
}

/// `podiumd agenda import`: the report on stderr, the draft on stdout or in `out`.
fn agenda_import(
    source: &podium_host::oparl::Source,
    config: &Path,
    out: Option<&Path>,
    journal: Option<&Path>,
) -> ExitCode {
    let room = match config::load(config) {
        Ok(room) => room,
        Err(errors) => {
            eprintln!("{errors}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("podiumd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let members = room.oparl_members();
    let result = runtime.block_on(podium_host::oparl::import(source, &members, &room.oparl));
    let import = match result {
        Ok(import) => import,
        Err(e) => {
            eprintln!("podiumd: {e}");
            return ExitCode::FAILURE;
        }
    };
    eprint!("{}", import.summary());
    let draft = podium_host::api::agenda::AgendaDraft::from_import(import);
    if let Some(path) = journal {
        if let Err(e) = podium_host::journal::store_agenda_draft(path, &draft) {
            eprintln!("podiumd: cannot store the draft in {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        eprintln!("Draft stored in {}: the chair console offers it for the next meeting", path.display());
    }
    let json = match serde_json::to_string_pretty(&draft) {
        Ok(json) => json + "\n",
        Err(e) => {
            eprintln!("podiumd: {e}");
            return ExitCode::FAILURE;
        }
    };
    match out {
        Some(path) => match std::fs::write(path, json) {
            Ok(()) => {
                eprintln!("Draft written to {}", path.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("podiumd: cannot write {}: {e}", path.display());
                ExitCode::FAILURE
            }
        },
        None => {
            print!("{json}");
            ExitCode::SUCCESS
        }
    }
}

/// `podiumd fleet` until SIGTERM or SIGINT.
fn fleet(settings: podium_host::fleet::server::FleetSettings) -> ExitCode {
    until_signalled(|cancel| podium_host::fleet::server::run(settings, cancel))
}

fn run(room: config::RoomConfig, listen: SocketAddr) -> ExitCode {
    until_signalled(|cancel| daemon::serve(room, listen, cancel))
}

/// Runs `work` until it ends or SIGTERM or SIGINT cancels it. One thread for all tasks: a
/// change passes the MQTT link, the session owner and every event stream in turn, and on
/// one thread each hand-off is a queue push instead of a wake-up of another core
/// (ARCHITECTURE.md, "Threads"). Blocking work (journal writes, SQLite reads, password
/// hashing, the embedded broker) has threads of its own.
fn until_signalled<F, W>(work: W) -> ExitCode
where
    W: FnOnce(CancellationToken) -> F,
    F: std::future::Future<Output = anyhow::Result<()>>,
{
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("podiumd: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        let cancel = CancellationToken::new();
        daemon::cancel_on_signals(cancel.clone())?;
        work(cancel).await
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
