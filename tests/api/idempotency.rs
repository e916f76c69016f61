//! Retry-safe creates (issue 3): `Idempotency-Key` on POST /leads, documents and notes.

use crate::helpers::*;
use dhanita::model::Role;
use serde_json::{json, Value};
use std::sync::Barrier;

const LEAD: &[u8] =
    br#"{"product":"Personal Loan","customer_name":"Rahul Sharma","mobile":"9876543210"}"#;

fn lead_count(c: &Client) -> usize {
    let r = c.list_leads("limit=100");
    assert_ok(&r, 200).as_array().unwrap().len()
}

fn list_len(r: &Reply) -> usize {
    assert_ok(r, 200).as_array().unwrap().len()
}

#[test]
fn a_repeated_lead_create_replays_the_first_answer_and_creates_nothing() {
    let app = spawn_app();
    let c = app.admin();
    let first = c.create_lead_raw_idem("order-1001", LEAD);
    assert_eq!(assert_ok(&first, 201)["status"], "document_pending");
    let id = first.body["data"]["lead_id"].as_str().unwrap().to_string();
    let journey = c.journey(&id).body;

    let location = format!("/api/v1/leads/{id}");
    assert_eq!(first.header("Location"), Some(location.as_str()));

    let again = c.create_lead_raw_idem("order-1001", LEAD);
    assert_eq!(again.status, 201);
    assert_eq!(again.bytes, first.bytes, "byte-identical replay");
    assert_eq!(again.header("Location"), Some(location.as_str()));
    assert_common(&again);
    // The same JSON with its keys reordered and spaced is the same request.
    let reordered =
        br#"{ "mobile": "9876543210", "customer_name": "Rahul Sharma", "product": "Personal Loan" }"#;
    let again = c.create_lead_raw_idem("order-1001", reordered);
    assert_eq!(again.status, 201);
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(lead_count(&c), 1);
    assert_eq!(c.journey(&id).body, journey);

    // The same key with a different request: 422 naming the key; nothing created.
    let other = serde_json::to_vec(&json!({
        "product": "Personal Loan", "customer_name": "Rahul S", "mobile": "9876543219",
    }))
    .unwrap();
    let r = c.create_lead_raw_idem("order-1001", &other);
    assert_fields(&r, &["idempotency_key"]);
    assert_eq!(lead_count(&c), 1);

    // Without the key the same body is a new request: here, a duplicate of the open lead.
    let r = c.raw("POST", "/api/v1/leads", "application/json", LEAD);
    assert_error(&r, 409);
    assert_eq!(lead_count(&c), 1);

    // Keys belong to a partner: another partner's identical key is its own.
    let key = app.create_key(Role::Partner, "Acme", None);
    let p = app.with_key(&key);
    let r = p.create_lead_raw_idem("order-1001", &other);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_ne!(r.body["data"]["lead_id"], json!(id));
    assert_eq!(lead_count(&c), 2);
    let replay = p.create_lead_raw_idem("order-1001", &other);
    assert_eq!(replay.bytes, r.bytes);
    assert_eq!(lead_count(&c), 2);
}

#[test]
fn a_failed_request_can_be_retried_under_the_same_key() {
    let app = spawn_app();
    let c = app.admin();
    let bad = br#"{"product":"Personal Loan","customer_name":"Rahul Sharma","mobile":"123"}"#;
    let r = c.create_lead_raw_idem("retry-1", bad);
    assert_fields(&r, &["mobile"]);
    assert_eq!(lead_count(&c), 0);
    // The server stores only successful answers: the corrected request succeeds.
    let ok = c.create_lead_raw_idem("retry-1", LEAD);
    assert_eq!(ok.status, 201, "{}", ok.body);
    assert_eq!(lead_count(&c), 1);
    let replay = c.create_lead_raw_idem("retry-1", LEAD);
    assert_eq!(replay.bytes, ok.bytes);
    // Now the key stands for the corrected request; the old one is a different request.
    assert_fields(
        &c.create_lead_raw_idem("retry-1", bad),
        &["idempotency_key"],
    );
    let id = ok.body["data"]["lead_id"].as_str().unwrap().to_string();

    // A 409 is a failure too: retried after the conflict is gone, it creates the lead.
    let r = c.create_lead_raw_idem("retry-2", LEAD);
    assert_error(&r, 409);
    assert_eq!(r.error_fields(), ["mobile"]);
    let r = c.move_status(&id, &json!({"status": "rejected"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = c.create_lead_raw_idem("retry-2", LEAD);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_ne!(r.body["data"]["lead_id"], json!(id));
    assert_eq!(lead_count(&c), 2);

    // A malformed key is refused, and nothing is created.
    let long = "k".repeat(256);
    assert_fields(&c.create_lead_raw_idem(&long, LEAD), &["idempotency_key"]);
    assert_eq!(lead_count(&c), 2);
}

#[test]
fn notes_replay_under_their_key() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let other = c.new_lead("9876543211");
    let path = format!("/api/v1/leads/{id}/notes");
    let body = json!({"note": "Called the customer; documents by Friday.", "type": "follow_up"});
    let first = c.idem_json("note-1", "POST", &path, &body);
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(first.body["message"], "Note added successfully.");
    let again = c.idem_json("note-1", "POST", &path, &body);
    assert_eq!(again.status, 201);
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(list_len(&c.notes(&id)), 1);
    assert_eq!(c.notes(&id).body["data"][0], first.body["data"]);

    assert_fields(
        &c.idem_json("note-1", "POST", &path, &json!({"note": "Something else."})),
        &["idempotency_key"],
    );
    // The same key and body on another lead is another request.
    assert_fields(
        &c.idem_json(
            "note-1",
            "POST",
            &format!("/api/v1/leads/{other}/notes"),
            &body,
        ),
        &["idempotency_key"],
    );
    assert_eq!(list_len(&c.notes(&id)), 1);
    assert_eq!(list_len(&c.notes(&other)), 0);

    // A failed note (422) then the corrected one under the same key.
    let r = c.idem_json("note-2", "POST", &path, &json!({"note": "   "}));
    assert_fields(&r, &["note"]);
    let r = c.idem_json("note-2", "POST", &path, &json!({"note": "Fixed."}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(list_len(&c.notes(&id)), 2);
}

#[test]
fn uploads_replay_under_their_key() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let pan = sample("pan-card.pdf");
    let first = c.upload_idem("upload-1", &id, "PAN", "pan-card.pdf", &pan);
    assert_eq!(first.status, 201, "{}", first.body);
    let files = app.document_files();
    let journey = c.journey(&id).body;
    let audit = c.audit(&id).body;

    let again = c.upload_idem("upload-1", &id, "PAN", "pan-card.pdf", &pan);
    assert_eq!(again.status, 201);
    assert_eq!(again.bytes, first.bytes);
    // Same type (any case) and same file SHA-256: the same request, whatever the filename.
    let again = c.upload_idem("upload-1", &id, "pan", "renamed.pdf", &pan);
    assert_eq!(again.status, 201);
    assert_eq!(again.bytes, first.bytes);
    assert_eq!(list_len(&c.documents(&id)), 1);
    assert_eq!(c.journey(&id).body, journey);
    assert_eq!(c.audit(&id).body, audit);

    // A different document_type or a different file is a different request.
    assert_fields(
        &c.upload_idem("upload-1", &id, "AADHAAR", "pan-card.pdf", &pan),
        &["idempotency_key"],
    );
    assert_fields(
        &c.upload_idem("upload-1", &id, "PAN", "photo.png", &sample("photo.png")),
        &["idempotency_key"],
    );
    assert_eq!(list_len(&c.documents(&id)), 1);
    assert_eq!(c.lead_status_of(&id), "document_pending");
    // Replays and refusals leave no file behind.
    assert_eq!(app.document_files(), files);

    // A failed upload (not a PDF/JPEG/PNG) may be retried with the right file.
    let r = c.upload_idem("upload-2", &id, "AADHAAR", "a.jpg", &sample("fake-pdf.txt"));
    assert_fields(&r, &["file"]);
    let aadhaar = sample("aadhaar-sample.jpg");
    let r = c.upload_idem("upload-2", &id, "AADHAAR", "a.jpg", &aadhaar);
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(list_len(&c.documents(&id)), 2);
    assert_eq!(c.lead_status_of(&id), "under_review");
}

#[test]
fn concurrent_requests_with_one_key_create_exactly_one_lead() {
    let app = spawn_app();
    let barrier = Barrier::new(16);
    let replies: Vec<(u16, Vec<u8>, Value)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(|| {
                    let c = app.admin();
                    barrier.wait();
                    let r = c.create_lead_raw_idem("burst-1", LEAD);
                    (r.status, r.bytes, r.body)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first = &replies[0];
    for (status, bytes, body) in &replies {
        assert_eq!(*status, 201, "{body}");
        assert_eq!(bytes, &first.1, "every answer is the first one");
        assert_eq!(body["data"]["lead_id"], first.2["data"]["lead_id"]);
    }
    let c = app.admin();
    assert_eq!(lead_count(&c), 1);
    let id = first.2["data"]["lead_id"].as_str().unwrap();
    assert_eq!(c.journey_statuses(id), ["new", "document_pending"]);

    // Notes too.
    let barrier = Barrier::new(8);
    let path = format!("/api/v1/leads/{id}/notes");
    let replies: Vec<Vec<u8>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let c = app.admin();
                    barrier.wait();
                    let r = c.idem_json("burst-note", "POST", &path, &json!({"note": "Once."}));
                    assert_eq!(r.status, 201, "{}", r.body);
                    r.bytes
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(replies.iter().all(|b| b == &replies[0]));
    assert_eq!(list_len(&c.notes(id)), 1);
}

/// A lead that does not exist, or is another partner's, is a 404 under any key: the lead is
/// judged before the key, as the order of checks says (404 before 422), and nothing is kept.
#[test]
fn a_missing_or_foreign_lead_is_404_whatever_the_key() {
    let app = spawn_app();
    let admin = app.admin();
    let partner_key = app.create_key(Role::Partner, "Acme", None);
    let partner = app.with_key(&partner_key);
    let own = partner.new_lead("9876543210");
    let foreign = admin.new_lead("9876543211");
    let note = json!({"note": "Called."});
    let long = "k".repeat(256);
    for lead in ["LD202601010999", foreign.as_str()] {
        let path = format!("/api/v1/leads/{lead}/notes");
        for key in [long.as_str(), "note-1"] {
            let r = partner.idem_json(key, "POST", &path, &note);
            assert_error(&r, 404);
            let r = partner.upload_idem(key, lead, "PAN", "pan-card.pdf", &sample("pan-card.pdf"));
            assert_error(&r, 404);
        }
    }
    assert_eq!(list_len(&admin.notes(&foreign)), 0);
    assert_eq!(list_len(&admin.documents(&foreign)), 0);
    assert!(app.document_files().is_empty());
    // The keys tried on those leads were not spent: the partner's own lead takes them.
    let r = partner.idem_json(
        "note-1",
        "POST",
        &format!("/api/v1/leads/{own}/notes"),
        &note,
    );
    assert_eq!(r.status, 201, "{}", r.body);
    // A malformed key on an existing lead is still the 422 it always was.
    let r = partner.idem_json(&long, "POST", &format!("/api/v1/leads/{own}/notes"), &note);
    assert_fields(&r, &["idempotency_key"]);
}

/// A malformed `Idempotency-Key` is one field error among the body's: a 422 names them all
/// at once, on each of the three creates, and stores nothing; with a valid body it is the
/// only one.
#[test]
fn a_malformed_key_is_reported_with_the_bodys_field_errors() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let long = "k".repeat(256);

    let r = c.create_lead_raw_idem(&long, br#"{"product":"x","mobile":"1"}"#);
    assert_fields(
        &r,
        &["customer_name", "idempotency_key", "mobile", "product"],
    );
    let r = c.create_lead_raw_idem(
        &long,
        br#"{"product":"Personal Loan","customer_name":"Asha Rao","mobile":"9876543219"}"#,
    );
    assert_fields(&r, &["idempotency_key"]);
    assert_eq!(lead_count(&c), 1);

    let path = format!("/api/v1/leads/{id}/notes");
    let r = c.idem_json(&long, "POST", &path, &json!({"note": "  ", "type": "nope"}));
    assert_fields(&r, &["idempotency_key", "note", "type"]);
    assert_eq!(list_len(&c.notes(&id)), 0);

    let r = c.upload_idem(&long, &id, "NOPE", "x.txt", b"not a document");
    assert_fields(&r, &["document_type", "file", "idempotency_key"]);
    let r = c.upload_idem(&long, &id, "PAN", "pan.pdf", &sample("pan-card.pdf"));
    assert_fields(&r, &["idempotency_key"]);
    assert_eq!(list_len(&c.documents(&id)), 0);
    assert!(app.document_files().is_empty());
}
