//! Partner isolation: a partner key sees and changes only its partner's leads; another
//! partner's lead is a 404 with the same body as a missing one; admins see everything; a key
//! bound to a DSA code stamps it.

use crate::helpers::*;
use dhanita::model::Role;
use serde_json::{json, Value};

/// Every lead operation of the core API (and the lead's lists), as `c` on `lead`.
fn lead_operations(c: &Client, lead: &str) -> Vec<(&'static str, Reply)> {
    vec![
        ("view", c.lead(lead)),
        ("patch", c.patch_lead(lead, &json!({"city": "Elsewhere"}))),
        ("journey", c.journey(lead)),
        ("status", c.status(lead)),
        ("disbursement", c.disbursement(lead)),
        ("rm", c.rm(lead)),
        (
            "upload",
            c.upload(lead, "AADHAAR", "a.jpg", &sample("aadhaar-sample.jpg")),
        ),
        (
            "patch document",
            c.patch_document(lead, "DOC1001", &json!({"document_type": "PHOTO"})),
        ),
        ("note", c.add_note(lead, &json!({"note": "Not yours."}))),
        (
            "documents",
            c.get(&format!("/api/v1/leads/{lead}/documents")),
        ),
        ("notes", c.get(&format!("/api/v1/leads/{lead}/notes"))),
    ]
}

#[test]
fn another_partners_lead_is_a_404_exactly_like_a_missing_one() {
    let app = spawn_app();
    let key_a = app.create_key(Role::Partner, "Acme Loans", None);
    let key_b = app.create_key(Role::Partner, "Bharat Finserv", None);
    let a = app.with_key(&key_a);
    let b = app.with_key(&key_b);
    let admin = app.admin();

    let lead_a = a.new_lead("9876543210");
    assert_ok(
        &a.upload(&lead_a, "PAN", "p.pdf", &sample("pan-card.pdf")),
        201,
    );
    assert_eq!(a.add_note(&lead_a, &json!({"note": "Mine."})).status, 201);
    let lead_b = b.new_lead("9123456789");
    let before = admin.lead(&lead_a).body.clone();
    let journey_before = admin.journey(&lead_a).body.clone();

    let missing = format!("LD{}9999", today());
    let theirs = lead_operations(&b, &lead_a);
    let absent = lead_operations(&b, &missing);
    for ((what, got), (_, want)) in theirs.iter().zip(absent.iter()) {
        assert_error(got, 404);
        assert_eq!(
            got.body, want.body,
            "{what}: B on A's lead vs a missing lead"
        );
        assert_eq!(got.bytes, want.bytes, "{what}");
    }
    // And the other way round.
    for (what, r) in lead_operations(&a, &lead_b) {
        assert_error(&r, 404);
        assert_eq!(r.body["message"], absent[0].1.body["message"], "{what}");
    }

    // Nothing of A's lead changed.
    assert_eq!(admin.lead(&lead_a).body, before);
    assert_eq!(admin.journey(&lead_a).body, journey_before);
    let docs = admin.get(&format!("/api/v1/leads/{lead_a}/documents"));
    let docs = assert_ok(&docs, 200).as_array().unwrap().clone();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["document_type"], json!("PAN"));
    let notes = admin.get(&format!("/api/v1/leads/{lead_a}/notes"));
    let notes = assert_ok(&notes, 200).as_array().unwrap().clone();
    assert_eq!(notes.len(), 1);
    assert_eq!(notes[0]["note"], json!("Mine."));
    let r = a.upload(&lead_a, "AADHAAR", "a.jpg", &sample("aadhaar-sample.jpg"));
    assert_eq!(assert_ok(&r, 201)["document_id"], json!("DOC1002"));

    // Each partner sees its own lead; the admin sees both and may change both.
    assert_ok(&a.lead(&lead_a), 200);
    assert_ok(&b.lead(&lead_b), 200);
    for lead in [&lead_a, &lead_b] {
        for (what, r) in lead_operations(&admin, lead) {
            if what == "patch document" && lead == &lead_b {
                // DOC1001 belongs to A's lead.
                assert_error(&r, 404);
                continue;
            }
            assert!(
                r.status == 200 || r.status == 201,
                "admin {what} on {lead}: {} {}",
                r.status,
                r.body
            );
        }
    }
}

#[test]
fn a_second_key_of_the_same_partner_sees_its_leads() {
    let app = spawn_app();
    let old = app.create_key(Role::Partner, "Acme Loans", None);
    let id = app.with_key(&old).new_lead("9876543210");
    let new = app.create_key(Role::Partner, "Acme Loans", None);
    assert_ne!(old, new);
    let c = app.with_key(&new);
    let r = c.lead(&id);
    assert_eq!(assert_ok(&r, 200)["lead_id"], json!(id));
    let r = c.patch_lead(&id, &json!({"city": "Pune"}));
    assert_eq!(assert_ok(&r, 200)["city"], json!("Pune"));
    let other = app.create_key(Role::Partner, "Acme Loans Two", None);
    assert_error(&app.with_key(&other).lead(&id), 404);
}

#[test]
fn a_partner_key_cannot_review_documents_or_move_leads() {
    let app = spawn_app();
    let key = app.create_key(Role::Partner, "Acme Loans", None);
    let p = app.with_key(&key);
    let id = p.new_lead("9876543210");
    assert_ok(&p.upload(&id, "PAN", "p.pdf", &sample("pan-card.pdf")), 201);
    for status in ["verified", "rejected", "uploaded"] {
        let r = p.patch_document(&id, "DOC1001", &json!({ "status": status }));
        assert_error(&r, 403);
    }
    let r = p.patch_document(
        &id,
        "DOC1001",
        &json!({"status": "verified", "document_type": "PHOTO"}),
    );
    assert_error(&r, 403);
    // Correcting the type is allowed.
    let r = p.patch_document(&id, "DOC1001", &json!({"document_type": "aadhaar"}));
    let d = assert_ok(&r, 200);
    assert_eq!(d["document_type"], json!("AADHAAR"));
    assert_eq!(d["status"], json!("uploaded"));
    let r = p.json(
        "POST",
        &format!("/api/v1/leads/{id}/status"),
        &json!({"status": "rejected"}),
    );
    assert_error(&r, 403);
    assert_eq!(p.lead(&id).data()["status"], json!("document_pending"));
    assert_eq!(p.journey_statuses(&id), ["new", "document_pending"]);
}

#[test]
fn a_key_bound_to_a_dsa_code_stamps_it() {
    let app = spawn_app();
    let key = app.create_key(Role::Partner, "Sub Agent", Some("dsa777"));
    let p = app.with_key(&key);
    let base = |mobile: &str| json!({"product": "Personal Loan", "customer_name": "Stamp Test", "mobile": mobile});
    // No code given: the key's.
    let r = p.create_lead(&base("9000000001"));
    let d = assert_ok(&r, 201);
    assert_eq!(d["dsa_code"], json!("DSA777"));
    assert_eq!(d["lead_id"], json!(format!("LD{}0001", today())));
    // The same code, in any case: fine.
    let mut body = base("9000000002");
    body["dsa_code"] = json!(" dsa777 ");
    let r = p.create_lead(&body);
    assert_eq!(assert_ok(&r, 201)["dsa_code"], json!("DSA777"));
    // Another code: 422 on dsa_code.
    let mut body = base("9000000003");
    body["dsa_code"] = json!("DSA999");
    assert_fields(&p.create_lead(&body), &["dsa_code"]);
    // Nothing stored by those.
    let r = p.create_lead(&base("9000000004"));
    assert_eq!(
        assert_ok(&r, 201)["lead_id"],
        json!(format!("LD{}0003", today()))
    );
    // The code cannot be changed later.
    let id = format!("LD{}0001", today());
    assert_fields(
        &p.patch_lead(&id, &json!({"dsa_code": "DSA999"})),
        &["dsa_code"],
    );
    assert_eq!(p.lead(&id).data()["dsa_code"], json!("DSA777"));

    // An unbound key (and the admin) may set any code, or none.
    let admin = app.admin();
    let mut body = base("9000000005");
    body["dsa_code"] = json!("dsa12345");
    assert_eq!(
        assert_ok(&admin.create_lead(&body), 201)["dsa_code"],
        json!("DSA12345")
    );
    let r = admin.create_lead(&base("9000000006"));
    assert_eq!(assert_ok(&r, 201).get("dsa_code"), None::<&Value>);
}

/// All field errors at once: a foreign DSA code is named alongside the other problems.
#[test]
fn a_foreign_dsa_code_is_reported_with_the_other_field_errors() {
    let app = spawn_app();
    let key = app.create_key(Role::Partner, "Sub Agent", Some("DSA777"));
    let p = app.with_key(&key);
    let r = p.create_lead(&json!({
        "product": "Personal Loan", "customer_name": "Stamp Test", "mobile": "12345",
        "dsa_code": "DSA999",
    }));
    assert_fields(&r, &["dsa_code", "mobile"]);
    let r = p.create_lead(&json!({
        "product": "Gold Loan X", "customer_name": "Stamp Test", "mobile": "9000000003",
        "dsa_code": "DSA999",
    }));
    assert_fields(&r, &["dsa_code", "product"]);
}

/// A partner's journey names its own keys' changes, never the office's key.
#[test]
fn a_partners_journey_shows_its_own_key_ids_only() {
    let app = spawn_app();
    let admin = app.admin();
    let (partner_key_id, partner_key) = app.create_key_with_id(Role::Partner, "Acme", None);
    let partner = app.with_key(&partner_key);
    let id = partner.new_lead("9876543210");
    let r = admin.move_status(
        &id,
        &json!({"status": "rejected", "note": "No income proof."}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let keys = |r: &Reply| -> Vec<Value> {
        assert_ok(r, 200)
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.get("key_id").cloned().unwrap_or(Value::Null))
            .collect()
    };
    let pk = json!(partner_key_id);
    let ak = json!(app.admin_key_id());
    // Created (new, then document_pending) by the partner, rejected by the office.
    assert_eq!(
        keys(&partner.journey(&id)),
        [pk.clone(), pk.clone(), Value::Null]
    );
    assert_eq!(keys(&admin.journey(&id)), [pk.clone(), pk, ak]);
}
