//! `dhanita bench` end to end: a short run of the real binary, checked through its JSON.

use serde_json::Value;
use std::process::Command;

const OPERATIONS: [&str; 7] = [
    "create_lead",
    "view_lead",
    "list_leads",
    "journey",
    "status",
    "add_note",
    "upload_pdf",
];

#[test]
fn a_short_bench_measures_every_operation_without_errors() {
    // The bench puts its data folder next to ./data, so run it in a folder on the build
    // disk (a tmpfs /tmp would be refused, and rightly).
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_dhanita"))
        .args([
            "bench",
            "--duration",
            "0.2",
            "--concurrency",
            "1,2",
            "--json",
        ])
        .current_dir(dir.path())
        .env_remove("DHANITA_CONFIG")
        .env_remove("DHANITA_DATA_DIR")
        .env_remove("DHANITA_SYNCHRONOUS")
        .env_remove("DHANITA_THREADS")
        .env_remove("RUST_LOG")
        .output()
        .expect("run dhanita bench");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench failed: {stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));

    assert!(report["limits"]["commit_per_sec"].as_f64().unwrap() > 0.0);
    assert_eq!(report["limits"]["commit"].as_array().unwrap().len(), 2);
    // Each concurrency, before and after the operations.
    let constant = report["limits"]["constant"].as_array().unwrap();
    assert_eq!(constant.len(), 4);
    for cell in constant {
        assert!(cell["requests"].as_u64().unwrap() > 0, "{cell}");
        assert_eq!(cell["errors"], 0, "{cell}");
    }
    let cells = report["operations"].as_array().unwrap();
    for op in OPERATIONS {
        for c in [1, 2] {
            let cell = cells
                .iter()
                .find(|x| x["operation"] == op && x["concurrency"] == c)
                .unwrap_or_else(|| panic!("no {op} at c={c} in {report}"));
            assert!(cell["requests"].as_u64().unwrap() > 0, "{cell}");
            assert_eq!(cell["errors"], 0, "{cell}");
            assert!(cell["p99_ms"].as_f64().unwrap() >= cell["p50_ms"].as_f64().unwrap());
            assert!(cell["ratio"].as_f64().unwrap() > 0.0, "{cell}");
        }
    }
    assert_eq!(report["settings"]["synchronous"], "full");
    assert!(report["memory"]["idle_rss_kib"].as_u64().unwrap() > 0);
    // The bench's data folder is gone.
    let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");
}
