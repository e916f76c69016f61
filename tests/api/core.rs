//! The seed operations' success shapes, field by field against the seed schemas, and the
//! lead lifecycle: pending documents, journey, RM round-robin, document review.

use crate::helpers::*;
use dhanita::model::Role;
use serde_json::{json, Value};

pub const CATEGORIES: [&str; 10] = [
    "Instant Loan",
    "KYC Loan",
    "Personal Loan",
    "Business Loan",
    "Home Loan",
    "Car Loan",
    "Credit Card",
    "Saving Account",
    "Demat Account",
    "Insurance Services",
];

pub const DOCUMENT_TYPES: [&str; 9] = [
    "PAN",
    "AADHAAR",
    "BANK_STATEMENT",
    "SALARY_SLIP",
    "ITR",
    "PHOTO",
    "ADDRESS_PROOF",
    "GST_CERTIFICATE",
    "OTHER",
];

pub const STATUSES: [&str; 6] = [
    "new",
    "document_pending",
    "under_review",
    "approved",
    "rejected",
    "disbursed",
];

const UNDER_REVIEW_MESSAGE: &str = "Application is under lender review.";

/// `Personal Loan` → `PERSONAL_LOAN`.
pub fn code_of(name: &str) -> String {
    name.to_ascii_uppercase().replace(' ', "_")
}

fn required_documents(code: &str) -> Value {
    match code {
        "INSURANCE_SERVICES" => json!([]),
        "CREDIT_CARD" => json!(["PAN"]),
        _ => json!(["PAN", "AADHAAR"]),
    }
}

fn is_indian_mobile(v: &Value) -> bool {
    v.as_str().is_some_and(|s| {
        s.len() == 10
            && s.bytes().all(|b| b.is_ascii_digit())
            && matches!(s.as_bytes()[0], b'6'..=b'9')
    })
}

#[test]
fn products_are_the_ten_categories_with_their_required_documents() {
    let app = spawn_app();
    let r = app.admin().get("/api/v1/products");
    let data = assert_ok(&r, 200);
    assert_no_nulls(&r.body, &["next_cursor"]);
    assert_eq!(r.body["next_cursor"], Value::Null);
    let list = data.as_array().expect("data is a list");
    assert_eq!(list.len(), 10, "{}", r.body);
    for (p, cat) in list.iter().zip(CATEGORIES) {
        let code = code_of(cat);
        assert_eq!(p["code"], json!(code), "{p}");
        assert_eq!(p["name"], json!(cat), "{p}");
        assert_eq!(p["category"], json!(cat), "{p}");
        assert_eq!(p["status"], json!("active"), "{p}");
        assert_eq!(p["required_documents"], required_documents(&code), "{p}");
    }
}

#[test]
fn categories_are_exactly_the_ten_in_spec_order() {
    let app = spawn_app();
    let r = app.admin().get("/api/v1/products/categories");
    assert_ok(&r, 200);
    assert_eq!(
        r.body,
        json!({"success": true, "data": CATEGORIES, "next_cursor": null})
    );
}

#[test]
fn statuses_are_the_six_in_lifecycle_order() {
    let app = spawn_app();
    let r = app.admin().get("/api/v1/statuses");
    assert_ok(&r, 200);
    assert_eq!(
        r.body,
        json!({"success": true, "data": STATUSES, "next_cursor": null})
    );
}

#[test]
fn document_types_are_the_nine_in_order() {
    let app = spawn_app();
    let r = app.admin().get("/api/v1/document-types");
    let data = assert_ok(&r, 200);
    assert_no_nulls(&r.body, &["next_cursor"]);
    assert_eq!(r.body["next_cursor"], Value::Null);
    let codes: Vec<&str> = data
        .as_array()
        .expect("data is a list")
        .iter()
        .map(|t| t["code"].as_str().expect("code is a string"))
        .collect();
    assert_eq!(codes, DOCUMENT_TYPES);
}

#[test]
fn lender_mapping_lists_and_filters() {
    let app = spawn_app();
    let c = app.admin();
    let r = c.get("/api/v1/products/lender-mapping");
    let all = assert_ok(&r, 200).as_array().expect("list").clone();
    assert_no_nulls(&r.body, &["next_cursor"]);
    assert_eq!(r.body["next_cursor"], Value::Null);
    assert!(!all.is_empty());
    let codes: Vec<String> = CATEGORIES.iter().map(|c| code_of(c)).collect();
    let mut lenders: Vec<String> = Vec::new();
    for m in &all {
        assert!(
            codes.contains(&m["product_code"].as_str().unwrap().to_string()),
            "{m}"
        );
        let lender = m["lender_name"].as_str().expect("lender_name");
        assert!(!lender.trim().is_empty());
        assert_eq!(m["status"], json!("active"), "{m}");
        if !lenders.contains(&lender.to_string()) {
            lenders.push(lender.to_string());
        }
    }
    // Four lenders, each mapped to several products.
    assert_eq!(lenders.len(), 4, "{lenders:?}");
    for l in &lenders {
        let n = all.iter().filter(|m| m["lender_name"] == json!(l)).count();
        assert!(n >= 2, "{l} is mapped to {n} product(s)");
    }
    // The filter returns exactly the rows of that product.
    for code in &codes {
        let r = c.get(&format!(
            "/api/v1/products/lender-mapping?product_code={code}"
        ));
        let got = assert_ok(&r, 200).as_array().expect("list").clone();
        let mut want: Vec<String> = all
            .iter()
            .filter(|m| m["product_code"] == json!(code))
            .map(|m| m.to_string())
            .collect();
        let mut got: Vec<String> = got.iter().map(|m| m.to_string()).collect();
        want.sort();
        got.sort();
        assert_eq!(got, want, "filter {code}");
    }
    // The product's name, as POST /leads takes it, and its code in any case, filter alike.
    let by_code = c.get("/api/v1/products/lender-mapping?product_code=PERSONAL_LOAN");
    assert_eq!(
        by_code.body["data"].as_array().unwrap().len(),
        3,
        "{}",
        by_code.body
    );
    for given in [
        "Personal%20Loan",
        "personal%20loan",
        "personal_loan",
        "%20PERSONAL_LOAN%20",
    ] {
        let r = c.get(&format!(
            "/api/v1/products/lender-mapping?product_code={given}"
        ));
        assert_eq!(r.body, by_code.body, "{given}");
    }
    // An empty value is no filter: every lender, as without the parameter.
    let all = c.get("/api/v1/products/lender-mapping");
    assert!(
        all.body["data"].as_array().unwrap().len() > 3,
        "{}",
        all.body
    );
    for empty in ["", "%20"] {
        let r = c.get(&format!(
            "/api/v1/products/lender-mapping?product_code={empty}"
        ));
        assert_eq!(r.body, all.body, "{empty:?}");
    }
    let r = c.get("/api/v1/products/lender-mapping?product_code=NOPE");
    assert_eq!(r.status, 200);
    assert_common(&r);
    assert_eq!(
        r.bytes,
        br#"{"success":true,"data":[],"next_cursor":null}"#.to_vec()
    );
}

#[test]
fn healthz_needs_no_key() {
    let app = spawn_app();
    let r = app.anonymous().get("/healthz");
    assert_eq!(r.status, 200, "{}", r.body);
    assert_common(&r);
}

/// DESIGN.md: `X-API-Key` on every `/api/v1` operation except `GET /api/v1/openapi.json`.
#[test]
fn openapi_document_is_served_without_a_key() {
    let app = spawn_app();
    let r = app.anonymous().get("/api/v1/openapi.json");
    assert_eq!(r.status, 200, "GET /api/v1/openapi.json: {}", r.body);
    assert_common(&r);
    assert_eq!(r.body["openapi"], json!("3.0.3"), "{}", r.body);
    assert!(r.body["paths"]["/leads"].is_object(), "{}", r.body);
}

#[test]
fn create_view_patch_a_lead_field_by_field() {
    let app = spawn_app();
    let c = app.admin();
    let from = unix_now();
    let r = c.create_lead(&json!({
        "product": "Personal Loan", "customer_name": "Rahul Sharma", "mobile": "9876543210",
        "email": "rahul@example.com", "loan_amount": 500000, "city": "Faridabad",
        "dsa_code": "DSA12345",
    }));
    let to = unix_now();
    let d = assert_ok(&r, 201).clone();
    assert_no_nulls(&r.body, &[]);
    assert_eq!(keys(&r.body), ["data", "success"]);
    let id = format!("LD{}0001", today());
    assert_eq!(d["lead_id"], json!(id));
    assert_eq!(d["product"], json!("Personal Loan"));
    assert_eq!(d["customer_name"], json!("Rahul Sharma"));
    assert_eq!(d["mobile"], json!("9876543210"));
    assert_eq!(d["status"], json!("document_pending"));
    assert_time(&d["created_at"], Some((from, to)));
    assert_eq!(d["email"], json!("rahul@example.com"));
    assert_eq!(d["loan_amount"], json!(500000));
    assert_eq!(d["loan_amount"].to_string(), "500000");
    assert_eq!(d["city"], json!("Faridabad"));
    assert_eq!(d["dsa_code"], json!("DSA12345"));
    if d.get("updated_at").is_some() {
        assert_time(&d["updated_at"], Some((from, to)));
    }

    // View: the same lead.
    let v = c.lead(&id);
    assert_ok(&v, 200);
    assert_eq!(v.body, r.body);

    // PATCH the editable fields; the rest stays.
    let p = c.patch_lead(
        &id,
        &json!({"customer_name": "  Rahul K. Sharma ", "loan_amount": 650000.5, "city": "Delhi",
                "email": "Rahul.K+loans@Example.COM"}),
    );
    let pd = assert_ok(&p, 200).clone();
    assert_no_nulls(&p.body, &[]);
    assert_eq!(pd["lead_id"], json!(id));
    assert_eq!(pd["product"], json!("Personal Loan"));
    assert_eq!(pd["customer_name"], json!("Rahul K. Sharma"));
    assert_eq!(pd["mobile"], json!("9876543210"));
    assert_eq!(pd["status"], json!("document_pending"));
    assert_eq!(pd["created_at"], d["created_at"]);
    assert_eq!(pd["loan_amount"].to_string(), "650000.5");
    assert_eq!(pd["city"], json!("Delhi"));
    assert_eq!(pd["email"], json!("Rahul.K+loans@example.com"));
    assert_eq!(pd["dsa_code"], json!("DSA12345"));
    let v = c.lead(&id);
    assert_eq!(v.body, p.body);

    // null clears an optional field: the key is left out afterwards.
    let p = c.patch_lead(
        &id,
        &json!({"city": null, "email": null, "loan_amount": null}),
    );
    let pd = assert_ok(&p, 200).clone();
    assert_no_nulls(&p.body, &[]);
    for k in ["city", "email", "loan_amount"] {
        assert!(pd.get(k).is_none(), "{k} still present: {pd}");
    }
    assert_eq!(pd["customer_name"], json!("Rahul K. Sharma"));
    assert_eq!(c.lead(&id).body, p.body);
}

#[test]
fn journey_status_disbursement_and_rm_of_a_new_lead() {
    let app = spawn_app();
    let c = app.admin();
    let from = unix_now();
    let id = c.new_lead("9876543210");
    let to = unix_now();

    let r = c.journey(&id);
    let j = assert_ok(&r, 200).as_array().expect("list").clone();
    assert_no_nulls(&r.body, &["next_cursor"]);
    assert_eq!(r.body["next_cursor"], Value::Null);
    assert_eq!(j.len(), 2, "{}", r.body);
    assert_eq!(j[0]["status"], json!("new"));
    assert_eq!(j[0]["note"], json!("Lead received."));
    assert_eq!(j[1]["status"], json!("document_pending"));
    assert_eq!(j[1]["note"], json!("Documents required: PAN, AADHAAR."));
    for e in &j {
        assert_time(&e["updated_at"], Some((from, to)));
    }
    assert!(j[0]["updated_at"].as_str() <= j[1]["updated_at"].as_str());

    let r = c.status(&id);
    let s = assert_ok(&r, 200);
    assert_no_nulls(&r.body, &[]);
    assert_eq!(s["lead_id"], json!(id));
    assert_eq!(s["status"], json!("document_pending"));
    let msg = s["message"].as_str().expect("message");
    assert!(!msg.trim().is_empty());
    assert_ne!(msg, UNDER_REVIEW_MESSAGE);

    let r = c.disbursement(&id);
    let d = assert_ok(&r, 200);
    assert_no_nulls(&r.body, &["disbursement_date"]);
    assert_eq!(d["lead_id"], json!(id));
    assert!(d.get("approved_amount").is_none(), "{d}");
    assert_eq!(d["disbursement_status"], json!("not_started"));
    assert_eq!(d.get("disbursement_date"), Some(&Value::Null), "{d}");

    let r = c.rm(&id);
    let m = assert_ok(&r, 200);
    assert_no_nulls(&r.body, &[]);
    assert!(
        m["rm_name"].as_str().is_some_and(|s| !s.trim().is_empty()),
        "{m}"
    );
    assert!(is_indian_mobile(&m["rm_mobile"]), "{m}");
    assert!(m.get("lender_name").is_none(), "{m}");
    assert!(m.get("lender_status").is_none(), "{m}");
}

#[test]
fn document_upload_patch_and_note_shapes() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let pdf = sample("pan-card.pdf");
    let r = c.upload(&id, "PAN", "pan-card.pdf", &pdf);
    let d = assert_ok(&r, 201).clone();
    assert_no_nulls(&r.body, &[]);
    assert_eq!(d["document_id"], json!("DOC1001"));
    assert_eq!(d["document_type"], json!("PAN"));
    assert_eq!(d["status"], json!("uploaded"));
    assert_eq!(d["sha256"], json!(sha256_hex(&pdf)));
    assert_eq!(d["size"], json!(pdf.len()));

    // Any key that sees the lead may correct the type (case-insensitive).
    let r = c.patch_document(&id, "DOC1001", &json!({"document_type": "aadhaar"}));
    let d = assert_ok(&r, 200).clone();
    assert_no_nulls(&r.body, &[]);
    assert_eq!(d["document_id"], json!("DOC1001"));
    assert_eq!(d["document_type"], json!("AADHAAR"));
    assert_eq!(d["status"], json!("uploaded"));

    // An admin verifies it.
    let r = c.patch_document(&id, "DOC1001", &json!({"status": "verified"}));
    let d = assert_ok(&r, 200).clone();
    assert_eq!(d["document_id"], json!("DOC1001"));
    assert_eq!(d["document_type"], json!("AADHAAR"));
    assert_eq!(d["status"], json!("verified"));

    let from = unix_now();
    let r = c.add_note(
        &id,
        &json!({"note": "Customer asked for callback tomorrow.", "type": "follow_up"}),
    );
    let to = unix_now();
    assert_eq!(r.status, 201, "{}", r.body);
    assert_common(&r);
    assert_no_nulls(&r.body, &[]);
    assert_eq!(keys(&r.body), ["data", "message", "success"]);
    assert_eq!(r.body["success"], json!(true));
    assert_eq!(r.body["message"], json!("Note added successfully."));
    assert_eq!(
        r.body["data"]["note"],
        json!("Customer asked for callback tomorrow.")
    );
    assert_eq!(r.body["data"]["type"], json!("follow_up"));
    if r.body["data"].get("created_at").is_some() {
        assert_time(&r.body["data"]["created_at"], Some((from, to)));
    }
    // `type` defaults to `note`; the text is trimmed.
    let r = c.add_note(&id, &json!({"note": "  Called; no answer.  "}));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["message"], json!("Note added successfully."));
    assert_eq!(r.body["data"]["note"], json!("Called; no answer."));
    assert_eq!(r.body["data"]["type"], json!("note"));
    for t in ["customer_conversation", "rm_communication"] {
        let r = c.add_note(&id, &json!({"note": "x", "type": t}));
        assert_eq!(r.status, 201, "{}", r.body);
        assert_eq!(r.body["data"]["type"], json!(t));
    }
    let long = "न".repeat(2000);
    let r = c.add_note(&id, &json!({ "note": long }));
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["data"]["note"], json!(long));
}

/// Personal Loan: new → document_pending → (PAN, AADHAAR) → under_review.
#[test]
fn personal_loan_moves_to_under_review_once_pan_and_aadhaar_arrive() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    assert_eq!(c.journey_statuses(&id), ["new", "document_pending"]);

    // A type the product does not need changes nothing.
    let r = c.upload(&id, "PHOTO", "photo.png", &sample("photo.png"));
    assert_ok(&r, 201);
    assert_eq!(c.lead(&id).data()["status"], json!("document_pending"));
    let r = c.upload(&id, "pan", "pan-card.pdf", &sample("pan-card.pdf"));
    assert_eq!(assert_ok(&r, 201)["document_type"], json!("PAN"));
    assert_eq!(c.lead(&id).data()["status"], json!("document_pending"));
    assert_eq!(c.journey_statuses(&id), ["new", "document_pending"]);

    let r = c.upload(&id, "AADHAAR", "aadhaar.jpg", &sample("aadhaar-sample.jpg"));
    assert_ok(&r, 201);
    assert_eq!(c.lead(&id).data()["status"], json!("under_review"));
    let j = c.journey(&id);
    let j = assert_ok(&j, 200).as_array().unwrap().clone();
    assert_eq!(j.len(), 3);
    assert_eq!(j[0]["note"], json!("Lead received."));
    assert_eq!(j[1]["note"], json!("Documents required: PAN, AADHAAR."));
    assert_eq!(j[2]["status"], json!("under_review"));
    assert_eq!(j[2]["note"], json!("All required documents received."));
    let s = c.status(&id);
    let sd = assert_ok(&s, 200);
    assert_eq!(sd["lead_id"], json!(id));
    assert_eq!(sd["status"], json!("under_review"));
    assert_eq!(sd["message"], json!(UNDER_REVIEW_MESSAGE));

    // A second copy of a received type changes nothing.
    let r = c.upload(&id, "PAN", "pan-card.pdf", &sample("pan-card.pdf"));
    assert_ok(&r, 201);
    assert_eq!(
        c.journey_statuses(&id),
        ["new", "document_pending", "under_review"]
    );
}

#[test]
fn credit_card_needs_only_pan() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead_of("Credit Card", "9876543210");
    let j = c.journey(&id);
    let j = assert_ok(&j, 200).as_array().unwrap().clone();
    assert_eq!(j[1]["note"], json!("Documents required: PAN."));
    let r = c.upload(&id, "PAN", "pan-card.pdf", &sample("pan-card.pdf"));
    assert_ok(&r, 201);
    assert_eq!(c.lead(&id).data()["status"], json!("under_review"));
}

#[test]
fn insurance_lead_goes_straight_to_under_review() {
    let app = spawn_app();
    let c = app.admin();
    let r = c.create_lead(&json!({
        "product": "Insurance Services", "customer_name": "Neha Nair", "mobile": "+918614494472",
    }));
    let d = assert_ok(&r, 201);
    assert_eq!(d["status"], json!("under_review"));
    assert_eq!(d["product"], json!("Insurance Services"));
    let id = d["lead_id"].as_str().unwrap().to_string();
    assert_eq!(c.journey_statuses(&id), ["new", "under_review"]);
    let j = c.journey(&id);
    assert_eq!(j.data()[0]["note"], json!("Lead received."));
    let s = c.status(&id);
    assert_eq!(s.data()["status"], json!("under_review"));
    assert_eq!(s.data()["message"], json!(UNDER_REVIEW_MESSAGE));
}

#[test]
fn rms_are_assigned_round_robin_over_the_three() {
    let app = spawn_app();
    let c = app.admin();
    let mut rms: Vec<(Value, Value)> = Vec::new();
    for i in 0..7 {
        let id = c.new_lead(&format!("98765432{i:02}"));
        let r = c.rm(&id);
        let m = assert_ok(&r, 200);
        rms.push((m["rm_name"].clone(), m["rm_mobile"].clone()));
    }
    assert_ne!(rms[0], rms[1]);
    assert_ne!(rms[1], rms[2]);
    assert_ne!(rms[0], rms[2]);
    for i in 3..7 {
        assert_eq!(rms[i], rms[i - 3], "lead {i}");
    }
    for (name, mobile) in &rms {
        assert!(name.as_str().is_some_and(|s| !s.is_empty()));
        assert!(is_indian_mobile(mobile), "{mobile}");
    }
}

#[test]
fn rejecting_a_document_puts_the_lead_back_to_document_pending() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    assert_ok(&c.upload(&id, "PAN", "p.pdf", &sample("pan-card.pdf")), 201);
    assert_ok(
        &c.upload(&id, "AADHAAR", "a.jpg", &sample("aadhaar-sample.jpg")),
        201,
    );
    assert_eq!(c.lead(&id).data()["status"], json!("under_review"));

    // A partner key may not review documents; nothing changes.
    let partner = app.create_key(Role::Partner, "Acme", None);
    let p = app.with_key(&partner);
    let r = p.patch_document(&id, "DOC1001", &json!({"status": "rejected"}));
    assert_error(&r, 403);
    let r = p.patch_document(&id, "DOC1001", &json!({"status": "verified"}));
    assert_error(&r, 403);
    assert_eq!(c.lead(&id).data()["status"], json!("under_review"));
    assert_eq!(
        c.journey_statuses(&id),
        ["new", "document_pending", "under_review"]
    );

    let r = c.patch_document(&id, "DOC1001", &json!({"status": "rejected"}));
    let d = assert_ok(&r, 200);
    assert_eq!(d["status"], json!("rejected"));
    assert_eq!(d["document_type"], json!("PAN"));
    assert_eq!(c.lead(&id).data()["status"], json!("document_pending"));
    let j = c.journey(&id);
    let j = assert_ok(&j, 200).as_array().unwrap().clone();
    assert_eq!(j.len(), 4);
    assert_eq!(j[3]["status"], json!("document_pending"));
    assert_eq!(j[3]["note"], json!("Documents required: PAN."));
    // The journey is history: the earlier entries are as they were.
    assert_eq!(j[2]["status"], json!("under_review"));
    assert_eq!(j[2]["note"], json!("All required documents received."));

    // A new PAN settles it again.
    let r = c.upload(&id, "PAN", "p2.pdf", &sample("pan-card.pdf"));
    assert_eq!(assert_ok(&r, 201)["document_id"], json!("DOC1003"));
    assert_eq!(c.lead(&id).data()["status"], json!("under_review"));
    assert_eq!(
        c.journey_statuses(&id),
        [
            "new",
            "document_pending",
            "under_review",
            "document_pending",
            "under_review"
        ]
    );
}

#[test]
fn rejecting_a_document_of_a_document_pending_lead_asks_for_it_again() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    assert_ok(&c.upload(&id, "PAN", "p.pdf", &sample("pan-card.pdf")), 201);
    let r = c.patch_document(&id, "DOC1001", &json!({"status": "rejected"}));
    assert_ok(&r, 200);
    assert_eq!(c.lead(&id).data()["status"], json!("document_pending"));
    // AADHAAR alone is not enough now: PAN is awaited again.
    assert_ok(
        &c.upload(&id, "AADHAAR", "a.jpg", &sample("aadhaar-sample.jpg")),
        201,
    );
    assert_eq!(c.lead(&id).data()["status"], json!("document_pending"));
    assert_ok(&c.upload(&id, "PAN", "p.pdf", &sample("pan-card.pdf")), 201);
    assert_eq!(c.lead(&id).data()["status"], json!("under_review"));
    assert_eq!(
        c.journey_statuses(&id),
        ["new", "document_pending", "under_review"]
    );
}

#[test]
fn lead_ids_are_ld_local_date_and_a_daily_sequence() {
    let app = spawn_app();
    let c = app.admin();
    for n in 1..=3 {
        let day_before = today();
        let id = c.new_lead(&format!("912345678{n}"));
        let day_after = today();
        let ok = [&day_before, &day_after]
            .iter()
            .any(|d| id == format!("LD{d}{n:04}"));
        assert!(ok, "{id} for lead {n} on {day_before}");
        assert_eq!(id.len(), 14);
    }
}

#[test]
fn thirty_two_concurrent_creates_get_consecutive_unique_ids() {
    let app = spawn_app();
    let day = today();
    let mut got: Vec<(String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..32)
            .map(|i| {
                let app = &app;
                s.spawn(move || {
                    let mobile = format!("70000000{i:02}");
                    let r = app.admin().create_lead(&json!({
                        "product": "Home Loan", "customer_name": "Concurrent Tester",
                        "mobile": mobile, "loan_amount": 1000 + i,
                    }));
                    assert_eq!(r.status, 201, "{}", r.body);
                    (r.data()["lead_id"].as_str().unwrap().to_string(), mobile)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(today(), day, "the day changed during the test");
    got.sort();
    let ids: Vec<&str> = got.iter().map(|(id, _)| id.as_str()).collect();
    let want: Vec<String> = (1..=32).map(|n| format!("LD{day}{n:04}")).collect();
    assert_eq!(ids, want);
    // Each ID is the lead that was sent with it.
    let c = app.admin();
    for (id, mobile) in &got {
        let r = c.lead(id);
        assert_eq!(assert_ok(&r, 200)["mobile"], json!(mobile), "{id}");
    }
    // And RMs were spread evenly over the three.
    let mut counts = std::collections::BTreeMap::new();
    for (id, _) in &got {
        *counts
            .entry(c.rm(id).data()["rm_name"].to_string())
            .or_insert(0) += 1;
    }
    let mut n: Vec<i32> = counts.values().copied().collect();
    n.sort();
    assert_eq!(n, [10, 11, 11], "{counts:?}");
}

#[test]
fn unicode_names_round_trip_exactly() {
    let app = spawn_app();
    let c = app.admin();
    let names = [
        "राहुल शर्मा",
        "கார்த்திக் சுப்பிரமணியன்",
        "সৌমিত্র চট্টোপাধ্যায়",
        "ಕಾವ್ಯ ರಾವ್",
        "ਗੁਰਪ੍ਰੀਤ ਕੌਰ",
        // Decomposed (NFD) accents are kept as sent, not normalised.
        "Jose\u{301} D'Souza",
        "Mary-Ann O'Brien",
    ];
    for (i, name) in names.iter().enumerate() {
        let r = c.create_lead(&json!({
            "product": "Saving Account", "customer_name": name,
            "mobile": format!("81234567{i:02}"), "city": "दिल्ली",
        }));
        let d = assert_ok(&r, 201).clone();
        assert_eq!(d["customer_name"], json!(name));
        assert_eq!(d["city"], json!("दिल्ली"));
        let id = d["lead_id"].as_str().unwrap();
        let v = c.lead(id);
        assert_eq!(
            v.data()["customer_name"].as_str().unwrap().as_bytes(),
            name.as_bytes()
        );
        // And a PATCH to another script.
        let other = names[(i + 1) % names.len()];
        let p = c.patch_lead(id, &json!({ "customer_name": other }));
        assert_eq!(assert_ok(&p, 200)["customer_name"], json!(other));
        assert_eq!(c.lead(id).data()["customer_name"], json!(other));
    }
}

#[test]
fn every_response_has_a_distinct_request_id() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let replies = vec![
        c.get("/api/v1/products"),
        c.lead(&id),
        c.lead("LD000000000000"),
        app.anonymous().get("/api/v1/products"),
        c.get("/nope"),
        c.raw("DELETE", "/api/v1/leads", "application/json", b"{}"),
        c.raw("POST", "/api/v1/leads", "text/plain", b"{}"),
        c.raw("POST", "/api/v1/leads", "application/json", b"{"),
        c.create_lead(&json!({})),
        app.anonymous().get("/healthz"),
    ];
    let mut ids: Vec<String> = replies
        .iter()
        .map(|r| {
            assert_common(r);
            r.header("X-Request-Id").unwrap().to_string()
        })
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), replies.len(), "{ids:?}");
}
