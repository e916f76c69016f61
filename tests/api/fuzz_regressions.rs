//! What the schemathesis run in `.ci/run` found, kept as plain tests: each one failed before
//! its fix (in the server or in the served OpenAPI document).

use crate::helpers::*;
use serde_json::{json, Value};

/// The served document's schema `name` under components.
fn schema(name: &str) -> Value {
    let app = spawn_app();
    let doc = app.anonymous().get("/api/v1/openapi.json").body;
    doc["components"]["schemas"][name].clone()
}

/// The seed contract says `format: email`, and the server hands stored emails back under
/// that format. It used to take any `x@y.z` without spaces: the fuzzer's
/// "\u{c}Þ@³Ä.ní¬.70êµĩľî×¿o" was stored, and every later read of the lead broke the
/// response schema. Now an email is the RFC 5321 ASCII form, on create and on PATCH.
#[test]
fn emails_outside_the_documented_form_are_refused_and_never_stored() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9812345601");
    let bad = [
        "\u{c}\u{de}@\u{b3}\u{c4}.n\u{ed}\u{ac}.70\u{ea}\u{b5}\u{129}\u{13e}\u{ee}\u{d7}\u{bf}o",
        "r\u{e4}hul@example.com",
        "rahul@ex\u{e4}mple.com",
        "\"rahul sharma\"@example.com",
        "rahul@[127.0.0.1]",
        ".rahul@example.com",
        "rahul.@example.com",
        "rahul..sharma@example.com",
        "rahul(x)@example.com",
        "rahul@example_mail.com",
        "rahul@-example.com",
        "rahul@example-.com",
        "rahul@ex--ample.com",
        "rahul@example.com.",
        "rahul@example..com",
    ];
    let long_local = format!("{}@example.com", "a".repeat(65));
    let long_label = format!("rahul@{}.com", "b".repeat(64));
    for email in bad.iter().copied().chain([&*long_local, &*long_label]) {
        let r = c.create_lead(&json!({
            "product": "Personal Loan", "customer_name": "Rahul Sharma",
            "mobile": "9812345602", "email": email,
        }));
        assert_fields(&r, &["email"]);
        let r = c.patch_lead(&id, &json!({ "email": email }));
        assert_fields(&r, &["email"]);
    }
    assert!(c.lead(&id).body["data"].get("email").is_none());
    let list = c.list_leads("");
    assert_eq!(assert_ok(&list, 200).as_array().unwrap().len(), 1);
}

#[test]
fn emails_in_the_documented_form_are_stored_with_the_domain_lowercased() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9812345603");
    let local64 = "a".repeat(64);
    let label63 = "b".repeat(63);
    let cases = [
        (
            "Rahul.K+loans@Example.COM",
            "Rahul.K+loans@example.com".to_string(),
        ),
        (
            "o'neil!#$%&*/=?^_`{|}~-x@Mail-1.Example.co.in",
            "o'neil!#$%&*/=?^_`{|}~-x@mail-1.example.co.in".to_string(),
        ),
        ("a@xn--80ak6aa92e.com", "a@xn--80ak6aa92e.com".to_string()),
        ("  rahul@example.com\t", "rahul@example.com".to_string()),
        (
            &*format!("{local64}@example.com"),
            format!("{local64}@example.com"),
        ),
        (&*format!("r@{label63}.in"), format!("r@{label63}.in")),
    ];
    for (i, (sent, stored)) in cases.iter().enumerate() {
        let r = c.patch_lead(&id, &json!({ "email": sent }));
        assert_eq!(assert_ok(&r, 200)["email"], json!(stored), "{sent}");
        let r = c.create_lead(&json!({
            "product": "Credit Card", "customer_name": "Rahul Sharma",
            "mobile": format!("98123457{i:02}"), "email": sent,
        }));
        assert_eq!(assert_ok(&r, 201)["email"], json!(stored), "{sent}");
    }
}

/// In OpenAPI 3.0 a `nullable` schema with an `enum` admits null only when the enum lists
/// it. The note `type` is documented as "`note` when left out or null" and the server takes
/// null, but the enum left it out, so a null type read as invalid data the server accepted.
#[test]
fn a_null_note_type_is_the_default_and_every_nullable_enum_lists_null() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9812345605");
    let r = c.add_note(&id, &json!({"note": "Called the customer.", "type": null}));
    assert_eq!(assert_ok(&r, 201)["type"], json!("note"));

    let doc = app.anonymous().get("/api/v1/openapi.json").body;
    let mut missing = Vec::new();
    let mut stack = vec![(String::new(), &doc)];
    while let Some((at, v)) = stack.pop() {
        match v {
            Value::Object(o) => {
                if o.get("nullable") == Some(&json!(true)) {
                    if let Some(values) = o.get("enum").and_then(Value::as_array) {
                        if !values.contains(&Value::Null) {
                            missing.push(at.clone());
                        }
                    }
                }
                stack.extend(o.iter().map(|(k, v)| (format!("{at}/{k}"), v)));
            }
            Value::Array(a) => {
                stack.extend(a.iter().enumerate().map(|(i, v)| (format!("{at}/{i}"), v)));
            }
            _ => {}
        }
    }
    assert!(
        missing.is_empty(),
        "nullable enums without null: {missing:?}"
    );
}

/// The server ignores upload parts other than `document_type` and `file` (within its part
/// limits), but the document said `additionalProperties: false`, so an upload with an extra
/// part read as invalid data the server accepted.
#[test]
fn extra_upload_parts_are_ignored_and_the_document_allows_them() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9812345606");
    let pdf = sample("pan-card.pdf");
    let r = c.upload_with(
        &id,
        &[
            Part {
                name: "comment",
                filename: None,
                content_type: None,
                bytes: b"scanned at the branch",
            },
            Part {
                name: "document_type",
                filename: None,
                content_type: None,
                bytes: b"PAN",
            },
            Part {
                name: "file",
                filename: Some("pan.pdf"),
                content_type: Some("application/pdf"),
                bytes: &pdf,
            },
        ],
    );
    assert_eq!(assert_ok(&r, 201)["document_type"], json!("PAN"));
    let upload = schema("UploadDocumentRequest");
    assert_ne!(upload["additionalProperties"], json!(false), "{upload}");
}
