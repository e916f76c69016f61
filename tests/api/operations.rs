//! The operator's commands against real data folders: `keys rotate`, `backup` of a running
//! server and `restore` into a fresh folder, and `check [--fix]`.

use crate::helpers::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The rows of `keys list` (after its header), split on whitespace.
fn key_rows(data: &Path) -> Vec<Vec<String>> {
    let (status, out, err) = run_to_end(dhanita_in(data, &["keys", "list"]));
    assert!(status.success(), "{err}");
    out.lines()
        .skip(1)
        .map(|l| l.split_whitespace().map(String::from).collect())
        .collect()
}

/// Asserts a command printed one secret alone on stdout, and not on stderr; returns it.
fn secret_of(out: &str, err: &str) -> String {
    assert!(out.ends_with('\n'), "{out:?}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 1, "not one line: {out:?}");
    let secret = lines[0].to_string();
    assert!(secret.len() >= 32, "{secret:?}");
    assert!(secret.chars().all(|c| c.is_ascii_graphic()), "{secret:?}");
    assert!(!err.contains(&secret), "the secret is on stderr too");
    secret
}

#[test]
fn keys_rotate_issues_a_new_secret_for_the_same_partner_and_revokes_the_old() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let (status, out, err) = run_to_end(dhanita_in(
        &data,
        &[
            "keys",
            "create",
            "--role",
            "partner",
            "--name",
            "Rotate Partner",
            "--dsa-code",
            "DSA777",
        ],
    ));
    assert!(status.success(), "{err}");
    let old = secret_of(&out, &err);
    let rows = key_rows(&data);
    let row = rows
        .iter()
        .find(|r| r.iter().any(|c| c == "Rotate"))
        .unwrap_or_else(|| panic!("{rows:?}"))
        .clone();
    let id = row[0].clone();

    let child = serve_child(&data);
    let app = child.app();
    let partner = app.with_key(&old);
    let r = partner.create_lead(&json!({
        "product": "Credit Card", "customer_name": "Meera Iyer", "mobile": "9811122233",
    }));
    let lead = assert_ok(&r, 201)["lead_id"].as_str().unwrap().to_string();
    // Another partner's lead, which the rotated key must still not see.
    let admin_lead = app.admin().new_lead("9811122234");

    let (status, out, err) = run_to_end(dhanita_in(&data, &["keys", "rotate", &id]));
    assert!(status.success(), "{err}");
    let new = secret_of(&out, &err);
    assert_ne!(new, old);

    // The running server refuses the old key at once and takes the new one.
    assert_error(&partner.get("/api/v1/products"), 401);
    assert_error(&partner.lead(&lead), 401);
    let rotated = app.with_key(&new);
    let r = rotated.lead(&lead);
    assert_eq!(assert_ok(&r, 200)["lead_id"], json!(lead));
    assert_eq!(r.body["data"]["dsa_code"], json!("DSA777"));
    let listed: Vec<Value> = rotated.all_leads();
    let ids: Vec<&str> = listed
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![lead.as_str()]);
    assert_error(&rotated.lead(&admin_lead), 404);
    // Still a partner key: the back office is closed to it.
    assert_error(&rotated.get("/api/v1/rms"), 403);
    // Its new leads belong to the same partner and DSA code.
    let r = rotated.create_lead(&json!({
        "product": "Credit Card", "customer_name": "Meera Iyer", "mobile": "9811122235",
    }));
    assert_eq!(assert_ok(&r, 201)["dsa_code"], json!("DSA777"));
    assert_eq!(rotated.all_leads().len(), 2);

    // `keys list`: the old key revoked, a new live one for the same partner.
    let rows = key_rows(&data);
    let old_row = rows.iter().find(|r| r[0] == id).unwrap();
    assert_eq!(
        old_row.last().map(String::as_str),
        Some("revoked"),
        "{old_row:?}"
    );
    let live: Vec<&Vec<String>> = rows
        .iter()
        .filter(|r| r.iter().any(|c| c == "Rotate") && r.last().map(String::as_str) == Some("live"))
        .collect();
    assert_eq!(live.len(), 1, "{rows:?}");
    assert_ne!(live[0][0], id);
    assert!(live[0].contains(&"partner".to_string()), "{:?}", live[0]);
    assert!(live[0].contains(&"DSA777".to_string()), "{:?}", live[0]);

    // A revoked or unknown key cannot be rotated (that would bring a revoked key back).
    let (status, out, _) = run_to_end(dhanita_in(&data, &["keys", "rotate", &id]));
    assert!(!status.success(), "rotated a revoked key: {out}");
    assert!(out.trim().is_empty(), "{out:?}");
    let (status, _, _) = run_to_end(dhanita_in(&data, &["keys", "rotate", "99999"]));
    assert!(!status.success());
    assert_error(&partner.get("/api/v1/products"), 401);
}

/// Everything the API shows of a lead, and each of its documents' bytes.
fn lead_snapshot(c: &Client, id: &str) -> (Vec<Value>, Vec<Vec<u8>>) {
    let mut views = Vec::new();
    for path in [
        "",
        "/journey",
        "/status",
        "/documents",
        "/notes",
        "/rm",
        "/disbursement",
    ] {
        let r = c.get(&format!("/api/v1/leads/{id}{path}"));
        views.push(assert_ok(&r, 200).clone());
    }
    let mut files = Vec::new();
    for d in views[3].as_array().unwrap() {
        let doc = d["document_id"].as_str().unwrap();
        let r = c.document_file(id, doc);
        assert_eq!(r.status, 200, "{id}/{doc}");
        assert_eq!(sha256_hex(&r.bytes), d["sha256"].as_str().unwrap());
        files.push(r.bytes);
    }
    (views, files)
}

#[test]
fn a_backup_of_a_running_server_restores_into_a_fresh_folder_with_everything() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let child = serve_child(&data);
    let app = child.app();
    let c = app.admin();
    let mut leads = Vec::new();
    for (n, product) in [
        "Personal Loan",
        "Credit Card",
        "Insurance Services",
        "Home Loan",
    ]
    .iter()
    .enumerate()
    {
        let id = c.new_lead_of(product, &format!("98200000{n:02}"));
        leads.push(id);
    }
    let uploads: Vec<(&str, &str, Vec<u8>)> = vec![
        ("PAN", "pan.pdf", sample("pan-card.pdf")),
        ("AADHAAR", "aadhaar.jpg", sample("aadhaar-sample.jpg")),
        ("PHOTO", "photo.png", sample("photo.png")),
        (
            "BANK_STATEMENT",
            "statement.pdf",
            pdf_of_size(300 * 1024, "statement"),
        ),
    ];
    for (i, (t, f, bytes)) in uploads.iter().enumerate() {
        assert_ok(&c.upload(&leads[i % 2], t, f, bytes), 201);
    }
    assert_ok(&c.upload(&leads[3], "PAN", "pan.pdf", &uploads[0].2), 201);
    assert_ok(
        &c.add_note(
            &leads[0],
            &json!({"note": "Asked for 6 months of statements"}),
        ),
        201,
    );
    assert_ok(
        &c.patch_lead(&leads[2], &json!({"city": "Indore", "loan_amount": 1234.5})),
        200,
    );
    let before: Vec<_> = leads.iter().map(|id| lead_snapshot(&c, id)).collect();

    // Writes go on while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (base, stop) = (child.base.clone(), stop.clone());
        std::thread::spawn(move || {
            let app = remote_app(&base, CHILD_KEY);
            let c = app.admin();
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) && n < 500 {
                let id = c.new_lead_of("Credit Card", &format!("97{n:08}"));
                let pdf = unique_sample("pan-card.pdf", &format!("busy {n}"));
                assert_ok(&c.upload(&id, "PAN", "pan.pdf", &pdf), 201);
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let file = tmp.path().join("backup.tar");
    let (status, out, err) = run_to_end(dhanita_in(&data, &["backup", file.to_str().unwrap()]));
    stop.store(true, Ordering::SeqCst);
    let written = writer.join().unwrap();
    assert!(status.success(), "backup failed: {out}\n{err}");
    assert!(file.is_file());
    eprintln!(
        "backup taken while {written} leads were being written: {}",
        err.trim()
    );
    // A second backup never overwrites a file.
    let (status, _, _) = run_to_end(dhanita_in(&data, &["backup", file.to_str().unwrap()]));
    assert!(!status.success(), "backup overwrote an existing file");

    let fresh = tmp.path().join("restored");
    let (status, out, err) = run_to_end(dhanita_in(&fresh, &["restore", file.to_str().unwrap()]));
    assert!(status.success(), "restore failed: {out}\n{err}");
    assert!(out.contains("database integrity: ok"), "{out}");
    assert!(out.contains("documents: 0 missing, 0 corrupt"), "{out}");
    // Restoring over an existing database is refused.
    let (status, _, err) = run_to_end(dhanita_in(&fresh, &["restore", file.to_str().unwrap()]));
    assert!(!status.success(), "restored over a database");
    assert_eq!(
        err.lines().filter(|l| !l.trim().is_empty()).count(),
        1,
        "{err}"
    );

    drop(child);
    let restored = serve_child(&fresh);
    let rapp = restored.app();
    let rc = rapp.admin();
    for (id, (views, files)) in leads.iter().zip(&before) {
        let (r_views, r_files) = lead_snapshot(&rc, id);
        assert_eq!(&r_views, views, "{id} reads back differently");
        assert!(&r_files == files, "{id}: document bytes differ");
    }
    // Whatever of the concurrent writes made it into the backup is whole.
    let all = rc.all_leads();
    assert!(all.len() >= leads.len());
    for l in &all {
        let id = l["lead_id"].as_str().unwrap();
        lead_snapshot(&rc, id);
    }
    // The restored folder serves new writes, continuing the IDs.
    let newest = all
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap().to_string())
        .max_by_key(|id| (id[2..10].to_string(), id[10..].parse::<u64>().unwrap()))
        .unwrap();
    let id = rc.new_lead("9830000001");
    assert!(
        (id[2..10].to_string(), id[10..].parse::<u64>().unwrap())
            > (
                newest[2..10].to_string(),
                newest[10..].parse::<u64>().unwrap()
            ),
        "{id} after {newest}"
    );
}

/// Every blob file under `<data>/documents` (not the temp folder).
fn blobs(data: &Path) -> Vec<PathBuf> {
    files_under(&data.join("documents"))
        .into_iter()
        .filter(|p| !p.starts_with(data.join("documents").join("tmp")))
        .collect()
}

fn touch_back(path: &Path, ago: &str) {
    let ok = std::process::Command::new("touch")
        .arg("-d")
        .arg(ago)
        .arg(path)
        .status()
        .expect("touch")
        .success();
    assert!(ok, "touch -d {ago:?} {}", path.display());
}

fn check(data: &Path, fix: bool) -> (bool, String) {
    let args: &[&str] = if fix { &["check", "--fix"] } else { &["check"] };
    let (status, out, err) = run_to_end(dhanita_in(data, args));
    assert!(
        !out.contains("panicked") && !err.contains("panicked"),
        "{out}{err}"
    );
    (status.success(), out)
}

#[test]
fn check_finds_missing_blobs_and_fix_removes_only_old_orphans() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let mut child = serve_child(&data);
    let app = child.app();
    let c = app.admin();
    let lead = c.new_lead("9840000001");
    let mut docs = Vec::new();
    for (t, f, bytes) in [
        ("PAN", "pan.pdf", sample("pan-card.pdf")),
        ("AADHAAR", "a.jpg", sample("aadhaar-sample.jpg")),
        ("PHOTO", "p.png", sample("photo.png")),
    ] {
        let r = c.upload(&lead, t, f, &bytes);
        let d = assert_ok(&r, 201);
        docs.push((
            d["document_id"].as_str().unwrap().to_string(),
            d["sha256"].as_str().unwrap().to_string(),
        ));
    }
    child.signal("TERM");
    assert!(child
        .wait_exit(Duration::from_secs(15))
        .is_some_and(|s| s.success()));
    drop(child);

    let (ok, out) = check(&data, false);
    assert!(ok, "{out}");
    assert!(out.contains("database integrity: ok"), "{out}");
    assert!(
        out.contains("documents: 0 missing, 0 corrupt; 0 orphans"),
        "{out}"
    );
    let referenced = blobs(&data);
    assert_eq!(referenced.len(), 3, "{referenced:?}");

    // Two orphans: blobs no document points to, one young and one two hours old. The
    // referenced blobs are made old too: age alone must not get them removed.
    let young_bytes = b"young orphan";
    let young_sha = sha256_hex(young_bytes);
    let young = data
        .join("documents")
        .join(&young_sha[..2])
        .join(&young_sha);
    std::fs::create_dir_all(young.parent().unwrap()).unwrap();
    std::fs::write(&young, young_bytes).unwrap();
    let old_bytes = b"old orphan";
    let old_sha = sha256_hex(old_bytes);
    let old = data.join("documents").join(&old_sha[..2]).join(&old_sha);
    std::fs::create_dir_all(old.parent().unwrap()).unwrap();
    std::fs::write(&old, old_bytes).unwrap();
    for p in &referenced {
        touch_back(p, "3 hours ago");
    }

    // Young: listed, the check still passes, and --fix leaves it.
    let (ok, out) = check(&data, false);
    assert!(ok, "orphans alone fail the check: {out}");
    assert!(out.contains(&young_sha) && out.contains(&old_sha), "{out}");
    assert!(out.contains("2 orphans"), "{out}");
    let (ok, out) = check(&data, true);
    assert!(ok, "{out}");
    assert!(
        young.exists() && old.exists(),
        "a young orphan was removed: {out}"
    );

    // Two hours old: --fix removes it, and only it.
    touch_back(&old, "2 hours ago");
    let (ok, out) = check(&data, true);
    assert!(ok, "{out}");
    assert!(!old.exists(), "the old orphan is still there: {out}");
    assert!(young.exists(), "the young orphan was removed: {out}");
    for p in &referenced {
        assert!(p.exists(), "{} (referenced) was removed", p.display());
    }
    let mut want = referenced.clone();
    want.push(young.clone());
    want.sort();
    assert_eq!(blobs(&data), want);
    assert!(out.contains("removed 1 orphans"), "{out}");

    // A referenced blob goes missing: the check fails and names it.
    let (doc, sha) = &docs[1];
    std::fs::remove_file(data.join("documents").join(&sha[..2]).join(sha)).unwrap();
    let (ok, out) = check(&data, false);
    assert!(!ok, "a missing blob passed the check: {out}");
    let line = out
        .lines()
        .find(|l| l.contains("missing blob"))
        .unwrap_or_else(|| panic!("no `missing blob` line: {out}"));
    assert!(
        line.contains(doc.as_str()) && line.contains(sha.as_str()),
        "{line}"
    );
    // --fix does not hide it either.
    let (ok, _) = check(&data, true);
    assert!(!ok);

    // A blob whose bytes changed: corrupt, also a failure.
    let (doc, sha) = &docs[0];
    std::fs::write(
        data.join("documents").join(&sha[..2]).join(sha),
        b"%PDF-tampered",
    )
    .unwrap();
    let (ok, out) = check(&data, false);
    assert!(!ok, "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("corrupt blob") && l.contains(doc.as_str())),
        "{out}"
    );
}

/// A mistyped data folder is refused by `backup` and `check`: they create nothing there and
/// write no archive, instead of backing up or checking a new, empty database.
#[test]
fn backup_and_check_refuse_a_folder_without_a_database() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("no-such-data");
    let file = tmp.path().join("backup.tar");
    let (status, _, err) = run_to_end(dhanita_in(&missing, &["backup", file.to_str().unwrap()]));
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("no database in"), "{err}");
    assert!(!file.exists());
    let (status, out, err) = run_to_end(dhanita_in(&missing, &["check"]));
    assert_eq!(status.code(), Some(1), "{out}{err}");
    assert!(err.contains("no database in"), "{err}");
    assert!(!missing.join("dhanita.db").exists());
}
