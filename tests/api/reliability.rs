//! Nothing lost, nobody starved: the real binary killed mid-load and restarted, a graceful
//! SIGTERM, unusable data folders, a full disk, the log's privacy, 64 concurrent clients and
//! the per-key rate limit.

use crate::helpers::*;
use dhanita::model::Role;
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A lead whose create was acknowledged (201).
#[derive(Clone, Debug)]
struct AckLead {
    lead_id: String,
    mobile: String,
    name: String,
}

/// A document whose upload was acknowledged (201).
#[derive(Clone, Debug)]
struct AckDoc {
    lead_id: String,
    document_id: String,
    document_type: String,
    sha256: String,
    size: u64,
}

/// A note whose create was acknowledged (201).
#[derive(Clone, Debug)]
struct AckNote {
    lead_id: String,
    note_id: i64,
    text: String,
}

/// Every write the server acknowledged, and every answer that was not a 2xx.
#[derive(Default)]
struct Ledger {
    leads: Vec<AckLead>,
    docs: Vec<AckDoc>,
    notes: Vec<AckNote>,
    /// (status, body, whether the server had been told to stop when it was sent)
    refused: Vec<(u16, String, bool)>,
    requests: usize,
    /// 2xx answers received after the server was told to stop.
    ok_while_stopping: usize,
}

type Shared = Arc<Mutex<Ledger>>;

/// (stop driving, the server has been told to stop): the second marks refusals as expected.
type Flags = (Arc<AtomicBool>, Arc<AtomicBool>);

/// What a driver does with one answer: `Some(reply)` on a 2xx; a non-2xx is recorded as
/// refused; a transport error ends the driver (the server is gone).
enum Step {
    Ok(Reply),
    Refused,
    Gone,
}

fn step(ledger: &Shared, stopping: &AtomicBool, r: Result<Reply, String>) -> Step {
    let mut l = ledger.lock().unwrap();
    l.requests += 1;
    match r {
        Ok(r) if (200..300).contains(&r.status) => {
            if stopping.load(Ordering::SeqCst) {
                l.ok_while_stopping += 1;
            }
            Step::Ok(r)
        }
        Ok(r) => {
            let body = String::from_utf8_lossy(&r.bytes).into_owned();
            l.refused
                .push((r.status, body, stopping.load(Ordering::SeqCst)));
            Step::Refused
        }
        Err(_) => Step::Gone,
    }
}

/// One client of the crash tests: creates Personal Loan leads, uploads a PAN (PDF) and an
/// AADHAAR (PNG) with unique bytes, and adds a note, recording every 2xx, until the server
/// goes away or `stop` is set.
fn drive(base: String, run: usize, t: usize, flags: Flags, ledger: Shared) {
    let (stop, stopping) = (&flags.0, &*flags.1);
    let app = remote_app(&base, CHILD_KEY);
    let c = app.admin();
    let mut i = 0usize;
    while !stop.load(Ordering::SeqCst) {
        i += 1;
        let mobile = format!("9{run}{t}{i:07}");
        let name = format!("Crash Tester {run}-{t}-{i}");
        let r = c.try_json(
            "POST",
            "/api/v1/leads",
            &json!({"product": "Personal Loan", "customer_name": name, "mobile": mobile}),
        );
        let lead_id = match step(&ledger, stopping, r) {
            Step::Ok(r) => {
                let id = r.body["data"]["lead_id"].as_str().unwrap().to_string();
                ledger.lock().unwrap().leads.push(AckLead {
                    lead_id: id.clone(),
                    mobile,
                    name,
                });
                id
            }
            Step::Refused => continue,
            Step::Gone => return,
        };
        let tag = format!("\n% unique {run}-{t}-{i}\n");
        let uploads = [
            ("PAN", "pan.pdf", unique_sample("pan-card.pdf", &tag)),
            ("AADHAAR", "aadhaar.png", unique_sample("photo.png", &tag)),
        ];
        for (n, (doc_type, filename, bytes)) in uploads.iter().enumerate() {
            let r = c.try_upload(&lead_id, doc_type, filename, bytes);
            match step(&ledger, stopping, r) {
                Step::Ok(r) => {
                    let d = &r.body["data"];
                    assert_eq!(d["sha256"].as_str(), Some(sha256_hex(bytes).as_str()));
                    ledger.lock().unwrap().docs.push(AckDoc {
                        lead_id: lead_id.clone(),
                        document_id: d["document_id"].as_str().unwrap().to_string(),
                        document_type: doc_type.to_string(),
                        sha256: d["sha256"].as_str().unwrap().to_string(),
                        size: d["size"].as_u64().unwrap(),
                    });
                }
                Step::Refused => {}
                Step::Gone => return,
            }
            if n == 0 {
                let text =
                    format!("Follow-up call {run}-{t}-{i}: customer will send bank statement");
                let r = c.try_json(
                    "POST",
                    &format!("/api/v1/leads/{lead_id}/notes"),
                    &json!({"note": text, "type": "follow_up"}),
                );
                match step(&ledger, stopping, r) {
                    Step::Ok(r) => ledger.lock().unwrap().notes.push(AckNote {
                        lead_id: lead_id.clone(),
                        note_id: r.body["data"]["note_id"].as_i64().unwrap(),
                        text,
                    }),
                    Step::Refused => {}
                    Step::Gone => return,
                }
            }
        }
    }
}

/// Starts `n` drivers against `base`.
fn start_drivers(
    base: &str,
    run: usize,
    n: usize,
    flags: &Flags,
    ledger: &Shared,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..n)
        .map(|t| {
            let (base, flags, ledger) = (base.to_string(), flags.clone(), ledger.clone());
            std::thread::spawn(move || drive(base, run, t, flags, ledger))
        })
        .collect()
}

/// The lead-ID sequence number (the digits after `LD` + date) and the date part.
fn lead_seq(id: &str) -> (String, u64) {
    assert!(id.starts_with("LD") && id.len() >= 14, "{id}");
    (id[2..10].to_string(), id[10..].parse().unwrap())
}

fn doc_number(id: &str) -> u64 {
    id.strip_prefix("DOC")
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("document id {id}"))
}

/// Runs `dhanita check` on `data`; asserts it passes and finds nothing missing or corrupt.
fn check_passes(data: &Path) -> String {
    let (status, out, err) = run_to_end(dhanita_in(data, &["check"]));
    assert!(status.success(), "check failed:\n{out}\n{err}");
    assert!(out.contains("database integrity: ok"), "{out}");
    assert!(out.contains("documents: 0 missing, 0 corrupt"), "{out}");
    out
}

/// Checks that everything in `ledger` is there, through the API of the server at `app`
/// and on disk in `data`; returns every lead and document ID the server shows.
fn verify_everything(app: &TestApp, data: &Path, ledger: &Ledger) -> (Vec<String>, Vec<String>) {
    let c = app.admin();
    let mut docs_by_lead: BTreeMap<&str, Vec<&AckDoc>> = BTreeMap::new();
    for d in &ledger.docs {
        docs_by_lead.entry(&d.lead_id).or_default().push(d);
    }
    let mut notes_by_lead: BTreeMap<&str, Vec<&AckNote>> = BTreeMap::new();
    for n in &ledger.notes {
        notes_by_lead.entry(&n.lead_id).or_default().push(n);
    }
    for lead in &ledger.leads {
        let id = lead.lead_id.as_str();
        let r = c.lead(id);
        let data_ = assert_ok(&r, 200);
        assert_eq!(data_["mobile"], json!(lead.mobile), "{id}");
        assert_eq!(data_["customer_name"], json!(lead.name), "{id}");
        let statuses = c.journey_statuses(id);
        assert_eq!(
            statuses.get(..2),
            Some(&["new".to_string(), "document_pending".to_string()][..]),
            "{id}: {statuses:?}"
        );
        assert_eq!(
            data_["status"].as_str(),
            statuses.last().map(String::as_str),
            "{id}: the lead's status is not its journey's last entry"
        );
        let acked: Vec<&AckDoc> = docs_by_lead.get(id).cloned().unwrap_or_default();
        let types: BTreeSet<&str> = acked.iter().map(|d| d.document_type.as_str()).collect();
        if types.contains("PAN") && types.contains("AADHAAR") {
            assert!(
                statuses.contains(&"under_review".to_string()),
                "{id}: both documents acknowledged, journey {statuses:?}"
            );
        }
        let r = c.documents(id);
        let listed = assert_ok(&r, 200).as_array().unwrap().clone();
        for d in &acked {
            let found = listed
                .iter()
                .find(|x| x["document_id"] == json!(d.document_id))
                .unwrap_or_else(|| panic!("{id}: acknowledged {} missing", d.document_id));
            assert_eq!(found["sha256"], json!(d.sha256));
            assert_eq!(found["size"], json!(d.size));
            assert_eq!(found["document_type"], json!(d.document_type));
        }
        for x in &listed {
            // Nothing half-written: every listed document has its blob, with its hash.
            let sha = x["sha256"].as_str().unwrap();
            let blob = data.join("documents").join(&sha[..2]).join(sha);
            let bytes = std::fs::read(&blob)
                .unwrap_or_else(|e| panic!("{id}: blob of {} missing: {e}", x["document_id"]));
            assert_eq!(
                sha256_hex(&bytes),
                sha,
                "{id}: blob of {}",
                x["document_id"]
            );
        }
        if let Some(notes) = notes_by_lead.get(id) {
            let r = c.notes(id);
            let listed = assert_ok(&r, 200).as_array().unwrap().clone();
            for n in notes {
                let found = listed
                    .iter()
                    .find(|x| x["note_id"] == json!(n.note_id))
                    .unwrap_or_else(|| panic!("{id}: acknowledged note {} missing", n.note_id));
                assert_eq!(found["note"], json!(n.text));
            }
        }
    }
    // Every lead the server shows, and every document of those.
    let leads: Vec<String> = c
        .all_leads()
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap().to_string())
        .collect();
    let unique: BTreeSet<&String> = leads.iter().collect();
    assert_eq!(unique.len(), leads.len(), "a lead ID is listed twice");
    for l in &ledger.leads {
        assert!(unique.contains(&l.lead_id), "{} not listed", l.lead_id);
    }
    let mut docs = Vec::new();
    for id in &leads {
        let r = c.documents(id);
        for d in assert_ok(&r, 200).as_array().unwrap() {
            docs.push(d["document_id"].as_str().unwrap().to_string());
        }
    }
    (leads, docs)
}

/// After a restart: a new lead and a new document get IDs beyond every one seen before.
fn ids_continue(app: &TestApp, run: usize, leads: &[String], docs: &[String], ledger: &Shared) {
    let c = app.admin();
    let mobile = format!("8{run}99999999");
    let name = format!("After Restart {run}");
    let r = c
        .create_lead(&json!({"product": "Personal Loan", "customer_name": name, "mobile": mobile}));
    let id = assert_ok(&r, 201)["lead_id"].as_str().unwrap().to_string();
    assert!(!leads.contains(&id), "lead ID {id} reused");
    let (day, seq) = lead_seq(&id);
    for old in leads {
        let (d, s) = lead_seq(old);
        if d == day {
            assert!(seq > s, "new lead {id} does not follow {old}");
        }
    }
    let pdf = unique_sample("pan-card.pdf", &format!("\n% after restart {run}\n"));
    let r = c.upload(&id, "PAN", "pan.pdf", &pdf);
    let doc = assert_ok(&r, 201).clone();
    let doc_id = doc["document_id"].as_str().unwrap().to_string();
    assert!(!docs.contains(&doc_id), "document ID {doc_id} reused");
    let max = docs.iter().map(|d| doc_number(d)).max().unwrap_or(0);
    assert!(doc_number(&doc_id) > max, "{doc_id} after DOC{max}");
    let mut l = ledger.lock().unwrap();
    l.leads.push(AckLead {
        lead_id: id.clone(),
        mobile,
        name,
    });
    l.docs.push(AckDoc {
        lead_id: id,
        document_id: doc_id,
        document_type: "PAN".into(),
        sha256: doc["sha256"].as_str().unwrap().to_string(),
        size: doc["size"].as_u64().unwrap(),
    });
}

/// A server whose per-key rate limit is off: the load here is about durability, and eight
/// writers on one key outrun the default 6,000 requests a minute.
fn unthrottled(data: &Path) -> ServedChild {
    serve_child_with(data, &[("DHANITA_REQUESTS_PER_MINUTE", "0")])
}

#[test]
fn sigkill_mid_load_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ledger: Shared = Arc::default();
    let mut child = unthrottled(&data);
    let mut report = Vec::new();
    for (run, delay_ms) in [(1usize, 300u64), (2, 700), (3, 1200)] {
        let before = {
            let l = ledger.lock().unwrap();
            (l.leads.len(), l.docs.len(), l.notes.len(), l.requests)
        };
        let stop = Arc::new(AtomicBool::new(false));
        let drivers = start_drivers(&child.base, run, 8, &(stop.clone(), stop.clone()), &ledger);
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill_now();
        stop.store(true, Ordering::SeqCst);
        for d in drivers {
            d.join().expect("driver");
        }
        {
            let l = ledger.lock().unwrap();
            assert!(
                l.refused.is_empty(),
                "refused during the load: {:?}",
                l.refused.first()
            );
            report.push(format!(
                "kill after {delay_ms} ms: {} requests, {} leads, {} documents, {} notes acknowledged",
                l.requests - before.3,
                l.leads.len() - before.0,
                l.docs.len() - before.1,
                l.notes.len() - before.2
            ));
        }
        // The crashed folder passes the check as it is.
        check_passes(&data);
        child = unthrottled(&data);
        let app = child.app();
        let (leads, docs) = {
            let l = ledger.lock().unwrap();
            assert!(
                !l.leads.is_empty(),
                "nothing was acknowledged before the kill"
            );
            verify_everything(&app, &data, &l)
        };
        ids_continue(&app, run, &leads, &docs, &ledger);
    }
    // The last restart, stopped gracefully, leaves a folder that still checks out.
    child.signal("TERM");
    let status = child.wait_exit(Duration::from_secs(15)).expect("exit");
    assert!(status.success(), "{status:?}");
    check_passes(&data);
    for line in report {
        eprintln!("{line}");
    }
}

#[test]
fn sigterm_during_load_finishes_cleanly_and_keeps_every_acknowledged_write() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let ledger: Shared = Arc::default();
    let mut child = serve_child(&data);
    let (stop, stopping) = (
        Arc::new(AtomicBool::new(false)),
        Arc::new(AtomicBool::new(false)),
    );
    let drivers = start_drivers(
        &child.base,
        5,
        8,
        &(stop.clone(), stopping.clone()),
        &ledger,
    );
    std::thread::sleep(Duration::from_millis(700));
    // From here on, a refusal saying the server is stopping is allowed; the drivers go on
    // until the server is gone.
    stopping.store(true, Ordering::SeqCst);
    let signalled = Instant::now();
    child.signal("TERM");
    let status = child.wait_exit(Duration::from_secs(12));
    let took = signalled.elapsed();
    stop.store(true, Ordering::SeqCst);
    let status = status.unwrap_or_else(|| panic!("still running {took:?} after SIGTERM"));
    assert_eq!(status.code(), Some(0), "{status:?}: {}", child.output().1);
    for d in drivers {
        d.join().expect("driver");
    }
    let wal = data.join("dhanita.db-wal");
    if let Ok(meta) = std::fs::metadata(&wal) {
        assert_eq!(meta.len(), 0, "the WAL was not checkpointed");
    }
    let l = ledger.lock().unwrap();
    for (status, body, stopping) in &l.refused {
        assert!(
            *stopping && *status == 503,
            "refused {status} (stopping: {stopping}): {body}"
        );
    }
    eprintln!(
        "SIGTERM: exited 0 after {took:?}; {} requests, {} leads, {} documents, {} notes acknowledged ({} answered 2xx after the signal), {} refused while stopping",
        l.requests,
        l.leads.len(),
        l.docs.len(),
        l.notes.len(),
        l.ok_while_stopping,
        l.refused.len()
    );
    assert!(!l.leads.is_empty());
    check_passes(&data);
    let child = serve_child(&data);
    verify_everything(&child.app(), &data, &l);
}

/// Clients that never pause (keep-alive connections, one request after another) must not
/// keep a stopping server alive: it exits 0 within the drain bound, and requests sent more
/// than a moment after the signal are no longer served.
#[test]
fn sigterm_under_unrelenting_traffic_still_exits_promptly() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut child = serve_child(&data);
    let stop = Arc::new(AtomicBool::new(false));
    let signalled: Arc<Mutex<Option<Instant>>> = Arc::default();
    let clients: Vec<_> = (0..16)
        .map(|_| {
            let (base, stop, signalled) = (child.base.clone(), stop.clone(), signalled.clone());
            std::thread::spawn(move || {
                let app = remote_app(&base, CHILD_KEY);
                let c = app.admin();
                // (answered 2xx, of those sent more than 1 s after the signal)
                let mut counts = (0usize, 0usize);
                while !stop.load(Ordering::SeqCst) {
                    let sent = Instant::now();
                    match c.try_get("/api/v1/statuses") {
                        Ok(r) if r.status == 200 => {
                            counts.0 += 1;
                            let late = signalled
                                .lock()
                                .unwrap()
                                .is_some_and(|t| sent > t + Duration::from_secs(1));
                            if late {
                                counts.1 += 1;
                            }
                        }
                        Ok(_) => {}
                        Err(_) => break,
                    }
                }
                counts
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let at = Instant::now();
    *signalled.lock().unwrap() = Some(at);
    child.signal("TERM");
    let status = child.wait_exit(Duration::from_secs(12));
    let took = at.elapsed();
    stop.store(true, Ordering::SeqCst);
    let counts: Vec<(usize, usize)> = clients.into_iter().map(|h| h.join().unwrap()).collect();
    let served: usize = counts.iter().map(|c| c.0).sum();
    let late: usize = counts.iter().map(|c| c.1).sum();
    eprintln!(
        "SIGTERM under unrelenting reads: {served} answered, {late} of them sent > 1 s after the signal; exit after {took:?}: {status:?}"
    );
    let status = status.unwrap_or_else(|| panic!("still running {took:?} after SIGTERM"));
    assert_eq!(status.code(), Some(0), "{status:?}");
    assert_eq!(
        late, 0,
        "{late} requests sent more than 1 s after SIGTERM were still served"
    );
}

/// Runs `serve` expecting it to refuse to start; returns its one line on stderr.
fn refuses_to_start(mut cmd: std::process::Command, what: &str) -> String {
    cmd.env("DHANITA_API_KEY", CHILD_KEY);
    let (status, out, err) = run_to_end(cmd);
    assert!(!status.success(), "{what}: started anyway: {out}");
    assert!(!out.contains("listening on"), "{what}: {out}");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "{what}: not one line: {err:?}");
    lines[0].to_string()
}

#[test]
fn an_unusable_data_dir_or_config_stops_start_up_with_one_line() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("plain-file");
    std::fs::write(&file, b"not a folder").unwrap();
    for (data, what) in [
        (file.join("data"), "a data dir under a regular file"),
        (file.clone(), "a data dir that is a regular file"),
    ] {
        let line = refuses_to_start(
            dhanita_in(&data, &["serve", "--listen", "127.0.0.1:0"]),
            what,
        );
        assert!(line.contains("data"), "{what}: {line:?}");
        assert!(!line.contains("panicked"), "{what}: {line:?}");
    }
    // The folder was left as it was.
    assert_eq!(std::fs::read(&file).unwrap(), b"not a folder");
    for (toml, mention) in [
        ("[storage]\nsynchronous = \"sometimes\"\n", "synchronous"),
        (
            "[limits]\nrequests_per_minute = -5\n",
            "requests_per_minute",
        ),
        ("[server]\nthreads = 0\n", "threads"),
    ] {
        let config = tmp.path().join("bad.toml");
        std::fs::write(&config, toml).unwrap();
        let mut cmd = dhanita_in(
            &tmp.path().join("data"),
            &["serve", "--listen", "127.0.0.1:0"],
        );
        cmd.arg("--config").arg(&config);
        let line = refuses_to_start(cmd, toml);
        assert!(line.contains(mention), "{toml}: {line:?}");
    }
}

#[test]
fn a_write_past_a_full_disk_is_a_json_503_and_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    // No file may grow past 1 MiB (2048 blocks of 512 bytes): the database fits, a 3 MiB
    // upload does not.
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg("ulimit -f 2048 && exec \"$0\" --data-dir \"$1\" serve --listen 127.0.0.1:0")
        .arg(env!("CARGO_BIN_EXE_dhanita"))
        .arg(&data)
        .current_dir(tmp.path())
        .env("DHANITA_API_KEY", CHILD_KEY)
        .env_remove("RUST_LOG");
    let mut child = start_child(cmd);
    let app = child.app();
    let c = app.admin();
    let lead = c.new_lead("9700011122");
    let small = unique_sample("pan-card.pdf", "\n% small\n");
    assert_ok(&c.upload(&lead, "PAN", "pan.pdf", &small), 201);
    let before = assert_ok(&c.documents(&lead), 200).clone();
    let status_before = c.lead_status_of(&lead);
    let files_before = files_under(&data.join("documents"));

    let big = pdf_of_size(3 << 20, "too-big-for-the-disk");
    let r = c.upload(&lead, "AADHAAR", "big.pdf", &big);
    assert_error(&r, 503);
    assert!(r.header("Retry-After").is_some(), "{:?}", r.headers);
    // Nothing of it was kept: same list, same status, no new file (not even a temp file).
    assert_eq!(assert_ok(&c.documents(&lead), 200), &before);
    assert_eq!(c.lead_status_of(&lead), status_before);
    assert_eq!(files_under(&data.join("documents")), files_before);
    assert!(!app.blob_path(&sha256_hex(&big)).exists());

    // The server is still up and stores what fits.
    assert_ok(&c.get("/healthz"), 200);
    let photo = unique_sample("photo.png", "after the failure");
    let r = c.upload(&lead, "AADHAAR", "photo.png", &photo);
    assert_ok(&r, 201);
    assert_eq!(
        assert_ok(&c.documents(&lead), 200)
            .as_array()
            .unwrap()
            .len(),
        2
    );
    c.new_lead("9700011123");
    assert!(child.child.try_wait().unwrap().is_none(), "the server died");
    child.signal("TERM");
    let status = child.wait_exit(Duration::from_secs(15)).expect("exit");
    assert!(status.success(), "{status:?}");
    check_passes(&data);
}

#[test]
fn the_log_never_shows_customer_data_document_bytes_or_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut child = serve_child_with(&data, &[("RUST_LOG", "debug")]);
    let app = child.app();
    let admin = app.admin();

    let name = "Zorawar Quillfeather";
    let new_name = "Ishwari Brightwater";
    let mobile = "9845012367";
    let email = "zorawar.quill@example.org";
    let new_email = "ishwari.bright@example.net";
    let note = "Customer prefers a callback after six about the Marigold account";
    let marker = "PDFBYTES-7f3a9c51e2";
    let bad_key = "dk_wrong_key_4b1d9e0c7a6f";

    let r = admin.create_lead(&json!({
        "product": "Personal Loan", "customer_name": name, "mobile": mobile,
        "email": email, "city": "Pune", "loan_amount": 250000,
    }));
    let lead = assert_ok(&r, 201)["lead_id"].as_str().unwrap().to_string();
    assert_ok(&admin.lead(&lead), 200);
    assert_ok(&admin.list_leads(&format!("mobile={mobile}")), 200);
    assert_ok(&admin.list_leads(&format!("q={}", qs(name))), 200);
    let pdf = pdf_of_size(4096, marker);
    let r = admin.upload(&lead, "PAN", "statement.pdf", &pdf);
    let doc = assert_ok(&r, 201)["document_id"]
        .as_str()
        .unwrap()
        .to_string();
    let r = admin.document_file(&lead, &doc);
    assert_eq!(r.status, 200);
    assert_eq!(r.bytes, pdf);
    // A refused upload too: its bytes must not be logged either.
    let r = admin.upload(
        &lead,
        "PAN",
        "x.txt",
        format!("not a pdf {marker}").as_bytes(),
    );
    assert_fields(&r, &["file"]);
    assert_ok(&admin.add_note(&lead, &json!({"note": note})), 201);
    assert_ok(&admin.notes(&lead), 200);
    let r = admin.patch_lead(
        &lead,
        &json!({"customer_name": new_name, "email": new_email}),
    );
    assert_ok(&r, 200);
    // A refused PATCH echoes nothing into the log.
    let r = admin.patch_lead(&lead, &json!({"mobile": "9000000001"}));
    assert_fields(&r, &["mobile"]);
    assert_ok(&admin.journey(&lead), 200);

    // Keys: made and rotated with the CLI, used against the server, and a wrong one.
    let (status, out, err) = run_to_end(dhanita_in(
        &data,
        &[
            "keys",
            "create",
            "--role",
            "partner",
            "--name",
            "Log Partner",
        ],
    ));
    assert!(status.success(), "{err}");
    let partner_key = out.trim().to_string();
    let partner = app.with_key(&partner_key);
    let r = partner.create_lead(&json!({
        "product": "Credit Card", "customer_name": name, "mobile": "9845012368",
    }));
    let partner_lead = assert_ok(&r, 201)["lead_id"].as_str().unwrap().to_string();
    assert_eq!(app.with_key(bad_key).get("/api/v1/products").status, 401);
    let (status, listing, _) = run_to_end(dhanita_in(&data, &["keys", "list"]));
    assert!(status.success());
    let id = listing
        .lines()
        .find(|l| l.contains("Log Partner"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap()
        .to_string();
    let (status, out, err) = run_to_end(dhanita_in(&data, &["keys", "rotate", &id]));
    assert!(status.success(), "{err}");
    let rotated = out.trim().to_string();
    assert_eq!(partner.get("/api/v1/products").status, 401);
    assert_ok(&app.with_key(&rotated).lead(&partner_lead), 200);

    child.signal("TERM");
    assert!(child.wait_exit(Duration::from_secs(15)).is_some());
    let (stdout, stderr) = child.output();
    let log = format!("{stdout}\n{stderr}");
    assert!(
        log.contains("POST /api/v1/leads"),
        "no request lines in the log:\n{log}"
    );
    for (what, secret) in [
        ("customer name", name),
        ("customer name (first word)", "Zorawar"),
        ("new customer name", new_name),
        ("mobile", mobile),
        ("partner lead's mobile", "9845012368"),
        ("email", email),
        ("new email", new_email),
        ("note text", note),
        ("note text (a word)", "Marigold"),
        ("document bytes", marker),
        ("admin key", CHILD_KEY),
        ("partner key", partner_key.as_str()),
        ("rotated key", rotated.as_str()),
        ("wrong key", bad_key),
    ] {
        assert!(
            !log.contains(secret),
            "the log shows the {what} ({secret}):\n{}",
            log.lines()
                .filter(|l| l.contains(secret))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

/// What one load client did.
#[derive(Default)]
struct LoadStats {
    latencies: Vec<Duration>,
    by_status: BTreeMap<u16, usize>,
    bad: Vec<String>,
    /// lead_id -> last acknowledged customer_name
    leads: BTreeMap<String, String>,
    docs: Vec<(String, String, String)>,
    notes: Vec<(String, i64, String)>,
}

fn load_client(app: Arc<TestApp>, n: usize, until: Instant) -> LoadStats {
    let c = app.admin();
    let mut s = LoadStats::default();
    let mut mine: Vec<String> = Vec::new();
    let mut i = 0usize;
    let record = |s: &mut LoadStats, what: &str, started: Instant, r: &Reply| {
        s.latencies.push(started.elapsed());
        *s.by_status.entry(r.status).or_default() += 1;
        let text = String::from_utf8_lossy(&r.bytes).to_ascii_lowercase();
        if r.status >= 300 || text.contains("locked") || text.contains("busy") {
            s.bad.push(format!("{what}: {} {}", r.status, text));
        }
    };
    while Instant::now() < until {
        i += 1;
        let pick = if mine.is_empty() { 0 } else { i % 9 };
        let lead = mine.get(i % mine.len().max(1)).cloned().unwrap_or_default();
        let started = Instant::now();
        match pick {
            0 => {
                let name = format!("Load Client {n} {i}");
                let r = c.create_lead(&json!({
                    "product": "Personal Loan", "customer_name": name,
                    "mobile": format!("7{n:02}{i:07}"),
                }));
                record(&mut s, "create", started, &r);
                if r.status == 201 {
                    let id = r.body["data"]["lead_id"].as_str().unwrap().to_string();
                    s.leads.insert(id.clone(), name);
                    mine.push(id);
                }
            }
            1 => {
                let r = c.lead(&lead);
                record(&mut s, "view", started, &r);
            }
            2 => {
                let name = format!("Renamed {n} {i}");
                let r = c.patch_lead(&lead, &json!({"customer_name": name, "city": "Nagpur"}));
                record(&mut s, "patch", started, &r);
                if r.status == 200 {
                    s.leads.insert(lead, name);
                }
            }
            3 => {
                let r = c.journey(&lead);
                record(&mut s, "journey", started, &r);
            }
            4 => {
                let r = c.status(&lead);
                record(&mut s, "status", started, &r);
            }
            5 => {
                let text = format!("load note {n}-{i}");
                let r = c.add_note(&lead, &json!({"note": text}));
                record(&mut s, "note", started, &r);
                if r.status == 201 {
                    s.notes
                        .push((lead, r.body["data"]["note_id"].as_i64().unwrap(), text));
                }
            }
            6 => {
                let bytes = unique_sample("pan-card.pdf", &format!("\n% load {n}-{i}\n"));
                let r = c.upload(&lead, "PAN", "pan.pdf", &bytes);
                record(&mut s, "upload", started, &r);
                if r.status == 201 {
                    let d = &r.body["data"];
                    s.docs.push((
                        lead,
                        d["document_id"].as_str().unwrap().to_string(),
                        d["sha256"].as_str().unwrap().to_string(),
                    ));
                }
            }
            7 => {
                let r = c.list_leads("limit=20");
                record(&mut s, "list", started, &r);
            }
            _ => {
                let r = c.documents(&lead);
                record(&mut s, "documents", started, &r);
            }
        }
    }
    s
}

#[test]
fn sixty_four_clients_mixing_every_operation_see_no_errors_and_lose_nothing() {
    let app = Arc::new(spawn_app());
    let until = Instant::now() + Duration::from_secs(30);
    let clients: Vec<_> = (0..64)
        .map(|n| {
            let app = app.clone();
            std::thread::spawn(move || load_client(app, n, until))
        })
        .collect();
    let stats: Vec<LoadStats> = clients.into_iter().map(|h| h.join().unwrap()).collect();
    let mut latencies: Vec<Duration> = stats.iter().flat_map(|s| s.latencies.clone()).collect();
    latencies.sort();
    let mut by_status: BTreeMap<u16, usize> = BTreeMap::new();
    for s in &stats {
        for (k, v) in &s.by_status {
            *by_status.entry(*k).or_default() += v;
        }
    }
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    eprintln!(
        "64 clients for 30 s: {} requests, statuses {by_status:?}, p50 {:?}, p99 {:?}, max {:?}",
        latencies.len(),
        pct(0.5),
        pct(0.99),
        latencies.last().unwrap()
    );
    let bad: Vec<&String> = stats.iter().flat_map(|s| &s.bad).collect();
    assert!(
        bad.is_empty(),
        "{} bad answers, first: {}",
        bad.len(),
        bad[0]
    );
    assert!(latencies.len() > 500, "only {} requests", latencies.len());

    // Every acknowledged write is there.
    let c = app.admin();
    let mut checked = (0, 0, 0);
    for s in &stats {
        for (id, name) in &s.leads {
            let r = c.lead(id);
            assert_eq!(assert_ok(&r, 200)["customer_name"], json!(name), "{id}");
            checked.0 += 1;
        }
        let mut docs: BTreeMap<&str, Vec<(&str, &str)>> = BTreeMap::new();
        for (lead, doc, sha) in &s.docs {
            docs.entry(lead).or_default().push((doc, sha));
        }
        for (lead, want) in docs {
            let r = c.documents(lead);
            let listed = assert_ok(&r, 200).as_array().unwrap().clone();
            for (doc, sha) in want {
                assert!(
                    listed
                        .iter()
                        .any(|x| x["document_id"] == json!(doc) && x["sha256"] == json!(sha)),
                    "{lead}: {doc} missing"
                );
                assert!(app.blob_path(sha).exists(), "{doc}: no blob");
                checked.1 += 1;
            }
        }
        let mut notes: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
        for (lead, id, text) in &s.notes {
            notes.entry(lead).or_default().push((*id, text));
        }
        for (lead, want) in notes {
            let r = c.notes(lead);
            let listed = assert_ok(&r, 200).as_array().unwrap().clone();
            for (id, text) in want {
                assert!(
                    listed
                        .iter()
                        .any(|x| x["note_id"] == json!(id) && x["note"] == json!(text)),
                    "{lead}: note {id} missing"
                );
                checked.2 += 1;
            }
        }
    }
    eprintln!(
        "verified {} leads, {} documents, {} notes",
        checked.0, checked.1, checked.2
    );
}

#[test]
fn a_key_over_its_rate_limit_gets_429_with_retry_after_and_others_do_not() {
    let app = spawn_app_with(
        settings(),
        dhanita::http::HttpSettings {
            requests_per_minute: 60,
            ..http_settings()
        },
    );
    let other = app.create_key(Role::Partner, "Other Partner", None);
    let c = app.admin();
    let started = Instant::now();
    for n in 1..=60 {
        let r = c.get("/api/v1/statuses");
        assert_eq!(r.status, 200, "request {n}: {}", r.body);
    }
    let r = c.get("/api/v1/statuses");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(1),
        "60 requests took {took:?}: the bucket refilled meanwhile"
    );
    assert_error(&r, 429);
    let retry = r
        .header("Retry-After")
        .unwrap_or_else(|| panic!("no Retry-After: {:?}", r.headers));
    let secs: u64 = retry
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After {retry:?} is not whole seconds"));
    assert!((1..=60).contains(&secs), "Retry-After {secs}");
    // Other operations of the same key are limited too, other keys are not.
    assert_error(&c.create_lead(&json!({})), 429);
    let o = app.with_key(&other);
    for n in 1..=10 {
        assert_eq!(
            o.get("/api/v1/statuses").status,
            200,
            "other key, request {n}"
        );
    }
    // An unknown key is still a 401, not a 429.
    assert_error(&app.with_key("dk_nope").get("/api/v1/statuses"), 401);
    // Waiting as told gives one more request.
    std::thread::sleep(Duration::from_secs(secs));
    assert_eq!(c.get("/api/v1/statuses").status, 200);
}
