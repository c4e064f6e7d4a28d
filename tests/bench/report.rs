//! Shared by every benchmark (included with `#[path]`): prints each distribution as it is
//! measured and, when `PODIUM_BENCH_REPORT=<dir>` is set (tests/bench/report does that),
//! writes the benchmark's section of BENCHMARKS.md to `<dir>/<id>.md`.
//!
//! A section is one table: every row is a distribution (n, p50, p99, max) or a single
//! figure, and rows of kind `Limit` are the physical or raw-transport limit measured in the
//! same run, so a reader compares Podium's figure with the floor it cannot go below.
//! Limits that several benchmarks measure live here too ([`loopback_round_trips`]).

#![allow(dead_code)] // each benchmark uses a different part

use std::fmt::Write as _;
use std::io::{Read, Write as _};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq)]
pub enum Kind {
    /// What Podium does (its own processing or an end-to-end path through it).
    Podium,
    /// The physical or raw-transport limit, measured in the same run.
    Limit,
}

#[derive(Clone, Copy, Debug)]
pub struct Distribution {
    pub n: usize,
    pub p50: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl Distribution {
    /// Sorts `samples` in place; `None` when there are none.
    pub fn of(samples: &mut [Duration]) -> Option<Self> {
        if samples.is_empty() {
            return None;
        }
        samples.sort();
        let at = |p: f64| samples[((samples.len() - 1) as f64 * p).round() as usize];
        Some(Self { n: samples.len(), p50: at(0.5), p99: at(0.99), max: samples[samples.len() - 1] })
    }
}

enum Row {
    Distribution { name: String, kind: Kind, value: Distribution },
    Figure { name: String, kind: Kind, value: String },
}

pub struct Report {
    id: String,
    title: String,
    reproduce: String,
    rows: Vec<Row>,
    notes: Vec<String>,
}

/// Human-sized duration: µs below 10 ms, ms above.
pub fn human(d: Duration) -> String {
    let micros = d.as_secs_f64() * 1e6;
    if micros < 10_000.0 { format!("{micros:.1} µs") } else { format!("{:.2} ms", micros / 1000.0) }
}

impl Report {
    /// `id` names the fragment file; `reproduce` is the command that regenerates the figures.
    pub fn new(id: &str, title: &str, reproduce: &str) -> Self {
        println!("\n== {title}");
        Self {
            id: id.into(),
            title: title.into(),
            reproduce: reproduce.into(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Records and prints a distribution; returns it (`None` without samples).
    pub fn distribution(&mut self, name: &str, kind: Kind, samples: &mut [Duration]) -> Option<Distribution> {
        let value = Distribution::of(samples);
        match value {
            Some(d) => {
                println!(
                    "{name:<52} n={:<6} p50 {:>10}  p99 {:>10}  max {:>10}{}",
                    d.n,
                    human(d.p50),
                    human(d.p99),
                    human(d.max),
                    if kind == Kind::Limit { "  (limit)" } else { "" }
                );
                self.rows.push(Row::Distribution { name: name.into(), kind, value: d });
            }
            None => println!("{name:<52} no samples"),
        }
        value
    }

    /// Records and prints a single figure (memory, size, throughput, a ratio).
    pub fn figure(&mut self, name: &str, kind: Kind, value: impl Into<String>) {
        let value = value.into();
        println!("{name:<52} {value}{}", if kind == Kind::Limit { "  (limit)" } else { "" });
        self.rows.push(Row::Figure { name: name.into(), kind, value });
    }

    /// A sentence under the table: the setup, what a figure includes, a verdict on a goal.
    pub fn note(&mut self, text: impl Into<String>) {
        let text = text.into();
        println!("  {text}");
        self.notes.push(text);
    }

    /// Writes the BENCHMARKS.md section when `PODIUM_BENCH_REPORT` names a directory.
    pub fn finish(self) {
        let Some(dir) = std::env::var_os("PODIUM_BENCH_REPORT") else { return };
        let dir = std::path::PathBuf::from(dir);
        std::fs::create_dir_all(&dir).expect("create the report directory");
        let path = dir.join(format!("{}.md", self.id));
        std::fs::write(&path, self.markdown()).expect("write the report fragment");
        println!("report section written to {}", path.display());
    }

    fn markdown(&self) -> String {
        let mut out = format!("## {}\n\nReproduce: `{}`\n\n", self.title, self.reproduce);
        out.push_str("| Measurement | | n | p50 | p99 | max |\n|---|---|---:|---:|---:|---:|\n");
        let label = |kind: Kind| if kind == Kind::Limit { "limit" } else { "Podium" };
        for row in &self.rows {
            match row {
                Row::Distribution { name, kind, value } => {
                    let _ = writeln!(
                        out,
                        "| {name} | {} | {} | {} | {} | {} |",
                        label(*kind),
                        value.n,
                        human(value.p50),
                        human(value.p99),
                        human(value.max)
                    );
                }
                Row::Figure { name, kind, value } => {
                    let _ = writeln!(out, "| {name} | {} | | {value} | | |", label(*kind));
                }
            }
        }
        if !self.notes.is_empty() {
            out.push('\n');
            for note in &self.notes {
                let _ = writeln!(out, "- {note}");
            }
        }
        out.push('\n');
        out
    }
}

/// Round trips of 64 bytes to an echo thread over loopback TCP (no Nagle delay), after 100
/// unmeasured ones: the raw transport under every HTTP and MQTT figure. Blocking; call it
/// outside an async runtime's worker (e.g. `spawn_blocking`).
pub fn loopback_round_trips(n: usize) -> Vec<Duration> {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let echo = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().expect("accept");
        stream.set_nodelay(true).expect("nodelay");
        let mut buf = [0u8; 64];
        while stream.read_exact(&mut buf).is_ok() {
            if stream.write_all(&buf).is_err() {
                break;
            }
        }
    });
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let mut buf = [7u8; 64];
    let mut samples = Vec::with_capacity(n);
    for i in 0..n + 100 {
        let started = Instant::now();
        stream.write_all(&buf).expect("write");
        stream.read_exact(&mut buf).expect("read");
        if i >= 100 {
            samples.push(started.elapsed());
        }
    }
    drop(stream);
    let _ = echo.join();
    samples
}

/// A podiumd a benchmark started; killed when dropped.
pub struct Podiumd {
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl Podiumd {
    /// Runs `command` (a `podiumd run … --listen 127.0.0.1:0`, or a shell that execs one)
    /// with its standard output read here, and waits for its `podiumd listening on` line.
    pub fn start(command: &mut std::process::Command) -> Podiumd {
        use std::io::BufRead;
        let mut child = command.stdout(std::process::Stdio::piped()).spawn().expect("start podiumd");
        let mut lines = std::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let base = loop {
            let line = lines.next().expect("podiumd exited before listening").expect("read stdout");
            if let Some(url) = line.strip_prefix("podiumd listening on ") {
                break url.trim().to_owned();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Podiumd { child, base }
    }
}

impl Drop for Podiumd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
