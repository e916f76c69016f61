//! The `dhanita` binary: `keys create|list|revoke` against a data dir that a running
//! `dhanita serve` uses, the `listening on` line, and a config file that stops start-up.

use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(60);

/// The binary, run in `cwd` with no `DHANITA_*` or `RUST_LOG` from the test's environment.
fn dhanita(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_dhanita"));
    c.current_dir(cwd);
    for (k, _) in std::env::vars() {
        if k.starts_with("DHANITA_") {
            c.env_remove(k);
        }
    }
    c.env_remove("RUST_LOG");
    c
}

/// Runs to completion (at most `WAIT`), returning its output.
fn run(mut cmd: Command) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn dhanita");
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(WAIT) {
        Ok(out) => out.expect("wait for dhanita"),
        Err(_) => {
            let _ = Command::new("kill").arg(pid.to_string()).status();
            panic!("dhanita did not exit within {WAIT:?}");
        }
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A `dhanita serve` child process, killed when dropped.
struct Served {
    child: Child,
    base: String,
    /// Standard-output lines printed before `listening on`.
    before: Vec<String>,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `dhanita --data-dir DATA serve --listen 127.0.0.1:0` and waits for its
/// `listening on http://ADDR` line.
fn serve(cwd: &Path, data: &Path) -> Served {
    let mut cmd = dhanita(cwd);
    cmd.arg("--data-dir")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("spawn dhanita serve");
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        // Keeps draining after the address line so the child never blocks on a full pipe.
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut before = Vec::new();
    loop {
        match rx.recv_timeout(WAIT) {
            Ok(line) => match line.strip_prefix("listening on http://") {
                Some(addr) => {
                    let addr = addr.trim().to_string();
                    assert!(
                        addr.parse::<std::net::SocketAddr>().is_ok(),
                        "not an address: {line}"
                    );
                    assert!(!addr.ends_with(":0"), "port 0 was not resolved: {line}");
                    return Served {
                        child,
                        base: format!("http://{addr}"),
                        before,
                    };
                }
                None => before.push(line),
            },
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("no `listening on` line; stdout so far: {before:?}");
            }
        }
    }
}

/// (status, body) of a request to a served binary.
fn call(
    base: &str,
    method: &str,
    path: &str,
    key: Option<&str>,
    body: Option<&Value>,
) -> (u16, Value) {
    let agent = ureq::AgentBuilder::new().timeout(WAIT).build();
    let mut req = agent.request(method, &format!("{base}{path}"));
    if let Some(k) = key {
        req = req.set("X-API-Key", k);
    }
    let result = match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    assert!(resp.header("X-Request-Id").is_some());
    let status = resp.status();
    let body = resp.into_json::<Value>().unwrap_or(Value::Null);
    (status, body)
}

/// The `keys list` row of `id`, split on whitespace.
fn list_row(out: &str, id: &str) -> Option<Vec<String>> {
    out.lines()
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .find(|cols| cols.first().map(String::as_str) == Some(id))
}

#[test]
fn keys_create_list_and_revoke_work_against_a_running_server() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");

    let mut cmd = dhanita(tmp.path());
    cmd.arg("--data-dir")
        .arg(&data)
        .args(["keys", "create", "--role", "partner", "--name", "Acme"]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    // Only the secret, on one line.
    assert!(stdout.ends_with('\n'), "{stdout:?}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines.len(), 1, "{stdout:?}");
    let secret = lines[0].to_string();
    assert!(secret.len() >= 32, "{secret:?}");
    assert!(secret.chars().all(|c| c.is_ascii_graphic()), "{secret:?}");
    assert!(
        !text(&out.stderr).contains(&secret),
        "the secret is on stderr too"
    );

    let served = serve(tmp.path(), &data);
    // A key existed, so no admin key was made and printed.
    assert_eq!(served.before, Vec::<String>::new());
    let base = served.base.as_str();
    // Twice: the second answer is the one the server kept.
    for _ in 0..2 {
        let (status, _) = call(base, "GET", "/api/v1/products", Some(&secret), None);
        assert_eq!(status, 200);
    }
    let (status, body) = call(
        base,
        "POST",
        "/api/v1/leads",
        Some(&secret),
        Some(
            &json!({"product": "Personal Loan", "customer_name": "Cli Test", "mobile": "9876543210"}),
        ),
    );
    assert_eq!(status, 201, "{body}");
    let lead = body["data"]["lead_id"].as_str().unwrap().to_string();
    let (status, _) = call(
        base,
        "GET",
        &format!("/api/v1/leads/{lead}"),
        Some(&secret),
        None,
    );
    assert_eq!(status, 200);
    let (status, _) = call(base, "GET", "/api/v1/products", Some("dk_not_a_key"), None);
    assert_eq!(status, 401);

    // `keys list` shows it (never its secret).
    let mut cmd = dhanita(tmp.path());
    cmd.arg("--data-dir").arg(&data).args(["keys", "list"]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(!listing.contains(&secret), "keys list shows the secret");
    let row = listing
        .lines()
        .map(|l| l.split_whitespace().map(String::from).collect::<Vec<_>>())
        .find(|cols| cols.iter().any(|c| c == "Acme"))
        .unwrap_or_else(|| panic!("no Acme key in:\n{listing}"));
    let id = row[0].clone();
    assert!(id.parse::<i64>().is_ok(), "{row:?}");
    assert!(row.contains(&"partner".to_string()), "{row:?}");
    assert_eq!(row.last().map(String::as_str), Some("live"), "{row:?}");

    // `keys revoke ID`: the running server refuses it at once.
    let mut cmd = dhanita(tmp.path());
    cmd.arg("--data-dir")
        .arg(&data)
        .args(["keys", "revoke", &id]);
    let out = run(cmd);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, body) = call(base, "GET", "/api/v1/products", Some(&secret), None);
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["success"], json!(false));
    let (status, _) = call(
        base,
        "GET",
        &format!("/api/v1/leads/{lead}"),
        Some(&secret),
        None,
    );
    assert_eq!(status, 401);

    let mut cmd = dhanita(tmp.path());
    cmd.arg("--data-dir").arg(&data).args(["keys", "list"]);
    let out = run(cmd);
    let listing = text(&out.stdout);
    let row = list_row(&listing, &id).unwrap_or_else(|| panic!("no key {id} in:\n{listing}"));
    assert_eq!(row.last().map(String::as_str), Some("revoked"), "{row:?}");

    // Revoking an unknown key fails.
    let mut cmd = dhanita(tmp.path());
    cmd.arg("--data-dir")
        .arg(&data)
        .args(["keys", "revoke", "99999"]);
    let out = run(cmd);
    assert!(!out.status.success());
    drop(served);
}

#[test]
fn serve_prints_a_first_admin_key_once_then_its_address() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let served = serve(tmp.path(), &data);
    assert_eq!(served.before.len(), 1, "{:?}", served.before);
    let secret = served.before[0]
        .split_whitespace()
        .last()
        .unwrap()
        .to_string();
    let (status, body) = call(&served.base, "GET", "/api/v1/statuses", Some(&secret), None);
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0], json!("new"));
    let (status, body) = call(&served.base, "GET", "/healthz", None, None);
    assert_eq!(status, 200, "{body}");
    drop(served);

    // The second run has keys: nothing is printed but the address.
    let served = serve(tmp.path(), &data);
    assert_eq!(served.before, Vec::<String>::new());
    let (status, _) = call(&served.base, "GET", "/api/v1/statuses", Some(&secret), None);
    assert_eq!(status, 200);
}

/// Runs `serve` with this config file; asserts it does not start and returns its one
/// stderr line.
fn refused_config(tmp: &Path, name: &str, toml: &str) -> String {
    let path = tmp.join(name);
    std::fs::write(&path, toml).unwrap();
    let mut cmd = dhanita(tmp);
    cmd.arg("--config")
        .arg(&path)
        .arg("--data-dir")
        .arg(tmp.join("data"))
        .args(["serve", "--listen", "127.0.0.1:0"]);
    let out = run(cmd);
    assert!(!out.status.success(), "{name}: started anyway");
    let stdout = text(&out.stdout);
    assert!(!stdout.contains("listening on"), "{name}: {stdout}");
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{name}: {stderr:?}");
    lines[0].to_string()
}

#[test]
fn a_bad_config_file_stops_start_up_with_a_one_line_reason() {
    let tmp = tempfile::tempdir().unwrap();
    for (name, toml, mention) in [
        ("unknown-key.toml", "[server]\nbogus = 1\n", "bogus"),
        ("unknown-section.toml", "colour = \"blue\"\n", "colour"),
        (
            "bad-value.toml",
            "[office]\nutc_offset = \"IST\"\n",
            "utc_offset",
        ),
    ] {
        let reason = refused_config(tmp.path(), name, toml);
        assert!(reason.contains(mention), "{name}: {reason:?}");
    }
}

/// The reason names the setting (or its line) when a value has the wrong type.
#[test]
fn a_config_value_of_the_wrong_type_is_named_in_the_reason() {
    let tmp = tempfile::tempdir().unwrap();
    let reason = refused_config(
        tmp.path(),
        "bad-type.toml",
        "[server]\nthreads = \"many\"\n",
    );
    assert!(
        reason.contains("threads") || reason.contains("line 2"),
        "{reason:?}"
    );
}
