//! Duplicate-safe creates (issue 3): an open lead with the same normalised mobile and
//! product is a 409 naming the existing lead only to callers who may see it.

use crate::helpers::*;
use dhanita::model::Role;
use serde_json::json;

fn lead(product: &str, mobile: &str) -> serde_json::Value {
    json!({"product": product, "customer_name": "Rahul Sharma", "mobile": mobile})
}

fn count(c: &Client) -> usize {
    let r = c.list_leads("limit=100");
    assert_ok(&r, 200).as_array().unwrap().len()
}

/// Asserts a duplicate 409 `{success:false, message, errors:{mobile:[…]}}`, and whether the
/// existing lead's ID appears in it.
fn assert_duplicate(r: &Reply, existing: &str, shows_id: bool) {
    assert_error(r, 409);
    assert_eq!(r.error_fields(), ["mobile"], "{}", r.body);
    let mobile = r.body["errors"]["mobile"].to_string();
    let text = String::from_utf8_lossy(&r.bytes).to_string();
    if shows_id {
        assert!(mobile.contains(existing), "no {existing} in {}", r.body);
    } else {
        assert!(!text.contains(existing), "{existing} leaked: {}", r.body);
    }
}

#[test]
fn a_duplicate_open_lead_is_409_naming_it_only_to_callers_who_see_it() {
    let app = spawn_app();
    let admin = app.admin();
    let acme_key = app.create_key(Role::Partner, "Acme", None);
    let beta_key = app.create_key(Role::Partner, "Beta", None);
    let acme = app.with_key(&acme_key);
    let beta = app.with_key(&beta_key);

    let r = acme.create_lead(&lead("Personal Loan", "9876543210"));
    assert_eq!(r.status, 201, "{}", r.body);
    let first = r.body["data"]["lead_id"].as_str().unwrap().to_string();

    // Any accepted mobile format and the product by name or code, any case.
    for (c, shows) in [(&acme, true), (&admin, true), (&beta, false)] {
        for body in [
            lead("Personal Loan", "9876543210"),
            lead("personal_loan", "+91 98765-43210"),
            lead(" PERSONAL LOAN ", "09876543210"),
            lead("PERSONAL_LOAN", "919876543210"),
        ] {
            assert_duplicate(&c.create_lead(&body), &first, shows);
        }
    }
    assert_eq!(count(&admin), 1);

    // A different product for the same mobile is fine.
    let r = beta.create_lead(&lead("Home Loan", "9876543210"));
    assert_eq!(r.status, 201, "{}", r.body);
    let home = r.body["data"]["lead_id"].as_str().unwrap().to_string();
    assert_duplicate(
        &acme.create_lead(&lead("Home Loan", "98765 43210")),
        &home,
        false,
    );
    assert_duplicate(
        &beta.create_lead(&lead("Home Loan", "98765 43210")),
        &home,
        true,
    );
    assert_eq!(count(&admin), 2);

    // Once the first lead is rejected (terminal), the same mobile and product are accepted.
    let r = admin.move_status(&first, &json!({"status": "rejected"}));
    assert_eq!(r.status, 200, "{}", r.body);
    let r = beta.create_lead(&lead("Personal Loan", "+919876543210"));
    assert_eq!(r.status, 201, "{}", r.body);
    let second = r.body["data"]["lead_id"].as_str().unwrap().to_string();
    assert_eq!(r.body["data"]["mobile"], "9876543210");
    // …and now the open one is Beta's: Acme is not told its ID.
    assert_duplicate(
        &acme.create_lead(&lead("Personal Loan", "9876543210")),
        &second,
        false,
    );
    assert_duplicate(
        &admin.create_lead(&lead("Personal Loan", "9876543210")),
        &second,
        true,
    );
    assert_eq!(count(&admin), 3);

    // A disbursed lead is terminal too.
    let ins = admin.new_lead_of("Insurance Services", "9123456780");
    assert_duplicate(
        &admin.create_lead(&lead("Insurance Services", "9123456780")),
        &ins,
        true,
    );
    for to in ["approved", "disbursed"] {
        let r = admin.move_status(&ins, &json!({"status": to}));
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let r = admin.create_lead(&lead("Insurance Services", "9123456780"));
    assert_eq!(r.status, 201, "{}", r.body);
}

#[test]
fn allow_duplicates_accepts_a_second_open_lead() {
    let app = spawn_app_with(
        dhanita::app::Settings {
            allow_duplicates: true,
            ..settings()
        },
        http_settings(),
    );
    let c = app.admin();
    let a = c.new_lead("9876543210");
    let r = c.create_lead(&lead("Personal Loan", "+91 98765 43210"));
    assert_eq!(r.status, 201, "{}", r.body);
    let b = r.body["data"]["lead_id"].as_str().unwrap().to_string();
    assert_ne!(a, b);
    let r = c.list_leads("mobile=9876543210");
    let ids: Vec<&str> = assert_ok(&r, 200)
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [b.as_str(), a.as_str()]);
}

#[test]
fn concurrent_creates_of_one_customer_and_product_make_one_lead() {
    let app = spawn_app();
    let barrier = std::sync::Barrier::new(8);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8)
            .map(|_| {
                s.spawn(|| {
                    let c = app.admin();
                    barrier.wait();
                    c.create_lead(&lead("Personal Loan", "9876543210")).status
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [201, 409, 409, 409, 409, 409, 409, 409],
        "{statuses:?}"
    );
    assert_eq!(count(&app.admin()), 1);
}
