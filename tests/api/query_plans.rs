//! Every SQL statement the server runs while serving every operation is answered through an
//! index (EXPLAIN QUERY PLAN), except deliberate bounded scans listed below.

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

/// Tables that grow with the business: a scan of one is a full scan at a million leads.
const BIG_TABLES: [&str; 8] = [
    "leads",
    "journey",
    "documents",
    "notes",
    "audit",
    "idempotency",
    "lead_pending_documents",
    "api_keys",
];

#[test]
fn every_query_the_server_runs_uses_an_index() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let trace = dir.path().join("sql.trace");
    let trace_text = trace.to_str().unwrap().to_string();
    let mut child = serve_child_with(&data, &[("DHANITA_TRACE_SQL", &trace_text)]);
    let app = child.app();
    let c = app.admin();
    // Every operation, with every list filter.
    let id = c.new_lead("9811122233");
    let pdf = sample("pan-card.pdf");
    let up = c.upload(&id, "PAN", "pan.pdf", &pdf);
    assert_eq!(up.status, 201, "{}", up.body);
    let doc = up.body["data"]["document_id"].as_str().unwrap().to_string();
    for path in [
        "/api/v1/products".to_string(),
        "/api/v1/products/categories".into(),
        "/api/v1/products/lender-mapping?product_code=HOME_LOAN".into(),
        "/api/v1/products/lender-mapping".into(),
        "/api/v1/statuses".into(),
        "/api/v1/document-types".into(),
        "/api/v1/rms".into(),
        format!("/api/v1/leads/{id}"),
        format!("/api/v1/leads/{id}/journey"),
        format!("/api/v1/leads/{id}/status"),
        format!("/api/v1/leads/{id}/disbursement"),
        format!("/api/v1/leads/{id}/rm"),
        format!("/api/v1/leads/{id}/notes"),
        format!("/api/v1/leads/{id}/documents"),
        format!("/api/v1/leads/{id}/documents/{doc}/file"),
        format!("/api/v1/leads/{id}/audit"),
        "/api/v1/leads".into(),
        "/api/v1/leads?status=document_pending".into(),
        "/api/v1/leads?product=Personal%20Loan".into(),
        "/api/v1/leads?dsa_code=DSA1".into(),
        "/api/v1/leads?mobile=9811122233".into(),
        "/api/v1/leads?created_from=2026-01-01&created_to=2030-01-01".into(),
        "/api/v1/leads?updated_since=2026-01-01T00:00:00Z".into(),
        "/api/v1/leads?limit=1&cursor=r5".into(),
    ] {
        let r = c.get(&path);
        assert_eq!(r.status, 200, "{path}: {}", r.body);
    }
    let (status, out, _) = run_to_end(dhanita_in(
        &data,
        &["keys", "create", "--role", "partner", "--name", "Acme"],
    ));
    assert!(status.success());
    let partner = out.trim().to_string();
    assert_eq!(
        app.with_key(&partner)
            .get("/api/v1/leads?status=new")
            .status,
        200
    );
    let ok = |r: Reply, s: u16| assert_eq!(r.status, s, "{}", r.body);
    ok(c.patch_lead(&id, &json!({"city": "Pune"})), 200);
    ok(c.add_note(&id, &json!({"note": "call back"})), 201);
    ok(
        c.idem_json(
            "k-1",
            "POST",
            &format!("/api/v1/leads/{id}/notes"),
            &json!({"note": "x"}),
        ),
        201,
    );
    ok(
        c.patch_document(&id, &doc, &json!({"status": "verified"})),
        200,
    );
    ok(
        c.json(
            "PUT",
            &format!("/api/v1/leads/{id}/rm"),
            &json!({"rm_id": 2}),
        ),
        200,
    );
    ok(
        c.json(
            "PUT",
            &format!("/api/v1/leads/{id}/lender"),
            &json!({"lender_name": "Suvarna Finserv", "lender_status": "submitted"}),
        ),
        200,
    );
    ok(
        c.json(
            "POST",
            &format!("/api/v1/leads/{id}/status"),
            &json!({"status": "under_review"}),
        ),
        200,
    );
    ok(
        c.json(
            "PUT",
            &format!("/api/v1/leads/{id}/disbursement"),
            &json!({"approved_amount": 1000, "disbursement_status": "disbursed"}),
        ),
        200,
    );
    child.signal("TERM");
    assert!(child
        .wait_exit(Duration::from_secs(15))
        .is_some_and(|s| s.success()));

    let text = std::fs::read_to_string(&trace).unwrap();
    let mut statements: Vec<&str> = text
        .split("\n-- end\n")
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    statements.sort();
    statements.dedup();
    assert!(
        statements.len() > 30,
        "only {} statements traced",
        statements.len()
    );
    let db = data.join("dhanita.db");
    let mut failures = Vec::new();
    for sql in statements {
        let upper = sql.to_ascii_uppercase();
        let dml = ["SELECT", "INSERT", "UPDATE", "DELETE"]
            .iter()
            .any(|k| upper.starts_with(k));
        // Literal-only writes are the seed, run once into an empty database at first start.
        let seed = !sql.contains('?') && !upper.starts_with("SELECT");
        if !dml || seed {
            continue;
        }
        // Deliberate bounded scans: the newest-first list without an indexed filter reads the
        // table backwards and stops after `limit` rows; the first-run key check runs once at
        // start-up on a table of a handful of rows.
        let bounded =
            upper.contains("ORDER BY L.ID DESC LIMIT") || upper.contains("COUNT(*) FROM API_KEYS");
        let plan = dhanita::db::ops::query_plan(&db, sql).unwrap();
        for line in &plan {
            let scans_big = BIG_TABLES.iter().any(|t| {
                line.starts_with(&format!("SCAN {t}"))
                    || (t == &"leads" && line.starts_with("SCAN l") && !line.starts_with("SCAN lp"))
            });
            if scans_big && !line.contains("USING") && !bounded {
                failures.push(format!("{line}  <=  {sql}"));
            }
        }
    }
    assert!(failures.is_empty(), "full scans:\n{}", failures.join("\n"));
}
