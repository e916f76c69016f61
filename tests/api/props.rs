//! Property tests of the input parsers: no panic, no hang, and every accepted value
//! round-trips. Bounded: a fixed number of cases per property.

use crate::helpers::*;
use dhanita::error::FieldErrors;
use dhanita::model::{parse_new_lead, Mobile, Money};
use proptest::prelude::*;
use serde_json::{json, Value};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(2000))]

    #[test]
    fn any_mobile_text_parses_or_is_refused(raw in "\\PC{0,20}") {
        if let Ok(m) = Mobile::parse(&raw) {
            let s = m.as_str();
            prop_assert_eq!(s.len(), 10);
            prop_assert!(s.bytes().all(|b| b.is_ascii_digit()));
            prop_assert!(matches!(s.as_bytes()[0], b'6'..=b'9'));
            // Normalising again gives the same number.
            prop_assert_eq!(Mobile::parse(s).map(|m| m.as_str().to_string()), Ok(s.to_string()));
        }
    }

    #[test]
    fn typed_mobile_formats_normalise(n in 6_000_000_000u64..=9_999_999_999u64, fmt in 0usize..5) {
        let digits = n.to_string();
        let typed = match fmt {
            0 => digits.clone(),
            1 => format!("+91{digits}"),
            2 => format!("+91 {} {}", &digits[..5], &digits[5..]),
            3 => format!("0{digits}"),
            _ => format!("{}-{}", &digits[..5], &digits[5..]),
        };
        prop_assert_eq!(Mobile::parse(&typed).map(|m| m.as_str().to_string()), Ok(digits));
    }

    #[test]
    fn amounts_with_two_decimals_round_trip(paise in 1i64..=100_000_000_000i64) {
        let text = format!("{}.{:02}", paise / 100, paise % 100);
        let v: Value = serde_json::from_str(&text).unwrap();
        let m = Money::parse_json(&v);
        prop_assert_eq!(m, Ok(Money::from_paise(paise)));
        // What is rendered parses back to the same amount.
        let rendered = serde_json::to_string(&Money::from_paise(paise).to_json()).unwrap();
        let again: Value = serde_json::from_str(&rendered).unwrap();
        prop_assert_eq!(Money::parse_json(&again), Ok(Money::from_paise(paise)));
    }

    #[test]
    fn any_number_text_is_judged_without_panic(int in "[0-9]{1,25}", frac in "[0-9]{0,6}", exp in proptest::option::of(-30i32..30)) {
        let mut text = int;
        if !frac.is_empty() { text = format!("{text}.{frac}"); }
        if let Some(e) = exp { text = format!("{text}e{e}"); }
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            if let Ok(m) = Money::parse_json(&v) {
                prop_assert!(m.paise() > 0 && m.paise() <= 100_000_000_000);
            }
        }
    }

    #[test]
    fn any_lead_body_is_judged_without_panic(
        product in proptest::option::of("\\PC{0,12}"),
        name in proptest::option::of("\\PC{0,120}"),
        mobile in proptest::option::of("[0-9+ -]{0,16}"),
        email in proptest::option::of("\\PC{0,30}"),
        amount in proptest::option::of(-1e12f64..1e12),
    ) {
        let mut body = serde_json::Map::new();
        if let Some(p) = product { body.insert("product".into(), json!(p)); }
        if let Some(n) = name { body.insert("customer_name".into(), json!(n)); }
        if let Some(m) = mobile { body.insert("mobile".into(), json!(m)); }
        if let Some(e) = email { body.insert("email".into(), json!(e)); }
        if let Some(a) = amount { body.insert("loan_amount".into(), json!(a)); }
        let mut errs = FieldErrors::new();
        if let Some(lead) = parse_new_lead(&body, &mut errs) {
            prop_assert!(errs.is_empty());
            let n = lead.customer_name.chars().count();
            prop_assert!((2..=100).contains(&n));
            prop_assert_eq!(lead.customer_name.trim(), lead.customer_name.as_str());
        } else {
            prop_assert!(!errs.is_empty());
        }
    }
}

/// Random bytes as a multipart upload: always a JSON 4xx, never a 5xx or a hang.
#[test]
fn garbage_multipart_bodies_get_json_4xx() {
    let app = spawn_app();
    let c = app.admin();
    let id = c.new_lead("9812345670");
    let mut runner = proptest::test_runner::TestRunner::new(config(150));
    let strategy = (
        proptest::collection::vec(any::<u8>(), 0..2048),
        any::<bool>(),
    );
    runner
        .run(&strategy, |(bytes, framed)| {
            let body = if framed {
                let mut b = b"--dhanitaTestBoundary7MA4YWxkTrZu0gW\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n".to_vec();
                b.extend_from_slice(&bytes);
                b
            } else {
                bytes
            };
            let r = c.raw(
                "POST",
                &format!("/api/v1/leads/{id}/documents"),
                "multipart/form-data; boundary=dhanitaTestBoundary7MA4YWxkTrZu0gW",
                &body,
            );
            prop_assert!((400..500).contains(&r.status), "status {}", r.status);
            prop_assert_eq!(&r.body["success"], &json!(false));
            Ok(())
        })
        .unwrap();
    // None of it stored a document.
    let docs = c.get(&format!("/api/v1/leads/{id}/documents"));
    assert_eq!(docs.body["data"], json!([]));
}
