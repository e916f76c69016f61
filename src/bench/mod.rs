//! `dhanita bench`: measures this machine's limits and the server against them, side by side
//! in one run, so the ratios mean something on any machine.
//!
//! 1. limits: the raw SQLite commit rate of a one-row transaction at the configured
//!    `synchronous` (what the disk allows a durable write), and the same HTTP server
//!    answering a constant JSON body (what the HTTP stack allows a read); both measured
//!    before and after the operations, the higher being the limit;
//! 2. operations: create lead, view lead, list leads (filtered first page), journey, status,
//!    add note, upload a 100 KiB PDF, each at every concurrency for a fixed time, over
//!    keep-alive loopback connections: requests/s, p50, p99, p99.9, errors;
//! 3. ratios: each operation against its limit, and the process's RSS.
//!
//! The server runs in this process on a fresh data folder next to the configured one (same
//! disk as a real deployment; tmpfs is refused, fsync costs nothing there), with its rate
//! limit off and request logging at `warn` unless `RUST_LOG` says otherwise. `--url` points
//! the load at a running server on a loopback address instead.
//!
//! The load generator is a minimal keep-alive HTTP/1.1 client (below), one connection per
//! client thread, not ureq. Side by side against the constant server on the 2-core
//! development machine, where the client and the server share the CPUs, ureq 2 (one `Agent`
//! per thread) served 5-40% fewer requests per second (c=1: 4,251 vs 5,142 and 8,500 vs
//! 11,824; c=8: 11,681 vs 19,426; c=64: 13,118 vs 16,839) with a median 20-130 µs higher:
//! the bench would have measured its own client. The minimal client also streams an upload
//! from shared slices, so 64 clients do not each hold a copy of the file in the process
//! whose RSS is reported.

mod client;
mod dataset;
mod histogram;
mod machine;
mod report;

use crate::app::{self, App, Settings};
use crate::config::Config;
use crate::db::{self, Synchronous};
use crate::http::{self, HttpSettings};
use crate::model::Role;
use client::{Client, Target};
use dataset::{generate_child, generate_in_child};
use histogram::Histogram;
use machine::{cpu_model, filesystem_of, reset_peak_rss, rss_kib, status_kib};
use report::render;
use serde::Serialize;
use std::io::{self, Write};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

/// `dhanita bench`'s flags.
#[derive(clap::Args, Debug)]
pub struct BenchArgs {
    /// Seconds each measurement (each limit, each operation at each concurrency) runs.
    #[arg(long, default_value_t = 3.0, value_name = "SECS")]
    duration: f64,
    /// Client connections to measure each operation at.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "1,8,64",
        value_name = "LIST"
    )]
    concurrency: Vec<usize>,
    /// Generate this many leads into the database (directly, not over HTTP) before measuring.
    #[arg(long, default_value_t = 0, value_name = "N")]
    leads: u64,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Load a running server on this loopback URL (e.g. http://127.0.0.1:8080) instead of
    /// starting one.
    #[arg(long, value_name = "URL", requires = "key")]
    url: Option<String>,
    /// The API key for --url.
    #[arg(long, value_name = "KEY", requires = "url")]
    key: Option<String>,
    /// SQLite synchronous level of the bench's server and of the commit-rate limit.
    #[arg(long, value_enum, default_value = "full")]
    synchronous: SyncArg,
    /// Internal: generate --leads into this database for key --generate-key (at UTC offset
    /// --generate-offset seconds) and print what was made as JSON. The bench runs this in a
    /// child process, so the generator's memory is not counted as the server's.
    #[arg(long, hide = true, value_name = "DB", requires_all = ["generate_key", "generate_offset"])]
    generate_into: Option<PathBuf>,
    #[arg(long, hide = true)]
    generate_key: Option<i64>,
    #[arg(long, hide = true, allow_hyphen_values = true)]
    generate_offset: Option<i32>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum SyncArg {
    Full,
    Normal,
}

impl BenchArgs {
    pub fn options(self) -> Result<Options, String> {
        if !self.duration.is_finite() || self.duration <= 0.0 || self.duration > 3600.0 {
            return Err("--duration must be more than 0 and at most 3600 seconds".into());
        }
        Ok(Options {
            duration: Duration::from_secs_f64(self.duration),
            concurrency: self.concurrency,
            leads: self.leads,
            json: self.json,
            url: self.url,
            key: self.key,
            synchronous: match self.synchronous {
                SyncArg::Full => Synchronous::Full,
                SyncArg::Normal => Synchronous::Normal,
            },
            generate: match (self.generate_into, self.generate_key, self.generate_offset) {
                (Some(db), Some(key), Some(offset)) => Some((db, key, offset)),
                _ => None,
            },
        })
    }
}

/// What the command line asked for.
#[derive(Debug, Clone)]
pub struct Options {
    pub duration: Duration,
    pub concurrency: Vec<usize>,
    /// Leads generated into the database before measuring.
    pub leads: u64,
    pub json: bool,
    pub url: Option<String>,
    pub key: Option<String>,
    pub synchronous: Synchronous,
    /// Internal (the generator child): database, key id, UTC offset in seconds.
    pub generate: Option<(PathBuf, i64, i32)>,
}

/// Leads created over HTTP before the operations run: the targets of reads, notes and
/// uploads.
const POOL_LEADS: usize = 64;
/// Generated leads (of the bench's partner, spread over the whole range) added to the read
/// targets when `--leads` is given.
const SAMPLE_LEADS: usize = 1000;
/// The size of the uploaded PDF.
const UPLOAD_BYTES: usize = 100 * 1024;
const BOUNDARY: &str = "dhanita-bench-7d3f0c";

// ---------------------------------------------------------------------------------------
// Operations

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Constant,
    Create,
    View,
    List,
    Journey,
    Status,
    Note,
    Upload,
}

const OPERATIONS: [Op; 7] = [
    Op::Create,
    Op::View,
    Op::List,
    Op::Journey,
    Op::Status,
    Op::Note,
    Op::Upload,
];

impl Op {
    fn id(self) -> &'static str {
        match self {
            Op::Constant => "constant",
            Op::Create => "create_lead",
            Op::View => "view_lead",
            Op::List => "list_leads",
            Op::Journey => "journey",
            Op::Status => "status",
            Op::Note => "add_note",
            Op::Upload => "upload_pdf",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Op::Constant => "constant JSON",
            Op::Create => "create lead",
            Op::View => "view lead",
            Op::List => "list leads",
            Op::Journey => "journey",
            Op::Status => "status",
            Op::Note => "add note",
            Op::Upload => "upload PDF",
        }
    }

    /// Writes are bounded by the commit rate, reads by the constant response.
    fn is_write(self) -> bool {
        matches!(self, Op::Create | Op::Note | Op::Upload)
    }
}

/// What every client thread shares.
struct Work {
    target: Target,
    /// Leads created over HTTP by this run: notes and uploads go to them.
    pool: Vec<String>,
    /// What reads go to: the pool, and with `--leads` a sample of the generated leads.
    reads: Vec<String>,
    next_mobile: AtomicU64,
    next_upload: AtomicU64,
    /// The uploaded file minus its unique tail.
    pdf: Vec<u8>,
    stop: Arc<AtomicBool>,
}

const CREATE_BODY_HEAD: &str = r#"{"product":"Personal Loan","customer_name":"Asha Verma","email":"asha.verma@example.com","loan_amount":250000,"city":"Pune","mobile":""#;
const NOTE_BODY: &[u8] =
    br#"{"note":"Called the customer; documents expected tomorrow.","type":"follow_up"}"#;
/// Bytes after the shared part of the PDF: a unique line, so no two uploads are the same
/// blob (an identical blob would skip the write and the fsyncs).
const PDF_TAIL: usize = 32;

fn upload_prefix() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"document_type\"\r\n\r\nPAN\r\n\
         --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"pan.pdf\"\r\n\
         Content-Type: application/pdf\r\n\r\n"
    )
}

/// "%PDF-1.4\n" and comment padding, `size - PDF_TAIL` bytes.
fn pdf_body(size: usize) -> Vec<u8> {
    let mut pdf = b"%PDF-1.4\n".to_vec();
    while pdf.len() < size - PDF_TAIL {
        pdf.extend_from_slice(b"% dhanita bench padding .......................................\n");
    }
    pdf.truncate(size - PDF_TAIL);
    pdf
}

fn pdf_tail(n: u64) -> Vec<u8> {
    let mut tail = format!("\n%bench upload {n:016}\n").into_bytes();
    tail.resize(PDF_TAIL, b'%');
    tail.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
    tail
}

/// One request of `op`; `Err` says what went wrong.
fn call(op: Op, client: &mut Client, w: &Work, thread: usize, i: u64) -> Result<(), String> {
    let pick = |leads: &[String]| {
        let k = (thread as u64).wrapping_mul(7919).wrapping_add(i) % leads.len().max(1) as u64;
        leads.get(k as usize).map_or("", String::as_str).to_string()
    };
    let read = || pick(&w.reads);
    let lead = || pick(&w.pool);
    let (status, want) = match op {
        Op::Constant => (client.request("GET", "/api/v1/constant", None, &[]), 200),
        Op::Create => {
            let mobile = w.next_mobile.fetch_add(1, Ordering::Relaxed);
            let body = format!("{CREATE_BODY_HEAD}{mobile}\"}}");
            (
                client.request(
                    "POST",
                    "/api/v1/leads",
                    Some("application/json"),
                    &[body.as_bytes()],
                ),
                201,
            )
        }
        Op::View => (
            client.request("GET", &format!("/api/v1/leads/{}", read()), None, &[]),
            200,
        ),
        Op::List => (
            client.request(
                "GET",
                "/api/v1/leads?status=document_pending&limit=20",
                None,
                &[],
            ),
            200,
        ),
        Op::Journey => (
            client.request(
                "GET",
                &format!("/api/v1/leads/{}/journey", read()),
                None,
                &[],
            ),
            200,
        ),
        Op::Status => (
            client.request(
                "GET",
                &format!("/api/v1/leads/{}/status", read()),
                None,
                &[],
            ),
            200,
        ),
        Op::Note => (
            client.request(
                "POST",
                &format!("/api/v1/leads/{}/notes", lead()),
                Some("application/json"),
                &[NOTE_BODY],
            ),
            201,
        ),
        Op::Upload => {
            let n = w.next_upload.fetch_add(1, Ordering::Relaxed);
            let prefix = upload_prefix();
            let tail = pdf_tail(n);
            (
                client.request(
                    "POST",
                    &format!("/api/v1/leads/{}/documents", lead()),
                    Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
                    &[prefix.as_bytes(), &w.pdf, &tail],
                ),
                201,
            )
        }
    };
    match status {
        Ok(s) if s == want => Ok(()),
        Ok(s) => Err(format!(
            "{} answered {s}: {}",
            op.id(),
            String::from_utf8_lossy(&client.body[..client.body.len().min(200)])
        )),
        Err(e) => Err(format!("{}: {e}", op.id())),
    }
}

// ---------------------------------------------------------------------------------------
// Measuring

#[derive(Debug, Clone, Serialize)]
struct Cell {
    operation: &'static str,
    /// For limits: measured "before" or "after" the operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<&'static str>,
    concurrency: usize,
    /// Answered as expected.
    requests: u64,
    errors: u64,
    seconds: f64,
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
    /// The slowest request.
    max_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_error: Option<String>,
    /// The limit this operation is held against, its rate, and the ratio.
    #[serde(skip_serializing_if = "Option::is_none")]
    limit: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    limit_per_sec: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    ratio: Option<f64>,
    /// The process's resident memory right after the cell.
    #[serde(skip_serializing_if = "Option::is_none")]
    rss_kib_after: Option<u64>,
    /// Of it, the mapped database file's pages (RssFile: the OS page cache, shared and
    /// reclaimable, not memory the process allocated).
    #[serde(skip_serializing_if = "Option::is_none")]
    rss_file_kib_after: Option<u64>,
}

struct ThreadResult {
    hist: Histogram,
    ok: u64,
    errors: u64,
    first_error: Option<String>,
    elapsed: Duration,
}

/// Runs `op` from `c` client threads, each over its own keep-alive connection, for
/// `duration` (requests in flight at the end are finished and counted).
fn measure(work: &Arc<Work>, op: Op, c: usize, duration: Duration) -> Result<Cell, String> {
    let barrier = Arc::new(Barrier::new(c + 1));
    let mut threads = Vec::with_capacity(c);
    for t in 0..c {
        let work = work.clone();
        let barrier = barrier.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("bench-client-{t}"))
            .stack_size(256 * 1024)
            .spawn(move || {
                let mut client = Client::new(&work.target);
                let connected = client.connect();
                barrier.wait();
                let mut r = ThreadResult {
                    hist: Histogram::new(),
                    ok: 0,
                    errors: 0,
                    first_error: None,
                    elapsed: Duration::ZERO,
                };
                if let Err(e) = connected {
                    r.errors = 1;
                    r.first_error = Some(format!("cannot connect: {e}"));
                    return r;
                }
                let start = Instant::now();
                let mut i = 0u64;
                while start.elapsed() < duration && !work.stop.load(Ordering::Relaxed) {
                    let t0 = Instant::now();
                    let outcome = call(op, &mut client, &work, t, i);
                    let took = t0.elapsed();
                    match outcome {
                        Ok(()) => {
                            r.hist.record(took);
                            r.ok += 1;
                        }
                        Err(e) => {
                            r.errors += 1;
                            r.first_error.get_or_insert(e);
                            // Do not spin on a dead server.
                            std::thread::sleep(Duration::from_millis(1));
                        }
                    }
                    i += 1;
                }
                r.elapsed = start.elapsed();
                r
            })
            .map_err(|e| format!("cannot start a client thread: {e}"))?;
        threads.push(spawned);
    }
    barrier.wait();
    let mut hist = Histogram::new();
    let (mut ok, mut errors, mut first_error, mut elapsed) = (0, 0, None, Duration::ZERO);
    for t in threads {
        let r = t
            .join()
            .map_err(|_| "a client thread panicked".to_string())?;
        hist.merge(&r.hist);
        ok += r.ok;
        errors += r.errors;
        if first_error.is_none() {
            first_error = r.first_error;
        }
        elapsed = elapsed.max(r.elapsed);
    }
    let seconds = elapsed.as_secs_f64().max(1e-9);
    Ok(Cell {
        operation: op.id(),
        phase: None,
        concurrency: c,
        requests: ok,
        errors,
        seconds,
        per_sec: ok as f64 / seconds,
        p50_ms: hist.quantile_ms(0.50),
        p99_ms: hist.quantile_ms(0.99),
        p999_ms: hist.quantile_ms(0.999),
        max_ms: hist.max_us as f64 / 1000.0,
        first_error,
        limit: None,
        limit_per_sec: None,
        ratio: None,
        rss_kib_after: None,
        rss_file_kib_after: None,
    })
}

/// Removes the bench's data folder when dropped, however the run ends.
struct TempDir(PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => total += dir_bytes(&e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// The loopback address of an `http://host:port` URL; anything else is refused.
fn loopback_addr(url: &str) -> Result<SocketAddr, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("--url {url:?} must start with http://"))?;
    let hostport = rest.split('/').next().unwrap_or("");
    let hostport = if hostport.contains(':') {
        hostport.to_string()
    } else {
        format!("{hostport}:80")
    };
    let addrs: Vec<SocketAddr> = hostport
        .to_socket_addrs()
        .map_err(|e| format!("--url {url:?}: {e}"))?
        .collect();
    match addrs.first() {
        Some(a) if addrs.iter().all(|a| a.ip().is_loopback()) => Ok(*a),
        Some(_) => Err(format!(
            "--url {url:?} is not a loopback address: the bench sends load to this machine only"
        )),
        None => Err(format!("--url {url:?} resolves to no address")),
    }
}

// ---------------------------------------------------------------------------------------
// The run

#[derive(Debug, Serialize)]
struct Machine {
    cpus: usize,
    cpu: String,
    os: &'static str,
    kernel: String,
}

#[derive(Debug, Serialize)]
struct RunSettings {
    target: String,
    synchronous: &'static str,
    workers: usize,
    duration_secs: f64,
    concurrency: Vec<usize>,
    data_dir: String,
    filesystem: String,
    request_log: bool,
    /// Whether the server answers repeated reads from kept answers (`[server] keep_answers`).
    keep_answers: bool,
}

#[derive(Debug, Serialize)]
struct Dataset {
    leads: u64,
    journey_rows: u64,
    audit_rows: u64,
    generate_secs: f64,
    database_bytes: u64,
    bytes_per_lead: f64,
    startup_ms: f64,
}

#[derive(Debug, Serialize)]
struct CommitLimit {
    phase: &'static str,
    commits: u64,
    per_sec: f64,
    p50_ms: f64,
    p99_ms: f64,
    p999_ms: f64,
}

#[derive(Debug, Serialize)]
struct Limits {
    /// One-row commits, before and after the operations.
    commit: Vec<CommitLimit>,
    /// The limit writes are held against: the higher of the two.
    commit_per_sec: f64,
    /// The constant answer at each concurrency, before and after the operations; reads are
    /// held against the higher at their concurrency.
    constant: Vec<Cell>,
}

#[derive(Debug, Serialize, Default)]
struct Memory {
    /// Whether the server runs in this process (otherwise nothing here is measured).
    in_process: bool,
    idle_rss_kib: Option<u64>,
    peak_rss_kib: Option<u64>,
    /// How much one 10 MiB upload raised the peak above the RSS before it.
    upload_10mib_peak_delta_kib: Option<i64>,
}

#[derive(Debug, Serialize)]
struct Report {
    machine: Machine,
    settings: RunSettings,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset: Option<Dataset>,
    limits: Limits,
    operations: Vec<Cell>,
    memory: Memory,
}

/// A progress line on standard error (the report goes to standard output).
fn progress(text: &str) {
    eprintln!("bench: {text}");
}

/// The server the operations go to: in this process, or one at `--url`.
struct Server {
    target: Target,
    handle: Option<http::ServerHandle>,
    dir: TempDir,
    dataset: Option<Dataset>,
    /// Generated leads to read from, spread over the whole database.
    sample: Option<Vec<String>>,
}

pub fn run(opts: Options, config: &Config) -> Result<(), String> {
    if let Some((db_path, key_id, offset)) = &opts.generate {
        return generate_child(db_path, *key_id, *offset, opts.leads);
    }
    if opts.concurrency.is_empty() || opts.concurrency.iter().any(|&c| c == 0 || c > 1024) {
        return Err("--concurrency takes numbers from 1 to 1024, e.g. 1,8,64".into());
    }
    if opts.duration.is_zero() || opts.duration > Duration::from_secs(3600) {
        return Err("--duration must be more than 0 and at most 3600 seconds".into());
    }
    if opts.url.is_some() && opts.leads > 0 {
        return Err(
            "--leads generates into the bench's own database; it cannot be used with --url".into(),
        );
    }
    if opts.url.is_some() != opts.key.is_some() {
        return Err("--url and --key go together".into());
    }
    let request_log = std::env::var_os("RUST_LOG").is_some();
    if !request_log {
        log::set_max_level(log::LevelFilter::Warn);
    }
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| format!("cannot install the signal handler: {e}"))?;
    }

    // The data folder: next to the configured one, so on the deployment's disk.
    let parent = config
        .data_dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty() && p.is_dir())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let dir = parent.join(format!("bench-data-{:08x}", rand::random::<u32>()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let dir = TempDir(dir);
    let (fstype, device) = filesystem_of(&dir.0).unwrap_or_else(|| ("unknown".into(), "".into()));
    if matches!(fstype.as_str(), "tmpfs" | "ramfs") {
        return Err(format!(
            "{} is on {fstype}, where fsync costs nothing; run the bench from a folder on the disk the server uses",
            dir.0.display()
        ));
    }

    let http_settings = HttpSettings {
        listen: "127.0.0.1:0".into(),
        threads: config.threads,
        max_json_bytes: config.max_json_bytes,
        max_file_bytes: config.max_file_bytes,
        requests_per_minute: 0,
        cors_origins: Vec::new(),
        keep_answers: config.keep_answers,
    };
    let json = opts.json;
    let mut memory = Memory::default();

    // The server, and its idle RSS before any load.
    let mut server = match (&opts.url, &opts.key) {
        (Some(url), Some(key)) => Server {
            target: Target::new(loopback_addr(url)?, key),
            handle: None,
            dir,
            dataset: None,
            sample: None,
        },
        _ => start_in_process(&opts, config, &http_settings, dir, &stop)?,
    };
    if server.handle.is_some() {
        memory.in_process = true;
        std::thread::sleep(Duration::from_millis(200));
        memory.idle_rss_kib = rss_kib().map(|r| r.0);
    }
    if stop.load(Ordering::SeqCst) {
        return Err("interrupted".into());
    }

    // Leads for reads, notes and uploads.
    progress(&format!(
        "creating {POOL_LEADS} leads to read, note and upload to"
    ));
    let mobile_base = if server.handle.is_some() {
        6_000_000_000
    } else {
        // A running server may hold an earlier run's leads: start somewhere else.
        6_000_000_000 + rand::random::<u64>() % 900_000_000
    };
    let mut work = Work {
        target: server.target.clone(),
        pool: Vec::new(),
        reads: Vec::new(),
        next_mobile: AtomicU64::new(mobile_base),
        next_upload: AtomicU64::new(rand::random::<u32>() as u64 * 1_000_000),
        pdf: pdf_body(UPLOAD_BYTES),
        stop: stop.clone(),
    };
    let mut client = Client::new(&server.target);
    for _ in 0..POOL_LEADS {
        let mobile = work.next_mobile.fetch_add(1, Ordering::Relaxed);
        let body = format!("{CREATE_BODY_HEAD}{mobile}\"}}");
        let status = client
            .request(
                "POST",
                "/api/v1/leads",
                Some("application/json"),
                &[body.as_bytes()],
            )
            .map_err(|e| format!("cannot create a lead: {e}"))?;
        let answer: serde_json::Value = serde_json::from_slice(&client.body).unwrap_or_default();
        match (status, answer["data"]["lead_id"].as_str()) {
            (201, Some(id)) => work.pool.push(id.to_string()),
            _ => {
                return Err(format!(
                    "creating a lead answered {status}: {}",
                    String::from_utf8_lossy(&client.body)
                ))
            }
        }
    }

    // One 10 MiB upload: how much does it raise the peak RSS?
    if memory.in_process && reset_peak_rss() {
        if let Some((before, _)) = rss_kib() {
            let chunk = vec![b'%'; 64 * 1024];
            let prefix = upload_prefix();
            let head = b"%PDF-1.4\n".to_vec();
            let tail = pdf_tail(u64::MAX / 2 + rand::random::<u32>() as u64);
            let chunks = (10 << 20) / chunk.len() - 1;
            let mut parts: Vec<&[u8]> = vec![prefix.as_bytes(), &head];
            parts.extend(std::iter::repeat_n(chunk.as_slice(), chunks));
            parts.push(&chunk[..chunk.len() - head.len() - PDF_TAIL]);
            parts.push(&tail);
            let status = client
                .request(
                    "POST",
                    &format!("/api/v1/leads/{}/documents", work.pool[0]),
                    Some(&format!("multipart/form-data; boundary={BOUNDARY}")),
                    &parts,
                )
                .map_err(|e| format!("the 10 MiB upload failed: {e}"))?;
            if status != 201 {
                return Err(format!(
                    "the 10 MiB upload answered {status}: {}",
                    String::from_utf8_lossy(&client.body)
                ));
            }
            if let Some((_, peak)) = rss_kib() {
                memory.upload_10mib_peak_delta_kib = Some(peak as i64 - before as i64);
            }
        }
    }
    drop(client);

    // Limits: the disk's commit rate and the HTTP stack's constant answer, measured before
    // and after the operations (other load on the machine moves them); the higher counts.
    let mut limits = Limits {
        commit: Vec::new(),
        commit_per_sec: 0.0,
        constant: Vec::new(),
    };
    measure_limits(
        "before",
        &mut limits,
        &opts,
        &server.dir.0,
        &http_settings,
        &stop,
    )?;

    // Operations.
    work.reads = work.pool.clone();
    if let Some(sample) = server.sample.take() {
        work.reads.extend(sample);
    }
    let work = Arc::new(work);
    let peak_reset = memory.in_process && reset_peak_rss();
    let mut operations = Vec::new();
    for op in OPERATIONS {
        for &c in &opts.concurrency {
            progress(&format!("{} at c={c}", op.label()));
            let mut cell = measure(&work, op, c, opts.duration)?;
            if stop.load(Ordering::SeqCst) {
                return Err("interrupted".into());
            }
            if memory.in_process {
                cell.rss_kib_after = rss_kib().map(|r| r.0);
                cell.rss_file_kib_after = status_kib("RssFile:");
            }
            operations.push(cell);
        }
    }
    if memory.in_process {
        memory.peak_rss_kib = rss_kib().map(|r| r.1).filter(|_| peak_reset);
    }
    drop(work);
    measure_limits(
        "after",
        &mut limits,
        &opts,
        &server.dir.0,
        &http_settings,
        &stop,
    )?;
    if let Some(h) = server.handle.take() {
        h.stop();
    }
    for cell in &mut operations {
        let op = OPERATIONS.iter().find(|o| o.id() == cell.operation);
        let (name, rate) = if op.is_some_and(|o| o.is_write()) {
            ("commit", limits.commit_per_sec)
        } else {
            let best = limits
                .constant
                .iter()
                .filter(|k| k.concurrency == cell.concurrency)
                .map(|k| k.per_sec)
                .fold(0.0, f64::max);
            ("constant", best)
        };
        cell.limit = Some(name);
        cell.limit_per_sec = Some(rate);
        cell.ratio = (rate > 0.0).then(|| cell.per_sec / rate);
    }

    let report = Report {
        machine: Machine {
            cpus: std::thread::available_parallelism().map_or(1, |n| n.get()),
            cpu: cpu_model(),
            os: std::env::consts::OS,
            kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
                .map(|s| s.trim().to_string())
                .unwrap_or_default(),
        },
        settings: RunSettings {
            target: opts
                .url
                .clone()
                .unwrap_or_else(|| "in-process server".into()),
            synchronous: match opts.synchronous {
                Synchronous::Full => "full",
                Synchronous::Normal => "normal",
            },
            workers: config.threads,
            duration_secs: opts.duration.as_secs_f64(),
            concurrency: opts.concurrency.clone(),
            data_dir: server.dir.0.display().to_string(),
            filesystem: if device.is_empty() {
                fstype
            } else {
                format!("{fstype} on {device}")
            },
            request_log,
            keep_answers: http_settings.keep_answers,
        },
        dataset: server.dataset.take(),
        limits,
        operations,
        memory,
    };
    let mut out = io::stdout().lock();
    let written = if json {
        serde_json::to_writer_pretty(&mut out, &report)
            .map_err(io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        out.write_all(render(&report).as_bytes())
    };
    written.map_err(|e| format!("cannot write the report: {e}"))?;
    drop(server);
    Ok(())
}

/// Measures the commit rate (in a scratch database in `dir`) and the constant answer at
/// every concurrency, and adds them to `limits`.
fn measure_limits(
    phase: &'static str,
    limits: &mut Limits,
    opts: &Options,
    dir: &Path,
    http_settings: &HttpSettings,
    stop: &Arc<AtomicBool>,
) -> Result<(), String> {
    progress(&format!(
        "limits ({phase}): one-row commits for {:.1} s",
        opts.duration.as_secs_f64()
    ));
    let mut hist = Histogram::new();
    let (commits, secs) = db::bench::commit_rate(
        &dir.join("commit-rate.db"),
        opts.synchronous,
        opts.duration,
        &mut |d| hist.record(d),
    )
    .map_err(|e| format!("cannot measure the commit rate: {e}"))?;
    let commit = CommitLimit {
        phase,
        commits,
        per_sec: commits as f64 / secs.max(1e-9),
        p50_ms: hist.quantile_ms(0.5),
        p99_ms: hist.quantile_ms(0.99),
        p999_ms: hist.quantile_ms(0.999),
    };
    limits.commit_per_sec = limits.commit_per_sec.max(commit.per_sec);
    limits.commit.push(commit);
    let server = http::constant::start_constant(http_settings)
        .map_err(|e| format!("cannot start the constant server: {e}"))?;
    let work = Arc::new(Work {
        target: Target::new(server.addr, opts.key.as_deref().unwrap_or("")),
        pool: Vec::new(),
        reads: Vec::new(),
        next_mobile: AtomicU64::new(0),
        next_upload: AtomicU64::new(0),
        pdf: Vec::new(),
        stop: stop.clone(),
    });
    for &c in &opts.concurrency {
        progress(&format!("limits ({phase}): constant JSON at c={c}"));
        let mut cell = measure(&work, Op::Constant, c, opts.duration)?;
        cell.phase = Some(phase);
        limits.constant.push(cell);
        if stop.load(Ordering::SeqCst) {
            return Err("interrupted".into());
        }
    }
    server.stop();
    Ok(())
}

/// Opens a fresh store in `dir` with a partner key for the bench (generating `--leads` into
/// it first), and serves it on a loopback port.
fn start_in_process(
    opts: &Options,
    config: &Config,
    http_settings: &HttpSettings,
    dir: TempDir,
    stop: &Arc<AtomicBool>,
) -> Result<Server, String> {
    let settings = Settings {
        offset: config.utc_offset,
        synchronous: opts.synchronous,
        allow_duplicates: false,
    };
    let data = dir.0.join("data");
    let open = |data: &Path| {
        App::open(data, settings.clone()).map_err(|e| format!("cannot open the bench store: {e}"))
    };
    let app = open(&data)?;
    let key = app::create_key(&app, Role::Partner, "Bench Partner", None)
        .map_err(|e| format!("cannot create the bench key: {e}"))?;
    let mut generated = None;
    let before = dir_bytes(&data);
    let app = if opts.leads > 0 {
        app.close();
        drop(app);
        progress(&format!("generating {} leads", opts.leads));
        let started = Instant::now();
        let made = generate_in_child(&data.join("dhanita.db"), key.id, config, opts.leads)?;
        generated = Some((made, started.elapsed().as_secs_f64()));
        if stop.load(Ordering::SeqCst) {
            return Err("interrupted".into());
        }
        // Start-up with that database is measured below.
        None
    } else {
        Some(app)
    };
    let database_bytes = dir_bytes(&data);
    let started = Instant::now();
    let app = match app {
        Some(app) => app,
        None => open(&data)?,
    };
    let handle = http::start(Arc::new(app), http_settings.clone())
        .map_err(|e| format!("cannot start the server: {e}"))?;
    let startup_ms = started.elapsed().as_secs_f64() * 1000.0;
    let (dataset, sample) = match generated {
        Some((made, generate_secs)) => (
            Some(Dataset {
                leads: made.leads,
                journey_rows: made.journey_rows,
                audit_rows: made.audit_rows,
                generate_secs,
                database_bytes,
                bytes_per_lead: database_bytes.saturating_sub(before) as f64
                    / made.leads.max(1) as f64,
                startup_ms,
            }),
            Some(made.sample),
        ),
        None => (None, None),
    };
    Ok(Server {
        target: Target::new(handle.addr, &key.secret),
        handle: Some(handle),
        dir,
        dataset,
        sample,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn upload_bodies_are_100_kib_pdfs_and_unique() {
        let pdf = pdf_body(UPLOAD_BYTES);
        assert!(pdf.starts_with(b"%PDF-1.4\n"));
        let (a, b) = (pdf_tail(1), pdf_tail(2));
        let closing = format!("\r\n--{BOUNDARY}--\r\n").len();
        assert_eq!(pdf.len() + a.len() - closing, UPLOAD_BYTES);
        assert_ne!(a, b);
    }

    #[test]
    fn only_loopback_urls() {
        assert!(loopback_addr("http://127.0.0.1:8080").is_ok());
        assert!(loopback_addr("http://10.1.2.3:80/x").is_err());
        assert!(loopback_addr("https://127.0.0.1:8080").is_err());
    }
}
