//! Restart persistence: everything written before a restart reads back the same after it,
//! sequences continue, and the masters are not seeded twice.

use crate::helpers::*;
use dhanita::model::Role;
use serde_json::{json, Value};

const MASTERS: [&str; 6] = [
    "/api/v1/products",
    "/api/v1/products/categories",
    "/api/v1/products/lender-mapping",
    "/api/v1/products/lender-mapping?product_code=PERSONAL_LOAN",
    "/api/v1/statuses",
    "/api/v1/document-types",
];

/// Everything the API shows of a lead.
fn snapshot(c: &Client, id: &str) -> Vec<(String, Value)> {
    [
        format!("/api/v1/leads/{id}"),
        format!("/api/v1/leads/{id}/journey"),
        format!("/api/v1/leads/{id}/status"),
        format!("/api/v1/leads/{id}/disbursement"),
        format!("/api/v1/leads/{id}/rm"),
        format!("/api/v1/leads/{id}/documents"),
        format!("/api/v1/leads/{id}/notes"),
    ]
    .into_iter()
    .map(|p| {
        let r = c.get(&p);
        assert_ok(&r, 200);
        (p, r.body)
    })
    .collect()
}

fn masters(c: &Client) -> Vec<Value> {
    MASTERS
        .iter()
        .map(|p| {
            let r = c.get(p);
            assert_ok(&r, 200);
            r.body
        })
        .collect()
}

#[test]
fn leads_documents_and_notes_survive_a_restart() {
    let mut app = spawn_app();
    let partner = app.create_key(Role::Partner, "Acme Loans", Some("DSA555"));
    let day = today();
    let (ids, shas, last_note, masters_before, rms_before) = {
        let c = app.admin();
        let p = app.with_key(&partner);
        let pl = c.new_lead("9876543210");
        let ins = c.new_lead_of("Insurance Services", "9123456789");
        let cc = p.new_lead_of("Credit Card", "8123456789");
        assert_eq!(
            [pl.as_str(), ins.as_str(), cc.as_str()],
            [
                format!("LD{day}0001"),
                format!("LD{day}0002"),
                format!("LD{day}0003")
            ]
        );
        let mut shas = Vec::new();
        for (lead, t, f) in [
            (&pl, "PAN", "pan-card.pdf"),
            (&pl, "AADHAAR", "aadhaar-sample.jpg"),
            (&cc, "PHOTO", "photo.png"),
        ] {
            let bytes = sample(f);
            let r = c.upload(lead, t, f, &bytes);
            assert_ok(&r, 201);
            shas.push((sha256_hex(&bytes), bytes));
        }
        let r = c.patch_document(&pl, "DOC1001", &json!({"status": "rejected"}));
        assert_ok(&r, 200);
        let r = c.patch_lead(
            &pl,
            &json!({"customer_name": "राहुल शर्मा", "loan_amount": 750000.25, "city": "Pune"}),
        );
        assert_ok(&r, 200);
        let mut last_note = Value::Null;
        for (lead, note, kind) in [
            (&pl, "Asked for a new PAN scan.", "follow_up"),
            (
                &ins,
                "Customer prefers calls after 6 pm.",
                "customer_conversation",
            ),
            (&cc, "Sent to the RM.", "rm_communication"),
        ] {
            let r = c.add_note(lead, &json!({"note": note, "type": kind}));
            assert_eq!(r.status, 201, "{}", r.body);
            last_note = r.body["data"]["note_id"].clone();
        }
        let rms: Vec<Value> = [&pl, &ins, &cc]
            .iter()
            .map(|id| c.rm(id).data()["rm_name"].clone())
            .collect();
        (vec![pl, ins, cc], shas, last_note, masters(&c), rms)
    };
    let before: Vec<_> = ids.iter().map(|id| snapshot(&app.admin(), id)).collect();
    assert_eq!(
        app.admin().journey_statuses(&ids[0]),
        [
            "new",
            "document_pending",
            "under_review",
            "document_pending"
        ]
    );

    for round in 0..2 {
        app.restart();
        let c = app.admin();
        assert!(app.db_path().exists());
        for (id, snap) in ids.iter().zip(&before) {
            assert_eq!(&snapshot(&c, id), snap, "round {round}: {id}");
        }
        assert_eq!(masters(&c), masters_before, "round {round}");
        let products = c.get("/api/v1/products");
        assert_eq!(assert_ok(&products, 200).as_array().unwrap().len(), 10);
        for (sha, bytes) in &shas {
            assert_eq!(&std::fs::read(app.blob_path(sha)).unwrap(), bytes);
        }
        // The partner key and its binding survive too.
        let p = app.with_key(&partner);
        assert_ok(&p.lead(&ids[2]), 200);
        assert_error(&p.lead(&ids[0]), 404);
    }

    // Sequences continue where they were.
    let c = app.admin();
    let p = app.with_key(&partner);
    let next = p.new_lead_of("Home Loan", "7123456789");
    assert_eq!(next, format!("LD{day}0004"));
    assert_eq!(p.lead(&next).data()["dsa_code"], json!("DSA555"));
    // The RM round-robin goes on from the fourth lead.
    assert_eq!(c.rm(&next).data()["rm_name"], rms_before[0]);
    let r = c.upload(&ids[0], "PAN", "pan-card.pdf", &sample("pan-card.pdf"));
    assert_eq!(assert_ok(&r, 201)["document_id"], json!("DOC1004"));
    assert_eq!(c.lead(&ids[0]).data()["status"], json!("under_review"));
    let r = c.add_note(&ids[1], &json!({"note": "After the restart."}));
    assert_eq!(r.status, 201, "{}", r.body);
    if let Some(n) = last_note.as_i64() {
        assert_eq!(r.body["data"]["note_id"], json!(n + 1));
    }
    // A document stored before the restart can still be reviewed.
    let r = c.patch_document(&ids[2], "DOC1003", &json!({"status": "verified"}));
    assert_eq!(assert_ok(&r, 200)["status"], json!("verified"));
}
