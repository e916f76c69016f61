//! Every error class with the ErrorResponse shape, the field rules of DESIGN.md, and the
//! order in which the status codes are checked. Each bad request must store nothing.

use crate::helpers::*;
use dhanita::model::Role;
use serde_json::{json, Value};

fn base() -> Value {
    json!({"product": "Personal Loan", "customer_name": "Test User", "mobile": "9876543210"})
}

/// `base()` with `field` set to `value`.
fn with(field: &str, value: Value) -> Value {
    let mut b = base();
    b[field] = value;
    b
}

fn without(field: &str) -> Value {
    let mut b = base();
    b.as_object_mut().unwrap().remove(field);
    b
}

fn allow_set(r: &Reply) -> Vec<String> {
    let mut v: Vec<String> = r
        .header("Allow")
        .unwrap_or_else(|| panic!("no Allow header on a 405: {:?}", r.headers))
        .split(',')
        .map(|m| m.trim().to_ascii_uppercase())
        .filter(|m| m != "HEAD" && m != "OPTIONS" && !m.is_empty())
        .collect();
    v.sort();
    v
}

/// An email of exactly `len` characters: `a@` and a domain of 50-letter labels.
fn email_of_len(len: usize) -> String {
    let mut left = len - "a@".len() - ".com".len();
    let mut domain = String::new();
    while left > 51 {
        domain.push_str(&"b".repeat(50));
        domain.push('.');
        left -= 51;
    }
    domain.push_str(&"b".repeat(left));
    let e = format!("a@{domain}.com");
    assert_eq!(e.len(), len);
    e
}

#[test]
fn missing_unknown_or_empty_key_is_401_on_every_operation() {
    let app = spawn_app();
    let id = app.admin().new_lead("9876543210");
    let pdf = sample("pan-card.pdf");
    assert_ok(&app.admin().upload(&id, "PAN", "p.pdf", &pdf), 201);
    let bad = app.with_key("dk_0000000000000000000000000000000000000000000000");
    let empty = app.with_key("");
    for c in [app.anonymous(), bad, empty] {
        let replies = [
            c.get("/api/v1/products"),
            c.get("/api/v1/products/categories"),
            c.get("/api/v1/products/lender-mapping"),
            c.get("/api/v1/products/lender-mapping?product_code=PERSONAL_LOAN"),
            c.get("/api/v1/statuses"),
            c.get("/api/v1/document-types"),
            c.create_lead(&json!({
                "product": "Home Loan", "customer_name": "No Key", "mobile": "9123456789"})),
            c.lead(&id),
            c.patch_lead(&id, &json!({"city": "Pune"})),
            c.journey(&id),
            c.status(&id),
            c.disbursement(&id),
            c.rm(&id),
            c.upload(&id, "AADHAAR", "a.jpg", &sample("aadhaar-sample.jpg")),
            c.patch_document(&id, "DOC1001", &json!({"document_type": "PHOTO"})),
            c.add_note(&id, &json!({"note": "hello"})),
        ];
        for r in &replies {
            assert_error(r, 401);
            assert!(r.body.get("errors").is_none(), "{}", r.body);
        }
    }
    // Nothing was stored by any of them.
    let c = app.admin();
    assert_eq!(c.lead(&id).data()["city"], Value::Null);
    assert_eq!(c.journey_statuses(&id), ["new", "document_pending"]);
    let next = c.new_lead_of("Home Loan", "9123456789");
    assert_eq!(next, format!("LD{}0002", today()));
    let r = c.upload(&id, "AADHAAR", "a.jpg", &sample("aadhaar-sample.jpg"));
    assert_eq!(assert_ok(&r, 201)["document_id"], json!("DOC1002"));
}

#[test]
fn malformed_or_non_object_json_is_400_and_stores_nothing() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let bodies: [&[u8]; 13] = [
        b"{\"product\": ",
        b"{'product': 'Personal Loan'}",
        b"{\"product\": \"Personal Loan\",}",
        b"{} trailing",
        b"\xff\xfe{}",
        b"{\"customer_name\": \"\xc3\x28\"}",
        b"",
        b"   ",
        b"[]",
        b"[{\"product\": \"Personal Loan\"}]",
        b"\"Personal Loan\"",
        b"42",
        b"null",
    ];
    for body in bodies {
        let text = String::from_utf8_lossy(body).to_string();
        for path in [
            "/api/v1/leads".to_string(),
            format!("/api/v1/leads/{id}/notes"),
        ] {
            let r = c.raw("POST", &path, "application/json", body);
            assert_error(&r, 400);
            assert!(r.body.get("errors").is_none(), "{text}: {}", r.body);
        }
        let r = c.raw(
            "PATCH",
            &format!("/api/v1/leads/{id}"),
            "application/json",
            body,
        );
        assert_error(&r, 400);
    }
    for body in [
        &b"true"[..],
        b"[1, 2]",
        b"\xEF\xBB\xBF",
        b"\xEF\xBB\xBF  ",
        b"\xEF\xBB{}",
    ] {
        let r = c.raw("POST", "/api/v1/leads", "application/json", body);
        assert_error(&r, 400);
    }
    let r = c.lead(&id);
    assert_eq!(r.data()["customer_name"], json!("Rahul Sharma"));
    assert_eq!(c.journey_statuses(&id), ["new", "document_pending"]);
    assert_eq!(
        c.new_lead_of("Car Loan", "9876543210"),
        format!("LD{}0002", today())
    );
    // A UTF-8 byte order mark before the JSON (RFC 8259 lets a parser ignore it).
    let r = c.raw(
        "POST",
        "/api/v1/leads",
        "application/json",
        b"\xEF\xBB\xBF{\"product\": \"Home Loan\", \"customer_name\": \"Asha\", \"mobile\": \"9876543210\"}",
    );
    assert_eq!(
        assert_ok(&r, 201)["lead_id"],
        json!(format!("LD{}0003", today()))
    );
    let r = c.raw(
        "PATCH",
        &format!("/api/v1/leads/{id}"),
        "application/json",
        b"\xEF\xBB\xBF{\"city\": \"Pune\"}",
    );
    assert_eq!(assert_ok(&r, 200)["city"], json!("Pune"));
}

#[test]
fn wrong_content_type_is_415_and_stores_nothing() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let lead = serde_json::to_vec(
        &json!({"product": "Home Loan", "customer_name": "Type Tester", "mobile": "9123456789"}),
    )
    .unwrap();
    for ct in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
    ] {
        let r = c.raw("POST", "/api/v1/leads", ct, &lead);
        assert_error(&r, 415);
        let r = c.raw(
            "PATCH",
            &format!("/api/v1/leads/{id}"),
            ct,
            br#"{"city":"Pune"}"#,
        );
        assert_error(&r, 415);
        let r = c.raw(
            "POST",
            &format!("/api/v1/leads/{id}/notes"),
            ct,
            br#"{"note":"x"}"#,
        );
        assert_error(&r, 415);
    }
    let r = c.raw_untyped("POST", "/api/v1/leads", &lead);
    assert_error(&r, 415);

    // An upload must be multipart/form-data.
    let (_, multipart_body) = multipart(&[
        ("document_type", None, b"PAN"),
        ("file", Some("p.pdf"), &sample("pan-card.pdf")),
    ]);
    for ct in ["application/json", "text/plain", "application/pdf"] {
        let r = c.raw(
            "POST",
            &format!("/api/v1/leads/{id}/documents"),
            ct,
            &multipart_body,
        );
        assert_error(&r, 415);
    }
    let r = c.raw(
        "POST",
        &format!("/api/v1/leads/{id}/documents"),
        "application/json",
        br#"{"document_type": "PAN", "file": "JVBERi0xLjQ="}"#,
    );
    assert_error(&r, 415);
    assert_ok(&c.upload(&id, "PAN", "p.pdf", &sample("pan-card.pdf")), 201);

    // A JSON media type with parameters or in another case is JSON.
    for (i, ct) in ["application/json; charset=utf-8", "Application/JSON"]
        .iter()
        .enumerate()
    {
        let r = c.raw(
            "PATCH",
            &format!("/api/v1/leads/{id}"),
            ct,
            format!(r#"{{"city":"City {i}"}}"#).as_bytes(),
        );
        assert_eq!(assert_ok(&r, 200)["city"], json!(format!("City {i}")));
    }
    // Nothing else was stored.
    assert_eq!(c.journey_statuses(&id), ["new", "document_pending"]);
    assert_eq!(
        c.new_lead_of("Home Loan", "9123456789"),
        format!("LD{}0002", today())
    );
    let r = c.upload(&id, "AADHAAR", "a.jpg", &sample("aadhaar-sample.jpg"));
    assert_eq!(assert_ok(&r, 201)["document_id"], json!("DOC1002"));
}

/// (what, body, fields named in `errors`)
fn invalid_creates() -> Vec<(String, Value, Vec<&'static str>)> {
    let mut v: Vec<(String, Value, Vec<&'static str>)> = Vec::new();
    let mut add = |what: &str, body: Value, fields: &[&'static str]| {
        v.push((what.to_string(), body, fields.to_vec()))
    };
    // customer_name
    for name in [
        json!("A"),
        json!(""),
        json!("   "),
        json!(" A "),
        json!("12345"),
        json!("!!!"),
        json!("1-2-3"),
        json!("..."),
        json!("१२३४५"),
        json!("Ra\u{7}hul"),
        json!("Rahul\nSharma"),
        json!("Rahul\tSharma"),
        json!("Rahul\u{0}"),
        json!("a".repeat(101)),
        json!("अ".repeat(101)),
        json!(42),
        json!(["Rahul"]),
        Value::Null,
    ] {
        add(
            &format!("customer_name {name}"),
            with("customer_name", name),
            &["customer_name"],
        );
    }
    add(
        "no customer_name",
        without("customer_name"),
        &["customer_name"],
    );
    // mobile
    for m in [
        json!("12345"),
        json!("5876543210"),
        json!("0876543210"),
        json!("+91 58765 43210"),
        json!("+91 12345 67890"),
        json!("987654321"),
        json!("98765432101"),
        json!("+9198765432"),
        json!("+91987654321"),
        json!("９８７６５４３２１０"),
        json!("९८७६५४३२१०"),
        json!("98765.43210"),
        json!("(98765) 43210"),
        json!("+1 9876543210"),
        json!("0091 98765 43210"),
        json!("+910987654321"),
        json!("98765 4321"),
        json!("abcdefghij"),
        json!(""),
        json!(9876543210u64),
        json!(true),
        json!(["9876543210"]),
        Value::Null,
    ] {
        add(&format!("mobile {m}"), with("mobile", m), &["mobile"]);
    }
    add("no mobile", without("mobile"), &["mobile"]);
    // email
    for e in [
        json!("not-an-email"),
        json!("rahul@example"),
        json!("a@@example.com"),
        json!("a@b@example.com"),
        json!("rahul sharma@example.com"),
        json!("rahul@exa mple.com"),
        json!("@example.com"),
        json!("rahul@"),
        json!(""),
        json!(email_of_len(255)),
        json!(5),
    ] {
        add(&format!("email {e}"), with("email", e), &["email"]);
    }
    // loan_amount
    for a in [
        json!(0),
        json!(-5),
        json!(-0.01),
        json!(1_000_000_001u64),
        json!(1_000_000_000.01),
        json!(1234.567),
        json!(0.001),
        json!("500000"),
        json!(true),
        json!([500000]),
    ] {
        add(
            &format!("loan_amount {a}"),
            with("loan_amount", a),
            &["loan_amount"],
        );
    }
    // city
    for city in [json!(""), json!("c".repeat(101)), json!(42)] {
        add(&format!("city {city}"), with("city", city), &["city"]);
    }
    // dsa_code
    for d in [
        json!("AB"),
        json!(""),
        json!("D".repeat(33)),
        json!("DSA 123"),
        json!("DSA@123"),
        json!("DSA.123"),
        json!("डीएसए123"),
        json!(12345),
    ] {
        add(&format!("dsa_code {d}"), with("dsa_code", d), &["dsa_code"]);
    }
    // product
    for p in [
        json!("Gold Loan X"),
        json!("Personal"),
        json!(""),
        json!("   "),
        json!(42),
        Value::Null,
    ] {
        add(&format!("product {p}"), with("product", p), &["product"]);
    }
    add("no product", without("product"), &["product"]);
    add(
        "empty object",
        json!({}),
        &["customer_name", "mobile", "product"],
    );
    // Every problem at once, keyed by field.
    add(
        "all fields bad",
        json!({
            "product": "Gold Loan X", "customer_name": "1", "mobile": "12345",
            "email": "x", "loan_amount": 0, "city": "", "dsa_code": "a",
        }),
        &[
            "city",
            "customer_name",
            "dsa_code",
            "email",
            "loan_amount",
            "mobile",
            "product",
        ],
    );
    v
}

#[test]
fn every_create_field_rule_is_a_422_keyed_by_field_and_stores_nothing() {
    let app = spawn_app();
    let c = app.admin();
    let first = c.new_lead_of("Home Loan", "9000000000");
    assert_eq!(first, format!("LD{}0001", today()));
    let mut failures = Vec::new();
    for (what, body, fields) in invalid_creates() {
        let r = c.create_lead(&body);
        if r.status != 422 || r.error_fields() != fields {
            failures.push(format!(
                "{what}: expected 422 {fields:?}, got {} {}",
                r.status, r.body
            ));
            continue;
        }
        assert_fields(&r, &fields);
        assert_eq!(r.body["message"].as_str().map(str::is_empty), Some(false));
    }
    // Numbers judged as written: these literals never pass through a float.
    for raw in [
        "1234.567",
        "0.001",
        "1e-3",
        "1000000000.01",
        "1e10",
        "1e400",
        "-0",
        "0.00",
        "-1e2",
    ] {
        let body = format!(
            r#"{{"product":"Personal Loan","customer_name":"Test User","mobile":"9876543210","loan_amount":{raw}}}"#
        );
        let r = c.raw("POST", "/api/v1/leads", "application/json", body.as_bytes());
        if r.status != 422 || r.error_fields() != ["loan_amount"] {
            failures.push(format!(
                "loan_amount {raw}: expected 422 [loan_amount], got {} {}",
                r.status, r.body
            ));
            continue;
        }
        assert_fields(&r, &["loan_amount"]);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // None of them took a lead number.
    assert_eq!(
        c.new_lead_of("Home Loan", "9000000001"),
        format!("LD{}0002", today())
    );
}

#[test]
fn create_field_rules_accept_their_edges_and_normalise() {
    let app = spawn_app();
    let c = app.admin();
    let mut n = 0;
    let mut mobile = || {
        n += 1;
        format!("70000{n:05}")
    };
    let check = |body: Value, field: &str, want: Value| {
        let r = c.create_lead(&body);
        let d = assert_ok(&r, 201);
        assert_eq!(d[field], want, "{body} -> {}", r.body);
    };
    let lead = |extra: Value, m: String| {
        let mut b = json!({"product": "Personal Loan", "customer_name": "Edge Case", "mobile": m});
        for (k, v) in extra.as_object().unwrap() {
            b[k] = v.clone();
        }
        b
    };
    // Mobiles in the formats people type.
    for (given, want) in [
        ("9876543210", "9876543210"),
        ("+91 98765 43211", "9876543211"),
        ("+919876543212", "9876543212"),
        ("919876543213", "9876543213"),
        ("09876543214", "9876543214"),
        ("98765-43215", "9876543215"),
        ("+91-6123-456-789", "6123456789"),
        ("0 8123 456 789", "8123456789"),
        ("91 91234 56789", "9123456789"),
        ("9127723529", "9127723529"),
        ("9198765432", "9198765432"),
    ] {
        check(lead(json!({}), given.into()), "mobile", json!(want));
    }
    // Names: trimmed, 2 and 100 characters, any script, apostrophes and digits with letters.
    for (given, want) in [
        ("  Rahul  ", "Rahul".to_string()),
        ("Al", "Al".to_string()),
        (&"a".repeat(100), "a".repeat(100)),
        (&"क".repeat(100), "क".repeat(100)),
        ("Mary D'Souza", "Mary D'Souza".to_string()),
        ("Rahul Sharma 2", "Rahul Sharma 2".to_string()),
    ] {
        check(
            lead(json!({ "customer_name": given }), mobile()),
            "customer_name",
            json!(want),
        );
    }
    // Email: domain lowercased, `+` kept, 254 characters allowed.
    check(
        lead(json!({"email": "Rahul.Sharma+loans@Example.COM"}), mobile()),
        "email",
        json!("Rahul.Sharma+loans@example.com"),
    );
    let e254 = email_of_len(254);
    check(
        lead(json!({ "email": e254 }), mobile()),
        "email",
        json!(e254),
    );
    // Money.
    for (given, want) in [
        (json!(1_000_000_000u64), "1000000000"),
        (json!(0.01), "0.01"),
        (json!(19.99), "19.99"),
        (json!(500000), "500000"),
    ] {
        let r = c.create_lead(&lead(json!({ "loan_amount": given }), mobile()));
        let d = assert_ok(&r, 201);
        assert_eq!(d["loan_amount"].to_string(), want, "{given}");
    }
    for (raw, want) in [
        ("1234.50", "1234.5"),
        ("5e5", "500000"),
        ("100.10", "100.1"),
        ("1E3", "1000"),
        ("250000.00", "250000"),
        ("12.34e1", "123.4"),
    ] {
        let body = format!(
            r#"{{"product":"Personal Loan","customer_name":"Edge Case","mobile":"{}","loan_amount":{raw}}}"#,
            mobile()
        );
        let r = c.raw("POST", "/api/v1/leads", "application/json", body.as_bytes());
        let d = assert_ok(&r, 201);
        assert_eq!(d["loan_amount"].to_string(), want, "{raw}");
        // And the stored value reads back the same.
        let id = d["lead_id"].as_str().unwrap();
        assert_eq!(c.lead(id).data()["loan_amount"].to_string(), want, "{raw}");
    }
    // City 1 and 100 characters; DSA codes 3 and 32, uppercased.
    check(lead(json!({"city": "X"}), mobile()), "city", json!("X"));
    let city = "च".repeat(100);
    check(lead(json!({ "city": city }), mobile()), "city", json!(city));
    check(
        lead(json!({"dsa_code": "abc"}), mobile()),
        "dsa_code",
        json!("ABC"),
    );
    check(
        lead(json!({"dsa_code": "dsa-12_x"}), mobile()),
        "dsa_code",
        json!("DSA-12_X"),
    );
    let d32 = "D".repeat(32);
    check(
        lead(json!({ "dsa_code": d32 }), mobile()),
        "dsa_code",
        json!(d32),
    );
    // Products by name or code, any case, trimmed; returned as the name.
    for p in [
        " personal loan ",
        "PERSONAL_LOAN",
        "personal_loan",
        "Personal Loan",
    ] {
        check(
            lead(json!({ "product": p }), mobile()),
            "product",
            json!("Personal Loan"),
        );
    }
    // Unknown fields are ignored on create.
    let r = c.create_lead(&lead(
        json!({"status": "approved", "lead_id": "LD000", "foo": {"bar": 1}}),
        mobile(),
    ));
    let d = assert_ok(&r, 201);
    assert_eq!(d["status"], json!("document_pending"));
    assert!(d.get("foo").is_none());
    assert!(d["lead_id"]
        .as_str()
        .unwrap()
        .starts_with(&format!("LD{}", today())));
}

#[test]
fn patch_rules_are_422_keyed_by_field_and_store_nothing() {
    let app = spawn_app();
    let c = app.admin();
    let r = c.create_lead(&json!({
        "product": "Personal Loan", "customer_name": "Rahul Sharma", "mobile": "9876543210",
        "email": "rahul@example.com", "loan_amount": 500000, "city": "Faridabad",
        "dsa_code": "DSA12345",
    }));
    let created = assert_ok(&r, 201).clone();
    let id = created["lead_id"].as_str().unwrap().to_string();
    let immutable = [
        ("mobile", json!("9123456789")),
        ("product", json!("Home Loan")),
        ("status", json!("approved")),
        ("lead_id", json!(format!("LD{}0099", today()))),
        ("dsa_code", json!("DSA99999")),
        ("created_at", json!("2026-01-01T00:00:00+05:30")),
    ];
    for (field, value) in &immutable {
        let r = c.patch_lead(&id, &json!({ *field: value }));
        assert_fields(&r, &[field]);
        // Alongside a valid change, only the immutable field is named and nothing changes.
        let r = c.patch_lead(
            &id,
            &json!({ *field: value, "customer_name": "Changed Name" }),
        );
        assert_fields(&r, &[field]);
        // Even the current value may not be sent.
        let r = c.patch_lead(&id, &json!({ *field: created[*field] }));
        assert_fields(&r, &[field]);
    }
    let mut all = serde_json::Map::new();
    for (f, v) in &immutable {
        all.insert(f.to_string(), v.clone());
    }
    let r = c.patch_lead(&id, &Value::Object(all));
    assert_fields(
        &r,
        &[
            "created_at",
            "dsa_code",
            "lead_id",
            "mobile",
            "product",
            "status",
        ],
    );

    // An empty update.
    let r = c.patch_lead(&id, &json!({}));
    assert_error(&r, 422);

    // Field rules.
    for (body, fields) in [
        (json!({"customer_name": "A"}), vec!["customer_name"]),
        (json!({"customer_name": "12345"}), vec!["customer_name"]),
        (json!({"customer_name": null}), vec!["customer_name"]),
        (json!({"customer_name": 7}), vec!["customer_name"]),
        (json!({"loan_amount": 0}), vec!["loan_amount"]),
        (json!({"loan_amount": -1}), vec!["loan_amount"]),
        (
            json!({"loan_amount": 1_000_000_001u64}),
            vec!["loan_amount"],
        ),
        (json!({"loan_amount": 1.001}), vec!["loan_amount"]),
        (json!({"loan_amount": "650000"}), vec!["loan_amount"]),
        (json!({"email": "x"}), vec!["email"]),
        (json!({"email": "a@b"}), vec!["email"]),
        (json!({"city": ""}), vec!["city"]),
        (json!({"city": "c".repeat(101)}), vec!["city"]),
        (
            json!({"customer_name": "", "loan_amount": 0, "email": "x", "city": ""}),
            vec!["city", "customer_name", "email", "loan_amount"],
        ),
        (
            json!({"city": "Pune", "mobile": "9876543210"}),
            vec!["mobile"],
        ),
    ] {
        let r = c.patch_lead(&id, &body);
        assert_fields(&r, &fields);
    }
    // Nothing of it was stored.
    let r = c.lead(&id);
    assert_eq!(r.data(), &created);
    assert_eq!(c.journey_statuses(&id), ["new", "document_pending"]);
}

#[test]
fn note_rules_are_422_keyed_by_field_and_store_nothing() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    for (body, fields) in [
        (json!({}), vec!["note"]),
        (json!({"note": null}), vec!["note"]),
        (json!({"note": ""}), vec!["note"]),
        (json!({"note": "   \n "}), vec!["note"]),
        (json!({"note": "n".repeat(2001)}), vec!["note"]),
        (json!({"note": 42}), vec!["note"]),
        (json!({"note": "ok", "type": "gossip"}), vec!["type"]),
        (json!({"note": "ok", "type": 3}), vec!["type"]),
        (json!({"note": "", "type": "gossip"}), vec!["note", "type"]),
        (json!({"type": "follow_up"}), vec!["note"]),
    ] {
        let r = c.add_note(&id, &body);
        assert_fields(&r, &fields);
    }
    // The next note is the first one stored.
    let r = c.add_note(&id, &json!({"note": "first"}));
    assert_eq!(r.status, 201, "{}", r.body);
    let r = c.get(&format!("/api/v1/leads/{id}/notes"));
    let notes = assert_ok(&r, 200).as_array().expect("list").clone();
    assert_eq!(notes.len(), 1, "{}", r.body);
    assert_eq!(notes[0]["note"], json!("first"));
}

#[test]
fn unknown_leads_documents_and_routes_are_404() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9876543210");
    let other = c.new_lead_of("Home Loan", "9123456789");
    assert_ok(
        &c.upload(&other, "PAN", "p.pdf", &sample("pan-card.pdf")),
        201,
    );
    let missing = format!("LD{}9999", today());
    let pdf = sample("pan-card.pdf");
    for lead in [
        missing.as_str(),
        "LD000000000000",
        "nope",
        "ld20260518000１",
    ] {
        let replies = [
            c.lead(lead),
            c.patch_lead(lead, &json!({"city": "Pune"})),
            c.journey(lead),
            c.status(lead),
            c.disbursement(lead),
            c.rm(lead),
            c.upload(lead, "PAN", "p.pdf", &pdf),
            c.patch_document(lead, "DOC1001", &json!({"document_type": "PHOTO"})),
            c.add_note(lead, &json!({"note": "hello"})),
        ];
        let first = replies[0].body.clone();
        for r in &replies {
            assert_error(r, 404);
            assert!(r.body.get("errors").is_none(), "{}", r.body);
            assert_eq!(r.body, first, "the same body for every lead operation");
        }
    }
    // Unknown documents, including one of another lead.
    for doc in ["DOC9999", "DOC1001", "doc1001", "1001"] {
        let r = c.patch_document(&id, doc, &json!({"document_type": "PHOTO"}));
        assert_error(&r, 404);
    }
    // Unknown routes, with or without a key.
    for path in [
        "/",
        "/api",
        "/api/v1",
        "/api/v1/nope",
        "/api/v2/products",
        "/api/v1/leads/x/nope",
        "/api/v1/products/categories/extra",
        "/API/V1/PRODUCTS",
        "/api/v1/leads/x/documents/y/z/w",
        "/index.html",
    ] {
        for cl in [app.anonymous(), app.admin()] {
            let r = cl.get(path);
            assert_error(&r, 404);
        }
    }
    // The lead that was patched through a bogus document id is unchanged.
    let r = c.upload(&id, "PAN", "p.pdf", &pdf);
    assert_eq!(assert_ok(&r, 201)["document_id"], json!("DOC1002"));
}

#[test]
fn wrong_method_is_405_with_allow() {
    let app = spawn_app();
    let id = app.admin().new_lead("9876543210");
    let cases = [
        ("DELETE", "/api/v1/products".to_string(), vec!["GET"]),
        ("POST", "/api/v1/products".to_string(), vec!["GET"]),
        (
            "PUT",
            "/api/v1/products/categories".to_string(),
            vec!["GET"],
        ),
        ("DELETE", "/api/v1/statuses".to_string(), vec!["GET"]),
        ("POST", "/api/v1/document-types".to_string(), vec!["GET"]),
        ("DELETE", "/api/v1/leads".to_string(), vec!["GET", "POST"]),
        (
            "DELETE",
            format!("/api/v1/leads/{id}"),
            vec!["GET", "PATCH"],
        ),
        ("PUT", format!("/api/v1/leads/{id}"), vec!["GET", "PATCH"]),
        ("POST", format!("/api/v1/leads/{id}/journey"), vec!["GET"]),
        (
            "GET",
            format!("/api/v1/leads/{id}/documents/DOC1001"),
            vec!["PATCH"],
        ),
        (
            "DELETE",
            format!("/api/v1/leads/{id}/notes"),
            vec!["GET", "POST"],
        ),
    ];
    for (method, path, allowed) in cases {
        for c in [app.admin(), app.anonymous()] {
            let r = c.raw(method, &path, "application/json", b"{}");
            assert_error(&r, 405);
            assert_eq!(allow_set(&r), allowed, "{method} {path}");
            assert!(r.body.get("errors").is_none());
        }
    }
    // Nothing was deleted.
    assert_ok(&app.admin().lead(&id), 200);
}

#[test]
fn json_body_over_one_mib_is_413() {
    let app = spawn_app();
    let c = app.admin();
    let limit = 1usize << 20;
    let body_of = |mobile: &str, len: usize| {
        let head = format!(
            r#"{{"product":"Personal Loan","customer_name":"Big Body","mobile":"{mobile}","pad":""#
        );
        let tail = "\"}";
        let pad = len - head.len() - tail.len();
        let b = format!("{head}{}{tail}", "x".repeat(pad));
        assert_eq!(b.len(), len);
        b.into_bytes()
    };
    // Exactly at the limit is fine (the unknown field is ignored).
    let r = c.raw(
        "POST",
        "/api/v1/leads",
        "application/json",
        &body_of("9123456780", limit),
    );
    assert_eq!(
        assert_ok(&r, 201)["lead_id"],
        json!(format!("LD{}0001", today()))
    );
    // One byte more is not, declared or chunked.
    let r = c.raw(
        "POST",
        "/api/v1/leads",
        "application/json",
        &body_of("9123456781", limit + 1),
    );
    assert_error(&r, 413);
    let r = c.raw_chunked(
        "POST",
        "/api/v1/leads",
        "application/json",
        body_of("9123456782", limit + 1),
    );
    assert_error(&r, 413);
    let r = c.raw(
        "POST",
        "/api/v1/leads",
        "application/json",
        &body_of("9123456783", 3 * limit),
    );
    assert_error(&r, 413);
    let id = format!("LD{}0001", today());
    let r = c.raw(
        "PATCH",
        &format!("/api/v1/leads/{id}"),
        "application/json",
        &body_of("9123456784", limit + 1),
    );
    assert_error(&r, 413);
    let note = format!(r#"{{"note":"{}"}}"#, "n".repeat(limit));
    let r = c.raw(
        "POST",
        &format!("/api/v1/leads/{id}/notes"),
        "application/json",
        note.as_bytes(),
    );
    assert_error(&r, 413);
    // Nothing stored: the next lead is the second.
    assert_eq!(c.new_lead("9123456785"), format!("LD{}0002", today()));
    let r = c.get(&format!("/api/v1/leads/{id}/notes"));
    assert_eq!(assert_ok(&r, 200), &json!([]));
}

/// DESIGN.md's order: unknown path 404; 405; 401; 403; 415; 413; 400; 404; 422; 409.
#[test]
fn status_codes_are_checked_in_design_order() {
    let app = spawn_app();
    let c = app.admin();
    let anon = app.anonymous();
    let id = c.new_lead("9876543210");
    let missing = format!("LD{}9999", today());
    let big = vec![b'x'; (1 << 20) + 10];

    // Unknown path before auth.
    assert_error(&anon.get("/api/v1/nope"), 404);
    assert_error(&anon.raw("POST", "/api/v1/nope", "text/plain", b"x"), 404);
    // 405 before 401.
    assert_error(
        &anon.raw("DELETE", "/api/v1/leads", "text/plain", b"x"),
        405,
    );
    assert_error(
        &anon.raw(
            "PUT",
            &format!("/api/v1/leads/{missing}"),
            "text/plain",
            b"x",
        ),
        405,
    );
    // 401 before 415, 413, 400 and 404.
    assert_error(&anon.raw("POST", "/api/v1/leads", "text/plain", b"x"), 401);
    assert_error(
        &anon.raw("POST", "/api/v1/leads", "application/json", &big),
        401,
    );
    assert_error(
        &anon.raw("POST", "/api/v1/leads", "application/json", b"{"),
        401,
    );
    assert_error(&anon.lead(&missing), 401);
    // 403 (a partner reviewing a document) before 415, 400, 404 and 422.
    let partner = app.create_key(Role::Partner, "Acme", None);
    let p = app.with_key(&partner);
    let doc_path = format!("/api/v1/leads/{missing}/documents/DOC9999");
    assert_error(
        &p.patch_document(&missing, "DOC9999", &json!({"status": "verified"})),
        403,
    );
    assert_error(
        &p.patch_document(
            &missing,
            "DOC9999",
            &json!({"status": "bogus", "document_type": 1}),
        ),
        403,
    );
    // A back-office operation is refused before its body is even read.
    assert_error(
        &p.raw(
            "POST",
            &format!("/api/v1/leads/{missing}/status"),
            "text/plain",
            b"{",
        ),
        403,
    );
    // 415 before 413 and 400.
    assert_error(&c.raw("POST", "/api/v1/leads", "text/plain", &big), 415);
    assert_error(&c.raw("POST", "/api/v1/leads", "text/plain", b"{"), 415);
    assert_error(&c.raw("PATCH", &doc_path, "text/plain", b"{"), 415);
    // 413 before 400.
    assert_error(
        &c.raw("POST", "/api/v1/leads", "application/json", &big),
        413,
    );
    // 415 and 413 before 404.
    assert_error(
        &c.raw(
            "PATCH",
            &format!("/api/v1/leads/{missing}"),
            "text/plain",
            b"{}",
        ),
        415,
    );
    assert_error(
        &c.raw(
            "PATCH",
            &format!("/api/v1/leads/{missing}"),
            "application/json",
            &big,
        ),
        413,
    );
    // 400 before 404.
    assert_error(
        &c.raw(
            "PATCH",
            &format!("/api/v1/leads/{missing}"),
            "application/json",
            b"{",
        ),
        400,
    );
    assert_error(
        &c.raw(
            "POST",
            &format!("/api/v1/leads/{missing}/notes"),
            "application/json",
            b"[]",
        ),
        400,
    );
    assert_error(
        &c.raw("PATCH", &doc_path, "application/json", b"\"x\""),
        400,
    );
    // 404 before 422.
    assert_error(&c.add_note(&missing, &json!({"note": ""})), 404);
    assert_error(&c.add_note(&missing, &json!({})), 404);
    assert_error(&c.patch_lead(&missing, &json!({"mobile": "1"})), 404);
    assert_error(&c.patch_lead(&missing, &json!({})), 404);
    assert_error(
        &c.upload(&missing, "NOPE", "f.txt", &sample("fake-pdf.txt")),
        404,
    );
    assert_error(
        &c.patch_document(&id, "DOC9999", &json!({"document_type": "NOPE"})),
        404,
    );

    // 422 before 409: a duplicate open lead with a field error is a 422 ...
    let r = c.create_lead(&json!({
        "product": "Personal Loan", "customer_name": "Rahul Sharma", "mobile": "9876543210",
        "email": "bad",
    }));
    assert_fields(&r, &["email"]);
    // ... and without one, a 409.
    let r = c.create_lead(&json!({
        "product": "Personal Loan", "customer_name": "Rahul Sharma", "mobile": "9876543210",
    }));
    assert_error(&r, 409);

    // A terminal lead: field errors are still 422, valid changes 409, notes allowed.
    assert_ok(&c.upload(&id, "PAN", "p.pdf", &sample("pan-card.pdf")), 201);
    let r = c.json(
        "POST",
        &format!("/api/v1/leads/{id}/status"),
        &json!({"status": "rejected", "note": "Customer withdrew."}),
    );
    assert_eq!(assert_ok(&r, 200)["status"], json!("rejected"));
    assert_fields(
        &c.patch_lead(&id, &json!({"mobile": "9123456789"})),
        &["mobile"],
    );
    assert_fields(&c.patch_lead(&id, &json!({"city": ""})), &["city"]);
    assert_error(&c.patch_lead(&id, &json!({"city": "Pune"})), 409);
    assert_fields(
        &c.upload(&id, "PAN", "f.pdf", &sample("fake-pdf.txt")),
        &["file"],
    );
    assert_fields(
        &c.upload(&id, "NOPE", "p.pdf", &sample("pan-card.pdf")),
        &["document_type"],
    );
    assert_error(&c.upload(&id, "PAN", "p.pdf", &sample("pan-card.pdf")), 409);
    assert_fields(
        &c.patch_document(&id, "DOC1001", &json!({"document_type": "NOPE"})),
        &["document_type"],
    );
    assert_error(
        &c.patch_document(&id, "DOC1001", &json!({"document_type": "PHOTO"})),
        409,
    );
    let r = c.add_note(&id, &json!({"note": "Called after rejection."}));
    assert_eq!(r.status, 201, "{}", r.body);
    // The terminal lead is as it was; its journey ends in the rejection.
    let lead = c.lead(&id);
    assert_eq!(lead.data()["status"], json!("rejected"));
    assert!(lead.data().get("city").is_none());
    assert_eq!(
        c.journey_statuses(&id),
        ["new", "document_pending", "rejected"]
    );
    let r = c.get(&format!("/api/v1/leads/{id}/documents"));
    let docs = assert_ok(&r, 200).as_array().unwrap().clone();
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0]["document_type"], json!("PAN"));
    // Once rejected, the same customer may apply again.
    let r = c.create_lead(&json!({
        "product": "Personal Loan", "customer_name": "Rahul Sharma", "mobile": "9876543210",
    }));
    assert_eq!(
        assert_ok(&r, 201)["lead_id"],
        json!(format!("LD{}0002", today()))
    );
}
