//! Settings, lowest to highest: built-in defaults, the TOML file (`--config`/`DHANITA_CONFIG`,
//! else `./dhanita.toml` if present), `DHANITA_*` environment variables, flags. An unknown
//! key or a bad value stops start-up with a one-line reason.

use crate::db::Synchronous;
use chrono::FixedOffset;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Config {
    pub listen: String,
    pub threads: usize,
    pub data_dir: PathBuf,
    pub synchronous: Synchronous,
    pub utc_offset: FixedOffset,
    pub max_json_bytes: u64,
    pub max_file_bytes: u64,
    pub requests_per_minute: u32,
    pub api_key: Option<String>,
    pub allow_duplicates: bool,
    pub cors_origins: Vec<String>,
    pub keep_answers: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    #[serde(default)]
    server: ServerSection,
    #[serde(default)]
    storage: StorageSection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    office: OfficeSection,
    #[serde(default)]
    leads: LeadsSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LeadsSection {
    duplicates: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ServerSection {
    listen: Option<String>,
    threads: Option<usize>,
    cors_origins: Option<Vec<String>>,
    keep_answers: Option<bool>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StorageSection {
    data_dir: Option<PathBuf>,
    synchronous: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    json_body_bytes: Option<u64>,
    file_bytes: Option<u64>,
    requests_per_minute: Option<u32>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct OfficeSection {
    utc_offset: Option<String>,
}

/// What the command line said; `None` where it said nothing.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub listen: Option<String>,
    pub data_dir: Option<PathBuf>,
}

fn parse_offset(s: &str) -> Result<FixedOffset, String> {
    let bad = || format!("utc_offset {s:?} is not an offset like +05:30");
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first() {
        Some(b'+') => (1, &s[1..]),
        Some(b'-') => (-1, &s[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let (h, m): (i32, i32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    FixedOffset::east_opt(sign * (h * 3600 + m * 60)).ok_or_else(bad)
}

fn parse_sync(s: &str) -> Result<Synchronous, String> {
    match s.to_ascii_lowercase().as_str() {
        "full" => Ok(Synchronous::Full),
        "normal" => Ok(Synchronous::Normal),
        _ => Err(format!("synchronous {s:?} must be \"full\" or \"normal\"")),
    }
}

fn positive(name: &str, v: u64) -> Result<u64, String> {
    if v == 0 {
        Err(format!("{name} must be greater than 0"))
    } else {
        Ok(v)
    }
}

impl Config {
    /// Builds the configuration from the file, `env` (a lookup, so tests need not touch the
    /// process environment) and the command line.
    pub fn load(flags: &Overrides, env: &dyn Fn(&str) -> Option<String>) -> Result<Config, String> {
        let env = |k: &str| env(k).filter(|v| !v.is_empty());
        let explicit = flags
            .config
            .clone()
            .or_else(|| env("DHANITA_CONFIG").map(PathBuf::from));
        let file = match explicit {
            Some(path) => read_file(&path)?,
            None if Path::new("dhanita.toml").exists() => read_file(Path::new("dhanita.toml"))?,
            None => FileConfig::default(),
        };
        let listen = flags
            .listen
            .clone()
            .or_else(|| env("DHANITA_LISTEN"))
            .or(file.server.listen)
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let threads = match env("DHANITA_THREADS") {
            Some(t) => t
                .parse()
                .map_err(|_| format!("DHANITA_THREADS {t:?} is not a number"))?,
            None => file.server.threads.unwrap_or(8),
        };
        if !(1..=512).contains(&threads) {
            return Err(format!("threads must be 1-512, not {threads}"));
        }
        let data_dir = flags
            .data_dir
            .clone()
            .or_else(|| env("DHANITA_DATA_DIR").map(PathBuf::from))
            .or(file.storage.data_dir)
            .unwrap_or_else(|| PathBuf::from("data"));
        let synchronous = match env("DHANITA_SYNCHRONOUS").or(file.storage.synchronous) {
            Some(s) => parse_sync(&s)?,
            None => Synchronous::Full,
        };
        let utc_offset = match env("DHANITA_UTC_OFFSET").or(file.office.utc_offset) {
            Some(s) => parse_offset(&s)?,
            None => parse_offset("+05:30")?,
        };
        Ok(Config {
            listen,
            threads,
            data_dir,
            synchronous,
            utc_offset,
            max_json_bytes: positive(
                "limits.json_body_bytes",
                file.limits.json_body_bytes.unwrap_or(1 << 20),
            )?,
            max_file_bytes: positive(
                "limits.file_bytes",
                file.limits.file_bytes.unwrap_or(10 << 20),
            )?,
            requests_per_minute: match env("DHANITA_REQUESTS_PER_MINUTE") {
                Some(n) => n
                    .parse()
                    .map_err(|_| format!("DHANITA_REQUESTS_PER_MINUTE {n:?} is not a number"))?,
                None => file.limits.requests_per_minute.unwrap_or(6000),
            },
            api_key: env("DHANITA_API_KEY"),
            allow_duplicates: match file.leads.duplicates.as_deref() {
                None | Some("reject") => false,
                Some("allow") => true,
                Some(other) => {
                    return Err(format!(
                        "leads.duplicates {other:?} must be \"reject\" or \"allow\""
                    ))
                }
            },
            cors_origins: check_origins(file.server.cors_origins.unwrap_or_default())?,
            keep_answers: match env("DHANITA_KEEP_ANSWERS") {
                Some(v) => match v.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(format!(
                            "DHANITA_KEEP_ANSWERS {v:?} must be \"true\" or \"false\""
                        ))
                    }
                },
                None => file.server.keep_answers.unwrap_or(true),
            },
        })
    }
}

/// Origins are compared exactly with the browser's `Origin` header: scheme, host, port.
fn check_origins(origins: Vec<String>) -> Result<Vec<String>, String> {
    for o in &origins {
        let ok = (o.starts_with("http://") || o.starts_with("https://"))
            && !o.ends_with('/')
            && !o.contains(char::is_whitespace);
        if !ok {
            return Err(format!("server.cors_origins entry {o:?} must look like https://app.example.com (no path, no trailing slash)"));
        }
    }
    Ok(origins)
}

fn read_file(path: &Path) -> Result<FileConfig, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| {
        let first = e.message().lines().next().unwrap_or("invalid").to_string();
        match e.span() {
            Some(span) => {
                let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                let source = text.lines().nth(line - 1).unwrap_or("").trim();
                format!(
                    "config file {} line {line} ({source}): {first}",
                    path.display()
                )
            }
            None => format!("config file {}: {first}", path.display()),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_with(file: &str, env: &[(&str, &str)], flags: Overrides) -> Result<Config, String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(&path, file).unwrap();
        let flags = Overrides {
            config: Some(path),
            ..flags
        };
        let env: Vec<(String, String)> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::load(&flags, &move |k| {
            env.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn kept_answers_are_on_unless_the_file_or_env_turns_them_off() {
        let on = load_with("", &[], Overrides::default()).unwrap();
        assert!(on.keep_answers);
        let file = "[server]\nkeep_answers = false\n";
        assert!(
            !load_with(file, &[], Overrides::default())
                .unwrap()
                .keep_answers
        );
        let env = [("DHANITA_KEEP_ANSWERS", "true")];
        assert!(
            load_with(file, &env, Overrides::default())
                .unwrap()
                .keep_answers
        );
        let env = [("DHANITA_KEEP_ANSWERS", "false")];
        assert!(
            !load_with("", &env, Overrides::default())
                .unwrap()
                .keep_answers
        );
        let env = [("DHANITA_KEEP_ANSWERS", "no")];
        let e = load_with("", &env, Overrides::default()).unwrap_err();
        assert!(
            e.contains("DHANITA_KEEP_ANSWERS") && e.contains("\"no\""),
            "{e}"
        );
        let e = load_with("[server]\nkeep_answers = 1\n", &[], Overrides::default()).unwrap_err();
        assert!(e.contains("keep_answers"), "{e}");
    }

    #[test]
    fn rate_limit_from_file_then_env() {
        let file = "[limits]\nrequests_per_minute = 120\n";
        let c = load_with(file, &[], Overrides::default()).unwrap();
        assert_eq!(c.requests_per_minute, 120);
        let env = [("DHANITA_REQUESTS_PER_MINUTE", "0")];
        let c = load_with(file, &env, Overrides::default()).unwrap();
        assert_eq!(c.requests_per_minute, 0);
        let env = [("DHANITA_REQUESTS_PER_MINUTE", "lots")];
        let e = load_with(file, &env, Overrides::default()).unwrap_err();
        assert!(e.contains("DHANITA_REQUESTS_PER_MINUTE"), "{e}");
    }

    #[test]
    fn precedence_is_file_then_env_then_flags() {
        let file = "[server]\nlisten = \"127.0.0.1:1\"\nthreads = 4\n";
        let c = load_with(file, &[], Overrides::default()).unwrap();
        assert_eq!((c.listen.as_str(), c.threads), ("127.0.0.1:1", 4));
        let c = load_with(
            file,
            &[("DHANITA_LISTEN", "127.0.0.1:2")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(c.listen, "127.0.0.1:2");
        let flags = Overrides {
            listen: Some("127.0.0.1:3".into()),
            ..Default::default()
        };
        let c = load_with(file, &[("DHANITA_LISTEN", "127.0.0.1:2")], flags).unwrap();
        assert_eq!(c.listen, "127.0.0.1:3");
        assert_eq!(c.utc_offset.local_minus_utc(), 5 * 3600 + 1800);
    }

    #[test]
    fn unknown_keys_and_bad_values_stop() {
        let e = load_with(
            "[server]\nlisten = \"x\"\nbogus = 1\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(e.contains("bogus"), "{e}");
        let e = load_with(
            "[office]\nutc_offset = \"IST\"\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(e.contains("utc_offset"), "{e}");
        let e = load_with(
            "[storage]\nsynchronous = \"off\"\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err();
        assert!(e.contains("synchronous"), "{e}");
    }
}
