//! Every row of `tests/data/leads.jsonl`, posted in order to one server and answered as its
//! `expect` says: 201 with the normalised mobile, or 422 naming exactly those fields.

use crate::helpers::*;
use serde_json::{json, Value};

fn rows() -> Vec<Value> {
    let text = std::fs::read_to_string(data_path().join("leads.jsonl")).expect("leads.jsonl");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

#[test]
fn every_sample_lead_is_answered_as_expected() {
    let rows = rows();
    assert_eq!(rows.len(), 310);
    let app = spawn_app();
    let c = app.admin();
    let day = today();
    let mut created = 0;
    let mut failures = Vec::new();
    for (line, row) in rows.iter().enumerate() {
        let line = line + 1;
        let req = &row["request"];
        let expect = &row["expect"];
        let r = c.create_lead(req);
        match expect["status"].as_u64() {
            Some(201) => {
                if r.status != 201 {
                    failures.push(format!(
                        "line {line}: expected 201, got {} {}",
                        r.status, r.body
                    ));
                    continue;
                }
                created += 1;
                let d = assert_ok(&r, 201).clone();
                assert_no_nulls(&r.body, &[]);
                let id = format!("LD{day}{created:04}");
                assert_eq!(d["lead_id"], json!(id), "line {line}");
                assert_eq!(d["mobile"], expect["mobile"], "line {line}");
                assert_eq!(d["product"], req["product"], "line {line}");
                let name = req["customer_name"].as_str().unwrap().trim();
                assert_eq!(d["customer_name"], json!(name), "line {line}");
                for field in ["email", "loan_amount", "city"] {
                    assert_eq!(d.get(field), req.get(field), "line {line}: {field}");
                }
                assert_eq!(d.get("dsa_code"), req.get("dsa_code"), "line {line}");
                let want_status = if req["product"] == json!("Insurance Services") {
                    "under_review"
                } else {
                    "document_pending"
                };
                assert_eq!(d["status"], json!(want_status), "line {line}");
                // Stored as answered.
                assert_eq!(c.lead(&id).body, r.body, "line {line}");
            }
            Some(422) => {
                let mut want: Vec<String> = expect["fields"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|f| f.as_str().unwrap().to_string())
                    .collect();
                want.sort();
                if r.status != 422 || r.error_fields() != want {
                    failures.push(format!(
                        "line {line}: expected 422 {want:?}, got {} {}",
                        r.status, r.body
                    ));
                    continue;
                }
                assert_error(&r, 422);
            }
            other => panic!("line {line}: unexpected expectation {other:?}"),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(created, 300);
    // The refused rows took no number: the next lead is the 301st.
    assert_eq!(c.new_lead("6999999999"), format!("LD{day}0301"));
}
