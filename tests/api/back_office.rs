//! The back office (issue 3): lifecycle moves, RM / lender / disbursement, document review,
//! the audit trail, and what partner keys may not do (403) or see (404).

use crate::helpers::*;
use dhanita::model::Role;
use serde_json::{json, Value};
use std::collections::BTreeSet;

const STATUSES: [&str; 6] = [
    "new",
    "document_pending",
    "under_review",
    "approved",
    "rejected",
    "disbursed",
];

/// The status master's customer-facing message of each status.
fn status_message(status: &str) -> &'static str {
    match status {
        "new" => "Application received.",
        "document_pending" => "Documents are pending. Please upload the required documents.",
        "under_review" => "Application is under lender review.",
        "approved" => "Application has been approved by the lender.",
        "rejected" => "Application has been rejected.",
        "disbursed" => "Loan amount has been disbursed.",
        other => panic!("no status {other}"),
    }
}

/// The RM master of the seed, as GET /rms lists it.
fn seed_rms() -> Value {
    json!([
        {"rm_id": 1, "name": "Kavya Raman", "mobile": "9000000001", "email": "kavya.raman@dhanita.example"},
        {"rm_id": 2, "name": "Rohan Mehta", "mobile": "9000000002", "email": "rohan.mehta@dhanita.example"},
        {"rm_id": 3, "name": "Farah Siddiqui", "mobile": "9000000003", "email": "farah.siddiqui@dhanita.example"},
    ])
}

/// The lifecycle statuses a text names (whole words), e.g. the `errors.status` of a refusal.
fn statuses_named(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_lowercase() || c == '_'))
        .filter(|w| STATUSES.contains(w))
        .map(str::to_string)
        .collect()
}

/// Asserts a refused move: 409 whose `errors` is only `status`, naming exactly the current
/// status and the moves allowed from it.
fn assert_refused(r: &Reply, current: &str, allowed: &[&str]) {
    assert_error(r, 409);
    assert_eq!(r.error_fields(), vec!["status".to_string()], "{}", r.body);
    let text: Vec<&str> = r.body["errors"]["status"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    let mut want: BTreeSet<String> = allowed.iter().map(|s| s.to_string()).collect();
    want.insert(current.to_string());
    assert_eq!(statuses_named(&text.join(" ")), want, "{}", r.body);
}

/// Everything a refused or rejected request must leave as it was.
fn snapshot(c: &Client, id: &str) -> Vec<Value> {
    vec![
        c.lead(id).body,
        c.journey(id).body,
        c.status(id).body,
        c.rm(id).body,
        c.disbursement(id).body,
        c.documents(id).body,
        c.notes(id).body,
    ]
}

fn id_of(r: &Reply, field: &str) -> String {
    r.body["data"][field]
        .as_str()
        .unwrap_or_else(|| panic!("no data.{field}: {}", r.body))
        .to_string()
}

/// (status, note, from_status) of each journey entry, checking the times on the way.
fn journey_of(c: &Client, id: &str, window: (i64, i64)) -> Vec<(String, String, Option<String>)> {
    let r = c.journey(id);
    let list = assert_ok(&r, 200).as_array().unwrap().clone();
    let mut last = String::new();
    for e in &list {
        assert_time(&e["updated_at"], Some(window));
        let t = e["updated_at"].as_str().unwrap().to_string();
        assert!(t >= last, "journey times go back: {}", r.body);
        last = t;
    }
    list.iter()
        .map(|e| {
            (
                e["status"].as_str().unwrap().to_string(),
                e["note"].as_str().unwrap().to_string(),
                e.get("from_status")
                    .map(|f| f.as_str().expect("from_status is a string").to_string()),
            )
        })
        .collect()
}

fn step(status: &str, note: &str, from: Option<&str>) -> (String, String, Option<String>) {
    (status.into(), note.into(), from.map(str::to_string))
}

#[test]
fn an_admin_walks_a_lead_from_creation_to_disbursed() {
    let app = spawn_app();
    let c = app.admin();
    let admin_id = app.admin_key_id();
    let t0 = unix_now();

    let r = c.create_lead(&json!({
        "product": "Personal Loan", "customer_name": "Rahul Sharma",
        "mobile": "9876543210", "loan_amount": 500000,
    }));
    assert_eq!(assert_ok(&r, 201)["status"], "document_pending");
    let id = id_of(&r, "lead_id");

    // The RM assigned on create (round-robin: the first lead gets the first RM).
    let rms = c.rms();
    assert_eq!(assert_ok(&rms, 200), &seed_rms());
    let r = c.rm(&id);
    assert_eq!(
        assert_ok(&r, 200),
        &json!({"rm_name": "Kavya Raman", "rm_mobile": "9000000001", "rm_email": "kavya.raman@dhanita.example"})
    );
    let r = c.disbursement(&id);
    assert_eq!(
        assert_ok(&r, 200),
        &json!({"lead_id": id, "disbursement_status": "not_started", "disbursement_date": null})
    );

    // Documents: PAN alone keeps it pending, AADHAAR completes the set.
    let pan = sample("pan-card.pdf");
    let r = c.upload(&id, "PAN", "pan-card.pdf", &pan);
    let pan_doc = id_of(&r, "document_id");
    assert_eq!(r.status, 201);
    assert_eq!(c.lead_status_of(&id), "document_pending");
    let aadhaar = sample("aadhaar-sample.jpg");
    let r = c.upload(&id, "AADHAAR", "aadhaar-sample.jpg", &aadhaar);
    assert_eq!(r.status, 201, "{}", r.body);
    let aadhaar_doc = id_of(&r, "document_id");
    assert_eq!(c.lead_status_of(&id), "under_review");
    let audit_before_back_office = assert_ok(&c.audit(&id), 200).clone();

    // RM 3.
    let r = c.put_rm(&id, &json!({"rm_id": 3}));
    let rm3 = &seed_rms()[2];
    let rm_view =
        json!({"rm_name": rm3["name"], "rm_mobile": rm3["mobile"], "rm_email": rm3["email"]});
    assert_eq!(assert_ok(&r, 200), &rm_view);

    // A lender mapped to the product.
    let r = c.get("/api/v1/products/lender-mapping?product_code=PERSONAL_LOAN");
    let mapping = assert_ok(&r, 200).as_array().unwrap().clone();
    assert!(!mapping.is_empty(), "{}", r.body);
    let lender = mapping[0]["lender_name"].as_str().unwrap().to_string();
    let r = c.put_lender(
        &id,
        &json!({"lender_name": lender, "lender_status": "approved"}),
    );
    let rm_lender = json!({
        "rm_name": rm3["name"], "rm_mobile": rm3["mobile"], "rm_email": rm3["email"],
        "lender_name": lender, "lender_status": "approved",
    });
    assert_eq!(assert_ok(&r, 200), &rm_lender);
    assert_eq!(c.lead_status_of(&id), "under_review");

    // An approved amount approves the lead.
    let r = c.put_disbursement(
        &id,
        &json!({"approved_amount": 450000, "disbursement_status": "pending"}),
    );
    assert_eq!(
        assert_ok(&r, 200),
        &json!({"lead_id": id, "approved_amount": 450000, "disbursement_status": "pending", "disbursement_date": null})
    );
    assert_eq!(c.lead_status_of(&id), "approved");

    // Recording the disbursement disburses it.
    let r = c.put_disbursement(
        &id,
        &json!({"disbursement_status": "disbursed", "disbursement_date": "2026-12-05"}),
    );
    let disbursed = json!({
        "lead_id": id, "approved_amount": 450000,
        "disbursement_status": "disbursed", "disbursement_date": "2026-12-05",
    });
    assert_eq!(assert_ok(&r, 200), &disbursed);
    let t1 = unix_now() + 1;

    // Every read agrees.
    assert_eq!(
        journey_of(&c, &id, (t0, t1)),
        vec![
            step("new", "Lead received.", None),
            step(
                "document_pending",
                "Documents required: PAN, AADHAAR.",
                Some("new")
            ),
            step(
                "under_review",
                "All required documents received.",
                Some("document_pending")
            ),
            step(
                "approved",
                "Approved amount recorded.",
                Some("under_review")
            ),
            step("disbursed", "Loan amount disbursed.", Some("approved")),
        ]
    );
    let lead = c.lead(&id);
    let lead = assert_ok(&lead, 200).clone();
    assert_eq!(lead["status"], "disbursed");
    assert_eq!(lead["loan_amount"], json!(500000));
    let r = c.status(&id);
    assert_eq!(
        assert_ok(&r, 200),
        &json!({
            "lead_id": id, "status": "disbursed",
            "message": status_message("disbursed"), "updated_at": lead["updated_at"],
        })
    );
    let r = c.rm(&id);
    assert_eq!(assert_ok(&r, 200), &rm_lender);
    let r = c.disbursement(&id);
    assert_eq!(assert_ok(&r, 200), &disbursed);

    // The audit trail: every change, oldest first, with the admin key.
    let r = c.audit(&id);
    let audit = assert_ok(&r, 200).as_array().unwrap().clone();
    let strip = |e: &Value| {
        let mut e = e.clone();
        let o = e.as_object_mut().unwrap();
        assert_eq!(o.remove("key_id"), Some(json!(admin_id)), "{}", r.body);
        assert_time(&o.remove("at").unwrap(), Some((t0, t1)));
        e
    };
    let got: Vec<Value> = audit.iter().map(strip).collect();
    let want = vec![
        json!({"action": "create", "detail": id}),
        json!({"action": "assign_rm", "field": "rm_id", "old": null, "new": 1}),
        json!({"action": "status", "field": "status", "old": "new", "new": "document_pending", "detail": "Documents required: PAN, AADHAAR."}),
        json!({"action": "document_upload", "field": "document_type", "new": "PAN", "detail": pan_doc}),
        json!({"action": "document_upload", "field": "document_type", "new": "AADHAAR", "detail": aadhaar_doc}),
        json!({"action": "status", "field": "status", "old": "document_pending", "new": "under_review", "detail": "All required documents received."}),
        json!({"action": "assign_rm", "field": "rm_id", "old": 1, "new": 3}),
        json!({"action": "assign_lender", "field": "lender_name", "old": null, "new": lender}),
        json!({"action": "assign_lender", "field": "lender_status", "old": null, "new": "approved"}),
        json!({"action": "status", "field": "status", "old": "under_review", "new": "approved", "detail": "Approved amount recorded."}),
        json!({"action": "disbursement", "field": "approved_amount", "old": null, "new": 450000}),
        json!({"action": "disbursement", "field": "disbursement_status", "old": "not_started", "new": "pending"}),
        json!({"action": "disbursement", "field": "disbursement_status", "old": "pending", "new": "disbursed"}),
        json!({"action": "disbursement", "field": "disbursement_date", "old": null, "new": "2026-12-05"}),
        json!({"action": "status", "field": "status", "old": "approved", "new": "disbursed", "detail": "Loan amount disbursed."}),
    ];
    assert_eq!(got, want, "{}", r.body);
    let times: Vec<&str> = audit.iter().map(|e| e["at"].as_str().unwrap()).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");

    // A disbursed lead is final: no more moves, PATCHes, uploads or disbursements.
    let before = snapshot(&c, &id);
    for to in STATUSES {
        assert_refused(
            &c.move_status(&id, &json!({"status": to})),
            "disbursed",
            &[],
        );
    }
    assert_refused(
        &c.put_disbursement(&id, &json!({"disbursement_status": "cancelled"})),
        "disbursed",
        &[],
    );
    assert_error(&c.patch_lead(&id, &json!({"city": "Pune"})), 409);
    assert_error(
        &c.upload(&id, "PHOTO", "photo.png", &sample("photo.png")),
        409,
    );
    assert_eq!(snapshot(&c, &id), before);

    // Notes are allowed at any status; the audit only grows, never rewritten.
    let r = c.add_note(
        &id,
        &json!({"note": "Disbursal confirmed with the customer."}),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    let r = c.audit(&id);
    let after = assert_ok(&r, 200).as_array().unwrap().clone();
    assert_eq!(after.len(), audit.len() + 1, "{}", r.body);
    assert_eq!(&after[..audit.len()], &audit[..]);
    assert_eq!(
        &after[..audit_before_back_office.as_array().unwrap().len()],
        audit_before_back_office.as_array().unwrap().as_slice()
    );
    assert_eq!(after[audit.len()]["action"], "note");
    assert_eq!(after[audit.len()]["key_id"], json!(admin_id));
}

#[test]
fn status_moves_follow_the_lifecycle_and_refused_moves_change_nothing() {
    let app = spawn_app();
    let c = app.admin();
    let t0 = unix_now();
    let id = c.new_lead("9876543210");
    assert_eq!(c.lead_status_of(&id), "document_pending");

    // Leads start in document_pending, so new→disbursed cannot be tried; these can't move.
    let before = snapshot(&c, &id);
    let audit_len = c.audit(&id).body["data"].as_array().unwrap().len();
    for to in ["approved", "disbursed", "new", "document_pending"] {
        let r = c.move_status(&id, &json!({"status": to, "note": "try"}));
        assert_refused(&r, "document_pending", &["under_review", "rejected"]);
    }
    assert_eq!(snapshot(&c, &id), before);
    assert_eq!(
        c.audit(&id).body["data"].as_array().unwrap().len(),
        audit_len
    );

    // document_pending → under_review by the back office, with its note.
    let r = c.move_status(
        &id,
        &json!({"status": "under_review", "note": "KYC checked at the branch."}),
    );
    let data = assert_ok(&r, 200).clone();
    let lead = c.lead(&id).body["data"].clone();
    assert_eq!(
        data,
        json!({"lead_id": id, "status": "under_review", "message": status_message("under_review"), "updated_at": lead["updated_at"]})
    );
    assert_eq!(c.status(&id).body["data"], data);

    let before = snapshot(&c, &id);
    for to in ["disbursed", "new", "under_review"] {
        assert_refused(
            &c.move_status(&id, &json!({"status": to})),
            "under_review",
            &["approved", "document_pending", "rejected"],
        );
    }
    // Back to document_pending needs a document type to wait for (none is pending now).
    let r = c.move_status(&id, &json!({"status": "document_pending"}));
    assert_fields(&r, &["document_types"]);
    assert_eq!(snapshot(&c, &id), before);

    // under_review → document_pending naming BANK_STATEMENT: that type becomes required.
    let r = c.move_status(
        &id,
        &json!({"status": "document_pending", "document_types": ["BANK_STATEMENT"]}),
    );
    assert_eq!(assert_ok(&r, 200)["status"], "document_pending");
    assert_eq!(
        r.body["data"]["message"],
        status_message("document_pending")
    );
    let r = c.upload(&id, "PHOTO", "photo.png", &sample("photo.png"));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(c.lead_status_of(&id), "document_pending");
    let r = c.upload(
        &id,
        "bank_statement",
        "statement.pdf",
        &sample("pan-card.pdf"),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["data"]["document_type"], "BANK_STATEMENT");
    assert_eq!(c.lead_status_of(&id), "under_review");

    let r = c.move_status(&id, &json!({"status": "approved"}));
    assert_eq!(assert_ok(&r, 200)["message"], status_message("approved"));
    assert_refused(
        &c.move_status(&id, &json!({"status": "under_review"})),
        "approved",
        &["disbursed", "rejected"],
    );
    let r = c.move_status(
        &id,
        &json!({"status": "rejected", "note": "Customer withdrew."}),
    );
    assert_eq!(assert_ok(&r, 200)["status"], "rejected");
    assert_eq!(r.body["data"]["message"], status_message("rejected"));
    let t1 = unix_now() + 1;

    assert_eq!(
        journey_of(&c, &id, (t0, t1)),
        vec![
            step("new", "Lead received.", None),
            step(
                "document_pending",
                "Documents required: PAN, AADHAAR.",
                Some("new")
            ),
            step(
                "under_review",
                "KYC checked at the branch.",
                Some("document_pending")
            ),
            step(
                "document_pending",
                "Documents required: BANK_STATEMENT.",
                Some("under_review")
            ),
            step(
                "under_review",
                "All required documents received.",
                Some("document_pending")
            ),
            step(
                "approved",
                "Status changed to approved.",
                Some("under_review")
            ),
            step("rejected", "Customer withdrew.", Some("approved")),
        ]
    );

    // Anything from rejected is refused, and nothing changes.
    let before = snapshot(&c, &id);
    for to in STATUSES {
        assert_refused(&c.move_status(&id, &json!({"status": to})), "rejected", &[]);
    }
    assert_refused(
        &c.put_disbursement(
            &id,
            &json!({"approved_amount": 1000, "disbursement_status": "pending"}),
        ),
        "rejected",
        &[],
    );
    assert_eq!(snapshot(&c, &id), before);
}

#[test]
fn a_lead_without_documents_can_be_moved_to_disbursed_by_status_alone() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead_of("Insurance Services", "9876543210");
    assert_eq!(c.lead_status_of(&id), "under_review");
    let r = c.move_status(&id, &json!({"status": "approved"}));
    assert_eq!(assert_ok(&r, 200)["status"], "approved");
    let r = c.move_status(&id, &json!({"status": "disbursed"}));
    assert_eq!(assert_ok(&r, 200)["status"], "disbursed");
    assert_eq!(r.body["data"]["message"], status_message("disbursed"));
    let today = chrono::Utc::now()
        .with_timezone(&ist())
        .format("%Y-%m-%d")
        .to_string();
    let r = c.disbursement(&id);
    assert_eq!(
        assert_ok(&r, 200),
        &json!({"lead_id": id, "disbursement_status": "disbursed", "disbursement_date": today})
    );
    assert_eq!(
        c.journey_statuses(&id),
        ["new", "under_review", "approved", "disbursed"]
    );
    // The disbursement columns the move set are in the audit, as PUT disbursement's are.
    let r = c.audit(&id);
    let disbursement: Vec<Value> = assert_ok(&r, 200)
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "disbursement")
        .map(|e| json!([e["field"], e["old"], e["new"]]))
        .collect();
    assert_eq!(
        disbursement,
        [
            json!(["disbursement_status", "not_started", "disbursed"]),
            json!(["disbursement_date", null, today]),
        ]
    );
    for to in STATUSES {
        assert_refused(
            &c.move_status(&id, &json!({"status": to})),
            "disbursed",
            &[],
        );
    }
}

#[test]
fn status_move_bodies_are_checked() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let before = snapshot(&c, &id);
    let path = format!("/api/v1/leads/{id}/status");

    assert_fields(&c.move_status(&id, &json!({})), &["status"]);
    assert_fields(&c.move_status(&id, &json!({"note": "x"})), &["status"]);
    assert_fields(&c.move_status(&id, &json!({"status": null})), &["status"]);
    assert_fields(
        &c.move_status(&id, &json!({"status": "bogus"})),
        &["status"],
    );
    assert_fields(
        &c.move_status(&id, &json!({"status": "Approved"})),
        &["status"],
    );
    assert_fields(&c.move_status(&id, &json!({"status": 5})), &["status"]);
    assert_fields(
        &c.move_status(&id, &json!({"status": "under_review", "note": 7})),
        &["note"],
    );
    assert_fields(
        &c.move_status(&id, &json!({"status": "bogus", "note": "x".repeat(2001)})),
        &["note", "status"],
    );
    // A status note shows in the journey: control characters are refused, as in notes.
    let r = c.move_status(
        &id,
        &json!({"status": "under_review", "note": "bad\u{1b}[31mred\u{0}"}),
    );
    assert_fields(&r, &["note"]);
    assert_eq!(
        r.body["errors"]["note"],
        json!(["must not contain control or invisible formatting characters"])
    );
    assert_fields(
        &c.move_status(
            &id,
            &json!({"status": "rejected", "document_types": ["NOPE"]}),
        ),
        &["document_types"],
    );
    assert_fields(
        &c.move_status(&id, &json!({"status": "rejected", "document_types": "PAN"})),
        &["document_types"],
    );
    assert_error(&c.raw("POST", &path, "application/json", b"[]"), 400);
    assert_error(
        &c.raw("POST", &path, "application/json", b"{\"status\":"),
        400,
    );
    assert_error(
        &c.raw("POST", &path, "text/plain", b"{\"status\":\"rejected\"}"),
        415,
    );
    assert_eq!(snapshot(&c, &id), before);

    // A missing lead is a 404 before any field rule, with the body of GET's 404.
    let missing = c.lead("LD209901010001");
    assert_error(&missing, 404);
    for body in [json!({"status": "rejected"}), json!({"status": "bogus"})] {
        let r = c.move_status("LD209901010001", &body);
        assert_error(&r, 404);
        assert_eq!(r.body, missing.body);
    }
}

#[test]
fn rm_lender_and_disbursement_inputs_are_checked() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let before = snapshot(&c, &id);

    assert_fields(&c.put_rm(&id, &json!({})), &["rm_id"]);
    assert_fields(&c.put_rm(&id, &json!({"rm_id": 99})), &["rm_id"]);
    assert_fields(&c.put_rm(&id, &json!({"rm_id": 0})), &["rm_id"]);
    assert_fields(&c.put_rm(&id, &json!({"rm_id": "3"})), &["rm_id"]);
    assert_fields(&c.put_rm(&id, &json!({"rm_id": 2.5})), &["rm_id"]);
    // A number that is no integer id is named as such, not as an unknown RM.
    for raw in [
        &b"{\"rm_id\": 2.0}"[..],
        b"{\"rm_id\": 1e3}",
        b"{\"rm_id\": 2.5}",
    ] {
        let r = c.raw(
            "PUT",
            &format!("/api/v1/leads/{id}/rm"),
            "application/json",
            raw,
        );
        assert_fields(&r, &["rm_id"]);
        assert_eq!(
            r.body["errors"]["rm_id"],
            json!(["must be an integer"]),
            "{}",
            r.body
        );
    }
    let r = c.put_rm(&id, &json!({"rm_id": 99}));
    assert_eq!(
        r.body["errors"]["rm_id"],
        json!(["must be the id of an active RM (see GET /api/v1/rms)"])
    );

    assert_fields(
        &c.put_lender(&id, &json!({})),
        &["lender_name", "lender_status"],
    );
    // Ganga Credit Co-operative is not mapped to PERSONAL_LOAN; no bank of that name exists.
    for name in ["Ganga Credit Co-operative", "No Such Bank", ""] {
        assert_fields(
            &c.put_lender(
                &id,
                &json!({"lender_name": name, "lender_status": "submitted"}),
            ),
            &["lender_name"],
        );
    }
    for status in [json!("bogus"), json!("APPROVED"), json!(3)] {
        assert_fields(
            &c.put_lender(
                &id,
                &json!({"lender_name": "Suvarna Finserv", "lender_status": status}),
            ),
            &["lender_status"],
        );
    }

    assert_fields(
        &c.put_disbursement(&id, &json!({})),
        &["disbursement_status"],
    );
    assert_fields(
        &c.put_disbursement(&id, &json!({"disbursement_status": "bogus"})),
        &["disbursement_status"],
    );
    assert_fields(
        &c.put_disbursement(
            &id,
            &json!({"approved_amount": -5, "disbursement_status": "bogus", "disbursement_date": "2026-02-30"}),
        ),
        &["approved_amount", "disbursement_date", "disbursement_status"],
    );
    for amount in [
        json!(0),
        json!(1.234),
        json!("450000"),
        json!(1_000_000_001),
    ] {
        let r = c.put_disbursement(
            &id,
            &json!({"approved_amount": amount, "disbursement_status": "pending"}),
        );
        assert_fields(&r, &["approved_amount"]);
        // One reason: what is wrong with the amount given, not also that one is needed.
        assert_eq!(
            r.body["errors"]["approved_amount"]
                .as_array()
                .unwrap()
                .len(),
            1,
            "{}",
            r.body
        );
    }
    for date in [json!("05-12-2026"), json!("2026-12-5"), json!(20261205)] {
        assert_fields(
            &c.put_disbursement(
                &id,
                &json!({"disbursement_status": "not_started", "disbursement_date": date}),
            ),
            &["disbursement_date"],
        );
    }
    assert_fields(
        &c.put_disbursement(&id, &json!({"disbursement_status": "disbursed"})),
        &["approved_amount"],
    );
    // A document_pending lead cannot be approved or disbursed by the disbursement endpoint.
    assert_refused(
        &c.put_disbursement(
            &id,
            &json!({"approved_amount": 450000, "disbursement_status": "pending"}),
        ),
        "document_pending",
        &["under_review", "rejected"],
    );
    assert_refused(
        &c.put_disbursement(
            &id,
            &json!({"approved_amount": 450000, "disbursement_status": "disbursed"}),
        ),
        "document_pending",
        &["under_review", "rejected"],
    );
    assert_eq!(snapshot(&c, &id), before);

    // Missing leads: 404 with GET's body, before any field rule.
    let missing = c.lead("LD209901010001").body;
    for r in [
        c.put_rm("LD209901010001", &json!({"rm_id": 3})),
        c.put_rm("LD209901010001", &json!({})),
        c.put_lender("LD209901010001", &json!({})),
        c.put_disbursement("LD209901010001", &json!({})),
        c.audit("LD209901010001"),
    ] {
        assert_error(&r, 404);
        assert_eq!(r.body, missing);
    }

    // Lender names are matched case-insensitively and returned as the master spells them.
    let r = c.put_lender(
        &id,
        &json!({"lender_name": "  suvarna finserv ", "lender_status": "submitted"}),
    );
    assert_eq!(assert_ok(&r, 200)["lender_name"], "Suvarna Finserv");
    assert_eq!(r.body["data"]["lender_status"], "submitted");

    // One call may approve and disburse an under_review lead.
    let id2 = c.new_lead_of("Insurance Services", "9876543211");
    let r = c.put_disbursement(
        &id2,
        &json!({"approved_amount": 1250.5, "disbursement_status": "disbursed", "disbursement_date": "2026-06-01"}),
    );
    assert_eq!(
        assert_ok(&r, 200),
        &json!({"lead_id": id2, "approved_amount": 1250.5, "disbursement_status": "disbursed", "disbursement_date": "2026-06-01"})
    );
    assert_eq!(
        c.journey_statuses(&id2),
        ["new", "under_review", "approved", "disbursed"]
    );

    // A cancelled disbursement keeps the lead approved.
    let id3 = c.new_lead_of("Insurance Services", "9876543212");
    let r = c.put_disbursement(
        &id3,
        &json!({"approved_amount": 99999.99, "disbursement_status": "cancelled"}),
    );
    assert_eq!(
        assert_ok(&r, 200),
        &json!({"lead_id": id3, "approved_amount": 99999.99, "disbursement_status": "cancelled", "disbursement_date": null})
    );
    assert_eq!(c.lead_status_of(&id3), "approved");
    assert_eq!(c.disbursement(&id3).body["data"], r.body["data"]);
}

#[test]
fn partner_keys_get_403_on_every_admin_operation() {
    let app = spawn_app();
    let admin = app.admin();
    let key = app.create_key(Role::Partner, "Acme", None);
    let p = app.with_key(&key);
    let own = p.new_lead("9876543210");
    let r = p.upload(&own, "PAN", "pan-card.pdf", &sample("pan-card.pdf"));
    assert_eq!(r.status, 201, "{}", r.body);
    let doc = id_of(&r, "document_id");
    let admins = admin.new_lead("9876543211");
    let before_own = snapshot(&admin, &own);
    let before_admins = snapshot(&admin, &admins);

    for lead in [own.as_str(), admins.as_str(), "LD209901010001"] {
        let calls: Vec<(&str, Reply)> = vec![
            (
                "POST status",
                p.move_status(lead, &json!({"status": "rejected"})),
            ),
            ("GET rms", p.rms()),
            ("PUT rm", p.put_rm(lead, &json!({"rm_id": 3}))),
            (
                "PUT lender",
                p.put_lender(
                    lead,
                    &json!({"lender_name": "Suvarna Finserv", "lender_status": "approved"}),
                ),
            ),
            (
                "PUT disbursement",
                p.put_disbursement(
                    lead,
                    &json!({"approved_amount": 1000, "disbursement_status": "pending"}),
                ),
            ),
            ("GET audit", p.audit(lead)),
            (
                "PATCH document status",
                p.patch_document(lead, &doc, &json!({"status": "verified"})),
            ),
            // The role is checked before the body is read.
            (
                "PUT rm (not JSON)",
                p.raw(
                    "PUT",
                    &format!("/api/v1/leads/{lead}/rm"),
                    "text/plain",
                    b"x",
                ),
            ),
            (
                "POST status (bad JSON)",
                p.raw(
                    "POST",
                    &format!("/api/v1/leads/{lead}/status"),
                    "application/json",
                    b"{",
                ),
            ),
        ];
        for (what, r) in calls {
            assert_eq!(r.status, 403, "{what} on {lead}: {}", r.body);
            assert_error(&r, 403);
        }
    }
    assert_eq!(snapshot(&admin, &own), before_own);
    assert_eq!(snapshot(&admin, &admins), before_admins);

    // The partner still does what partners may on its own lead.
    let r = p.patch_document(&own, &doc, &json!({"document_type": "AADHAAR"}));
    assert_eq!(assert_ok(&r, 200)["document_type"], "AADHAAR");
    assert_eq!(r.body["data"]["status"], "uploaded");
}

#[test]
fn partner_keys_get_404_on_other_partners_leads_with_the_missing_lead_body() {
    let app = spawn_app();
    let admin = app.admin();
    let acme = app.create_key(Role::Partner, "Acme", None);
    let beta = app.create_key(Role::Partner, "Beta", None);
    let a = app.with_key(&acme);
    let b = app.with_key(&beta);

    let theirs = b.new_lead("9876543210");
    let r = b.upload(&theirs, "PAN", "pan-card.pdf", &sample("pan-card.pdf"));
    let their_doc = id_of(&r, "document_id");
    let admins = admin.new_lead("9876543211");
    let r = admin.upload(&admins, "PAN", "pan-card.pdf", &sample("pan-card.pdf"));
    let admin_doc = id_of(&r, "document_id");
    let mine = a.new_lead("9876543212");
    let before_theirs = snapshot(&admin, &theirs);
    let before_admins = snapshot(&admin, &admins);
    let blobs_before = app.document_files();

    let pan = sample("pan-card.pdf");
    let ops = |lead: &str, doc: &str| -> Vec<(&'static str, Reply)> {
        vec![
            ("GET lead", a.lead(lead)),
            ("PATCH lead", a.patch_lead(lead, &json!({"city": "Pune"}))),
            ("GET journey", a.journey(lead)),
            ("GET status", a.status(lead)),
            ("GET disbursement", a.disbursement(lead)),
            ("GET rm", a.rm(lead)),
            ("GET notes", a.notes(lead)),
            ("POST notes", a.add_note(lead, &json!({"note": "Called."}))),
            ("GET documents", a.documents(lead)),
            ("POST documents", a.upload(lead, "AADHAAR", "a.pdf", &pan)),
            ("GET document file", a.document_file(lead, doc)),
            (
                "PATCH document",
                a.patch_document(lead, doc, &json!({"document_type": "AADHAAR"})),
            ),
        ]
    };
    let missing: Vec<(&str, Reply)> = ops("LD209901010001", "DOC999999");
    for (what, r) in &missing {
        assert_error(r, 404);
        assert_eq!(r.body["message"], "Lead not found.", "{what}: {}", r.body);
    }
    for (lead, doc) in [(&theirs, &their_doc), (&admins, &admin_doc)] {
        for ((what, r), (_, m)) in ops(lead, doc).iter().zip(&missing) {
            assert_eq!(r.status, 404, "{what} on {lead}: {}", r.body);
            assert_error(r, 404);
            assert_eq!(r.body, m.body, "{what} on {lead}");
        }
    }
    assert_eq!(snapshot(&admin, &theirs), before_theirs);
    assert_eq!(snapshot(&admin, &admins), before_admins);
    assert_eq!(app.document_files(), blobs_before);

    // The owner sees its lead; the partner sees its own.
    assert_eq!(b.lead(&theirs).status, 200);
    assert_eq!(b.document_file(&theirs, &their_doc).bytes, pan);
    assert_eq!(a.lead(&mine).status, 200);
    assert_eq!(a.notes(&mine).status, 200);
}

#[test]
fn admins_verify_and_reject_documents() {
    let app = spawn_app();
    let c = app.admin();
    let admin_id = app.admin_key_id();
    let id = c.new_lead("9876543210");
    let pan = c.upload(&id, "PAN", "pan-card.pdf", &sample("pan-card.pdf"));
    let pan = assert_ok(&pan, 201).clone();
    let pan_id = pan["document_id"].as_str().unwrap().to_string();

    // Rejecting PAN while AADHAAR is still awaited: both are pending, no journey entry.
    let journey_len = c.journey_statuses(&id).len();
    let r = c.patch_document(&id, &pan_id, &json!({"status": "rejected"}));
    assert_eq!(assert_ok(&r, 200)["status"], "rejected");
    assert_eq!(c.lead_status_of(&id), "document_pending");
    assert_eq!(c.journey_statuses(&id).len(), journey_len);
    let r = c.upload(&id, "AADHAAR", "aadhaar.jpg", &sample("aadhaar-sample.jpg"));
    let aadhaar = assert_ok(&r, 201).clone();
    let aadhaar_id = aadhaar["document_id"].as_str().unwrap().to_string();
    assert_eq!(c.lead_status_of(&id), "document_pending");
    let r = c.upload(&id, "PAN", "pan-again.pdf", &sample("pan-card.pdf"));
    let pan2_id = id_of(&r, "document_id");
    assert_eq!(c.lead_status_of(&id), "under_review");

    // Verifying changes the document only.
    let journey_len = c.journey_statuses(&id).len();
    let r = c.patch_document(&id, &pan2_id, &json!({"status": "verified"}));
    let verified = assert_ok(&r, 200).clone();
    assert_eq!(verified["status"], "verified");
    assert_eq!(verified["document_id"], json!(pan2_id));
    assert_eq!(verified["document_type"], "PAN");
    assert_eq!(c.lead_status_of(&id), "under_review");
    assert_eq!(c.journey_statuses(&id).len(), journey_len);

    // Rejecting AADHAAR puts its type back in pending and the lead in document_pending.
    let r = c.patch_document(&id, &aadhaar_id, &json!({"status": "rejected"}));
    assert_eq!(assert_ok(&r, 200)["status"], "rejected");
    assert_eq!(c.lead_status_of(&id), "document_pending");
    let j = c.journey(&id).body["data"].clone();
    let last = j.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["status"], "document_pending");
    assert_eq!(last["note"], "Documents required: AADHAAR.");
    assert_eq!(last["from_status"], "under_review");

    let r = c.documents(&id);
    let statuses: Vec<(String, String, String)> = assert_ok(&r, 200)
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["document_id"].as_str().unwrap().into(),
                d["document_type"].as_str().unwrap().into(),
                d["status"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert_eq!(
        statuses,
        vec![
            (pan_id.clone(), "PAN".into(), "rejected".into()),
            (aadhaar_id.clone(), "AADHAAR".into(), "rejected".into()),
            (pan2_id.clone(), "PAN".into(), "verified".into()),
        ]
    );

    // A new AADHAAR completes the set again.
    let r = c.upload(
        &id,
        "AADHAAR",
        "aadhaar2.jpg",
        &sample("aadhaar-sample.jpg"),
    );
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(c.lead_status_of(&id), "under_review");

    // The audit trail records each review with the admin key.
    let r = c.audit(&id);
    let reviews: Vec<Value> = assert_ok(&r, 200)
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "document")
        .map(|e| {
            assert_eq!(e["key_id"], json!(admin_id));
            json!([e["detail"], e["field"], e["old"], e["new"]])
        })
        .collect();
    assert_eq!(
        reviews,
        vec![
            json!([pan_id, "status", "uploaded", "rejected"]),
            json!([pan2_id, "status", "uploaded", "verified"]),
            json!([aadhaar_id, "status", "uploaded", "rejected"]),
        ]
    );

    // Bad values and unknown documents.
    let before = snapshot(&c, &id);
    for s in [
        json!("uploaded"),
        json!("bogus"),
        json!("VERIFIED"),
        json!(null),
    ] {
        assert_fields(
            &c.patch_document(&id, &pan2_id, &json!({"status": s})),
            &["status"],
        );
    }
    let r = c.patch_document(&id, "DOC999999", &json!({"status": "verified"}));
    assert_error(&r, 404);
    assert_eq!(r.body["message"], "Document not found.");
    let other = c.new_lead("9876543211");
    let r2 = c.patch_document(&other, &pan2_id, &json!({"status": "verified"}));
    assert_error(&r2, 404);
    assert_eq!(r2.body, r.body);
    assert_eq!(snapshot(&c, &id), before);
}

#[test]
fn the_audit_records_field_updates_notes_and_which_key() {
    let app = spawn_app();
    let admin = app.admin();
    let admin_id = app.admin_key_id();
    let (partner_id, key) = app.create_key_with_id(Role::Partner, "Acme", None);
    assert_ne!(partner_id, admin_id);
    let p = app.with_key(&key);
    let t0 = unix_now();
    let r = p.create_lead(&json!({
        "product": "Credit Card", "customer_name": "Meena Iyer",
        "mobile": "9876543210", "loan_amount": 1500.5, "city": "Chennai",
    }));
    let id = id_of(&r, "lead_id");
    let r = p.patch_lead(
        &id,
        &json!({"customer_name": "Meena S Iyer", "loan_amount": 2000, "city": null, "email": "Meena@Example.COM"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = p.add_note(
        &id,
        &json!({"note": "Prefers calls after 6 pm.", "type": "follow_up"}),
    );
    let note_id = r.body["data"]["note_id"].clone();
    let r = admin.move_status(&id, &json!({"status": "rejected", "note": "Low score."}));
    assert_eq!(r.status, 200, "{}", r.body);
    let t1 = unix_now() + 1;

    let r = admin.audit(&id);
    let got: Vec<Value> = assert_ok(&r, 200)
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let mut e = e.clone();
            let o = e.as_object_mut().unwrap();
            assert_time(&o.remove("at").unwrap(), Some((t0, t1)));
            e
        })
        .collect();
    let (a, pk) = (json!(admin_id), json!(partner_id));
    let want = vec![
        json!({"action": "create", "detail": id, "key_id": pk}),
        json!({"action": "assign_rm", "field": "rm_id", "old": null, "new": 1, "key_id": pk}),
        json!({"action": "status", "field": "status", "old": "new", "new": "document_pending", "detail": "Documents required: PAN.", "key_id": pk}),
        json!({"action": "update", "field": "customer_name", "old": "Meena Iyer", "new": "Meena S Iyer", "key_id": pk}),
        json!({"action": "update", "field": "loan_amount", "old": 1500.5, "new": 2000, "key_id": pk}),
        json!({"action": "update", "field": "city", "old": "Chennai", "new": null, "key_id": pk}),
        json!({"action": "update", "field": "email", "old": null, "new": "Meena@example.com", "key_id": pk}),
        json!({"action": "note", "detail": format!("follow_up #{note_id}"), "key_id": pk}),
        json!({"action": "status", "field": "status", "old": "document_pending", "new": "rejected", "detail": "Low score.", "key_id": a}),
    ];
    assert_eq!(got, want, "{}", r.body);
}

#[test]
fn rejecting_a_document_the_product_does_not_need_asks_for_it_again() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead_of("Insurance Services", "9876543210");
    assert_eq!(c.lead_status_of(&id), "under_review");
    let r = c.upload(&id, "PHOTO", "photo.png", &sample("photo.png"));
    let doc = id_of(&r, "document_id");
    assert_eq!(c.lead_status_of(&id), "under_review");
    let r = c.patch_document(&id, &doc, &json!({"status": "rejected"}));
    assert_eq!(assert_ok(&r, 200)["status"], "rejected");
    assert_eq!(c.lead_status_of(&id), "document_pending");
    let j = c.journey(&id).body["data"].clone();
    let last = j.as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["note"], "Documents required: PHOTO.");
    let r = c.upload(&id, "PHOTO", "photo2.png", &sample("photo.png"));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(c.lead_status_of(&id), "under_review");
}

#[test]
fn a_pending_disbursement_without_an_approved_amount_on_an_unapproved_lead_is_a_422() {
    // Like `disbursed`, a `pending` disbursement needs an approved amount while the lead is
    // not approved yet; under_review → approved is an allowed move, so it is not a 409.
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead_of("Insurance Services", "9876543210");
    let before = snapshot(&c, &id);
    for status in ["pending", "disbursed"] {
        let r = c.put_disbursement(&id, &json!({"disbursement_status": status}));
        assert_fields(&r, &["approved_amount"]);
    }
    assert_eq!(snapshot(&c, &id), before);
}

/// The 409's message and its one field error.
fn conflict(r: &Reply, field: &str) -> (String, String) {
    assert_error(r, 409);
    assert_eq!(r.error_fields(), vec![field.to_string()], "{}", r.body);
    (
        r.body["message"].as_str().unwrap().to_string(),
        r.body["errors"][field][0].as_str().unwrap().to_string(),
    )
}

#[test]
fn a_final_lead_refuses_rm_and_lender_changes_and_an_approved_one_keeps_its_documents() {
    let app = spawn_app();
    let c = app.admin();
    let r = c.create_lead(&json!({
        "product": "Credit Card", "customer_name": "Meera Nair", "mobile": "9811100021",
    }));
    let id = id_of(&r, "lead_id");
    let r = c.upload(&id, "PAN", "pan.pdf", &sample("pan-card.pdf"));
    let doc = id_of(&r, "document_id");
    assert_eq!(c.lead(&id).body["data"]["status"], "under_review");

    // Only an approved lead takes a disbursement status; the 409 says so, not "approved".
    let before = snapshot(&c, &id);
    for asked in ["pending", "cancelled", "disbursed"] {
        let body = if asked == "cancelled" {
            json!({"disbursement_status": asked})
        } else {
            json!({"disbursement_status": asked, "approved_amount": null})
        };
        let r = c.put_disbursement(&id, &body);
        if asked == "cancelled" {
            assert_eq!(
                conflict(&r, "disbursement_status"),
                (
                    "The lead is under_review; a disbursement can be cancelled only on an approved lead.".to_string(),
                    "current status is under_review; send approved_amount to approve it first".to_string()
                )
            );
        } else {
            // Without an amount anywhere, the amount is the field at fault (422 first).
            assert_fields(&r, &["approved_amount"]);
        }
    }
    assert_eq!(snapshot(&c, &id), before);

    let r = c.put_disbursement(
        &id,
        &json!({"approved_amount": 5000, "disbursement_status": "pending"}),
    );
    assert_eq!(assert_ok(&r, 200)["disbursement_status"], "pending");
    assert_eq!(c.lead(&id).body["data"]["status"], "approved");

    // Rejecting (or retyping) the PAN an approved lead needs would send it back to
    // document_pending, which the lifecycle does not allow: 409, nothing changes.
    let before = snapshot(&c, &id);
    let audit_before = c.audit(&id).body;
    let (message, detail) = conflict(
        &c.patch_document(&id, &doc, &json!({"status": "rejected"})),
        "status",
    );
    assert_eq!(
        message,
        "The lead is approved; this change would leave it without a required PAN document."
    );
    assert!(detail.contains("reject the lead"), "{detail}");
    conflict(
        &c.patch_document(&id, &doc, &json!({"document_type": "AADHAAR"})),
        "document_type",
    );
    assert_eq!(snapshot(&c, &id), before);
    assert_eq!(c.audit(&id).body, audit_before);
    // Verifying it is fine.
    let r = c.patch_document(&id, &doc, &json!({"status": "verified"}));
    assert_eq!(assert_ok(&r, 200)["status"], "verified");

    // Rejected is final: RM, lender and disbursement are refused, after the field rules.
    let r = c.move_status(&id, &json!({"status": "rejected"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let before = snapshot(&c, &id);
    let audit_before = c.audit(&id).body;
    // The app's first lead went to RM 1 (round robin); RM 2 would be a change.
    assert_eq!(c.rm(&id).body["data"]["rm_name"], "Kavya Raman");
    let final_conflict = (
        "The lead is rejected and can no longer be changed.".to_string(),
        "is rejected, a final status".to_string(),
    );
    assert_eq!(
        conflict(&c.put_rm(&id, &json!({"rm_id": 2})), "status"),
        final_conflict
    );
    assert_eq!(
        conflict(
            &c.put_lender(
                &id,
                &json!({"lender_name": "Suvarna Finserv", "lender_status": "approved"})
            ),
            "status"
        ),
        final_conflict
    );
    assert_eq!(
        conflict(
            &c.put_disbursement(&id, &json!({"disbursement_status": "cancelled"})),
            "status"
        ),
        final_conflict
    );
    assert_fields(&c.put_rm(&id, &json!({"rm_id": 999})), &["rm_id"]);
    assert_fields(
        &c.put_lender(
            &id,
            &json!({"lender_name": "Nobody", "lender_status": "approved"}),
        ),
        &["lender_name"],
    );
    assert_eq!(snapshot(&c, &id), before);
    assert_eq!(c.audit(&id).body, audit_before);
}

/// On an approved lead only a change that leaves a required type newly missing is refused:
/// an optional document may be rejected (and is asked for again), and a lead that an older
/// version left missing a required type can still have its other documents changed.
#[test]
fn an_approved_lead_refuses_only_losing_a_required_document() {
    let app = spawn_app();
    let c = app.admin();
    let r = c.create_lead(&json!({
        "product": "Credit Card", "customer_name": "Meera Nair", "mobile": "9811100022",
    }));
    let id = id_of(&r, "lead_id");
    let pan = id_of(
        &c.upload(&id, "PAN", "pan.pdf", &sample("pan-card.pdf")),
        "document_id",
    );
    let photo = id_of(
        &c.upload(&id, "PHOTO", "me.png", &sample("photo.png")),
        "document_id",
    );
    let r = c.put_disbursement(
        &id,
        &json!({"approved_amount": 5000, "disbursement_status": "pending"}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(c.lead_status_of(&id), "approved");

    // PHOTO is not required for a credit card: rejecting it is a plain 200.
    let r = c.patch_document(&id, &photo, &json!({"status": "rejected"}));
    assert_eq!(assert_ok(&r, 200)["status"], "rejected");
    assert_eq!(c.lead_status_of(&id), "approved");
    // Retyping the PAN to PHOTO would leave the card without a PAN: refused on document_type.
    let (message, _) = conflict(
        &c.patch_document(&id, &pan, &json!({"document_type": "PHOTO"})),
        "document_type",
    );
    assert_eq!(
        message,
        "The lead is approved; this change would leave it without a required PAN document."
    );

    // An approved lead already missing its PAN (as an older version could leave it),
    // written by a second opener of the same database.
    let db = dhanita::db::Db::open(&app.db_path(), dhanita::db::Synchronous::Full).unwrap();
    let owned = id.clone();
    let pending = db
        .write(move |c| {
            let row = dhanita::db::leads::find(c, &owned)?.expect("the lead").row;
            dhanita::db::leads::add_pending(c, row, "PAN")?;
            dhanita::db::leads::pending_documents(c, row)
        })
        .unwrap();
    // (PHOTO, rejected above, is asked for again.)
    assert_eq!(pending, ["PAN", "PHOTO"]);
    db.close();
    let r = c.patch_document(&id, &photo, &json!({"status": "verified"}));
    assert_eq!(assert_ok(&r, 200)["status"], "verified");
    let r = c.patch_document(&id, &pan, &json!({"status": "verified"}));
    assert_eq!(assert_ok(&r, 200)["status"], "verified");
    assert_eq!(c.lead_status_of(&id), "approved");
}

/// A retype makes a reviewed document unreviewed again, and documents asked for by name
/// (not required by the product) settle the lead as uploads of them do.
#[test]
fn a_retyped_document_is_unreviewed_and_asked_for_types_settle_the_lead() {
    let app = spawn_app();
    let admin = app.admin();
    let key = app.create_key(Role::Partner, "Acme", None);
    let partner = app.with_key(&key);
    let r = partner.create_lead(&json!({
        "product": "Credit Card", "customer_name": "Meera Nair", "mobile": "9811100023",
    }));
    let id = id_of(&r, "lead_id");
    partner.upload(&id, "PAN", "pan.pdf", &sample("pan-card.pdf"));
    let photo = id_of(
        &partner.upload(&id, "PHOTO", "me.png", &sample("photo.png")),
        "document_id",
    );
    assert_eq!(partner.lead_status_of(&id), "under_review");

    // The office verifies the PHOTO; the partner retypes it: it is no verified ITR.
    let r = admin.patch_document(&id, &photo, &json!({"status": "verified"}));
    assert_eq!(assert_ok(&r, 200)["status"], "verified");
    let r = partner.patch_document(&id, &photo, &json!({"document_type": "ITR"}));
    let doc = assert_ok(&r, 200);
    assert_eq!(
        (doc["document_type"].as_str(), doc["status"].as_str()),
        (Some("ITR"), Some("uploaded"))
    );
    let r = partner.patch_document(&id, &photo, &json!({"document_type": "PHOTO"}));
    assert_eq!(assert_ok(&r, 200)["status"], "uploaded");

    // The office asks for an ITR by name; retyping the PHOTO as one settles the lead.
    let r = admin.move_status(
        &id,
        &json!({"status": "document_pending", "document_types": ["ITR"]}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let r = partner.patch_document(&id, &photo, &json!({"document_type": "ITR"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(partner.lead_status_of(&id), "under_review");

    // An optional document rejected is asked for again; verified again, it is there.
    let r = admin.patch_document(&id, &photo, &json!({"status": "rejected"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(partner.lead_status_of(&id), "document_pending");
    let r = admin.patch_document(&id, &photo, &json!({"status": "verified"}));
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(partner.lead_status_of(&id), "under_review");
}
