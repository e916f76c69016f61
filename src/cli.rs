//! Subcommands: `serve` (the default) and `keys create|list|revoke`. Every subcommand takes
//! the same `--config` and `--data-dir`.

use crate::app::{self, App, Settings};
use crate::config::{Config, Overrides};
use crate::http::{self, HttpSettings};
use crate::model::Role;
use clap::{Parser, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

#[derive(Parser, Debug)]
#[command(
    name = "dhanita",
    version,
    about = "Dhanita Finance CRM API: one binary, one SQLite file, one folder of documents"
)]
pub struct Cli {
    /// Config file (TOML). Default: ./dhanita.toml if present.
    #[arg(long, global = true, env = "DHANITA_CONFIG", value_name = "PATH")]
    config: Option<PathBuf>,
    /// Folder for the database and the documents. Default: ./data
    #[arg(long, global = true, env = "DHANITA_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve the API (the default).
    Serve {
        /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free port).
        #[arg(long, env = "DHANITA_LISTEN", value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Manage API keys.
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Write a consistent copy of the database and documents to FILE (a tar archive), also
    /// while the server is running.
    Backup { file: PathBuf },
    /// Restore a backup FILE into the data folder, which must not hold a database yet.
    Restore { file: PathBuf },
    /// Check the database and every document blob; exit non-zero if anything is wrong.
    Check {
        /// Remove orphan blobs (files no document points to) older than an hour.
        #[arg(long)]
        fix: bool,
    },
    /// Measure this machine's limits (disk commits, HTTP stack) and the server against them.
    Bench(crate::bench::BenchArgs),
}

#[derive(Subcommand, Debug)]
enum KeysCommand {
    /// Create a key; prints the secret alone on standard output.
    Create {
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The partner (account) the key belongs to; created if new.
        #[arg(long)]
        name: String,
        /// Bind a partner key to a DSA code: its leads are stamped with it.
        #[arg(long)]
        dsa_code: Option<String>,
    },
    /// List keys (never their secrets).
    List,
    /// Revoke a key by its id.
    Revoke { id: i64 },
    /// Issue a new secret for a key (same partner, role, DSA code) and revoke the old one;
    /// prints the new secret alone on standard output.
    Rotate { id: i64 },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum RoleArg {
    Partner,
    Admin,
}

pub fn run(cli: Cli) -> Result<(), String> {
    let listen = match &cli.command {
        Some(Command::Serve { listen }) => listen.clone(),
        _ => None,
    };
    let overrides = Overrides {
        config: cli.config.clone(),
        listen,
        data_dir: cli.data_dir.clone(),
    };
    let config = Config::load(&overrides, &|k| std::env::var(k).ok())?;
    match cli.command {
        None | Some(Command::Serve { .. }) => serve(&config),
        Some(Command::Keys(k)) => keys(&config, k),
        Some(Command::Backup { file }) => backup(&config, &file),
        Some(Command::Restore { file }) => restore(&config, &file),
        Some(Command::Check { fix }) => check(&config, fix),
        Some(Command::Bench(args)) => crate::bench::run(args.options()?, &config),
    }
}

fn settings(config: &Config) -> Settings {
    Settings {
        offset: config.utc_offset,
        synchronous: config.synchronous,
        allow_duplicates: config.allow_duplicates,
    }
}

/// Opens an existing data folder only: backing up or checking a folder that holds no
/// database (a mistyped or forgotten `--data-dir`) would create and seed a new, empty one
/// and report on that.
fn open_existing(config: &Config) -> Result<App, String> {
    let db = config.data_dir.join("dhanita.db");
    if !db.exists() {
        return Err(format!(
            "no database in {} (is --data-dir, DHANITA_DATA_DIR or the config file's data_dir right?)",
            config.data_dir.display()
        ));
    }
    open(config)
}

fn open(config: &Config) -> Result<App, String> {
    App::open(&config.data_dir, settings(config)).map_err(|e| {
        format!(
            "cannot open data directory {}: {e}",
            config.data_dir.display()
        )
    })
}

fn serve(config: &Config) -> Result<(), String> {
    if let Some(path) = std::env::var_os("DHANITA_TRACE_SQL").filter(|p| !p.is_empty()) {
        crate::db::trace::enable(std::path::Path::new(&path))
            .map_err(|e| format!("cannot open the SQL trace file: {e}"))?;
    }
    let app = open(config)?;
    if let Some(key) = &config.api_key {
        if key.len() < 32 {
            log::warn!(
                "DHANITA_API_KEY is shorter than 32 characters; use it for demos and tests only"
            );
        }
        if app::ensure_key(&app, key).map_err(|e| e.to_string())? {
            log::info!("added the DHANITA_API_KEY key as an admin key");
        }
    }
    let mut out = std::io::stdout();
    if let Some(key) = app::first_run_key(&app).map_err(|e| e.to_string())? {
        let _ = writeln!(
            out,
            "created admin key {} (shown once, keep it safe): {}",
            key.id, key.secret
        );
    }
    let settings = HttpSettings {
        listen: config.listen.clone(),
        threads: config.threads,
        max_json_bytes: config.max_json_bytes,
        max_file_bytes: config.max_file_bytes,
        cors_origins: config.cors_origins.clone(),
        requests_per_minute: config.requests_per_minute,
        keep_answers: config.keep_answers,
    };
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(signal, stop.clone())
            .map_err(|e| format!("cannot install the signal handler: {e}"))?;
    }
    // Over a file-size limit, a write should fail with EFBIG (answered as a 503, nothing
    // stored) instead of SIGXFSZ killing the process: catching the signal does that.
    let xfsz = Arc::new(AtomicBool::new(false));
    signal_hook::flag::register(signal_hook::consts::SIGXFSZ, xfsz)
        .map_err(|e| format!("cannot install the signal handler: {e}"))?;
    let handle = http::start(Arc::new(app), settings).map_err(|e| e.to_string())?;
    let _ = writeln!(out, "listening on http://{}", handle.addr);
    let _ = out.flush();
    handle.run_until(&stop);
    log::info!("stopped");
    Ok(())
}

fn keys(config: &Config, command: KeysCommand) -> Result<(), String> {
    let app = open(config)?;
    let result = match command {
        KeysCommand::Create {
            role,
            name,
            dsa_code,
        } => {
            let role = match role {
                RoleArg::Partner => Role::Partner,
                RoleArg::Admin => Role::Admin,
            };
            app::create_key(&app, role, &name, dsa_code.as_deref()).map(|k| {
                eprintln!(
                    "created {} key {} for partner {:?}",
                    role.as_str(),
                    k.id,
                    name.trim()
                );
                println!("{}", k.secret);
            })
        }
        KeysCommand::List => app::list_keys(&app).map(|keys| {
            println!(
                "{:<6} {:<8} {:<24} {:<12} STATE",
                "ID", "ROLE", "PARTNER", "DSA_CODE"
            );
            for k in keys {
                let state = if k.revoked_at.is_some() {
                    "revoked"
                } else {
                    "live"
                };
                println!(
                    "{:<6} {:<8} {:<24} {:<12} {}",
                    k.id,
                    k.role.as_str(),
                    k.partner,
                    k.dsa_code.as_deref().unwrap_or("-"),
                    state
                );
            }
        }),
        KeysCommand::Rotate { id } => app::rotate_key(&app, id).map(|k| {
            eprintln!("key {id} revoked; its replacement is key {}", k.id);
            println!("{}", k.secret);
        }),
        KeysCommand::Revoke { id } => {
            app::revoke_key(&app, id).map(|()| eprintln!("revoked key {id}"))
        }
    };
    app.close();
    result.map_err(plain)
}

fn backup(config: &Config, file: &std::path::Path) -> Result<(), String> {
    let app = open_existing(config)?;
    let result = app::backup(&app, file);
    app.close();
    let report = result.map_err(|e| format!("backup failed: {}", plain(e)))?;
    eprintln!(
        "wrote {} ({} bytes: the database and {} document blobs)",
        file.display(),
        report.bytes,
        report.blobs
    );
    Ok(())
}

fn restore(config: &Config, file: &std::path::Path) -> Result<(), String> {
    let (leads, documents, report) = app::restore(file, &config.data_dir, settings(config))
        .map_err(|e| format!("restore failed: {}", plain(e)))?;
    eprintln!(
        "restored {} into {}: {leads} leads, {documents} documents",
        file.display(),
        config.data_dir.display()
    );
    print_check(&report);
    if report.all_well() {
        Ok(())
    } else {
        Err("the restored data did not pass the check".into())
    }
}

fn check(config: &Config, fix: bool) -> Result<(), String> {
    let app = open_existing(config)?;
    let result = app::check(&app, fix);
    app.close();
    let report = result.map_err(|e| format!("check failed: {}", plain(e)))?;
    print_check(&report);
    if report.all_well() {
        Ok(())
    } else {
        Err("problems found (see above)".into())
    }
}

fn print_check(r: &app::CheckReport) {
    if r.integrity.is_empty() {
        println!("database integrity: ok");
    } else {
        for line in &r.integrity {
            println!("database integrity: {line}");
        }
    }
    for (doc, sha) in &r.missing {
        println!("missing blob: document {doc} ({sha})");
    }
    for (doc, sha) in &r.corrupt {
        println!("corrupt blob: document {doc} ({sha})");
    }
    for (path, age) in &r.orphans {
        println!("orphan: {} ({} s old)", path.display(), age.as_secs());
    }
    if r.removed > 0 {
        println!("removed {} orphans older than an hour", r.removed);
    }
    println!(
        "documents: {} missing, {} corrupt; {} orphans",
        r.missing.len(),
        r.corrupt.len(),
        r.orphans.len()
    );
}

/// An error as one line for the operator.
fn plain(e: crate::error::Error) -> String {
    match e {
        crate::error::Error::Validation(f) => f
            .iter()
            .map(|(k, v)| format!("{k}: {}", v.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}
