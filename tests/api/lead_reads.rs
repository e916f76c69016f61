//! Partner reads (issue 3): a lead's notes and documents, and a document's bytes.

use crate::helpers::*;
use dhanita::model::Role;
use serde_json::{json, Value};

#[test]
fn notes_are_listed_oldest_first() {
    let app = spawn_app();
    let key = app.create_key(Role::Partner, "Acme", None);
    let clients = [
        (app.admin(), "9876543210"),
        (app.with_key(&key), "9876543211"),
    ];
    for (c, mobile) in &clients {
        let t0 = unix_now();
        let id = c.new_lead(mobile);
        let r = c.notes(&id);
        assert_eq!(
            r.body,
            json!({"success": true, "data": [], "next_cursor": null})
        );
        assert_common(&r);
        let bodies = [
            json!({"note": "First call: customer interested."}),
            json!({"note": "  Send the document list.  ", "type": "follow_up"}),
            json!({"note": "ग्राहक ने कल फोन करने को कहा।", "type": "customer_conversation"}),
            json!({"note": "RM briefed.", "type": "rm_communication"}),
        ];
        let mut created: Vec<Value> = Vec::new();
        for b in &bodies {
            let r = c.add_note(&id, b);
            created.push(assert_ok(&r, 201).clone());
        }
        let t1 = unix_now() + 1;
        let r = c.notes(&id);
        let list = assert_ok(&r, 200).as_array().unwrap().clone();
        assert_eq!(list, created);
        let got: Vec<(String, String)> = list
            .iter()
            .map(|n| {
                assert_eq!(n["lead_id"], json!(id));
                assert_time(&n["created_at"], Some((t0, t1)));
                (
                    n["type"].as_str().unwrap().into(),
                    n["note"].as_str().unwrap().into(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("note".into(), "First call: customer interested.".into()),
                ("follow_up".into(), "Send the document list.".into()),
                (
                    "customer_conversation".into(),
                    "ग्राहक ने कल फोन करने को कहा।".into()
                ),
                ("rm_communication".into(), "RM briefed.".into()),
            ]
        );
        let ids: Vec<i64> = list
            .iter()
            .map(|n| n["note_id"].as_i64().unwrap())
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    }
    let missing = app.admin().notes("LD209901010001");
    assert_error(&missing, 404);
}

/// A PDF-looking file of `len` bytes with varied content.
fn big_pdf(len: usize) -> Vec<u8> {
    let mut v = b"%PDF-1.4\n".to_vec();
    let mut x: u32 = 0x1234_5678;
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        v.push((x >> 24) as u8);
    }
    v
}

#[test]
fn documents_are_listed_and_downloaded_byte_for_byte() {
    let app = spawn_app();
    let key = app.create_key(Role::Partner, "Acme", None);
    let p = app.with_key(&key);
    let admin = app.admin();
    let id = p.new_lead("9876543210");
    let r = p.documents(&id);
    assert_eq!(
        r.body,
        json!({"success": true, "data": [], "next_cursor": null})
    );

    let files: Vec<(&str, &str, Vec<u8>, &str, &str)> = vec![
        (
            "PAN",
            "pan-card.pdf",
            sample("pan-card.pdf"),
            "application/pdf",
            "pan-card.pdf",
        ),
        (
            "AADHAAR",
            "aadhaar-sample.jpg",
            sample("aadhaar-sample.jpg"),
            "image/jpeg",
            "aadhaar-sample.jpg",
        ),
        (
            "PHOTO",
            "../../etc/my photo.png",
            sample("photo.png"),
            "image/png",
            "my photo.png",
        ),
    ];
    let mut uploaded = Vec::new();
    for (doc_type, filename, bytes, _, _) in &files {
        let r = p.upload(&id, doc_type, filename, bytes);
        uploaded.push(assert_ok(&r, 201).clone());
    }
    for c in [&p, &admin] {
        let r = c.documents(&id);
        assert_eq!(assert_ok(&r, 200).as_array().unwrap(), &uploaded);
    }

    for ((_, _, bytes, content_type, filename), doc) in files.iter().zip(&uploaded) {
        let sha = sha256_hex(bytes);
        assert_eq!(doc["sha256"], json!(sha));
        assert_eq!(doc["size"], json!(bytes.len()));
        assert_eq!(doc["filename"], json!(filename));
        let doc_id = doc["document_id"].as_str().unwrap();
        for c in [&p, &admin] {
            let r = c.document_file(&id, doc_id);
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(r.bytes == *bytes, "{doc_id}: the bytes differ");
            assert_eq!(r.header("Content-Type"), Some(*content_type));
            assert_eq!(
                r.header("Content-Disposition"),
                Some(format!("attachment; filename=\"{filename}\"").as_str())
            );
            assert_eq!(r.header("ETag"), Some(format!("\"{sha}\"").as_str()));
            assert!(r.header("X-Request-Id").is_some_and(|v| !v.is_empty()));
            assert_eq!(
                r.header("Content-Length"),
                Some(bytes.len().to_string().as_str()),
                "{doc_id} ({} bytes): {:?}",
                bytes.len(),
                r.headers
            );
        }
    }

    // Unknown documents, and a document asked for under another lead.
    let r = p.document_file(&id, "DOC999999");
    assert_error(&r, 404);
    assert_eq!(r.body["message"], "Document not found.");
    let other = p.new_lead("9876543211");
    let doc_id = uploaded[0]["document_id"].as_str().unwrap();
    let r2 = p.document_file(&other, doc_id);
    assert_error(&r2, 404);
    assert_eq!(r2.body, r.body);
    let r = p.documents("LD209901010001");
    assert_error(&r, 404);
    assert_eq!(r.body["message"], "Lead not found.");
}

#[test]
fn a_large_download_is_byte_identical_and_has_its_content_length() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let bytes = big_pdf(3 << 20);
    let r = c.upload(&id, "BANK_STATEMENT", "statement.pdf", &bytes);
    let doc = assert_ok(&r, 201).clone();
    let doc_id = doc["document_id"].as_str().unwrap();
    let sha = sha256_hex(&bytes);
    assert_eq!(doc["sha256"], json!(sha));
    let r = c.document_file(&id, doc_id);
    assert_eq!(r.status, 200);
    assert!(r.bytes == bytes, "the bytes differ");
    assert_eq!(r.header("Content-Type"), Some("application/pdf"));
    assert_eq!(
        r.header("Content-Disposition"),
        Some("attachment; filename=\"statement.pdf\"")
    );
    assert_eq!(r.header("ETag"), Some(format!("\"{sha}\"").as_str()));
    assert_eq!(
        r.header("Content-Length"),
        Some(bytes.len().to_string().as_str()),
        "{:?}",
        r.headers
    );
}
